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
from gymnasium.error import DependencyNotInstalled


def _import_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise DependencyNotInstalled(
            'matplotlib is needed to render FronthaulAssoc: pip install "matplotlib>=3.7"'
        ) from err
    return matplotlib


def _nearest_image(origin: np.ndarray, target: np.ndarray, area_m: float) -> np.ndarray:
    """The periodic image of ``target`` closest to ``origin`` on the ``area_m`` torus."""
    delta = target - origin
    return origin + delta - area_m * np.round(delta / area_m)


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
            end = _nearest_image(start, ue_positions[k], area_m)
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
    ax.set_xlim(0.0, area_m)
    ax.set_ylim(0.0, area_m)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    title = "FronthaulAssoc"
    if wsr is not None and load_mbps is not None:
        feasible = bool(np.all(load_mbps <= capacity_mbps))
        title += f"  WSR {wsr:.2f} bit/s/Hz  {'feasible' if feasible else 'OVERLOADED'}"
    ax.set_title(title, fontsize=9)


class FronthaulViewer:
    """Renders frames for ``render_mode`` ``"rgb_array"`` (returns ``(H, W, 3)`` uint8) or
    ``"human"`` (draws into a window; returns ``None``)."""

    def __init__(self, render_mode: str, size_px: int = 480) -> None:
        self.render_mode = render_mode
        self.size_px = size_px
        self._figure: Any = None

    def render(self, **instance: Any) -> np.ndarray | None:
        """Draw ``instance`` (the keyword arguments of :func:`draw_instance` but ``ax``)."""
        _import_matplotlib()
        dpi = 100
        inches = self.size_px / dpi
        if self.render_mode == "rgb_array":
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            figure = Figure(figsize=(inches, inches), dpi=dpi)
            canvas = FigureCanvasAgg(figure)
            draw_instance(figure.add_subplot(), **instance)
            figure.tight_layout()
            canvas.draw()
            return np.asarray(canvas.buffer_rgba())[..., :3].copy()

        import matplotlib.pyplot as plt

        if self._figure is None:
            self._figure = plt.figure(figsize=(inches, inches), dpi=dpi)
        self._figure.clf()
        draw_instance(self._figure.add_subplot(), **instance)
        self._figure.tight_layout()
        # Only interactive backends can show a window; headless (Agg) just draws.
        if self._figure.canvas.required_interactive_framework is not None:
            plt.show(block=False)
            plt.pause(0.001)
        else:
            self._figure.canvas.draw()
        return None

    def close(self) -> None:
        """Close the ``human`` window, if one is open."""
        if self._figure is not None:
            import matplotlib.pyplot as plt

            plt.close(self._figure)
            self._figure = None
