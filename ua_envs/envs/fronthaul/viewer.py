"""Matplotlib viewer of a fronthaul instance: APs coloured by fronthaul utilisation, active links.

matplotlib is imported lazily (only when a frame is drawn), so importing the env costs nothing.
``rgb_array`` frames are drawn on an off-screen ``Figure`` (no pyplot state); ``human`` mode
opens one pyplot window and redraws it in place.

APs are squares coloured by ``load_m / C_m`` (green → yellow → red at full capacity; an
overloaded AP is drawn dark red with a thick edge and its utilisation in %); UEs are dots;
every served link (AP m, UE k) is a line along the shortest wrap-around path (a link that
crosses the border is drawn to the UE's nearest periodic image, clipped by the axes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ua_envs.envs.viewer_base import MatplotlibViewer, finish_square_axes, nearest_image


def draw_instance(
    ax: Any,
    bs_positions: np.ndarray,
    ue_positions: np.ndarray,
    area_m: float,
    capacity_mbps: np.ndarray,
    association: np.ndarray | None = None,
    load_mbps: np.ndarray | None = None,
    wsr: float | None = None,
) -> None:
    """Draw one instance on a matplotlib ``Axes``.

    :param bs_positions: ``(M, 2)`` AP positions [m].
    :param ue_positions: ``(K, 2)`` UE positions [m].
    :param area_m: side of the square (wrap-around) deployment [m].
    :param capacity_mbps: ``(M,)`` fronthaul capacities [Mbit/s].
    :param association: ``(M, K)`` served 0/1 association, or ``None`` before the decision.
    :param load_mbps: ``(M,)`` fronthaul loads [Mbit/s], or ``None``.
    :param wsr: weighted sum rate shown in the title, or ``None``.
    """
    from matplotlib import colormaps

    cmap = colormaps["RdYlGn_r"]
    utilisation = np.zeros(len(bs_positions)) if load_mbps is None else load_mbps / capacity_mbps
    if association is not None:
        for m, k in zip(*np.nonzero(association), strict=True):
            start = bs_positions[m]
            end = nearest_image(start, ue_positions[k], area_m)
            ax.plot(
                [start[0], end[0]],
                [start[1], end[1]],
                color="tab:blue",
                lw=1.0,
                alpha=0.6,
                zorder=1,
            )
    for m, (x, y) in enumerate(bs_positions):
        over = utilisation[m] > 1.0
        colour = "darkred" if over else cmap(float(np.clip(utilisation[m], 0.0, 1.0)))
        ax.scatter(
            [x],
            [y],
            marker="s",
            s=150,
            color=colour,
            edgecolors="black",
            linewidths=2.5 if over else 0.8,
            zorder=3,
        )
        label = f"AP {m}" if load_mbps is None else f"AP {m} {100 * utilisation[m]:.0f}%"
        ax.annotate(label, (x, y), textcoords="offset points", xytext=(6, 6), fontsize=7)
    served = None if association is None else association.sum(axis=0)
    for k, (x, y) in enumerate(ue_positions):
        unserved = served is not None and served[k] == 0
        ax.scatter([x], [y], marker="o", s=40, color="grey" if unserved else "tab:blue", zorder=2)
        ax.annotate(f"UE {k}", (x, y), textcoords="offset points", xytext=(4, -10), fontsize=7)
    title = "FronthaulAssoc"
    if wsr is not None and load_mbps is not None:
        feasible = bool(np.all(load_mbps <= capacity_mbps))
        title += f"  WSR {wsr:.2f} bit/s/Hz  {'feasible' if feasible else 'OVERLOADED'}"
    finish_square_axes(ax, area_m, title)


class FronthaulViewer(MatplotlibViewer):
    """Frames of a fronthaul instance (see :class:`MatplotlibViewer`)."""

    env_name = "FronthaulAssoc"

    def draw(self, ax: Any, **instance: Any) -> None:
        """Draw ``instance`` on ``ax`` with :func:`draw_instance`."""
        draw_instance(ax, **instance)
