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
from gymnasium.error import DependencyNotInstalled

#: Colours of UEs 0, 1, 2, … (cycled): a UE's links take its colour.
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _import_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise DependencyNotInstalled(
            'matplotlib is needed to render CellFreeAssoc: pip install "matplotlib>=3.7"'
        ) from err
    return matplotlib


def nearest_image(origin: np.ndarray, target: np.ndarray, area_m: float) -> np.ndarray:
    """The image of ``target`` ``(2,)`` nearest to ``origin`` ``(2,)`` on the ``area_m`` torus."""
    delta = target - origin
    delta = delta - area_m * np.round(delta / area_m)
    return origin + delta


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
    ax.set_xlim(0.0, area_m)
    ax.set_ylim(0.0, area_m)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    title = f"CellFreeAssoc  {int(support.sum())} links"
    if sum_rate is not None:
        title += f"  sum rate {sum_rate:.2f} bit/s/Hz"
    if ended:
        title += "  (ended)"
    ax.set_title(title, fontsize=9)


class CellFreeViewer:
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
