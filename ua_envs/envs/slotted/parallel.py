"""PettingZoo parallel env of the slotted arrival process: the base stations are the agents.

Agents ``bs_0 … bs_{M-1}``. In every slot each BS says whether it accepts the arriving user
(``Discrete(2)``: 0 = decline, 1 = accept). Accept is legal only for a candidate BS (a free seat,
among the ``top_k`` best by SNR); decline is always legal. The user joins the accepting candidate
with the best SNR (ties: lower index). When no candidate accepts: with ``allow_reject=True`` the
user is rejected (a voluntary decline, counted in ``rejections`` and ``declines``); with
``allow_reject=False`` (default) the network cannot refuse a user it can serve, so the user joins
the best-SNR candidate anyway. Then the slot is played exactly as in the single-agent env
(serve → depart → reveal the next arrival, docs/model.md §3.4) and every agent gets the shared
reward (the slot's log-sum throughput).

Observations per agent: ``{"observation": (6,) float32 its node features (the single env's
``nodes[n]`` row), "action_mask": (2,) int8}``; ``state()`` is the global ``nodes`` flattened
plus the arrival flag, ``(6 M + 1,)``. An accept from a non-candidate follows ``invalid_action``
("terminate": every agent terminates with reward 0 and the slot is not played; "raise":
``ValueError``; "ignore": it counts as a decline) and is reported as ``invalid_action=True`` in
every agent's info, as in the single env. Episodes are truncated after ``max_cycles`` slots
(default ``horizon``, at most ``horizon``); stepping after the end raises ``RuntimeError``, and
an action dict naming an unknown agent raises ``ValueError`` naming the live agents. Seeding:
``reset(seed=s)`` draws the same episode as the single env reset with ``s``; a given episode is
played by ``reset(options={"instance": SlottedInstance(...)})``.

>>> from ua_envs.multiagent import slotted_arrival_v0
>>> env = slotted_arrival_v0.parallel_env(arrival_prob=1.0)
>>> observations, infos = env.reset(seed=0)
>>> env.agents
['bs_0', 'bs_1', 'bs_2']
>>> actions = {a: int(observations[a]["action_mask"][1]) for a in env.agents}  # all accept
>>> observations, rewards, terminations, truncations, infos = env.step(actions)
>>> rewards["bs_0"] == rewards["bs_1"] > 0
True
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from ua_envs.envs.base import check_scalar_action
from ua_envs.envs.parallel_base import SimParallelEnv, pettingzoo_metadata
from ua_envs.envs.slotted.sim import (
    NODE_FEATURES,
    SlottedConfig,
    SlottedSimulator,
    SlottedState,
    check_episode_steps,
    make_config,
)
from ua_envs.envs.slotted.viewer import SlottedRendering

__all__ = ["SlottedArrivalParallelEnv"]

AgentObs = dict[str, np.ndarray]


class SlottedArrivalParallelEnv(SlottedRendering, SimParallelEnv[SlottedState]):
    """Base-station agents accept or decline each arriving user; see the module docstring.

    :param max_cycles: slots per episode (truncation), ``None``: ``horizon``; at most
        ``horizon`` (the drawn episode's length).
    :param render_mode: None, "rgb_array" or "human".
    :param kwargs: fields of :class:`~ua_envs.envs.slotted.sim.SlottedConfig`.
    """

    metadata = pettingzoo_metadata("slotted_arrival_v0", render_fps=4)
    simulator_class = SlottedSimulator
    make_config = staticmethod(make_config)
    config: SlottedConfig
    sim: SlottedSimulator

    def __init__(
        self, max_cycles: int | None = None, render_mode: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(render_mode=render_mode, **kwargs)
        self.max_cycles = check_episode_steps("max_cycles", max_cycles, self.config.horizon)
        high = self.sim.node_high.numpy()
        self.state_space = spaces.Box(
            0.0, float(high.max()), (NODE_FEATURES * self.config.num_bs + 1,), dtype=np.float32
        )
        self._history: list[tuple[float, np.ndarray]] = []
        self._invalid = False  # an illegal accept was ignored in the last step

    # ---- SimParallelEnv hooks ----------------------------------------------------------------

    def _agent_names(self) -> list[str]:
        return [f"bs_{n}" for n in range(self.config.num_bs)]

    def _agent_spaces(self) -> tuple[spaces.Space[Any], spaces.Space[Any]]:
        """``Dict(observation=(6,) float32, action_mask=(2,) int8)`` and ``Discrete(2)`` (0 =
        decline, 1 = accept)."""
        high = self.sim.node_high.numpy()
        observation = spaces.Dict(
            {
                "action_mask": spaces.Box(0, 1, (2,), dtype=np.int8),
                "observation": spaces.Box(
                    np.zeros(NODE_FEATURES, np.float32), high, dtype=np.float32
                ),
            }
        )
        return observation, spaces.Discrete(2)

    def _joint_action(self, actions: Mapping[str, Any]) -> np.ndarray:
        """The simulator's ``(1,)`` action: the best-SNR accepting candidate, else the fallback
        (module docstring); an illegal accept under "terminate" is passed on as that BS (which
        the simulator then refuses: the episode terminates, reward 0)."""
        config = self.config
        m = config.num_bs
        meaning = " (0 = decline, 1 = accept)"
        accept = np.array(
            [
                check_scalar_action(actions[agent], 2, name=f"action of {agent}", meaning=meaning)
                == 1
                for agent in self.possible_agents
            ]
        )
        state = self.runner.require_state()
        cand = state.mask[0, :m]
        invalid = accept & ~cand
        self._invalid = False
        if invalid.any():
            first = int(np.flatnonzero(invalid)[0])
            if config.invalid_action == "raise":
                raise ValueError(
                    f"action 1 (accept) of {self.possible_agents[first]} is not legal: it is not "
                    "a candidate BS for this user (mask allows only 0 = decline)"
                )
            if config.invalid_action == "terminate":
                return np.array([first], dtype=np.int64)  # illegal: the simulator terminates
            accept &= cand  # "ignore": the illegal accept counts as a decline
            self._invalid = True
        chosen = accept & cand
        if not chosen.any():
            if not cand.any() or config.allow_reject:
                return np.array([m], dtype=np.int64)  # no-op: forced or voluntary rejection
            chosen = cand  # allow_reject=False: the network takes the user anyway
        best = int(np.argmax(np.where(chosen, state.cur_snr_db[0], -np.inf)))
        return np.array([best], dtype=np.int64)

    def _observations(self) -> dict[str, AgentObs]:
        obs = self.runner.observation()
        nodes, mask = obs["nodes"], obs["action_mask"]
        return {
            agent: {
                "action_mask": np.array([1, mask[n]], dtype=np.int8),
                "observation": nodes[n].copy(),
            }
            for n, agent in enumerate(self.possible_agents)
        }

    def _infos(self) -> dict[str, dict[str, Any]]:
        shared = self.runner.info()
        shared["invalid_action"] = bool(shared["invalid_action"]) or self._invalid
        # fresh arrays per agent: mutating one agent's info must not change another's
        return {
            agent: {k: v.copy() if isinstance(v, np.ndarray) else v for k, v in shared.items()}
            for agent in self.possible_agents
        }

    def _truncated(self) -> bool:
        return int(self.runner.require_state().slot[0]) >= self.max_cycles

    def _on_reset(self) -> None:
        self._history = []
        self._invalid = False

    def _on_step(self, reward: float) -> None:
        self._history.append((reward, self.runner.field("users")))

    def state(self) -> np.ndarray:
        """Global state ``(6 M + 1,)`` float32: every BS's node features, then the arrival flag."""
        obs = self.runner.observation()
        return np.concatenate([obs["nodes"].reshape(-1), obs["arrival"]])
