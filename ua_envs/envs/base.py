"""Pieces shared by every env family's adapters: seeding rule, numpy conversion, vector base.

Seeding rule (one source of randomness per env; nothing owns a seed or uses global RNG):

* A single env's ``reset(seed=s)`` seeds ``self.np_random`` (Gymnasium), and the simulator's
  ``torch.Generator`` is seeded with :func:`torch_seed` of that ``np_random``.
* A native vector env's ``reset(seed=s)`` draws sub-env ``i``'s first episode exactly as a single
  env reset with ``seed=s + i`` would (one generator per sub-env, used once), so
  ``make_vec(id, n)`` reset with ``s`` equals ``n`` single envs reset with ``s, s+1, …``
  (Gymnasium's ``SyncVectorEnv`` convention). Episodes started by autoreset are drawn for the
  whole batch from one generator seeded from ``s``, at least ``autoreset_pool`` (256) instances
  per draw, handed out in draw order to the rows that end: reproducible, but not the single
  envs' second episodes (drawing them env by env would cost the vector env its speed).
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Mapping
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.utils import seeding
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space
from torch import Tensor

from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE
from ua_envs.core.signal import project_power
from ua_envs.core.validation import as_tensor, check_finite, check_int_range
from ua_envs.envs.contract import DecisionSimulator, Outcome, Simulator
from ua_envs.presets import apply_preset
from ua_envs.spaces import flat_mask_size

StateT = TypeVar("StateT")


def torch_seed(np_random: np.random.Generator) -> int:
    """Draw the seed of the simulator's ``torch.Generator`` from the env's ``np_random``."""
    return int(np_random.integers(0, 2**63 - 1))


def torch_generator(np_random: np.random.Generator, device: torch.device | str) -> torch.Generator:
    """A ``torch.Generator`` on ``device`` seeded by :func:`torch_seed` of ``np_random``."""
    generator = torch.Generator(device=torch.device(device))
    generator.manual_seed(torch_seed(np_random))
    return generator


def sub_env_generator(seed: int, index: int, device: torch.device | str) -> torch.Generator:
    """The generator a single env reset with ``seed + index`` would use (see module docstring)."""
    np_random, _ = seeding.np_random(seed + index)
    return torch_generator(np_random, device)


def to_numpy(tensors: Mapping[str, Tensor], index: int = 0) -> dict[str, np.ndarray]:
    """Row ``index`` of each batched tensor, as a fresh numpy array (no aliasing of buffers)."""
    return {key: value[index].detach().cpu().numpy().copy() for key, value in tensors.items()}


def row_numpy(arrays: Mapping[str, Tensor | np.ndarray]) -> dict[str, Any]:
    """Row 0 of batched tensors or arrays as fresh numpy arrays; 0-d rows become Python scalars."""
    out: dict[str, Any] = {}
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):
            value = value.numpy(force=True)  # one call for detach/cpu; numpy indexing is cheap
        # (B,) rows are scalars (the single env has B = 1); others are copied out of the batch.
        out[key] = value.item(0) if value.ndim == 1 else value[0].copy()
    return out


def state_to_numpy(state: StateT) -> StateT:
    """A copy of a batched state dataclass with every (CPU or GPU) tensor field as numpy.

    The single envs of the families whose decision step is array-generic
    (:mod:`ua_envs.core.arrays`) run it on such a copy: numpy's per-call overhead at batch size
    1 is a fraction of torch's.
    """
    updates = {
        field.name: value.detach().cpu().numpy().copy()
        for field in dataclasses.fields(state)  # type: ignore[arg-type]
        if isinstance(value := getattr(state, field.name), Tensor)
    }
    return dataclasses.replace(state, **updates)  # type: ignore[type-var]


def state_to_torch(state: StateT) -> StateT:
    """The CPU torch view of a :func:`state_to_numpy` state (``torch.from_numpy``: no copies)."""
    updates = {
        field.name: torch.from_numpy(value)
        for field in dataclasses.fields(state)  # type: ignore[arg-type]
        if isinstance(value := getattr(state, field.name), np.ndarray)
    }
    return dataclasses.replace(state, **updates)  # type: ignore[type-var]


ConfigT = TypeVar("ConfigT")


def config_from_kwargs(
    config_cls: type[ConfigT], kwargs: Mapping[str, Any], env_name: str
) -> ConfigT:
    """``config_cls(**kwargs)``; an unknown name raises ``ValueError`` naming it and the valid ones.

    The one place where every family (single, vector and PettingZoo envs alike) turns kwargs
    into its config, so it applies the paper preset the kwargs name
    (:func:`ua_envs.presets.apply_preset`: the preset's values, overridden by explicit kwargs,
    and ``preset`` recorded in the config) when ``config_cls`` has a ``preset`` field.

    :param config_cls: a family's frozen config dataclass.
    :param env_name: the family's name, named in errors and used to look up its presets
        (e.g. ``"CellFreeAssoc"``, a key of :data:`ua_envs.presets.FAMILY_IDS`).
    :raises ValueError: an unknown kwarg, an unknown preset or one of another family.
    """
    valid = [f.name for f in dataclasses.fields(config_cls) if f.init]  # type: ignore[arg-type]
    if "preset" in valid:
        kwargs = apply_preset(env_name, kwargs)
    unknown = sorted(set(kwargs) - set(valid))
    if unknown:
        raise ValueError(
            f"unknown {env_name} kwarg(s) {', '.join(unknown)}; valid: {', '.join(valid)}"
        )
    return config_cls(**kwargs)


def check_scalar_action(
    action: Any, num_actions: int, *, name: str = "action", meaning: str = ""
) -> int:
    """A discrete action as a Python ``int`` in ``[0, num_actions)``, else ``ValueError``.

    Accepts Python and numpy integers and 0-d (or one-element 1-d) integer arrays/tensors;
    rejects booleans, floats, ``None`` and anything else (no silent truncation of ``1.7``).

    :param action: the action to check.
    :param num_actions: number of legal actions ``n >= 1``.
    :param name: what the messages call it (e.g. ``"action of ue_0"``).
    :param meaning: appended after the range in messages, e.g. ``" (BS index or 3 = no-op)"``.
    :return: the action index.
    """
    value = action
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "iu" or value.size != 1 or value.ndim > 1:
            raise ValueError(
                f"{name} must be an integer scalar in [0, {num_actions - 1}]{meaning}, "
                f"got array of shape {value.shape} and dtype {value.dtype}"
            )
        value = value.reshape(()).item()
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"{name} must be an integer in [0, {num_actions - 1}]{meaning}, got {action!r}"
        )
    index = operator.index(value)
    if not 0 <= index < num_actions:
        raise ValueError(f"{name} must be in [0, {num_actions - 1}]{meaning}, got {index}")
    return index


def check_association(
    name: str,
    association: Any,
    batch: int,
    num_bs: int,
    num_ues: int,
    *,
    device: torch.device | str | None = None,
) -> Tensor:
    """Validate an association a simulator's ``evaluate`` scores, as a ``(B, M, K)`` tensor.

    :param name: argument name used in messages (``"association"``).
    :param association: ``(B, M, K)``, ``(1, M, K)`` or ``(M, K)`` (the last two broadcast to
        the ``B`` instances); bool, or real entries in ``[0, 1]`` (fractional = relaxed).
        Tensors keep their dtype and autograd graph (only moved to ``device``).
    :param batch: ``B``, the number of instances it is scored on.
    :param num_bs: ``M``.
    :param num_ues: ``K``.
    :param device: where the returned tensor lives (``None``: where it is).
    :return: ``(B, M, K)`` tensor (an expanded view when broadcast), dtype unchanged.
    :raises ValueError: not convertible, complex, wrong shape or batch, NaN/inf, an entry
        outside ``[0, 1]``.
    """
    tensor = as_tensor(name, association, device=device)
    if tensor.is_complex():
        raise ValueError(f"{name} must be real (bool or float in [0, 1]), got {tensor.dtype}")
    shape = tuple(tensor.shape)
    if tensor.dim() not in (2, 3) or shape[-2:] != (num_bs, num_ues):
        raise ValueError(
            f"{name} must have shape (B, {num_bs}, {num_ues}) or ({num_bs}, {num_ues}), got {shape}"
        )
    if tensor.dim() == 3 and shape[0] not in (1, batch):
        raise ValueError(f"{name} has batch {shape[0]}, the state has {batch} instances")
    if tensor.dtype != torch.bool:  # a bool association is valid by construction
        check_finite(name, tensor)
        if bool(((tensor < 0) | (tensor > 1)).any()):
            raise ValueError(f"{name} entries must lie in [0, 1]")
    return tensor.expand(batch, num_bs, num_ues)


def check_beams(beams: Any, shape: tuple[int, ...], *, device: torch.device | str) -> Tensor:
    """Validate beams a simulator's ``evaluate`` scores, as a complex ``shape`` tensor.

    :param beams: ``(B, M, K, N)``, ``(1, M, K, N)`` or ``(M, K, N)`` complex [sqrt(W)];
        tensors keep their autograd graph (only moved to ``device``).
    :param shape: ``(B, M, K, N)`` of the state's channels.
    :return: a ``shape`` tensor (an expanded view when broadcast).
    :raises ValueError: not complex, wrong shape or batch, NaN/inf.
    """
    tensor = as_tensor("beams", beams, device=device)
    if tensor.dim() == 3:
        tensor = tensor.unsqueeze(0)
    got = tuple(tensor.shape)
    if not tensor.is_complex() or len(got) != 4 or got[1:] != tuple(shape[1:]):
        raise ValueError(
            f"beams must be a complex tensor of shape {tuple(shape)} or {tuple(shape[1:])}, "
            f"got {tensor.dtype} {got}"
        )
    if got[0] not in (1, shape[0]):
        raise ValueError(f"beams has batch {got[0]}, the state has {shape[0]} instances")
    check_finite("beams", tensor)
    return tensor.expand(*shape)


def decision_inputs(
    association: Any, beams: Any, *, channels: Tensor, tx_power: Tensor
) -> tuple[Tensor, Tensor | None]:
    """The inputs of a decision family's ``evaluate``, validated once at that boundary.

    :param association: see :func:`check_association`.
    :param beams: ``None`` or beams for :func:`check_beams`.
    :param channels: ``(B, M, K, N)`` complex channels of the state (sets shapes and device).
    :param tx_power: ``(B, M)`` [W] power budgets.
    :return: the association as a real ``(B, M, K)`` tensor of the channels' real dtype, and
        the given beams projected to each transmitter's budget
        (:func:`ua_envs.core.signal.project_power`), or ``None`` (use the configured
        beamformer).
    """
    batch, num_bs, num_ues = (int(d) for d in channels.shape[:3])
    checked = check_association(
        "association", association, batch, num_bs, num_ues, device=channels.device
    )
    assoc = checked.to(channels.real.dtype)
    if beams is None:
        return assoc, None
    checked_beams = check_beams(beams, tuple(channels.shape), device=channels.device)
    return assoc, project_power(checked_beams.to(channels.dtype), assoc, tx_power, validate=False)


class ViewerOwner:
    """``render()`` guard and ``close()`` of an env that draws with a lazily made viewer.

    Mix in before the env base class; the env sets ``render_mode`` and ``_viewer`` (``None``
    until the first frame), implements :meth:`_make_viewer` and draws with :meth:`_active_viewer`.
    """

    render_mode: str | None
    _viewer: Any
    #: How to turn rendering on, appended to the warning of a ``render()`` without a mode.
    _render_mode_hint: str = "set render_mode in make()"

    def _make_viewer(self, render_mode: str) -> Any:
        """A new viewer for ``render_mode`` (``"rgb_array"`` or ``"human"``)."""
        raise NotImplementedError

    def _active_viewer(self) -> Any:
        """The viewer (made on first use); ``None``, after a warning, without ``render_mode``."""
        if self.render_mode is None:
            gym.logger.warn(f"render() called without render_mode; {self._render_mode_hint}")
            return None
        if self._viewer is None:
            self._viewer = self._make_viewer(self.render_mode)
        return self._viewer

    def close(self) -> None:
        """Close the viewer window, if any (safe to call twice)."""
        if self._viewer is not None:
            self._viewer.close()
            self._viewer = None


def merge_rows(state: StateT, fresh: StateT, rows: Tensor) -> StateT:
    """Replace the rows ``rows`` (bool ``(B,)``) of a batched state dataclass by ``fresh``.

    Every tensor field of ``state`` must have the batch as its first dim; ``fresh`` holds
    ``rows.sum()`` rows. Non-tensor fields are kept from ``state``.
    """
    updates: dict[str, Any] = {}
    every_row = bool(rows.all())  # one-step envs reset every row at every step
    index = None if every_row else torch.nonzero(rows).flatten()
    for field in dataclasses.fields(state):  # type: ignore[arg-type]
        old = getattr(state, field.name)
        if isinstance(old, Tensor):
            new = getattr(fresh, field.name)
            # index_copy: one out-of-place op per field (no clone + masked assignment)
            updates[field.name] = new if index is None else old.index_copy(0, index, new)
    return dataclasses.replace(state, **updates)  # type: ignore[type-var]


def select_rows(state: StateT, rows: Tensor | slice) -> StateT:
    """The sub-batch ``rows`` (bool or index tensor, or a slice: views) of a batched state
    dataclass."""
    updates = {
        field.name: getattr(state, field.name)[rows]
        for field in dataclasses.fields(state)  # type: ignore[arg-type]
        if isinstance(getattr(state, field.name), Tensor)
    }
    return dataclasses.replace(state, **updates)  # type: ignore[type-var]


#: Instances drawn per batch by single envs' unseeded resets (amortises the per-call overhead
#: of drawing one instance at a time).
RESET_CHUNK = 64

#: Instances a vector env's autoreset draws at a time when fewer rows end (a sequential env
#: ends a few rows per step; one draw of 256 costs little more than one of 4).
AUTORESET_POOL = 256


def state_batch_size(state: Any) -> int:
    """The batch size (first dim of the tensor or array fields) of a batched state dataclass."""
    for field in dataclasses.fields(state):
        value = getattr(state, field.name)
        if isinstance(value, (Tensor, np.ndarray)):
            return int(value.shape[0])
    raise ValueError(f"{type(state).__name__} has no tensor field to take a batch size from")


def split_rows(state: StateT) -> list[StateT]:
    """The rows of a batched state dataclass (torch or numpy fields) as batch-of-one states
    (views, no copies).

    Every field is split once, so assembling a row later costs no per-row indexing; non-array
    fields are shared by every row.
    """
    names = [field.name for field in dataclasses.fields(state)]  # type: ignore[arg-type]
    values = [getattr(state, name) for name in names]
    batch = state_batch_size(state)
    columns = [
        v.split(1)
        if isinstance(v, Tensor)
        else [v[i : i + 1] for i in range(batch)]
        if isinstance(v, np.ndarray)
        else [v] * batch
        for v in values
    ]
    return [type(state)(**dict(zip(names, row, strict=True))) for row in zip(*columns, strict=True)]


def concat_states(states: list[StateT]) -> StateT:
    """Concatenate batched state dataclasses along the batch dim."""
    first = states[0]
    updates = {
        field.name: torch.cat([getattr(s, field.name) for s in states], dim=0)
        for field in dataclasses.fields(first)  # type: ignore[arg-type]
        if isinstance(getattr(first, field.name), Tensor)
    }
    return dataclasses.replace(first, **updates)  # type: ignore[type-var]


class BatchedVectorEnv(VectorEnv, Generic[StateT]):
    """A Gymnasium ``VectorEnv`` over one batch-first simulator, on any torch device.

    Observations, rewards, terminations, truncations and infos are torch tensors on ``device``
    (batch first); actions may be tensors or numpy arrays. Autoreset is ``SAME_STEP``: a
    sub-env that ends is reset within the same ``step``; the returned observation is the new
    episode's, and ``infos["final_obs"]`` / ``infos["final_info"]`` hold the ending one's
    (entries of rows that did not end are copies of the current values; ``infos["_final"]`` marks
    the rows that ended). The other ``infos`` entries are the step's info for every row, the
    reset rows included. Seeding follows the module's rule.

    A family's vector env sets :attr:`simulator_class`, :attr:`make_config` and
    :attr:`single_spaces` (``config -> (observation space, action space)`` of the single env)
    and overrides :meth:`_action_to_tensor` to validate actions; the constructor is this one:

    :param num_envs: number of sub-envs ``n``.
    :param device: torch device of the simulator and of every returned tensor.
    :param max_episode_steps: truncation (``make_vec`` passes the registered one).
    :param env_kwargs: the single env's kwargs (the family config's fields; ``render_mode`` is
        accepted and must be None: the vector env does not render).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (gymnasium declares an instance attribute)
        "autoreset_mode": AutoresetMode.SAME_STEP,
        "render_modes": [],
    }
    sim: Simulator[StateT]
    state: StateT
    #: The family's simulator class.
    simulator_class: ClassVar[type[Simulator[Any]]]
    #: Fewest instances one autoreset draw makes (the rest wait for later steps); 1 draws
    #: exactly the rows that ended.
    autoreset_pool: int = AUTORESET_POOL

    @staticmethod
    def make_config(kwargs: Mapping[str, Any]) -> Any:
        """The family config from env kwargs (unknown names raise ``ValueError``)."""
        raise NotImplementedError

    @staticmethod
    def single_spaces(config: Any) -> tuple[gym.Space[Any], gym.Space[Any]]:
        """``(observation space, action space)`` of the single env of ``config``."""
        raise NotImplementedError

    def __init__(
        self,
        num_envs: int = 1,
        *,
        device: torch.device | str = "cpu",
        max_episode_steps: int | None = None,
        **env_kwargs: Any,
    ) -> None:
        self._reject_render_mode(env_kwargs)
        num_envs = check_int_range("num_envs", num_envs, 1)
        self.config = self.make_config(env_kwargs)
        self.sim = self.simulator_class(self.config, batch_size=num_envs, device=device)
        max_episode_steps = self._episode_steps(max_episode_steps)
        self._init_vector(num_envs, device, max_episode_steps, *self.single_spaces(self.config))

    def _episode_steps(self, max_episode_steps: int | None) -> int | None:
        """The truncation length of the vector env given ``make_vec``'s (default: as given)."""
        return max_episode_steps

    @staticmethod
    def _reject_render_mode(env_kwargs: dict[str, Any]) -> None:
        """Pop ``render_mode`` from ``env_kwargs``; anything but None is a ``ValueError``."""
        render_mode = env_kwargs.pop("render_mode", None)
        if render_mode is not None:
            raise ValueError(f"render_mode must be None for the vector env, got {render_mode!r}")

    def _init_vector(
        self,
        num_envs: int,
        device: torch.device | str,
        max_episode_steps: int | None,
        single_observation_space: gym.Space[Any] | None = None,
        single_action_space: gym.Space[Any] | None = None,
    ) -> None:
        """Set ``num_envs``, ``device``, the batched spaces, the step counters and the autoreset
        generator. The single spaces are set here when given (else already set)."""
        if single_observation_space is not None:
            self.single_observation_space = single_observation_space
        if single_action_space is not None:
            self.single_action_space = single_action_space
        self.num_envs = check_int_range("num_envs", num_envs, 1)
        self.device = torch.device(device)
        if max_episode_steps is not None:
            max_episode_steps = check_int_range("max_episode_steps", max_episode_steps, 1)
        self.max_episode_steps = max_episode_steps
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._elapsed = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._generator = torch.Generator(device=self.device)
        self._generator.manual_seed(int(np.random.SeedSequence().generate_state(1)[0]))
        self._options: dict[str, Any] | None = None
        self._pool: StateT | None = None  # autoreset instances drawn ahead ...
        self._pool_start = 0  # ... of which rows from this one on are unused

    def _draw_autoreset(self, count: int) -> StateT:
        """``count`` fresh instances for the rows that ended, from the autoreset generator.

        Simulators with ``chunked_resets`` draw at least :attr:`autoreset_pool` at a time and
        keep the rest for later steps (the stream is still fixed by ``reset(seed=...)``, which
        empties the pool); the others draw exactly ``count``.
        """
        if not self.sim.chunked_resets:
            return self.sim.reset(self._generator, self._options, batch_size=count)
        pool, start = self._pool, self._pool_start
        have = 0 if pool is None else state_batch_size(pool) - start
        if pool is None or have < count:
            size = max(count - have, self.autoreset_pool)
            fresh = self.sim.reset(self._generator, self._options, batch_size=size)
            if pool is not None and have > 0:
                fresh = concat_states([select_rows(pool, slice(start, None)), fresh])
            pool, start = fresh, 0
        self._pool, self._pool_start = pool, start + count
        return select_rows(pool, slice(start, start + count))

    def _draw_seeded(self, seed: int, options: dict[str, Any] | None) -> StateT:
        """Sub-env ``i`` drawn as a single env reset with ``seed + i`` would draw it."""
        states = [
            self.sim.reset(sub_env_generator(seed, i, self.device), options, batch_size=1)
            for i in range(self.num_envs)
        ]
        return concat_states(states)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Start new episodes in every sub-env; see the module docstring for the seeding rule."""
        if isinstance(seed, list):
            raise ValueError("seed must be an int or None for this vector env, got a list")
        self._options = self.sim.check_options(options) or None
        self._pool, self._pool_start = None, 0
        # No autograd graph in the env loop (evaluate() stays differentiable on the state).
        with torch.no_grad():
            if seed is not None:
                self._generator.manual_seed(torch_seed(seeding.np_random(seed)[0]) ^ 0x5EED)
                self.state = self._draw_seeded(int(seed), self._options)
            else:
                self.state = self.sim.reset(self._generator, self._options, self.num_envs)
        self._elapsed.zero_()
        return self.sim.observe(self.state), {}

    def _action_to_tensor(self, actions: Any) -> Tensor:
        """A batched integer action as a tensor on ``device`` (the default, for ``Discrete``
        actions; the simulator's ``step`` checks shape and range). Families with other action
        spaces override it."""
        if isinstance(actions, Tensor):
            return actions.to(self.device)
        array = np.asarray(actions)
        if array.dtype.kind not in "iu":
            raise ValueError(f"actions must hold integers, got dtype {array.dtype}")
        return torch.from_numpy(array.astype(np.int64, copy=False)).to(self.device)

    def step(
        self, actions: Any
    ) -> tuple[dict[str, Tensor], Tensor, Tensor, Tensor, dict[str, Any]]:
        """Step every sub-env; reset those that ended in the same call (``SAME_STEP``)."""
        with torch.no_grad():
            return self._step(self._action_to_tensor(actions))

    def _step(
        self, action: Tensor
    ) -> tuple[dict[str, Tensor], Tensor, Tensor, Tensor, dict[str, Any]]:
        self.state, reward, terminated = self.sim.step(self.state, action)
        self._elapsed += 1
        if self.max_episode_steps is None:
            truncated = torch.zeros_like(terminated)
        else:
            truncated = (self._elapsed >= self.max_episode_steps) & ~terminated
        # Fresh tensors: a user mutating an info entry must not corrupt the simulator's state.
        step_info = {
            key: value.clone() for key, value in self.sim.info(self.state, copy=False).items()
        }
        infos: dict[str, Any] = dict(step_info)
        done = terminated | truncated
        if bool(done.any()):
            infos["final_obs"] = self.sim.observe(self.state)
            # The step info is the ending episodes' info (computed before the reset): the same
            # fresh tensors serve both entries.
            infos["final_info"] = dict(step_info)
            infos["_final"] = done.clone()
            self.state = merge_rows(self.state, self._draw_autoreset(int(done.sum())), done)
            self._elapsed.masked_fill_(done, 0)
        return self.sim.observe(self.state), reward, terminated, truncated, infos

    def action_masks(self) -> Tensor:
        """``(n, n_actions)`` bool legal actions of every sub-env (sb3-contrib layout; all True
        where every action is legal)."""
        mask = self.sim.action_mask(self.state)
        if mask is None:
            size = flat_mask_size(self.single_action_space)
            return torch.ones(self.num_envs, size, dtype=torch.bool, device=self.device)
        return mask.clone()

    def evaluate(self, association: Any, *, beams: Any = None) -> Outcome:
        """The simulator's differentiable ``evaluate`` on the current instances (decision
        families): ``association`` ``(n, M, K)`` or ``(M, K)``, ``beams`` ``(n, M, K, N)``
        complex or ``None``; see :class:`~ua_envs.envs.contract.DecisionSimulator`."""
        if not isinstance(self.sim, DecisionSimulator):
            raise TypeError(f"{type(self.sim).__name__} has no evaluate (not a decision family)")
        return self.sim.evaluate(self.state, association, beams=beams)


def channel_observation_spaces(
    num_bs: int, num_ues: int, num_antennas: int
) -> dict[str, spaces.Box]:
    """The ``channel`` ``(M, K, 2N)`` and ``gain_db`` ``(M, K)`` float32 boxes shared by the
    array-channel envs (values from :func:`ua_envs.core.features.channel_features`)."""
    m, k, n = num_bs, num_ues, num_antennas
    return {
        "channel": spaces.Box(
            -CHANNEL_OBS_BOUND, CHANNEL_OBS_BOUND, shape=(m, k, 2 * n), dtype=np.float32
        ),
        "gain_db": spaces.Box(*GAIN_DB_RANGE, shape=(m, k), dtype=np.float32),
    }
