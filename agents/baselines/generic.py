"""Baselines that apply to every env: ``random`` (uniform over legal actions)."""

from __future__ import annotations

import gymnasium as gym

from agents.policy import RandomPolicy
from agents.registry import register_policy


def make_random(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> RandomPolicy:
    """Uniform over the legal actions of ``env`` (Bernoulli(0.5) per bit for MultiBinary)."""
    del checkpoint
    return RandomPolicy(env.action_space, seed=seed)


register_policy("random", make_random, description="uniform over legal actions (masked)")
