"""The common Policy interface and the masked random policy (the SB3 adapter: agents.sb3).

A policy maps one observation of a single (non-vector) Gymnasium env to one action::

    action = policy.act(observation, info, env=env)

Baselines that need the instance (exhaustive search, WMMSE-based) read it through
``env.unwrapped`` (``channels``, ``tx_power``, ``noise_power`` or the simulator); they never
re-derive physics. Policies with internal randomness take a seed and implement ``reset(seed)``,
which :func:`agents.evaluate.evaluate` calls once per evaluation so runs reproduce.

A :class:`BatchPolicy` maps a batch of observations of a native vector env
(``gym.make_vec(id, n)``, torch tensors with a leading batch dim) to a batch of actions::

    actions = policy.act_batch(observation, mask)

The baselines that are pure functions of the observation implement both methods on the same
object, and their ``act`` is ``act_batch`` on a batch of one, so both paths decide alike;
:func:`agents.evaluate.evaluate` runs such policies on the vector env (docs/agents.md).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np
import torch
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

    A policy that reads the instance may declare ``act_batch(observation, mask, *, env=None)``;
    :func:`agents.evaluate.evaluate` then passes the vector env as ``env``. A policy object
    whose ``act_batch`` cannot serve its action space sets ``supports_batch = False``
    (:attr:`RandomPolicy.supports_batch`); ``evaluate`` then keeps the single env.
    """

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """Return ``(B, ...)`` actions for ``B`` observations."""
        ...


def batch_of_one(observation: Any, keys: tuple[str, ...] | None = None) -> dict[str, Tensor]:
    """A single env's dict observation as the batch of one that ``act_batch`` takes: each
    entry (``keys``, default all) as a tensor with a leading batch dim of 1.

    >>> batch_of_one({"x": np.zeros(3)})["x"].shape
    torch.Size([1, 3])
    """
    names = tuple(observation) if keys is None else keys
    return {key: torch.as_tensor(np.asarray(observation[key]))[None] for key in names}


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
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's generators (numpy for :meth:`act`, torch for :meth:`act_batch`).

        The two draw from different streams: a batched run is reproducible from ``seed`` but
        does not draw the single path's actions.
        """
        self._rng = np.random.default_rng(seed)
        self._torch_rng = torch.Generator()
        self._torch_rng.manual_seed(int(np.random.SeedSequence(seed).generate_state(1)[0]))

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """A uniformly random legal action."""
        if isinstance(self.action_space, spaces.MultiBinary):
            bits = self._rng.random(self.action_space.shape) < self.probability
            return bits.astype(self.action_space.dtype)
        return sample_action(self.action_space, self._rng, observation_mask(observation, env))

    @property
    def supports_batch(self) -> bool:
        """Whether :meth:`act_batch` draws this action space (``Discrete``, ``MultiDiscrete``,
        ``MultiBinary``; not the ``Box`` / ``Dict`` ones that only :meth:`act` draws)."""
        return isinstance(
            self.action_space, (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)
        )

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """``B`` uniformly random legal actions, drawn with the policy's torch generator (CPU).

        :param observation: the vector env's observation dict (only its batch size ``B`` and
            device are used).
        :param mask: ``(B, flat_mask_size)`` bool legal actions (``Discrete``: ``(B, n)``;
            ``MultiDiscrete``: the concatenated per-dimension masks), or ``None``: every action
            is legal. Ignored for ``MultiBinary``.
        :return: ``Discrete``: ``(B,)`` int64; ``MultiDiscrete``: ``(B, *shape)`` int64;
            ``MultiBinary``: ``(B, *shape)`` int8 (each bit 1 with ``probability``); on the
            observation's device.
        :raises ValueError: a row of ``mask`` that allows no action (in some dimension), an
            unsupported action space.
        """
        first = next(iter(observation.values()))
        batch, device = int(first.shape[0]), first.device
        legal = None if mask is None else mask.detach().to("cpu", torch.bool)
        space = self.action_space
        if isinstance(space, spaces.MultiBinary):
            draw = torch.rand((batch, *space.shape), generator=self._torch_rng)
            return (draw < self.probability).to(torch.int8).to(device)
        if isinstance(space, spaces.Discrete):
            n = int(space.n)
            weights = torch.ones(batch, n) if legal is None else legal[:, :n].to(torch.float64)
            out = self._sample_rows(weights, "") + int(space.start)
            return out.to(device)
        if isinstance(space, spaces.MultiDiscrete):
            nvec = [int(v) for v in np.asarray(space.nvec).reshape(-1)]
            offsets = np.concatenate([[0], np.cumsum(nvec)])
            columns = []
            for i, n in enumerate(nvec):
                weights = (
                    torch.ones(batch, n)
                    if legal is None
                    else legal[:, offsets[i] : offsets[i + 1]].to(torch.float64)
                )
                columns.append(self._sample_rows(weights, f" in dimension {i}"))
            start = torch.as_tensor(np.asarray(space.start).reshape(-1), dtype=torch.int64)
            out = (torch.stack(columns, dim=1) + start).reshape(batch, *space.shape)
            return out.to(device)
        raise ValueError(
            f"RandomPolicy.act_batch serves Discrete, MultiDiscrete and MultiBinary spaces, "
            f"got {type(space).__name__}"
        )

    def _sample_rows(self, weights: Tensor, where: str) -> Tensor:
        """One index per row of the ``(B, n)`` non-negative ``weights``, uniform over the
        positive entries (``(B,)`` int64)."""
        empty = ~(weights > 0).any(dim=1)
        if bool(empty.any()):
            row = int(torch.nonzero(empty)[0, 0])
            raise ValueError(f"mask allows no action{where} in row {row} of the batch")
        return torch.multinomial(weights, 1, generator=self._torch_rng).squeeze(1)
