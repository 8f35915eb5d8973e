"""The common Policy interface and the masked random policy (the SB3 adapter: agents.sb3).

A policy maps one observation of a single (non-vector) Gymnasium env to one action::

    action = policy.act(observation, info, env=env)

Baselines that need the instance (exhaustive search, WMMSE-based) read it through
``env.unwrapped`` (``channels``, ``tx_power``, ``noise_power`` or the simulator); they never
re-derive physics. Policies with internal randomness take a seed and implement ``reset(seed)``,
which :func:`agents.evaluate.evaluate` calls once per evaluation so runs reproduce.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from torch import Tensor

from ua_envs.spaces import action_mask_of, random_legal_action

#: The action mask of one observation (``observation["action_mask"]``, else
#: ``env.action_masks()``), or ``None``: :func:`ua_envs.spaces.action_mask_of` under its
#: agents-side name.
observation_mask = action_mask_of


@runtime_checkable
class Policy(Protocol):
    """Anything with ``act(observation, info=None, *, env=None) -> action``."""

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """Return one action of the env's action space for ``observation``."""
        ...


@runtime_checkable
class BatchPolicy(Protocol):
    """A policy of the native vector envs: one action per row of a batch of observations.

    ``observation`` is the vector env's observation dict (torch tensors with a leading batch
    dim ``B``, on the env's device), ``mask`` its ``(B, n)`` bool action mask or ``None`` (no
    masks); the result is ``(B, ...)``: the batched action the vector env's ``step`` takes.
    """

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """Return ``(B, ...)`` actions for ``B`` observations."""
        ...


#: Uniform legal-action sampler (see :func:`ua_envs.spaces.random_legal_action`).
sample_action = random_legal_action


class RandomPolicy:
    """Uniform over the legal actions (masked), reproducible from ``seed``.

    :param action_space: the env's action space.
    :param seed: seed of the policy's own ``numpy.random.Generator``.
    :param probability: for ``MultiBinary`` spaces, the probability of each bit being 1
        (default 0.5, a Bernoulli(0.5) association).
    """

    def __init__(
        self, action_space: spaces.Space[Any], seed: int | None = None, probability: float = 0.5
    ) -> None:
        if not 0.0 <= probability <= 1.0:
            raise ValueError(f"probability must be in [0, 1], got {probability!r}")
        self.action_space = action_space
        self.probability = probability
        self._rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's generator."""
        self._rng = np.random.default_rng(seed)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """A uniformly random legal action."""
        if isinstance(self.action_space, spaces.MultiBinary):
            bits = self._rng.random(self.action_space.shape) < self.probability
            return bits.astype(self.action_space.dtype)
        return sample_action(self.action_space, self._rng, observation_mask(observation, env))
