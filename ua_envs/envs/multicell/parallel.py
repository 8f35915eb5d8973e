"""PettingZoo parallel version of MultiCellAssoc-v0: one agent per UE (SPEC §4.5).

Agents ``ue_0 … ue_{K-1}`` each pick a BS (``Discrete(M)``) in one simultaneous step; the
instance, physics and overload handling are those of the Gymnasium env (``env.py``), which this
adapter wraps (so ``reset(seed=s)`` draws the same instance as ``MultiCellAssoc-v0`` does).

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

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ua_envs.core.validation import check_choice
from ua_envs.envs.base import check_scalar_action
from ua_envs.envs.multicell.env import MultiCellAssocEnv, observation_space

__all__ = ["REWARD_MODES", "MultiCellAssocParallelEnv"]

REWARD_MODES = ("shared", "individual")


def _flat_bounds(box_space: spaces.Dict, keys: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    boxes: list[Any] = [box_space[key] for key in keys]
    low = np.concatenate([np.asarray(box.low).ravel() for box in boxes])
    high = np.concatenate([np.asarray(box.high).ravel() for box in boxes])
    return low.astype(np.float32), high.astype(np.float32)


class MultiCellAssocParallelEnv(ParallelEnv[str, dict[str, np.ndarray], int]):
    """UE agents choosing their BS; see the module docstring.

    :param reward: ``"shared"`` or ``"individual"``.
    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: ``MultiCellAssoc-v0`` kwargs (``num_bs``, ``load_limit``, ...).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "name": "multicell_assoc_v0",
        "render_modes": ["human", "rgb_array"],
        "render_fps": 2,
        "is_parallelizable": True,
    }

    def __init__(self, reward: str = "shared", render_mode: str | None = None, **kwargs: Any):
        check_choice("reward", reward, REWARD_MODES)
        self.reward_mode = reward
        self.env = MultiCellAssocEnv(render_mode=render_mode, **kwargs)
        self.render_mode = render_mode
        config = self.env.config
        self.num_bs, self.num_ues = config.num_bs, config.num_ues
        self.possible_agents = [f"ue_{k}" for k in range(self.num_ues)]
        self.agents: list[str] = []
        single = observation_space(config)
        m, n = config.num_bs, config.num_antennas
        # Per-agent bounds: the channel box is uniform, so one UE's slice has the same bounds.
        boxes = {key: single[key] for key in ("channel", "gain_db", "tx_power_dbm")}
        low = np.concatenate(
            [
                np.full(m * 2 * n, np.min(boxes["channel"].low)),  # type: ignore[attr-defined]
                np.full(m, np.min(boxes["gain_db"].low)),  # type: ignore[attr-defined]
                np.asarray(boxes["tx_power_dbm"].low),  # type: ignore[attr-defined]
            ]
        ).astype(np.float32)
        high = np.concatenate(
            [
                np.full(m * 2 * n, np.max(boxes["channel"].high)),  # type: ignore[attr-defined]
                np.full(m, np.max(boxes["gain_db"].high)),  # type: ignore[attr-defined]
                np.asarray(boxes["tx_power_dbm"].high),  # type: ignore[attr-defined]
            ]
        ).astype(np.float32)
        agent_space = spaces.Dict(
            {
                "observation": spaces.Box(low, high, dtype=np.float32),
                "action_mask": spaces.Box(0, 1, shape=(m,), dtype=np.int8),
            }
        )
        self.observation_spaces = dict.fromkeys(self.possible_agents, agent_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, spaces.Discrete(m))
        state_low, state_high = _flat_bounds(single, ("channel", "gain_db", "tx_power_dbm"))
        self.state_space = spaces.Box(state_low, state_high, dtype=np.float32)
        self._obs: dict[str, np.ndarray] = {}

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The observation space of ``agent`` (the same object on every call)."""
        return self.observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """``Discrete(M)``: the BS index ``agent`` picks."""
        return self.action_spaces[agent]

    def _agent_observations(self) -> dict[str, dict[str, np.ndarray]]:
        obs = self._obs
        out: dict[str, dict[str, np.ndarray]] = {}
        for k, agent in enumerate(self.possible_agents):
            flat = np.concatenate(
                [obs["channel"][:, k, :].ravel(), obs["gain_db"][:, k], obs["tx_power_dbm"]]
            ).astype(np.float32)
            out[agent] = {"observation": flat, "action_mask": np.ones(self.num_bs, np.int8)}
        return out

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, dict[str, np.ndarray]], dict[str, dict[str, Any]]]:
        """Draw a new instance (the one ``MultiCellAssoc-v0`` draws with the same seed)."""
        self._obs, _ = self.env.reset(seed=seed, options=options)
        self.agents = list(self.possible_agents)
        return self._agent_observations(), {agent: {} for agent in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, dict[str, np.ndarray]],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Every UE agent associates with the BS it chose; the episode ends for all."""
        if not self.agents:
            raise RuntimeError("the episode is over (one step per episode): call reset()")
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ValueError(f"actions must hold one BS index per live agent; missing {missing}")
        m = self.env.config.num_bs
        chosen = [
            check_scalar_action(actions[agent], m, name=f"action of {agent}", meaning=" (BS index)")
            for agent in self.possible_agents
        ]
        action = np.array(chosen, np.int64)
        _, reward, _, _, info = self.env.step(action)
        rates = info["rates"]
        if self.reward_mode == "shared":
            rewards = dict.fromkeys(self.possible_agents, float(reward))
        else:
            share = np.zeros(self.num_ues)
            if self.env.config.overload == "penalty" and self.env.load_limit is not None:
                load = info["load"]
                over = np.maximum(load - self.env.load_limit, 0.0) / np.maximum(load, 1.0)
                share = self.env.config.penalty_weight * over[action]
            rewards = {
                agent: float(rates[k] - share[k]) for k, agent in enumerate(self.possible_agents)
            }
        infos = {
            agent: {
                "rate": float(rates[k]),
                "bs": int(action[k]),
                "served": not bool(info["dropped"][k]),
                "sum_rate": float(info["sum_rate"]),
            }
            for k, agent in enumerate(self.possible_agents)
        }
        observations = self._agent_observations()
        terminations = dict.fromkeys(self.possible_agents, True)
        truncations = dict.fromkeys(self.possible_agents, False)
        self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """Global state: ``channel``, ``gain_db``, ``tx_power_dbm`` flattened and concatenated."""
        obs = self._obs
        if not obs:
            raise RuntimeError("call reset() before state()")
        return np.concatenate(
            [obs["channel"].ravel(), obs["gain_db"].ravel(), obs["tx_power_dbm"].ravel()]
        ).astype(np.float32)

    def render(self) -> np.ndarray | None:
        """Render the wrapped env's instance (see ``viewer.py``)."""
        return self.env.render()

    def close(self) -> None:
        """Close the viewer, if any."""
        self.env.close()
