"""Matplotlib viewer of a cell-free instance: AP and UE positions, the chosen links, rates.

matplotlib is imported lazily (only when a frame is drawn), so importing the env costs nothing.
``rgb_array`` frames are drawn on an off-screen ``Figure`` (no pyplot state); ``human`` mode
opens one pyplot window and redraws it in place. Positions are drawn on the wrap-around square:
a link is drawn to the nearest image of its UE (the distance the path loss used), clipped to
the square.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ua_envs.envs.viewer_base import MatplotlibViewer, finish_square_axes, nearest_image

#: Colours of UEs 0, 1, 2, … (cycled): a UE's links take its colour.
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def draw_instance(
    ax: Any,
    bs_positions: np.ndarray,
    ue_positions: np.ndarray,
    area_m: float,
    support: np.ndarray,
    rates: np.ndarray | None = None,
    sum_rate: float | None = None,
    ended: bool = False,
) -> None:
    """Draw one instance on a matplotlib ``Axes``.

    :param bs_positions: ``(M, 2)`` AP positions [m].
    :param ue_positions: ``(K, 2)`` UE positions [m].
    :param area_m: side of the square deployment [m].
    :param support: ``(M, K)`` 0/1 chosen links.
    :param rates: ``(K,)`` [bit/s/Hz] written next to each UE, or ``None``.
    :param sum_rate: shown in the title, or ``None``.
    :param ended: the episode has ended (shown in the title).
    """
    support = np.asarray(support).astype(bool)
    for m, (x, y) in enumerate(bs_positions):
        ax.scatter([x], [y], marker="^", s=120, color="lightgrey", edgecolors="black", zorder=3)
        ax.annotate(f"AP {m}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize=7)
    for k, ue in enumerate(ue_positions):
        colour = _COLOURS[k % len(_COLOURS)]
        for ap in np.flatnonzero(support[:, k]):
            end = nearest_image(bs_positions[ap], ue, area_m)
            ax.plot(
                [bs_positions[ap][0], end[0]],
                [bs_positions[ap][1], end[1]],
                color=colour,
                linewidth=1.2,
                alpha=0.8,
                zorder=1,
            )
        served = bool(support[:, k].any())
        ax.scatter([ue[0]], [ue[1]], marker="o", s=40, color=colour if served else "grey", zorder=2)
        label = f"{k}" if rates is None else f"{k}: {float(rates[k]):.2f}"
        ax.annotate(label, (ue[0], ue[1]), textcoords="offset points", xytext=(4, -10), fontsize=7)
    title = f"CellFreeAssoc  {int(support.sum())} links"
    if sum_rate is not None:
        title += f"  sum rate {sum_rate:.2f} bit/s/Hz"
    if ended:
        title += "  (ended)"
    finish_square_axes(ax, area_m, title)


class CellFreeViewer(MatplotlibViewer):
    """Frames of a cell-free instance (see :class:`MatplotlibViewer`)."""

    env_name = "CellFreeAssoc"

    def draw(self, ax: Any, **instance: Any) -> None:
        """Draw ``instance`` on ``ax`` with :func:`draw_instance`."""
        draw_instance(ax, **instance)
