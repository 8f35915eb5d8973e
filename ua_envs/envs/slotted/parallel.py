"""PettingZoo parallel env of the slotted arrival process: the base stations are the agents.

Agents ``bs_0 … bs_{M-1}``. In every slot each BS says whether it accepts the arriving user
(``Discrete(2)``: 0 = decline, 1 = accept). Accept is legal only for a candidate BS (a free seat,
among the ``top_k`` best by SNR); decline is always legal. The user joins the accepting candidate
with the best SNR (ties: lower index). When no candidate accepts: with ``allow_reject=True`` the
user is rejected (a voluntary decline, counted in ``rejections`` and ``declines``); with
``allow_reject=False`` (default) the network cannot refuse a user it can serve, so the user joins
the best-SNR candidate anyway. Then the slot is played exactly as in the single-agent env
(serve → depart → reveal the next arrival, SPEC §3.4) and every agent gets the shared reward (the
slot's log-sum throughput).

Observations per agent: ``{"observation": (5,) float32 its node features (the single env's
``nodes[n]`` row), "action_mask": (2,) int8}``; ``state()`` is the global ``nodes`` flattened
plus the arrival flag, ``(5 M + 1,)``. An accept from a non-candidate follows ``invalid_action``
("terminate": every agent terminates with reward 0; "raise": ValueError; "ignore": a decline).
Episodes are truncated after ``max_cycles`` slots (default 40 = ``horizon``). Seeding:
``reset(seed=s)`` draws the same episode as the single env reset with ``s``.

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

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from ua_envs.core.validation import check_int_range
from ua_envs.envs.base import check_scalar_action, state_to_numpy, torch_generator
from ua_envs.envs.slotted.sim import (
    SlottedSimulator,
    SlottedState,
    make_config,
)
from ua_envs.envs.slotted.viewer import SlottedRendering

AgentObs = dict[str, np.ndarray]

#: ``(observations, rewards, terminations, truncations, infos)``, keyed by agent.
StepResult = tuple[
    dict[str, AgentObs],
    dict[str, float],
    dict[str, bool],
    dict[str, bool],
    dict[str, dict[str, Any]],
]


class SlottedArrivalParallelEnv(SlottedRendering, ParallelEnv[str, AgentObs, int]):
    """Base-station agents accept or decline each arriving user; see the module docstring.

    :param max_cycles: slots per episode (truncation), default 40.
    :param render_mode: None, "rgb_array" or "human".
    :param kwargs: fields of :class:`~ua_envs.envs.slotted.sim.SlottedConfig`.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (pettingzoo declares an instance attribute)
        "name": "slotted_arrival_v0",
        "render_modes": ["rgb_array", "human"],
        "is_parallelizable": True,
        "render_fps": 4,
    }

    def __init__(self, max_cycles: int = 40, render_mode: str | None = None, **kwargs: Any) -> None:
        self.config = make_config(kwargs)
        self.max_cycles = check_int_range("max_cycles", max_cycles, 1)
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None, 'rgb_array' or 'human', got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.simulator = SlottedSimulator(self.config, batch_size=1, device="cpu")
        m = self.config.num_bs
        self.possible_agents = [f"bs_{n}" for n in range(m)]
        self.agents: list[str] = []
        high = self.simulator.node_high.numpy()
        self._observation_spaces = {
            agent: spaces.Dict(
                {
                    "action_mask": spaces.Box(0, 1, (2,), dtype=np.int8),
                    "observation": spaces.Box(np.zeros(5, np.float32), high, dtype=np.float32),
                }
            )
            for agent in self.possible_agents
        }
        self._action_spaces = {agent: spaces.Discrete(2) for agent in self.possible_agents}
        self.state_space = spaces.Box(0.0, float(high.max()), (5 * m + 1,), dtype=np.float32)
        self._np_random: np.random.Generator | None = None
        self._state: SlottedState | None = None
        self._cycles = 0
        self._history: list[tuple[float, np.ndarray]] = []
        self._viewer: Any = None

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """``Dict(observation=(5,) float32, action_mask=(2,) int8)`` (the same object each call)."""
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """``Discrete(2)``: 0 = decline, 1 = accept (the same object each call)."""
        return self._action_spaces[agent]

    # ------------------------------------------------------------------ API
    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, AgentObs], dict[str, dict[str, Any]]]:
        """Draw a new episode; with ``seed`` the same one as the single env reset with it."""
        if seed is not None or self._np_random is None:
            self._np_random, _ = seeding.np_random(seed)
        generator = torch_generator(self._np_random, "cpu")
        self._state = state_to_numpy(self.simulator.reset(generator, options, batch_size=1))
        self.agents = list(self.possible_agents)
        self._cycles = 0
        self._history = []
        if self.render_mode == "human":
            self.render()
        return self._observations(), self._infos()

    def step(self, actions: dict[str, Any]) -> StepResult:
        """Play one slot from the agents' accept/decline decisions (see the module docstring)."""
        state = self._require_state()
        if not self.agents:
            raise RuntimeError("step() called on a finished episode; call reset()")
        m = self.config.num_bs
        accept = np.zeros(m, dtype=bool)
        for n, agent in enumerate(self.possible_agents):
            if agent not in actions:
                raise ValueError(f"actions must hold an action for every agent; {agent} missing")
            accept[n] = self._check_action(agent, actions[agent])
        cand = state.mask[0, :m]
        invalid = accept & ~cand
        if invalid.any():
            agent = self.possible_agents[int(np.flatnonzero(invalid)[0])]
            if self.config.invalid_action == "raise":
                raise ValueError(
                    f"action 1 (accept) of {agent} is not legal: it is not a candidate BS "
                    "for this user (mask allows only 0 = decline)"
                )
            if self.config.invalid_action == "terminate":
                return self._finish(reward=0.0, terminated=True, invalid=True)
            accept &= cand  # "ignore": the illegal accept counts as a decline
        bs_action = self._joint_action(accept, cand, state.cur_snr_db[0])
        self._state, reward, _ = self.simulator.step(
            state, np.array([bs_action], dtype=np.int64), validate=False
        )
        self._cycles += 1
        self._history.append((float(reward[0]), self._state.users[0].copy()))
        truncated = self._cycles >= self.max_cycles
        if self.render_mode == "human":
            self.render()
        return self._finish(reward=float(reward[0]), terminated=False, truncated=truncated)

    def state(self) -> np.ndarray:
        """Global state ``(5 M + 1,)`` float32: every BS's node features, then the arrival flag."""
        obs = self.simulator.observe(self._require_state())
        return np.concatenate([obs["nodes"][0].reshape(-1), obs["arrival"][0]])

    # ------------------------------------------------------------------ helpers
    def _joint_action(self, accept: np.ndarray, cand: np.ndarray, snr_db: np.ndarray) -> int:
        """The single-env action: best-SNR accepting candidate, else fallback (docstring)."""
        m = self.config.num_bs
        chosen = accept & cand
        if not chosen.any():
            if not cand.any() or self.config.allow_reject:
                return m  # no-op: forced or voluntary rejection (or no arrival)
            chosen = cand  # allow_reject=False: the network takes the user anyway
        return int(np.argmax(np.where(chosen, snr_db, -np.inf)))

    def _check_action(self, agent: str, action: Any) -> bool:
        meaning = " (0 = decline, 1 = accept)"
        return check_scalar_action(action, 2, name=f"action of {agent}", meaning=meaning) == 1

    def _require_state(self) -> SlottedState:
        if self._state is None:
            raise RuntimeError("call reset() first")
        return self._state

    def _observations(self) -> dict[str, AgentObs]:
        obs = self.simulator.observe(self._require_state())
        nodes, mask = obs["nodes"][0], obs["action_mask"][0]
        return {
            agent: {
                "action_mask": np.array([1, mask[n]], dtype=np.int8),
                "observation": nodes[n].copy(),
            }
            for n, agent in enumerate(self.agents)
        }

    def _infos(self, invalid: bool = False) -> dict[str, dict[str, Any]]:
        info = self.simulator.info(self._require_state())
        shared: dict[str, Any] = {}
        for key, value in info.items():
            row = value[0]
            shared[key] = row.item() if row.ndim == 0 else row.copy()
        shared["invalid_action"] = invalid
        return {agent: dict(shared) for agent in self.agents}

    def _finish(
        self, reward: float, terminated: bool, truncated: bool = False, invalid: bool = False
    ) -> StepResult:
        observations = self._observations()
        infos = self._infos(invalid)
        rewards = dict.fromkeys(self.agents, reward)
        terminations = dict.fromkeys(self.agents, terminated)
        truncations = dict.fromkeys(self.agents, truncated and not terminated)
        if terminated or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos
