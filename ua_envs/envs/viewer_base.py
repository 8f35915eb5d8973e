"""Pieces shared by the families' matplotlib viewers: frame plumbing and square-area axes.

matplotlib is imported lazily (only when a frame is drawn), so importing an env costs nothing.
``rgb_array`` frames are drawn on an off-screen ``Figure`` (no pyplot state); ``human`` mode
opens one pyplot window and redraws it in place.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
from gymnasium.error import DependencyNotInstalled


def import_matplotlib(env_name: str) -> Any:
    """``matplotlib``, or ``DependencyNotInstalled`` naming ``env_name`` when it is missing."""
    try:
        import matplotlib
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        raise DependencyNotInstalled(
            f'matplotlib is needed to render {env_name}: pip install "matplotlib>=3.7"'
        ) from err
    return matplotlib


def nearest_image(origin: np.ndarray, target: np.ndarray, area_m: float) -> np.ndarray:
    """The image of ``target`` ``(2,)`` nearest to ``origin`` ``(2,)`` on the ``area_m`` torus."""
    delta = target - origin
    delta = delta - area_m * np.round(delta / area_m)
    return origin + delta


def finish_square_axes(ax: Any, area_m: float, title: str) -> None:
    """Limit ``ax`` to the ``area_m`` [m] square (equal aspect, metre labels) and title it."""
    ax.set_xlim(0.0, area_m)
    ax.set_ylim(0.0, area_m)
    ax.set_aspect("equal")
    ax.set_xlabel("x [m]")
    ax.set_ylabel("y [m]")
    ax.set_title(title, fontsize=9)


class MatplotlibViewer:
    """Renders frames for ``render_mode`` ``"rgb_array"`` (returns ``(H, W, 3)`` uint8) or
    ``"human"`` (draws into a window; returns ``None``).

    Subclasses set :attr:`env_name` and implement :meth:`draw`.

    :param render_mode: ``"rgb_array"`` or ``"human"``.
    :param size_px: side of the square frame [pixels].
    """

    #: Named in the error raised when matplotlib is missing.
    env_name: ClassVar[str] = "this env"

    def __init__(self, render_mode: str, size_px: int = 480) -> None:
        self.render_mode = render_mode
        self.size_px = size_px
        self._figure: Any = None

    def draw(self, ax: Any, **instance: Any) -> None:
        """Draw ``instance`` on the matplotlib ``Axes`` ``ax`` (the family's drawing)."""
        raise NotImplementedError

    def render(self, **instance: Any) -> np.ndarray | None:
        """Draw ``instance`` (the keyword arguments of :meth:`draw` but ``ax``)."""
        import_matplotlib(self.env_name)
        dpi = 100
        inches = self.size_px / dpi
        if self.render_mode == "rgb_array":
            from matplotlib.backends.backend_agg import FigureCanvasAgg
            from matplotlib.figure import Figure

            figure = Figure(figsize=(inches, inches), dpi=dpi)
            canvas = FigureCanvasAgg(figure)
            self.draw(figure.add_subplot(), **instance)
            figure.tight_layout()
            canvas.draw()
            return np.asarray(canvas.buffer_rgba())[..., :3].copy()

        import matplotlib.pyplot as plt

        if self._figure is None:
            self._figure = plt.figure(figsize=(inches, inches), dpi=dpi)
        self._figure.clf()
        self.draw(self._figure.add_subplot(), **instance)
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
