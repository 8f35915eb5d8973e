"""Matplotlib viewer of a multi-cell instance: BS and UE positions, association lines, rates.

matplotlib is imported lazily (only when a frame is drawn), so importing the env costs nothing.
``rgb_array`` frames are drawn on an off-screen ``Figure`` (no pyplot state); ``human`` mode
opens one pyplot window and redraws it in place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium.error import DependencyNotInstalled

#: Colours of BSs 0, 1, 2, … (cycled): UEs and lines take the colour of their serving BS.
_COLOURS = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown")


def _import_matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise DependencyNotInstalled(
            'matplotlib is needed to render MultiCellAssoc: pip install "matplotlib>=3.7"'
        ) from err
    return matplotlib


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
    ax.set_xlim(0.0, area_m)
    ax.set_ylim(0.0, area_m)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    title = "MultiCellAssoc"
    if sum_rate is not None:
        title += f"  sum rate {sum_rate:.2f} bit/s/Hz"
    ax.set_title(title, fontsize=9)


class MultiCellViewer:
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
