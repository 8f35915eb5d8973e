"""Action-space helpers shared by the library and the agents (never imports :mod:`agents`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

__all__ = ["action_mask_of"]


def action_mask_of(observation: Any, env: gym.Env | None = None) -> np.ndarray | None:
    """The boolean action mask of a single observation, or ``None`` when actions are never illegal.

    Read from ``observation["action_mask"]`` (Dict observations), else from
    ``env.action_masks()`` (the sb3-contrib convention) when the env has it.

    :param observation: one observation of a single (non-vector) env.
    :param env: the env, consulted only when the observation carries no mask.
    :return: bool array (the mask's own shape), or ``None``.
    """
    if isinstance(observation, dict) and "action_mask" in observation:
        return np.asarray(observation["action_mask"]).astype(bool)
    if env is not None:
        masks = getattr(env.unwrapped, "action_masks", None)
        if callable(masks):
            return np.asarray(masks()).astype(bool)
    return None
