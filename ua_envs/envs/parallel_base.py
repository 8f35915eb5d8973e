"""The PettingZoo parallel env base: agents over a family's simulator (not over its Gymnasium env).

A family's ``parallel.py`` subclasses :class:`SimParallelEnv` and fills in the agents, their
spaces, how their actions make one joint action of the simulator, and how the simulator's
reward is shared. Seeding is the single env's: ``reset(seed=s)`` plays the episode that the
family's Gymnasium env plays after ``reset(seed=s)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np
from gymnasium import spaces
from gymnasium.utils import seeding
from pettingzoo import ParallelEnv

from ua_envs.core.validation import check_choice
from ua_envs.envs.base import ViewerOwner
from ua_envs.envs.contract import Simulator
from ua_envs.envs.single import EpisodeRunner

__all__ = ["SimParallelEnv", "StepResult", "pettingzoo_metadata"]

StateT = TypeVar("StateT")

#: The reset option ``pettingzoo.test.parallel_api_test`` / ``api_test`` pass to probe that
#: ``reset`` takes options; dropped instead of raising as an unknown key.
PETTINGZOO_PROBE_KEY = "options"

#: ``(observations, rewards, terminations, truncations, infos)``, each keyed by agent.
StepResult = tuple[
    dict[str, Any],
    dict[str, float],
    dict[str, bool],
    dict[str, bool],
    dict[str, dict[str, Any]],
]


def pettingzoo_metadata(name: str, render_fps: int) -> dict[str, Any]:
    """A family's PettingZoo ``metadata``: its ``name`` (the module name, e.g.
    ``"slotted_arrival_v0"``), both render modes, parallelizable, ``render_fps``."""
    return {
        "name": name,
        "render_modes": ["human", "rgb_array"],
        "is_parallelizable": True,
        "render_fps": render_fps,
    }


class SimParallelEnv(ViewerOwner, ParallelEnv[str, Any, Any], Generic[StateT]):
    """PettingZoo ``ParallelEnv`` over a family's simulator at batch size 1.

    Subclasses set :attr:`simulator_class`, :attr:`make_config` and ``metadata`` and implement
    :meth:`_agent_names`, :meth:`_agent_spaces`, :meth:`_joint_action`, :meth:`_observations`,
    :meth:`_rewards`, :meth:`_infos` and :meth:`state` (and the viewer hooks to render).

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: the family config's fields.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (pettingzoo declares an instance attribute)
        "render_modes": ["human", "rgb_array"],
        "is_parallelizable": True,
    }
    #: The family's simulator class.
    simulator_class: ClassVar[type[Simulator[Any]]]

    @staticmethod
    def make_config(kwargs: Mapping[str, Any]) -> Any:
        """The family config from env kwargs (unknown names raise ``ValueError``)."""
        raise NotImplementedError

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.render_mode = render_mode
        self.config = self.make_config(kwargs)
        self.sim = self.simulator_class(self.config, batch_size=1, device="cpu")
        self.runner: EpisodeRunner[StateT] = EpisodeRunner(self.sim)
        self.possible_agents: list[str] = self._agent_names()
        self.agents: list[str] = []
        observation_space, action_space = self._agent_spaces()
        self.observation_spaces = dict.fromkeys(self.possible_agents, observation_space)
        self.action_spaces = dict.fromkeys(self.possible_agents, action_space)
        self._np_random: np.random.Generator | None = None
        self._viewer: Any = None

    # ---- hooks ---------------------------------------------------------------------------------

    def _agent_names(self) -> list[str]:
        raise NotImplementedError

    def _agent_spaces(self) -> tuple[spaces.Space[Any], spaces.Space[Any]]:
        """``(observation space, action space)`` shared by every agent."""
        raise NotImplementedError

    def _joint_action(self, actions: Mapping[str, Any]) -> Any:
        """The simulator's batched action from every live agent's (validated) action."""
        raise NotImplementedError

    def _observations(self) -> dict[str, Any]:
        raise NotImplementedError

    def _rewards(self, reward: float) -> dict[str, float]:
        """Per-agent rewards from the simulator's reward (default: shared)."""
        return dict.fromkeys(self.agents, reward)

    def _infos(self) -> dict[str, dict[str, Any]]:
        raise NotImplementedError

    def _truncated(self) -> bool:
        """Whether the episode is cut after this step (default: never)."""
        return False

    def _on_reset(self) -> None:
        """Called after every reset."""

    def _on_step(self, reward: float) -> None:
        """Called after every step."""

    def _done(self, state: StateT) -> bool:
        return bool(state.done[0])  # type: ignore[attr-defined]

    def state(self) -> np.ndarray:
        """The global state (flat float32)."""
        raise NotImplementedError

    # ---- PettingZoo API ------------------------------------------------------------------------

    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """The observation space of ``agent`` (the same object on every call)."""
        return self.observation_spaces[self._check_agent(agent)]

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """The action space of ``agent`` (the same object on every call)."""
        return self.action_spaces[self._check_agent(agent)]

    def _check_agent(self, agent: str) -> str:
        if agent not in self.observation_spaces:
            raise ValueError(f"unknown agent {agent!r}; agents: {', '.join(self.possible_agents)}")
        return agent

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Start an episode; with ``seed`` the one the family's Gymnasium env plays.

        ``options`` takes the simulator's keys (``"instance"``, ...); an unknown key raises
        ``ValueError`` naming the valid ones, except the key ``"options"``, with which
        PettingZoo's own API test probes ``reset`` (it is dropped).
        """
        if isinstance(options, Mapping) and PETTINGZOO_PROBE_KEY in options:
            options = {k: v for k, v in options.items() if k != PETTINGZOO_PROBE_KEY}
        seeded = seed is not None or self._np_random is None
        if seeded:
            self._np_random, _ = seeding.np_random(seed)
        assert self._np_random is not None
        self.runner.reset(self._np_random, seeded, options)
        self.agents = list(self.possible_agents)
        self._on_reset()
        if self.render_mode == "human":
            self.render()
        return self._observations(), self._infos()

    def step(self, actions: dict[str, Any]) -> StepResult:
        """Apply every live agent's action; the episode ends for all agents together."""
        if not self.agents:
            raise RuntimeError("the episode is over: call reset() before step()")
        if not isinstance(actions, Mapping):
            raise ValueError(f"actions must be a dict keyed by agent, got {type(actions).__name__}")
        unknown = [agent for agent in actions if agent not in self.agents]
        if unknown:
            raise ValueError(
                f"actions has unknown agent(s) {unknown}; live agents: {', '.join(self.agents)}"
            )
        missing = [agent for agent in self.agents if agent not in actions]
        if missing:
            raise ValueError(f"actions must hold an action for every live agent; missing {missing}")
        reward, terminated = self.runner.step(self._joint_action(actions), self._done)
        self._on_step(reward)
        truncated = not terminated and self._truncated()
        observations, infos = self._observations(), self._infos()
        rewards = self._rewards(reward)
        terminations = dict.fromkeys(self.agents, terminated)
        truncations = dict.fromkeys(self.agents, truncated)
        if terminated or truncated:
            self.agents = []
        if self.render_mode == "human":
            self.render()
        return observations, rewards, terminations, truncations, infos

    def render(self) -> np.ndarray | None:
        """``rgb_array``: an ``(H, W, 3)`` uint8 frame; ``human``: draw the window."""
        viewer = self._active_viewer()
        if viewer is None:
            return None
        return self._draw(viewer, self.runner.require_state())

    def _draw(self, viewer: Any, state: StateT) -> np.ndarray | None:
        raise NotImplementedError

    @property
    def sim_state(self) -> StateT:
        """The simulator state of the current episode (batch of one) as torch tensors."""
        return self.runner.torch_state()
