"""Baselines that apply to every env: ``random`` (uniform over legal actions)."""

from __future__ import annotations

import gymnasium as gym

from agents.entries import PolicyEntry, family_policies
from agents.policy import RandomPolicy


def make_random(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> RandomPolicy:
    """Uniform over the legal actions of ``env`` (Bernoulli(0.5) per bit for MultiBinary)."""
    del checkpoint
    return RandomPolicy(env.action_space, seed=seed)


#: This module's policies (collected by :func:`agents.registry.load_builtin`).
POLICIES: tuple[PolicyEntry, ...] = family_policies(
    None,
    ("random", make_random, "uniform over legal actions (masked)"),
)
