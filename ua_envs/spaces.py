"""Action-space helpers shared by the library and the agents (never imports :mod:`agents`)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

__all__ = ["action_mask_of", "flat_mask_size", "random_legal_action"]


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


def flat_mask_size(space: spaces.Space[Any]) -> int:
    """Length of the flat sb3-contrib action mask of ``space``: ``n`` for ``Discrete(n)``,
    ``sum(nvec)`` for ``MultiDiscrete``, ``2 n`` for ``MultiBinary(n)`` (each bit's two values);
    for the ``Dict`` action of ``beamforming="agent"`` (:mod:`ua_envs.envs.agent_beams`), the
    mask of its ``"association"`` (beams are never illegal).

    :raises ValueError: any other space.
    """
    if isinstance(space, spaces.Dict) and "association" in space.spaces:
        return flat_mask_size(space["association"])
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.asarray(space.nvec).sum())
    if isinstance(space, spaces.MultiBinary):
        return 2 * int(np.prod(space.shape))
    raise ValueError(f"no flat action mask for {type(space).__name__}")


def random_legal_action(
    space: spaces.Space[Any], rng: np.random.Generator, mask: np.ndarray | None = None
) -> Any:
    """Draw an action uniformly from ``space`` (only legal ones under ``mask``) with ``rng``.

    The one sampler of the project: the masked random policy, the benchmarks and
    :func:`ua_envs.testing.check_ua_env` all draw through it.

    :param space: ``Discrete``, ``MultiDiscrete``, ``MultiBinary``, a bounded ``Box``
        (uniform), or a ``Dict`` of those (the ``Dict`` action of ``beamforming="agent"``:
        ``mask`` applies to its ``"association"``; a ``dict`` of samples).
    :param mask: ``Discrete``: ``(n,)`` bool array of legal actions; ``MultiDiscrete``: the
        ``(sum(nvec),)`` concatenation of per-dimension masks (sb3-contrib layout) or a
        ``(d, max(nvec))`` array; ignored for ``MultiBinary``. ``None``: every action is legal.
    :return: a numpy action of ``space`` (``np.int64`` for ``Discrete``).
    :raises ValueError: unsupported space, or a mask that allows nothing (in some dimension).
    """
    if isinstance(space, spaces.Discrete):
        n = int(space.n)
        legal = np.arange(n) if mask is None else np.flatnonzero(np.asarray(mask).reshape(-1)[:n])
        if legal.size == 0:
            raise ValueError("mask allows no action")
        return np.int64(int(space.start) + int(rng.choice(legal)))
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).reshape(-1)
        start = np.asarray(space.start).reshape(-1)
        if mask is None:
            return (rng.integers(0, nvec) + start).astype(space.dtype).reshape(space.shape)
        flat = np.asarray(mask)
        rows = (
            np.split(flat.reshape(-1), np.cumsum(nvec)[:-1])
            if flat.size == int(nvec.sum())
            else [row[:n] for row, n in zip(flat.reshape(nvec.size, -1), nvec, strict=True)]
        )
        out = np.empty(nvec.size, dtype=space.dtype)
        for i, row in enumerate(rows):
            legal = np.flatnonzero(row)
            if legal.size == 0:
                raise ValueError(f"mask allows no action in dimension {i}")
            out[i] = rng.choice(legal)
        return (out + start).astype(space.dtype).reshape(space.shape)
    if isinstance(space, spaces.MultiBinary):
        return rng.integers(0, 2, size=space.shape).astype(space.dtype)
    if isinstance(space, spaces.Box) and space.is_bounded("both"):
        return rng.uniform(space.low, space.high).astype(space.dtype)
    if isinstance(space, spaces.Dict):
        return {
            key: random_legal_action(sub, rng, mask if key == "association" else None)
            for key, sub in space.spaces.items()
        }
    raise ValueError(
        "space must be Discrete, MultiDiscrete, MultiBinary, a bounded Box or a Dict of "
        f"those, got {type(space).__name__}"
    )
