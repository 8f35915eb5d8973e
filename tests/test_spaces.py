"""The shared action sampler and mask reader (ua_envs.spaces)."""

from __future__ import annotations

import numpy as np
from gymnasium import spaces

from agents.policy import sample_action
from ua_envs.spaces import action_mask_of, random_legal_action


def test_multidiscrete_mask_layouts_and_start_offsets() -> None:
    """Both mask layouts restrict each dimension; ``start`` shifts the drawn values."""
    space = spaces.MultiDiscrete([3, 2], start=[10, 20])
    flat = np.array([0, 0, 1, 1, 0], dtype=bool)  # dim 0: only 2; dim 1: only 0
    square = np.array([[0, 0, 1], [1, 0, 0]], dtype=bool)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert random_legal_action(space, rng, flat).tolist() == [12, 20]
        assert random_legal_action(space, rng, square).tolist() == [12, 20]


def test_masked_discrete_draws_cover_only_legal_actions() -> None:
    rng = np.random.default_rng(1)
    mask = np.array([1, 0, 1, 0, 1], dtype=np.int8)
    draws = {int(random_legal_action(spaces.Discrete(5), rng, mask)) for _ in range(200)}
    assert draws == {0, 2, 4}


def test_policy_sampler_is_the_shared_one() -> None:
    assert sample_action is random_legal_action
    assert action_mask_of({"action_mask": np.array([1, 0], np.int8)}).tolist() == [True, False]
