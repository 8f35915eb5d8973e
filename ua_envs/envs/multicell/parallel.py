"""PettingZoo parallel version of MultiCellAssoc-v0: one agent per UE (docs/model.md §4.5).

Agents ``ue_0 … ue_{K-1}`` each pick a BS (``Discrete(M)``) in one simultaneous step; the
instance, physics and overload handling are the simulator's (``sim.py``), run by the same
episode runner as the Gymnasium env (so ``reset(seed=s)`` draws the same instance as
``MultiCellAssoc-v0`` does).

Observation of agent ``ue_k``: ``{"observation": Box((M·(2N + 2),), float32), "action_mask":
(M,) int8}`` where ``observation`` is the concatenation of its own column of the single-env
observation: ``channel[:, k, :]`` (``M × 2N``, row-major), ``gain_db[:, k]`` (``M``) and
``tx_power_dbm`` (``M``). The mask is all ones (every BS is legal; a load limit is handled by
``overload``).

Rewards: ``reward="shared"`` (default) gives every agent the env reward (sum rate − penalty);
``"individual"`` gives UE k its own rate, minus, with ``overload="penalty"``, an equal share
``penalty_weight · max(0, load_m − limit) / load_m`` of the penalty of the BS m it chose, so
that the individual rewards sum to the shared one. Infos per agent: ``rate``, ``bs`` (chosen),
``served`` (False if dropped), ``sum_rate``.

``state()`` is the global observation flattened: ``channel`` (M·K·2N), ``gain_db`` (M·K),
``tx_power_dbm`` (M).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from ua_envs.core.validation import check_choice
from ua_envs.envs.agent_beams import is_agent_mode
from ua_envs.envs.base import check_scalar_action
from ua_envs.envs.multicell.env import observation_space
from ua_envs.envs.multicell.sim import (
    MultiCellConfig,
    MultiCellSimulator,
    MultiCellState,
    make_config,
)
from ua_envs.envs.multicell.viewer import MultiCellViewer, draw_runner_state
from ua_envs.envs.parallel_base import SimParallelEnv, pettingzoo_metadata

__all__ = ["REWARD_MODES", "MultiCellAssocParallelEnv"]

REWARD_MODES = ("shared", "individual")
_OBS_KEYS = ("channel", "gain_db", "tx_power_dbm")


class MultiCellAssocParallelEnv(SimParallelEnv[MultiCellState]):
    """UE agents choosing their BS; see the module docstring.

    :param reward: ``"shared"`` or ``"individual"``.
    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: ``MultiCellAssoc-v0`` kwargs (``num_bs``, ``load_limit``, ...).
    """

    metadata = pettingzoo_metadata("multicell_assoc_v0", render_fps=2)
    simulator_class = MultiCellSimulator
    make_config = staticmethod(make_config)
    config: MultiCellConfig
    sim: MultiCellSimulator

    def __init__(self, reward: str = "shared", render_mode: str | None = None, **kwargs: Any):
        check_choice("reward", reward, REWARD_MODES)
        self.reward_mode = reward
        super().__init__(render_mode=render_mode, **kwargs)
        if is_agent_mode(self.config):
            # The agents' actions are associations only; learned beams need the Gymnasium env.
            raise ValueError(
                "beamforming='agent' is not available in the PettingZoo env (use the Gymnasium "
                "or vector env); choose one of the env's beamformers"
            )
        self.num_bs, self.num_ues = self.config.num_bs, self.config.num_ues
        single = observation_space(self.config)
        low = np.concatenate([np.asarray(single[key].low).ravel() for key in _OBS_KEYS])  # type: ignore[attr-defined]
        high = np.concatenate([np.asarray(single[key].high).ravel() for key in _OBS_KEYS])  # type: ignore[attr-defined]
        self.state_space = spaces.Box(low.astype(np.float32), high.astype(np.float32))
        self._action = np.zeros(self.num_ues, np.int64)

    def _agent_names(self) -> list[str]:
        return [f"ue_{k}" for k in range(self.config.num_ues)]

    def _agent_spaces(self) -> tuple[spaces.Space[Any], spaces.Space[Any]]:
        single = observation_space(self.config)
        m, n = self.config.num_bs, self.config.num_antennas
        # Per-agent bounds: the channel box is uniform, so one UE's slice has the same bounds.
        low = np.concatenate(
            [
                np.full(m * 2 * n, np.min(single["channel"].low)),  # type: ignore[attr-defined]
                np.full(m, np.min(single["gain_db"].low)),  # type: ignore[attr-defined]
                np.asarray(single["tx_power_dbm"].low),  # type: ignore[attr-defined]
            ]
        ).astype(np.float32)
        high = np.concatenate(
            [
                np.full(m * 2 * n, np.max(single["channel"].high)),  # type: ignore[attr-defined]
                np.full(m, np.max(single["gain_db"].high)),  # type: ignore[attr-defined]
                np.asarray(single["tx_power_dbm"].high),  # type: ignore[attr-defined]
            ]
        ).astype(np.float32)
        agent_space = spaces.Dict(
            {
                "observation": spaces.Box(low, high, dtype=np.float32),
                "action_mask": spaces.Box(0, 1, shape=(m,), dtype=np.int8),
            }
        )
        return agent_space, spaces.Discrete(m)

    def _joint_action(self, actions: Mapping[str, Any]) -> Any:
        m = self.config.num_bs
        chosen = [
            check_scalar_action(actions[agent], m, name=f"action of {agent}", meaning=" (BS index)")
            for agent in self.possible_agents
        ]
        self._action = np.array(chosen, np.int64)
        batched = self._action[None]
        return batched if self.runner.numpy_state else self.sim.check_action(batched, 1)

    def _observations(self) -> dict[str, Any]:
        obs = self.runner.observation()
        out: dict[str, Any] = {}
        for k, agent in enumerate(self.possible_agents):
            flat = np.concatenate(
                [obs["channel"][:, k, :].ravel(), obs["gain_db"][:, k], obs["tx_power_dbm"]]
            ).astype(np.float32)
            out[agent] = {"observation": flat, "action_mask": np.ones(self.num_bs, np.int8)}
        return out

    def _rewards(self, reward: float) -> dict[str, float]:
        if self.reward_mode == "shared":
            return dict.fromkeys(self.possible_agents, reward)
        info = self.runner.info()
        rates = info["rates"]
        share = np.zeros(self.num_ues)
        limit = self.sim.load_limit
        if self.config.overload == "penalty" and limit is not None:
            load = info["load"]
            over = np.maximum(load - limit, 0.0) / np.maximum(load, 1.0)
            share = self.config.penalty_weight * over[self._action]
        return {agent: float(rates[k] - share[k]) for k, agent in enumerate(self.possible_agents)}

    def _infos(self) -> dict[str, dict[str, Any]]:
        if not bool(self.runner.require_state().done[0]):
            return {agent: {} for agent in self.possible_agents}
        info = self.runner.info()
        return {
            agent: {
                "rate": float(info["rates"][k]),
                "bs": int(self._action[k]),
                "served": not bool(info["dropped"][k]),
                "sum_rate": float(info["sum_rate"]),
            }
            for k, agent in enumerate(self.possible_agents)
        }

    def state(self) -> np.ndarray:
        """Global state: ``channel``, ``gain_db``, ``tx_power_dbm`` flattened and concatenated."""
        obs = self.runner.observation()
        return np.concatenate([obs[key].ravel() for key in _OBS_KEYS]).astype(np.float32)

    def _make_viewer(self, render_mode: str) -> MultiCellViewer:
        return MultiCellViewer(render_mode)

    def _draw(self, viewer: MultiCellViewer, state: MultiCellState) -> np.ndarray | None:
        return draw_runner_state(viewer, self.runner, self.config.area_m)
