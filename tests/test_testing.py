"""The shipped checker ``ua_envs.testing.check_ua_env``: passes a correct env, and names the
problem of each deliberately broken variant."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from ua_envs.testing import check_ua_env


class ToyEnv(gym.Env[dict[str, Any], np.int64]):
    """Three-step episodes, ``Discrete(4)`` with a mask drawn from ``np_random`` (≥ 1 legal).

    Reward: the chosen action's value in ``obs["values"]``. A masked action ends the episode
    with reward 0 and ``info["invalid_action"] = True`` (SPEC §4's default
    ``invalid_action="terminate"``; raising instead would fail Gymnasium's ``check_env``, which
    steps with unmasked samples). Each flag breaks one promise.
    """

    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, flaw: str | None = None) -> None:
        self.flaw = flaw
        high = np.inf if flaw == "infinite_bounds" else 10.0
        mask_space = (
            spaces.Box(0.0, 1.0, (4,), np.float32)
            if flaw == "float_mask"
            else spaces.Box(0, 1, (4,), np.int8)
        )
        self.observation_space = spaces.Dict(
            {"values": spaces.Box(0.0, high, (4,), np.float32), "action_mask": mask_space}
        )
        self.action_space = spaces.Discrete(4)
        self._t = 0
        self._values = np.zeros(4, np.float32)
        self._mask = np.ones(4, np.int8)
        self._returned: dict[str, np.ndarray] | None = None

    def _draw(self) -> dict[str, np.ndarray]:
        self._values = self.np_random.uniform(0, 10, 4).astype(np.float32)
        mask = (self.np_random.random(4) < 0.5).astype(np.int8)
        mask[self.np_random.integers(4)] = 1
        if self.flaw == "empty_mask" and self._t == 1:
            mask[:] = 0
        self._mask = mask
        obs = {
            "values": self._values.copy(),
            "action_mask": mask.astype(np.float32) if self.flaw == "float_mask" else mask.copy(),
        }
        self._returned = obs  # kept only to model the "reads_returned_obs" flaw
        return obs

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        super().reset(seed=seed)
        if self.flaw == "ignores_seed":
            self._np_random, _ = gym.utils.seeding.np_random(0)
        self._t = 0
        return self._draw(), {}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        action = int(action)
        if not self._mask[action] and self.flaw != "silent_masked":
            self._t += 1
            return self._draw(), 0.0, True, False, {"value": 0.0, "invalid_action": True}
        assert self._returned is not None
        values = self._returned["values"] if self.flaw == "reads_returned_obs" else self._values
        reward = float(values[action])
        if self.flaw == "nan_reward" and self._t == 1:
            reward = float("nan")
        info: dict[str, Any] = {"value": reward if self.flaw != "nan_info" else np.array([np.nan])}
        self._t += 1
        return self._draw(), reward, self._t >= 3, False, info


def test_correct_env_passes() -> None:
    check_ua_env(ToyEnv(), skip_render_check=True)


@pytest.mark.parametrize(
    ("flaw", "message"),
    [
        ("silent_masked", "accepted without ValueError"),
        ("empty_mask", "allows no action"),
        ("float_mask", "int8"),
        ("nan_reward", "reward is not finite"),
        ("nan_info", "non-finite info"),
        ("reads_returned_obs", "returned observations overwritten"),
        ("ignores_seed", "give the same first observation"),
        ("infinite_bounds", "warning"),
    ],
)
def test_broken_env_is_reported(flaw: str, message: str) -> None:
    with pytest.raises(AssertionError, match=message):
        check_ua_env(ToyEnv(flaw), skip_render_check=True)


def test_non_strict_tolerates_warnings_only() -> None:
    check_ua_env(ToyEnv("infinite_bounds"), strict=False, skip_render_check=True)


def test_episode_that_never_ends_is_reported() -> None:
    class Endless(ToyEnv):
        def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict]:
            obs, reward, _, truncated, info = super().step(action)
            return obs, reward, False, truncated, info

    with pytest.raises(AssertionError, match="did not end"):
        check_ua_env(Endless(), max_steps=10, skip_render_check=True)
