"""Matplotlib viewer of the slotted env: users per BS now, and utility over the episode.

Left panel: one column per BS, one block per occupied seat (shade = remaining demand / max
demand), the arriving user's SNR to each BS written above it (candidates in bold). Right panel:
the utility (reward) of every slot played so far and the number of users per BS.
matplotlib is imported lazily (only when rendering).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ua_envs.envs.base import state_to_numpy
from ua_envs.envs.slotted.sim import SlottedConfig, SlottedState


def _new_figure(mode: str) -> Any:
    """A figure: off-screen Agg canvas for ``rgb_array`` (the user's backend is left alone),
    a pyplot window for ``human``."""
    try:
        if mode == "human":
            import matplotlib.pyplot as plt

            return plt.figure(figsize=(8, 3.2), dpi=80)
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as err:  # pragma: no cover - matplotlib is a dependency
        from gymnasium.error import DependencyNotInstalled

        raise DependencyNotInstalled(
            'matplotlib is needed to render; install it with "pip install matplotlib"'
        ) from err
    fig = Figure(figsize=(8, 3.2), dpi=80)
    FigureCanvasAgg(fig)
    return fig


class SlottedViewer:
    """Draws a batch-of-one numpy :class:`SlottedState` (row 0) and the episode history.

    :param config: the env's configuration.
    :param mode: ``"rgb_array"`` (return frames) or ``"human"`` (draw in a window).
    """

    def __init__(self, config: SlottedConfig, mode: str) -> None:
        self.config = config
        self.mode = mode
        self._fig: Any = None

    def render(
        self, state: SlottedState, history: list[tuple[float, np.ndarray]]
    ) -> np.ndarray | None:
        """Draw the current slot; return an ``(H, W, 3)`` uint8 frame in ``rgb_array`` mode."""
        import matplotlib

        cfg = self.config
        if self._fig is None:
            self._fig = _new_figure(self.mode)
        fig = self._fig
        fig.clf()
        ax_bs, ax_t = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.4]})
        occupied = np.asarray(state.occupied[0])
        remaining = np.asarray(state.remaining[0])
        cmap = matplotlib.colormaps["viridis"]
        for n in range(cfg.num_bs):
            seats = np.flatnonzero(occupied[n])
            for level, s in enumerate(seats):
                frac = float(np.clip(remaining[n, s] / cfg.max_demand, 0.0, 1.0))
                ax_bs.bar(n, 0.9, bottom=level, color=cmap(frac), edgecolor="k", width=0.7)
            if bool(state.cur_arrival[0]):
                cand = bool(state.mask[0, n])
                ax_bs.text(
                    n,
                    cfg.max_users_per_bs + 0.2,
                    f"{float(state.cur_snr_db[0, n]):.0f} dB",
                    ha="center",
                    fontweight="bold" if cand else "normal",
                    color="k" if cand else "0.5",
                )
        ax_bs.set_xlim(-0.6, cfg.num_bs - 0.4)
        ax_bs.set_ylim(0, cfg.max_users_per_bs + 1)
        ax_bs.set_xticks(range(cfg.num_bs), [f"BS {n}" for n in range(cfg.num_bs)])
        ax_bs.set_ylabel("users")
        arrival = "user arrives" if bool(state.cur_arrival[0]) else "no arrival"
        ax_bs.set_title(f"slot {int(state.slot[0])}: {arrival}", fontsize=9)
        if history:
            utility = np.array([u for u, _ in history])
            users = np.stack([n for _, n in history])
            slots = np.arange(1, len(history) + 1)
            ax_t.plot(slots, utility, "k-", label="utility")
            ax_u = ax_t.twinx()
            for n in range(cfg.num_bs):
                ax_u.step(slots, users[:, n], where="post", alpha=0.6, label=f"BS {n}")
            ax_u.set_ylim(0, cfg.max_users_per_bs + 0.5)
            ax_u.set_ylabel("users per BS")
            ax_u.legend(loc="upper right", fontsize=7)
        ax_t.set_xlim(0, max(cfg.horizon, len(history)) + 1)
        ax_t.set_xlabel("slot")
        ax_t.set_ylabel("utility (log-sum throughput)")
        ax_t.set_title(
            f"episode utility {float(state.episode_utility[0]):.2f}, "
            f"rejections {int(state.rejections[0])}",
            fontsize=9,
        )
        fig.tight_layout()
        fig.canvas.draw()
        if self.mode == "human":
            import matplotlib.pyplot as plt

            plt.pause(1.0 / 30)
            return None
        frame = np.asarray(fig.canvas.buffer_rgba())[:, :, :3].copy()
        return frame

    def close(self) -> None:
        """Close the figure."""
        if self._fig is not None:
            if self.mode == "human":
                import matplotlib.pyplot as plt

                plt.close(self._fig)
            self._fig = None


class SlottedRendering:
    """The viewer hooks of the slotted single and parallel envs (mixed in before their base,
    which owns ``render()``/``close()``).

    The env keeps ``config`` and ``_history`` (utility and users per BS of every slot played).
    """

    config: SlottedConfig
    _history: list[tuple[float, np.ndarray]]
    _render_mode_hint = "pass render_mode='rgb_array'"

    def _make_viewer(self, render_mode: str) -> SlottedViewer:
        return SlottedViewer(self.config, render_mode)

    def _draw(self, viewer: SlottedViewer, state: SlottedState) -> np.ndarray | None:
        if not isinstance(state.slot, np.ndarray):  # a torch state (e.g. on a GPU)
            state = state_to_numpy(state)
        return viewer.render(state, self._history)
