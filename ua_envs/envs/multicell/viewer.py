"""Matplotlib viewer of a multi-cell instance: BS and UE positions, association lines, rates.

matplotlib is imported lazily (only when a frame is drawn), so importing the env costs nothing.
``rgb_array`` frames are drawn on an off-screen ``Figure`` (no pyplot state); ``human`` mode
opens one pyplot window and redraws it in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ua_envs.envs.viewer_base import MatplotlibViewer, finish_square_axes

#: Colours of BSs 0, 1, 2, … (cycled): UEs and lines take the colour of their serving BS.
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def draw_instance(
    ax: Any,
    bs_positions: np.ndarray,
    ue_positions: np.ndarray,
    area_m: float,
    association: np.ndarray | None = None,
    rates: np.ndarray | None = None,
    dropped: np.ndarray | None = None,
    sum_rate: float | None = None,
) -> None:
    """Draw one instance on a matplotlib ``Axes``.

    :param bs_positions: ``(M, 2)`` [m].
    :param ue_positions: ``(K, 2)`` [m].
    :param area_m: side of the square deployment [m].
    :param association: ``(M, K)`` served 0/1 association, or ``None`` before the decision.
    :param rates: ``(K,)`` [bit/s/Hz] written next to each UE, or ``None``.
    :param dropped: ``(K,)`` bool, drawn as crosses, or ``None``.
    :param sum_rate: shown in the title, or ``None``.
    """
    num_ues = ue_positions.shape[0]
    serving = np.full(num_ues, -1)
    if association is not None:
        served = association.sum(axis=0) > 0
        serving[served] = association.argmax(axis=0)[served]
    for m, (x, y) in enumerate(bs_positions):
        colour = _COLOURS[m % len(_COLOURS)]
        ax.scatter([x], [y], marker="^", s=160, color=colour, edgecolors="black", zorder=3)
        ax.annotate(f"BS {m}", (x, y), textcoords="offset points", xytext=(6, 6), fontsize=8)
    for k, (x, y) in enumerate(ue_positions):
        m = int(serving[k])
        colour = "grey" if m < 0 else _COLOURS[m % len(_COLOURS)]
        if m >= 0:
            bx, by = bs_positions[m]
            ax.plot([bx, x], [by, y], color=colour, linewidth=1.0, alpha=0.7, zorder=1)
        is_dropped = dropped is not None and bool(dropped[k])
        ax.scatter([x], [y], marker="x" if is_dropped else "o", s=40, color=colour, zorder=2)
        label = f"{k}" if rates is None else f"{k}: {float(rates[k]):.2f}"
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    title = "MultiCellAssoc"
    if sum_rate is not None:
        title += f"  sum rate {sum_rate:.2f} bit/s/Hz"
    finish_square_axes(ax, area_m, title)


class MultiCellViewer(MatplotlibViewer):
    """Frames of a multi-cell instance (see :class:`MatplotlibViewer`)."""

    env_name = "MultiCellAssoc"

    def draw(self, ax: Any, **instance: Any) -> None:
        """Draw ``instance`` on ``ax`` with :func:`draw_instance`."""
        draw_instance(ax, **instance)


def draw_runner_state(
    viewer: MultiCellViewer, runner: Any, area_m: float | None
) -> np.ndarray | None:
    """Draw the current episode of an :class:`~ua_envs.envs.single.EpisodeRunner` (the single
    and the PettingZoo env share it): the deployment, and once decided the association."""
    field = runner.field
    decided = bool(field("done"))
    return viewer.render(
        bs_positions=field("bs_positions"),
        ue_positions=field("ue_positions"),
        area_m=float(area_m or 1.0),
        association=field("association") if decided else None,
        rates=field("rates") if decided else None,
        dropped=field("dropped") if decided else None,
        sum_rate=float(field("sum_rate")) if decided else None,
    )
