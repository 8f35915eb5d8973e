"""A tiny env with known returns for the evaluation-harness and CLI tests.

Importing this module registers the Gymnasium ids ``UATiny-v0`` and ``UABroken-v0`` (whose
module does not exist) and the policy ``first_legal`` (for ``UATiny-v0``). The CLI tests import
it with ``ua-envs --env-module tests/agents/tiny_envs.py``.

``TinyBanditEnv(reward, value, horizon, num_actions)``: ``horizon`` steps per episode, action
``Discrete(num_actions)`` with a random mask (action 0 is always illegal, each other action is
legal with probability 1/2, at least one is); a masked action raises ``ValueError`` (with
``strict=False`` it earns 0 instead). Rewards per step of a legal action:

* ``"constant"``: ``value``;
* ``"gaussian"``: ``value + N(0, 1)`` drawn from ``np_random``;
* ``"bernoulli"``: 1 with probability ``value`` (from ``np_random``), else 0;
* ``"action"``: the action's index.

``TinyBitsEnv`` (``UATinyBits-v0``): one step, action ``MultiBinary(3)``, reward = number of
bits set, no action mask and no ``action_masks()`` (for the action-space filters of the SB3
entries).

Info after step ``t`` (1-based): ``step = t``, ``even = (t % 2 == 0)``, ``pair = [t, 2t]``,
``association`` and ``label`` (skipped by the harness).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import register

from agents.registry import register_policy

TINY_ID = "UATiny-v0"
#: Registered with an entry point whose module does not exist (an env not written yet).
BROKEN_ID = "UABroken-v0"
#: :class:`TinyBitsEnv`: MultiBinary actions, no masks.
BITS_ID = "UATinyBits-v0"


class TinyBanditEnv(gym.Env[dict[str, np.ndarray], np.int64]):
    """See the module docstring."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(
        self,
        reward: str = "constant",
        value: float = 1.0,
        horizon: int = 1,
        num_actions: int = 4,
        strict: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if reward not in ("constant", "gaussian", "bernoulli", "action"):
            raise ValueError(f"reward must be constant, gaussian, bernoulli or action: {reward!r}")
        self.reward_kind = reward
        self.value = float(value)
        self.horizon = int(horizon)
        self.num_actions = int(num_actions)
        self.strict = strict
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(self.num_actions)
        self.observation_space = spaces.Dict(
            {
                "x": spaces.Box(0.0, 1.0, (1,), np.float32),
                "action_mask": spaces.Box(0, 1, (self.num_actions,), np.int8),
            }
        )
        self._t = 0
        self._mask = np.ones(self.num_actions, dtype=bool)

    def _draw_mask(self) -> None:
        mask = self.np_random.random(self.num_actions) < 0.5
        mask[0] = False
        if not mask.any():
            mask[1 + int(self.np_random.integers(self.num_actions - 1))] = True
        self._mask = mask

    def _obs(self) -> dict[str, np.ndarray]:
        return {
            "x": np.array([self._t / self.horizon], dtype=np.float32),
            "action_mask": self._mask.astype(np.int8),
        }

    def action_masks(self) -> np.ndarray:
        """Boolean mask of the legal actions (sb3-contrib convention)."""
        return self._mask.copy()

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        self._t = 0
        self._draw_mask()
        return self._obs(), {}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        index = int(action)
        legal = bool(self._mask[index])
        if not legal and self.strict:
            raise ValueError(f"action {index} is masked")
        if not legal:
            reward = 0.0
        elif self.reward_kind == "constant":
            reward = self.value
        elif self.reward_kind == "gaussian":
            reward = self.value + float(self.np_random.standard_normal())
        elif self.reward_kind == "bernoulli":
            reward = float(self.np_random.random() < self.value)
        else:
            reward = float(index)
        self._t += 1
        self._draw_mask()
        info = {
            "step": self._t,
            "even": self._t % 2 == 0,
            "pair": np.array([self._t, 2 * self._t], dtype=np.float32),
            "association": np.ones((2, 2)),
            "label": "not a number",
        }
        return self._obs(), reward, self._t >= self.horizon, False, info


class TinyBitsEnv(gym.Env[np.ndarray, np.ndarray]):
    """One step; action ``MultiBinary(3)``; reward = number of bits set; no masks."""

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode = render_mode
        self.action_space = spaces.MultiBinary(3)
        self.observation_space = spaces.Box(0.0, 1.0, (2,), np.float32)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        return self.np_random.random(2).astype(np.float32), {}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        reward = float(np.asarray(action).sum())
        return np.zeros(2, np.float32), reward, True, False, {}


class FirstLegalPolicy:
    """Always the lowest-index legal action (deterministic)."""

    def act(self, observation: Any, info: Any = None, *, env: Any = None) -> np.int64:
        return np.int64(np.flatnonzero(observation["action_mask"])[0])


def make_first_legal(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """Registry factory of :class:`FirstLegalPolicy`."""
    return FirstLegalPolicy()


if TINY_ID not in gym.registry:
    register(id=TINY_ID, entry_point=TinyBanditEnv)
if BITS_ID not in gym.registry:
    register(id=BITS_ID, entry_point=TinyBitsEnv)
if BROKEN_ID not in gym.registry:
    register(id=BROKEN_ID, entry_point="no_such_module_for_tests.env:Env")
register_policy("first_legal", make_first_legal, env_ids=[TINY_ID], description="lowest legal")
