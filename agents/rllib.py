"""Ray RLlib adapter: every ua-envs env as an RLlib env, PPO training across a Ray cluster.

Needs the extra ``ua-envs[rllib]`` (``ray[rllib]``). Importing this module imports no Ray (it
takes seconds); the functions that need it import it when called.

Envs. Every Gymnasium id of :data:`ua_envs.ENV_IDS` and every PettingZoo module of
:mod:`ua_envs.multiagent` (``multicell_assoc_v0``, ...; :func:`pettingzoo_modules`) is an RLlib
env of the same name (:func:`register_rllib_envs`; :func:`make_rllib_env` builds one). The
adapter (:class:`SpaceAdapter`) turns each observation into what RLlib's default networks take:

- an env (or agent) whose observation carries an ``"action_mask"`` (``CellFreeAssoc-v0``,
  ``SlottedArrivalAssoc-v0``, the UE / BS agents of ``multicell_assoc_v0`` /
  ``slotted_arrival_v0``) gets ``{"action_mask": float32 (n,), "observations": float32 (d,)}``
  and is trained by :class:`MaskedPPOTorchRLModule`, which adds
  ``log(mask)`` to the logits: an illegal action is never sampled nor chosen;
- any other gets its observation flattened to one float32 ``(d,)`` vector (RLlib's default
  PPO module);
- ``MultiBinary(n)`` actions become ``MultiDiscrete([2] * n)`` (RLlib has no Bernoulli
  distribution on the new API stack); ``Discrete``, ``MultiDiscrete`` and ``Box`` pass through.

An action that the current mask forbids reaching the env is a ``ValueError`` (a masking bug,
never a silent penalty).

Parameter sharing. PettingZoo agents named ``TYPE_INDEX`` (``ue_0 … ue_7``, ``ap_0 …``) map to
one RLModule per type (:func:`agent_module_id`: ``ue_3`` → ``"ue"``): every UE agent acts with,
and trains, the same networks.

Training. ``ua-envs train rllib_ppo --env ID`` (:func:`train_rllib_ppo`): PPO on RLlib's new API
stack; env runners (Ray actors, ``num_env_runners`` of them, one CPU each) step the envs, the
learner (in the driver) updates the modules. ``address=None`` starts a local Ray; ``"auto"`` or
``"HOST:PORT"`` joins a running cluster (``ray start --head``; docs/scale-out.md). The
checkpoint is RLlib's (``Algorithm.save_to_path``), a directory; ``rllib_ppo:DIR`` loads its
module as a :class:`~agents.policy.Policy` of the single-agent ids (:func:`load_rllib_policy`),
so ``compare`` evaluates it next to the baselines.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import pkgutil
import re
import time
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from pettingzoo.utils.env import ParallelEnv
from pettingzoo.utils.wrappers import BaseParallelWrapper

from agents.entries import PolicyEntry, TrainerEntry, TrainJob, job_trainer, space_names
from agents.envs import check_env_id, make_env
from agents.paths import check_output_dir
from ua_envs.core.validation import check_int_range

if TYPE_CHECKING:
    import torch

__all__ = [
    "ACTION_SPACES",
    "DEFAULT_NUM_ENV_RUNNERS",
    "DEFAULT_PPO",
    "DEFAULT_STEPS",
    "MASK_KEY",
    "OBS_KEY",
    "POLICIES",
    "TRAINERS",
    "RLlibParallelEnv",
    "RLlibPolicy",
    "RLlibSingleAgentEnv",
    "SpaceAdapter",
    "agent_module_id",
    "benchmark",
    "check_rllib_env",
    "evaluate_rllib",
    "init_ray",
    "load_rllib_modules",
    "load_rllib_policy",
    "make_rllib_env",
    "mask_logits",
    "masked_module_class",
    "module_spaces",
    "pettingzoo_modules",
    "ppo_config",
    "register_rllib_envs",
    "rllib_env_names",
    "train_rllib_ppo",
]

#: Observation keys of a masked env for RLlib (its action-masking examples' names).
MASK_KEY, OBS_KEY = "action_mask", "observations"
#: Env runners when ``num_env_runners`` is not given.
DEFAULT_NUM_ENV_RUNNERS = 2
#: Env steps of a run when ``steps`` is not given.
DEFAULT_STEPS = 100_000
#: PPO settings that differ from RLlib's defaults (lr 5e-5, 4000-step batches, 30 epochs):
#: those of stable-baselines3's PPO (lr 3e-4, 2048-step rollouts, 10 epochs), so that
#: ``rllib_ppo`` and ``ppo`` train alike; ``--trainer-kwargs`` override them.
DEFAULT_PPO: dict[str, Any] = {
    "lr": 3e-4,
    "train_batch_size_per_learner": 2048,
    "minibatch_size": 128,
    "num_epochs": 10,
}
#: Action spaces the adapter serves.
ACTION_SPACES: tuple[type[gym.Space[Any]], ...] = (
    spaces.Discrete,
    spaces.MultiDiscrete,
    spaces.MultiBinary,
    spaces.Box,
)
#: Trainer options that configure Ray and the env runners, not PPO (``--trainer-kwargs``).
RUN_OPTIONS = ("num_env_runners", "address", "num_envs_per_env_runner", "hidden_sizes")
#: File written next to RLlib's checkpoint: what the checkpoint was trained on.
METADATA_FILE = "ua_envs_rllib.json"
#: The learning curve of a run (one row per PPO iteration), in the checkpoint directory.
CURVE_FILE = "progress.csv"
#: Default hidden layer sizes of the policy and value networks (RLlib's default).
DEFAULT_HIDDEN_SIZES = (256, 256)
_AGENT_INDEX = re.compile(r"_\d+$")


# --------------------------------------------------------------------------- env names


def pettingzoo_modules() -> list[str]:
    """Names of the PettingZoo modules of :mod:`ua_envs.multiagent` (``multicell_assoc_v0``,
    ...), sorted; each has ``parallel_env(**kwargs)``."""
    import ua_envs.multiagent as package

    return sorted(
        info.name
        for info in pkgutil.iter_modules(package.__path__)
        if re.fullmatch(r"[a-z0-9_]+_v\d+", info.name)
    )


def rllib_env_names() -> list[str]:
    """Every env name the adapter serves: the Gymnasium ids, then the PettingZoo modules."""
    import ua_envs

    return [*ua_envs.ENV_IDS, *pettingzoo_modules()]


def is_pettingzoo_module(name: str) -> bool:
    """Whether ``name`` is a PettingZoo module of :mod:`ua_envs.multiagent`."""
    return name in pettingzoo_modules()


def check_rllib_env(name: str) -> None:
    """Raise ``ValueError`` naming the valid names unless ``name`` is a registered Gymnasium id
    or a PettingZoo module of :mod:`ua_envs.multiagent`."""
    if is_pettingzoo_module(name):
        return
    try:
        check_env_id(name)
    except ValueError:
        raise ValueError(
            f"env: unknown name {name!r}; valid: {', '.join(rllib_env_names())}"
        ) from None


def agent_module_id(agent_id: Hashable, *args: Any, **kwargs: Any) -> str:
    """The RLModule an agent acts with (parameter sharing by type): its id without the
    trailing ``_INDEX``.

    RLlib's ``policy_mapping_fn`` (extra arguments, the episode, are ignored).

    >>> agent_module_id("ue_12"), agent_module_id("ap_0"), agent_module_id("leader")
    ('ue', 'ap', 'leader')
    """
    return _AGENT_INDEX.sub("", str(agent_id))


# --------------------------------------------------------------------------- spaces


def _flat_box(space: gym.Space[Any]) -> spaces.Box:
    """The float32 Box of ``space`` flattened (Gymnasium's ``flatten_space``)."""
    flat = spaces.flatten_space(space)
    if not isinstance(flat, spaces.Box):
        raise ValueError(f"observation space {space} does not flatten to a Box")
    return spaces.Box(flat.low.astype(np.float32), flat.high.astype(np.float32), dtype=np.float32)


@dataclass(frozen=True)
class SpaceAdapter:
    """One env's (or agent's) spaces as RLlib's default networks take them.

    :param observation_space: the env's observation space; a ``Dict`` with an
        ``"action_mask"`` key is a masked env.
    :param action_space: the env's action space (of :data:`ACTION_SPACES`).
    :raises ValueError: another action space, or a mask whose size is not the number of
        logits of the action space (``n`` for ``Discrete(n)``, ``sum(nvec)`` for
        ``MultiDiscrete``, ``2 n`` for ``MultiBinary(n)``).

    >>> adapter = SpaceAdapter(
    ...     spaces.Dict({"action_mask": spaces.MultiBinary(3), "x": spaces.Box(0, 1, (2,))}),
    ...     spaces.Discrete(3),
    ... )
    >>> adapter.masked, adapter.rllib_observation_space[OBS_KEY].shape
    (True, (2,))
    >>> adapter.observation({"action_mask": np.array([0, 1, 1]), "x": np.array([0.5, 1.0])})
    {'action_mask': array([0., 1., 1.], dtype=float32), 'observations': array([0.5, 1. ], \
dtype=float32)}
    """

    observation_space: gym.Space[Any]
    action_space: gym.Space[Any]

    def __post_init__(self) -> None:
        if not isinstance(self.action_space, ACTION_SPACES):
            raise ValueError(
                f"action space: RLlib's adapter serves {space_names(ACTION_SPACES)}, "
                f"got {self.action_space}"
            )
        if self.masked:
            mask_space = self.observation_space[MASK_KEY]  # type: ignore[index]
            size = int(np.prod(mask_space.shape))
            if isinstance(self.action_space, spaces.Box) or size != self.num_logits:
                raise ValueError(
                    f"action mask of shape {mask_space.shape} does not fit action space "
                    f"{self.action_space} ({self.num_logits} logits)"
                )

    @property
    def masked(self) -> bool:
        """Whether the observation carries an ``"action_mask"``."""
        return isinstance(self.observation_space, spaces.Dict) and (
            MASK_KEY in self.observation_space.spaces
        )

    @property
    def num_logits(self) -> int:
        """Action-distribution inputs of a discrete space (0 for ``Box``)."""
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            return int(space.n)
        if isinstance(space, spaces.MultiDiscrete):
            return int(np.sum(space.nvec))
        if isinstance(space, spaces.MultiBinary):
            return 2 * int(np.prod(space.shape))
        return 0

    @property
    def _inner_space(self) -> gym.Space[Any]:
        if self.masked:
            assert isinstance(self.observation_space, spaces.Dict)
            return spaces.Dict(
                {k: v for k, v in self.observation_space.spaces.items() if k != MASK_KEY}
            )
        return self.observation_space

    @property
    def rllib_observation_space(self) -> gym.Space[Any]:
        """``Dict(action_mask=Box(0, 1, (n,)), observations=Box((d,)))`` for a masked env, else
        the flat float32 ``Box((d,))``."""
        inner = _flat_box(self._inner_space)
        if not self.masked:
            return inner
        mask = spaces.Box(0.0, 1.0, (self.num_logits,), np.float32)
        return spaces.Dict({MASK_KEY: mask, OBS_KEY: inner})

    @property
    def rllib_action_space(self) -> gym.Space[Any]:
        """The action space RLlib samples: ``MultiBinary(n)`` → ``MultiDiscrete([2] * n)``."""
        space = self.action_space
        if isinstance(space, spaces.MultiBinary):
            return spaces.MultiDiscrete(np.full(space.shape, 2, dtype=np.int64))
        return space

    def mask(self, observation: Any) -> np.ndarray | None:
        """The flat bool mask of one env observation, or ``None`` for an unmasked env."""
        if not self.masked:
            return None
        return np.asarray(observation[MASK_KEY]).reshape(-1).astype(bool)

    def observation(self, observation: Any) -> Any:
        """One env observation as RLlib's (float32 arrays)."""
        inner = observation
        if self.masked:
            inner = {k: v for k, v in observation.items() if k != MASK_KEY}
        flat = np.asarray(spaces.flatten(self._inner_space, inner), dtype=np.float32)
        if not self.masked:
            return flat
        mask = np.asarray(observation[MASK_KEY], dtype=np.float32).reshape(-1)
        return {MASK_KEY: mask, OBS_KEY: flat}

    def action(self, action: Any, mask: np.ndarray | None = None) -> Any:
        """RLlib's action as the env's, after checking it against ``mask``.

        :param action: an element of :attr:`rllib_action_space`.
        :param mask: the flat mask of the observation it answers (``None``: not checked).
        :raises ValueError: the mask forbids the action.
        """
        space = self.action_space
        if mask is not None and not bool(mask[self._logit_indices(action)].all()):
            raise ValueError(
                f"action {np.asarray(action).tolist()} is illegal under the observation's "
                f"action mask (legal: {np.flatnonzero(mask).tolist()})"
            )
        if isinstance(space, spaces.Discrete):
            return np.int64(np.asarray(action).reshape(-1)[0])
        if isinstance(space, spaces.MultiBinary):
            return np.asarray(action, dtype=np.int8).reshape(space.shape)
        if isinstance(space, spaces.MultiDiscrete):
            return np.asarray(action, dtype=np.int64).reshape(space.shape)
        return np.asarray(action, dtype=space.dtype)

    def _logit_indices(self, action: Any) -> np.ndarray:
        """Positions in the flat mask of the choices that ``action`` makes."""
        flat = np.asarray(action, dtype=np.int64).reshape(-1)
        space = self.action_space
        if isinstance(space, spaces.Discrete):
            return flat[:1] - int(space.start)
        if isinstance(space, spaces.MultiDiscrete):
            starts = np.concatenate([[0], np.cumsum(np.asarray(space.nvec).reshape(-1))[:-1]])
            return starts + flat
        return 2 * np.arange(flat.size) + flat  # MultiBinary: (value 0, value 1) per bit


# --------------------------------------------------------------------------- env wrappers


class RLlibSingleAgentEnv(gym.Wrapper[Any, Any, Any, Any]):
    """A ua-envs Gymnasium env with RLlib's spaces (:class:`SpaceAdapter`).

    Infos and rewards pass through; an action the current mask forbids raises ``ValueError``.
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        self.adapter = SpaceAdapter(env.observation_space, env.action_space)
        self.observation_space = self.adapter.rllib_observation_space
        self.action_space = self.adapter.rllib_action_space
        self._mask: np.ndarray | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict[str, Any]]:
        """Reset the env; the observation in RLlib's form."""
        observation, info = self.env.reset(seed=seed, options=options)
        self._mask = self.adapter.mask(observation)
        return self.adapter.observation(observation), info

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        """Step with RLlib's action (checked against the mask)."""
        observation, reward, terminated, truncated, info = self.env.step(
            self.adapter.action(action, self._mask)
        )
        self._mask = self.adapter.mask(observation)
        return self.adapter.observation(observation), reward, terminated, truncated, info


class RLlibParallelEnv(BaseParallelWrapper[Any, Any, Any]):
    """A ua-envs PettingZoo parallel env with RLlib's spaces, agent by agent
    (:class:`SpaceAdapter`); wrap it in RLlib's ``ParallelPettingZooEnv``.

    An action the agent's current mask forbids raises ``ValueError``.
    """

    def __init__(self, env: ParallelEnv[Any, Any, Any]) -> None:
        super().__init__(env)
        self.adapters = {
            agent: SpaceAdapter(env.observation_space(agent), env.action_space(agent))
            for agent in env.possible_agents
        }
        self._masks: dict[str, np.ndarray | None] = {}

    def observation_space(self, agent: str) -> gym.Space[Any]:
        """The agent's observation space in RLlib's form."""
        return self.adapters[agent].rllib_observation_space

    def action_space(self, agent: str) -> gym.Space[Any]:
        """The agent's action space in RLlib's form."""
        return self.adapters[agent].rllib_action_space

    def _convert(self, observations: Mapping[str, Any]) -> dict[str, Any]:
        self._masks = {a: self.adapters[a].mask(o) for a, o in observations.items()}
        return {a: self.adapters[a].observation(o) for a, o in observations.items()}

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """Reset the env; observations in RLlib's form."""
        observations, infos = self.env.reset(seed=seed, options=options)
        return self._convert(observations), infos

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, Any],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Step with RLlib's actions (each checked against its agent's mask)."""
        converted = {
            agent: self.adapters[agent].action(action, self._masks.get(agent))
            for agent, action in actions.items()
        }
        observations, rewards, terminations, truncations, infos = self.env.step(converted)
        return self._convert(observations), rewards, terminations, truncations, infos


def _parallel_env(name: str, env_kwargs: Mapping[str, Any]) -> ParallelEnv[Any, Any, Any]:
    module = importlib.import_module(f"ua_envs.multiagent.{name}")
    env: ParallelEnv[Any, Any, Any] = module.parallel_env(**dict(env_kwargs))
    return env


def make_rllib_env(name: str, env_config: Mapping[str, Any] | None = None) -> Any:
    """The env ``name`` as RLlib steps it (the env creator of :func:`register_rllib_envs`).

    :param name: a Gymnasium id or a PettingZoo module name (:func:`rllib_env_names`).
    :param env_config: the env kwargs (RLlib passes its ``EnvContext``, a dict).
    :return: an :class:`RLlibSingleAgentEnv`, or RLlib's ``ParallelPettingZooEnv`` over an
        :class:`RLlibParallelEnv` (imports Ray).
    :raises ValueError: unknown name or kwargs, an action space the adapter does not serve.
    """
    check_rllib_env(name)
    kwargs = dict(env_config or {})
    if is_pettingzoo_module(name):
        from ray.rllib.env.wrappers.pettingzoo_env import ParallelPettingZooEnv

        return ParallelPettingZooEnv(RLlibParallelEnv(_parallel_env(name, kwargs)))
    return RLlibSingleAgentEnv(make_env(name, kwargs))


def _creator(name: str, env_config: Mapping[str, Any]) -> Any:
    return make_rllib_env(name, env_config)


def register_rllib_envs() -> list[str]:
    """Register every env of :func:`rllib_env_names` with RLlib under its own name
    (``ray.tune.registry.register_env``), so that ``PPOConfig().environment("CellFreeAssoc-v0",
    env_config={...})`` and ``.environment("multicell_assoc_v0")`` build the adapted envs.

    :return: the registered names.
    """
    import functools

    from ray.tune.registry import register_env

    names = rllib_env_names()
    for name in names:
        register_env(name, functools.partial(_creator, name))
    return names


def module_spaces(
    name: str, env_kwargs: Mapping[str, Any] | None = None
) -> dict[str, SpaceAdapter]:
    """The RLModules that training on ``name`` needs: module id → the adapter of its agents.

    A single-agent id has one module, RLlib's ``"default_policy"``; a PettingZoo env one per
    agent type (:func:`agent_module_id`), whose agents must share their spaces.

    :raises ValueError: unknown name or kwargs; agents of one type with different spaces.
    """
    check_rllib_env(name)
    kwargs = dict(env_kwargs or {})
    if not is_pettingzoo_module(name):
        env = make_env(name, kwargs)
        try:
            return {"default_policy": SpaceAdapter(env.observation_space, env.action_space)}
        finally:
            env.close()
    parallel = _parallel_env(name, kwargs)
    try:
        result: dict[str, SpaceAdapter] = {}
        for agent in parallel.possible_agents:
            adapter = SpaceAdapter(parallel.observation_space(agent), parallel.action_space(agent))
            module_id = agent_module_id(agent)
            known = result.setdefault(module_id, adapter)
            if known != adapter:
                raise ValueError(
                    f"{name}: agents of type {module_id!r} have different spaces, so they "
                    f"cannot share one module ({agent}: {adapter})"
                )
        return result
    finally:
        parallel.close()


# --------------------------------------------------------------------------- masking module


def mask_logits(logits: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``logits`` with the illegal entries pushed down to the float32 minimum (RLlib's
    ``FLOAT_MIN``).

    :param logits: ``(..., n)`` float action-distribution inputs (``n`` logits: ``Discrete(n)``,
        or the concatenated ``sum(nvec)`` of ``MultiDiscrete``).
    :param mask: ``(..., n)`` float, 1 for a legal action, 0 for an illegal one.
    :return: ``(..., n)``: ``logits + max(log(mask), FLOAT_MIN)``: a legal entry unchanged, an
        illegal one with probability 0 after the softmax (while one entry is legal).

    >>> import torch
    >>> torch.softmax(mask_logits(torch.zeros(3), torch.tensor([1.0, 0.0, 1.0])), -1)
    tensor([0.5000, 0.0000, 0.5000])
    """
    import torch

    return logits + torch.clamp(torch.log(mask), min=torch.finfo(torch.float32).min)


def _split_masked(batch: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    """A batch of masked observations → (the batch with the inner observations as ``obs``,
    the mask)."""
    observation = batch["obs"]
    if not isinstance(observation, dict) or set(observation) != {MASK_KEY, OBS_KEY}:
        raise ValueError(
            f"observations: a masked module needs dicts with keys {MASK_KEY!r} and {OBS_KEY!r}, "
            f"got {type(observation).__name__}"
        )
    inner = dict(batch)
    inner["obs"] = observation[OBS_KEY]
    return inner, observation[MASK_KEY]


def masked_module_class() -> type:
    """:class:`MaskedPPOTorchRLModule` (built on first use: it subclasses an RLlib class, and
    importing RLlib is slow). ``agents.rllib.MaskedPPOTorchRLModule`` is the same class."""
    cached = globals().get("MaskedPPOTorchRLModule")
    if cached is not None:
        return cast(type, cached)
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )
    from ray.rllib.core.columns import Columns

    logits_key = Columns.ACTION_DIST_INPUTS

    class MaskedPPOTorchRLModule(DefaultPPOTorchRLModule):
        """RLlib's default PPO torch module with the env's action mask applied to its logits.

        The observation space must be ``Dict({"action_mask": Box(0, 1, (n,)), "observations":
        Box((d,))})`` (:class:`SpaceAdapter`). The networks (encoder, policy and value heads,
        built by RLlib's PPO catalog) see ``"observations"`` only; :func:`mask_logits` adds the
        mask to the logits in log space, so an illegal action is never sampled in exploration
        nor chosen in inference, and PPO's ratio and entropy use the masked distribution.
        """

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            space = kwargs.get("observation_space")
            if not isinstance(space, spaces.Dict) or set(space.spaces) != {MASK_KEY, OBS_KEY}:
                raise ValueError(
                    f"observation_space: must be a Dict with keys {MASK_KEY!r} and "
                    f"{OBS_KEY!r}, got {space}"
                )
            # RLlib's catalog builds the networks for the inner observations only.
            self.observation_space_with_mask = space
            kwargs["observation_space"] = space[OBS_KEY]
            super().__init__(*args, **kwargs)

        def setup(self) -> None:
            super().setup()
            self.observation_space = self.observation_space_with_mask

        def _forward(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            inner, mask = _split_masked(batch)
            output: dict[str, Any] = super()._forward(inner, **kwargs)
            output[logits_key] = mask_logits(output[logits_key], mask)
            return output

        def _forward_train(self, batch: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
            inner, mask = _split_masked(batch)
            output: dict[str, Any] = super()._forward_train(inner, **kwargs)
            output[logits_key] = mask_logits(output[logits_key], mask)
            return output

        def compute_values(self, batch: dict[str, Any], embeddings: Any = None) -> Any:
            if embeddings is None:
                batch, _ = _split_masked(batch)
            return super().compute_values(batch, embeddings)

    # Importable as agents.rllib.MaskedPPOTorchRLModule, so that Ray pickles it by name.
    MaskedPPOTorchRLModule.__module__ = __name__
    MaskedPPOTorchRLModule.__qualname__ = "MaskedPPOTorchRLModule"
    globals()["MaskedPPOTorchRLModule"] = MaskedPPOTorchRLModule
    return MaskedPPOTorchRLModule


def __getattr__(name: str) -> Any:
    """``MaskedPPOTorchRLModule`` on first access (imports RLlib); nothing else."""
    if name == "MaskedPPOTorchRLModule":
        return masked_module_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# --------------------------------------------------------------------------- Ray and PPO


def init_ray(address: str | None, num_env_runners: int, *, quiet: bool = False) -> bool:
    """Start (``address=None``) or join (``"auto"``, ``"HOST:PORT"``) Ray, unless it runs.

    A local Ray gets at least ``num_env_runners`` logical CPUs (each env runner reserves one);
    a cluster must have them, else the run would wait for them for ever.

    :return: whether this call started the connection (the caller then shuts it down).
    :raises ValueError: a cluster with fewer CPUs than ``num_env_runners``.
    """
    import logging

    import ray

    started = False
    if not ray.is_initialized():
        options: dict[str, Any] = {
            "include_dashboard": False,
            "logging_level": logging.WARNING if quiet else logging.INFO,
            "log_to_driver": not quiet,
        }
        if address is None:
            options["num_cpus"] = max(os.cpu_count() or 1, num_env_runners)
        ray.init(address=address, **options)
        started = True
    cpus = float(ray.cluster_resources().get("CPU", 0.0))
    if num_env_runners > cpus:
        if started:
            ray.shutdown()
        raise ValueError(
            f"num_env_runners: {num_env_runners} env runners need {num_env_runners} CPUs, the "
            f"Ray cluster has {cpus:g}; use at most {int(cpus)} or add nodes (ray start "
            f"--address)"
        )
    return started


def _module_spec(adapter: SpaceAdapter, hidden_sizes: Sequence[int]) -> Any:
    from ray.rllib.algorithms.ppo.torch.default_ppo_torch_rl_module import (
        DefaultPPOTorchRLModule,
    )
    from ray.rllib.core.rl_module.default_model_config import DefaultModelConfig
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    return RLModuleSpec(
        module_class=masked_module_class() if adapter.masked else DefaultPPOTorchRLModule,
        observation_space=adapter.rllib_observation_space,
        action_space=adapter.rllib_action_space,
        model_config=DefaultModelConfig(fcnet_hiddens=list(hidden_sizes), head_fcnet_hiddens=[]),
    )


def ppo_config(
    name: str,
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    seed: int = 0,
    num_env_runners: int = DEFAULT_NUM_ENV_RUNNERS,
    num_envs_per_env_runner: int = 1,
    hidden_sizes: Sequence[int] = DEFAULT_HIDDEN_SIZES,
    training: Mapping[str, Any] | None = None,
) -> Any:
    """RLlib's ``PPOConfig`` for env ``name`` (registered by :func:`register_rllib_envs`).

    New API stack, torch; one RLModule per agent type (:func:`module_spaces`), masked ones
    :class:`MaskedPPOTorchRLModule`; :data:`DEFAULT_PPO` under
    ``training``; a failing env runner fails the run (not restarted: an env error is a bug).

    :param name: Gymnasium id or PettingZoo module.
    :param env_kwargs: the env's kwargs (RLlib's ``env_config``).
    :param seed: RLlib's seed (env runner ``i`` seeds its envs from ``seed`` and ``i``).
    :param num_env_runners: Ray actors that step envs (0: the driver samples).
    :param num_envs_per_env_runner: envs each env runner steps in lockstep.
    :param hidden_sizes: hidden layer sizes of the policy and value networks.
    :param training: ``PPOConfig.training`` options (``lr``, ``gamma``, ...).
    :raises ValueError: unknown env, kwargs or training option, bad counts.
    """
    from ray.rllib.algorithms.ppo import PPOConfig

    num_env_runners = check_int_range("num_env_runners", num_env_runners, 0)
    num_envs_per_env_runner = check_int_range("num_envs_per_env_runner", num_envs_per_env_runner, 1)
    sizes = [check_int_range("hidden_sizes", int(size), 1) for size in hidden_sizes]
    adapters = module_spaces(name, env_kwargs)
    register_rllib_envs()
    config = (
        PPOConfig()
        .environment(name, env_config=dict(env_kwargs or {}))
        .framework("torch")
        .env_runners(
            num_env_runners=num_env_runners, num_envs_per_env_runner=num_envs_per_env_runner
        )
        .debugging(seed=seed)
        .fault_tolerance(restart_failed_env_runners=False)
    )
    try:
        config = config.training(**{**DEFAULT_PPO, **dict(training or {})})
    except TypeError as error:  # an unknown option name
        raise ValueError(f"rllib_ppo hyper-parameters: {error}") from None
    if is_pettingzoo_module(name):
        from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec

        # RLlib's multi-agent env runner converts every episode ended so far in a sample()
        # call to numpy again at each env step: quadratic in the episodes of a call, which
        # for one-step episodes (multicell_assoc_v0) made sampling ~100x slower.
        config = config.env_runners(episodes_to_numpy=False)
        config = config.multi_agent(
            policies=set(adapters), policy_mapping_fn=agent_module_id
        ).rl_module(
            rl_module_spec=MultiRLModuleSpec(
                rl_module_specs={m: _module_spec(a, sizes) for m, a in adapters.items()}
            )
        )
    else:
        config = config.rl_module(rl_module_spec=_module_spec(adapters["default_policy"], sizes))
    return config


def _check_out_dir(out: str) -> Path:
    """``out``: a new or empty directory, or an earlier ``rllib_ppo`` checkpoint (replaced)."""
    path = check_output_dir(out, "out")
    if path.is_dir() and any(path.iterdir()) and not (path / METADATA_FILE).is_file():
        raise ValueError(
            f"out: {out!r} is a non-empty directory that holds no rllib_ppo checkpoint; give a "
            f"new or empty directory"
        )
    return path


def _metric(result: Mapping[str, Any], *keys: str) -> float | None:
    value: Any = result
    for key in keys:
        if not isinstance(value, Mapping) or key not in value:
            return None
        value = value[key]
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def train_rllib_ppo(job: TrainJob) -> str:
    """Train RLlib PPO on ``job.env_id`` (a Gymnasium id or a PettingZoo module); save an RLlib
    checkpoint to the directory ``job.out``.

    ``job.hyperparameters`` (``--trainer-kwargs``): ``num_env_runners`` (default
    :data:`DEFAULT_NUM_ENV_RUNNERS`), ``address`` (``None``: a local Ray; ``"auto"`` or
    ``"HOST:PORT"``: a running cluster), ``num_envs_per_env_runner`` (1), ``hidden_sizes``
    (:data:`DEFAULT_HIDDEN_SIZES`), and any ``PPOConfig.training`` option over
    :data:`DEFAULT_PPO`.

    Budget: ``job.steps`` env steps (default :data:`DEFAULT_STEPS`), in whole PPO iterations of
    ``train_batch_size_per_learner`` steps. Written to ``out``: RLlib's checkpoint
    (``Algorithm.save_to_path``), ``ua_envs_rllib.json`` (env, kwargs, modules, seed, steps)
    and ``progress.csv`` (per iteration: ``iteration, env_steps, episode_return_mean,
    env_steps_per_s, iteration_s, wall_s``; the return is RLlib's mean over the episodes
    ended in the last iterations, summed over agents).

    :return: the checkpoint directory.
    :raises ValueError: bad budget, env, kwargs, option or output directory; fewer cluster
        CPUs than env runners.
    """
    hyper = dict(job.hyperparameters)
    num_env_runners = check_int_range(
        "num_env_runners", hyper.pop("num_env_runners", DEFAULT_NUM_ENV_RUNNERS), 0
    )
    address = hyper.pop("address", None)
    if address is not None and (not isinstance(address, str) or not address.strip()):
        raise ValueError(f"address: must be 'auto' or 'HOST:PORT', got {address!r}")
    per_runner = hyper.pop("num_envs_per_env_runner", 1)
    hidden = hyper.pop("hidden_sizes", DEFAULT_HIDDEN_SIZES)
    if isinstance(hidden, int) or not isinstance(hidden, Sequence):
        raise ValueError(f"hidden_sizes: must be a list of layer sizes, got {hidden!r}")
    steps = check_int_range("steps", DEFAULT_STEPS if job.steps is None else job.steps, 1)
    check_rllib_env(job.env_id)
    out = _check_out_dir(job.out)
    config = ppo_config(
        job.env_id,
        env_kwargs=job.env_kwargs,
        seed=job.seed,
        num_env_runners=num_env_runners,
        num_envs_per_env_runner=per_runner,
        hidden_sizes=hidden,
        training=hyper,
    )
    from ray.rllib.utils.metrics import (
        ENV_RUNNER_RESULTS,
        EPISODE_RETURN_MEAN,
        NUM_ENV_STEPS_SAMPLED_LIFETIME,
    )
    from tqdm.auto import tqdm

    started = init_ray(address, num_env_runners, quiet=job.quiet)
    rows: list[dict[str, float | None]] = []
    try:
        algo = config.build_algo()
        try:
            sampled, start = 0, time.perf_counter()
            label = f"rllib_ppo on {job.env_id}"
            with tqdm(total=steps, desc=label, unit="step", disable=job.quiet) as bar:
                while sampled < steps:
                    begin = time.perf_counter()
                    result = algo.train()
                    seconds = time.perf_counter() - begin
                    now = _metric(result, ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                    done = int(now) if now is not None else sampled
                    if done <= sampled:
                        raise RuntimeError(f"RLlib sampled no env step in iteration {len(rows)}")
                    mean = _metric(result, ENV_RUNNER_RESULTS, EPISODE_RETURN_MEAN)
                    rows.append(
                        {
                            "iteration": len(rows) + 1,
                            "env_steps": done,
                            "episode_return_mean": mean,
                            "env_steps_per_s": (done - sampled) / seconds,
                            "iteration_s": seconds,
                            "wall_s": time.perf_counter() - start,
                        }
                    )
                    bar.update(min(done, steps) - min(sampled, steps))
                    if mean is not None:
                        bar.set_postfix(mean_return=f"{mean:.3g}", refresh=False)
                    sampled = done
            out.mkdir(parents=True, exist_ok=True)
            algo.save_to_path(str(out.resolve()))
        finally:
            algo.stop()
    finally:
        if started:
            import ray

            ray.shutdown()
    _write_curve(out / CURVE_FILE, rows)
    adapters = module_spaces(job.env_id, job.env_kwargs)
    metadata = {
        "env": job.env_id,
        "env_kwargs": dict(job.env_kwargs or {}),
        "modules": sorted(adapters),
        "seed": job.seed,
        "env_steps": sampled,
        "num_env_runners": num_env_runners,
    }
    (out / METADATA_FILE).write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    return str(out)


def _write_curve(path: Path, rows: list[dict[str, float | None]]) -> None:
    columns = (
        "iteration",
        "env_steps",
        "episode_return_mean",
        "env_steps_per_s",
        "iteration_s",
        "wall_s",
    )
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else f"{row[c]:.6g}" for c in columns])


# --------------------------------------------------------------------------- inference


def load_rllib_modules(checkpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trained RLModules of an ``rllib_ppo`` checkpoint directory, and its metadata.

    :return: ``(module id → RLModule (torch, eval mode), metadata of ua_envs_rllib.json)``.
    :raises ValueError: not a directory written by ``rllib_ppo``, a module missing or
        unreadable.
    """
    from ray.rllib.core.rl_module.rl_module import RLModule

    root = Path(checkpoint)
    meta_path = root / METADATA_FILE
    if not root.is_dir() or not meta_path.is_file():
        raise ValueError(
            f"checkpoint {checkpoint!r} is not an rllib_ppo checkpoint directory (no "
            f"{METADATA_FILE})"
        )
    try:
        metadata = json.loads(meta_path.read_text())
        module_ids = list(metadata["modules"])
    except (ValueError, KeyError, TypeError) as error:
        raise ValueError(
            f"checkpoint {checkpoint!r}: unreadable {METADATA_FILE}: {error}"
        ) from None
    modules: dict[str, Any] = {}
    for module_id in module_ids:
        path = root / "learner_group" / "learner" / "rl_module" / module_id
        try:
            module = RLModule.from_checkpoint(str(path.resolve()))
        except Exception as error:  # a damaged directory raises anything (pickle, torch, OS)
            raise ValueError(
                f"checkpoint {checkpoint!r}: module {module_id!r} cannot be loaded: "
                f"{type(error).__name__}: {error}"
            ) from None
        module.eval()  # type: ignore[attr-defined]  # a TorchRLModule is an nn.Module
        modules[module_id] = module
    return modules, metadata


def _torch_observation(observation: Any) -> Any:
    import torch

    if isinstance(observation, dict):
        return {k: torch.as_tensor(v)[None] for k, v in observation.items()}
    return torch.as_tensor(observation)[None]


def _choose(
    module: Any,
    adapter: SpaceAdapter,
    observation: Any,
    *,
    generator: torch.Generator | None,
) -> np.ndarray:
    """The module's action (RLlib's space) for one RLlib observation: greedy when
    ``generator`` is ``None``, else sampled from the (masked) distribution."""
    import torch
    from ray.rllib.core.columns import Columns

    batch = {Columns.OBS: _torch_observation(observation)}
    with torch.no_grad():
        if generator is None:
            output = module.forward_inference(batch)
        else:
            output = module.forward_exploration(batch)
    logits = output[Columns.ACTION_DIST_INPUTS][0]
    space = adapter.rllib_action_space
    if isinstance(space, spaces.Box):
        mean = logits[: int(np.prod(space.shape))]
        if generator is None:
            return mean.numpy().reshape(space.shape)
        std = torch.exp(logits[mean.numel() :])
        noise = torch.randn(mean.shape, generator=generator)
        return (mean + std * noise).numpy().reshape(space.shape)
    if isinstance(space, spaces.Discrete):
        sizes = [int(space.n)]
    else:
        assert isinstance(space, spaces.MultiDiscrete)
        sizes = [int(n) for n in np.asarray(space.nvec).reshape(-1)]
    choices = []
    for part in torch.split(logits, sizes):
        if generator is None:
            choices.append(int(torch.argmax(part)))
        else:
            probabilities = torch.softmax(part, dim=-1)
            choices.append(int(torch.multinomial(probabilities, 1, generator=generator)))
    return np.asarray(choices, dtype=np.int64)


class RLlibPolicy:
    """A trained RLlib module acting in a single-agent ua-envs env (a
    :class:`~agents.policy.Policy`): greedy (the arg-max of the masked logits) by default.

    :param module: the RLModule (:func:`load_rllib_modules`).
    :param adapter: the env's :class:`SpaceAdapter`.
    :param deterministic: greedy actions; ``False`` samples from the masked distribution with
        a generator seeded by :meth:`reset`.
    :param name: label used in tables.
    """

    def __init__(
        self, module: Any, adapter: SpaceAdapter, deterministic: bool = True, name: str = ""
    ) -> None:
        import torch

        self.module = module
        self.adapter = adapter
        self.deterministic = deterministic
        self.name = name or "rllib_ppo"
        self._generator = torch.Generator()

    def reset(self, seed: int | None = None) -> None:
        """Seed the sampling (used when ``deterministic=False``)."""
        if seed is not None:
            self._generator.manual_seed(int(seed))

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """The module's action for one env observation (never one the mask forbids)."""
        action = _choose(
            self.module,
            self.adapter,
            self.adapter.observation(observation),
            generator=None if self.deterministic else self._generator,
        )
        return self.adapter.action(action, self.adapter.mask(observation))


def load_rllib_policy(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> RLlibPolicy:
    """The ``rllib_ppo:DIR`` policy: the module of a single-agent ``rllib_ppo`` checkpoint.

    :raises ValueError: no checkpoint, a checkpoint of a PettingZoo env, or one trained on
        other spaces than ``env``'s.
    """
    if checkpoint is None:
        raise ValueError("policy 'rllib_ppo' needs a checkpoint: use rllib_ppo:DIR")
    modules, metadata = load_rllib_modules(checkpoint)
    if set(modules) != {"default_policy"}:
        raise ValueError(
            f"checkpoint {checkpoint!r} was trained on the PettingZoo env "
            f"{metadata.get('env')!r} (modules {', '.join(sorted(modules))}); rllib_ppo:DIR "
            f"evaluates single-agent ids only"
        )
    module = modules["default_policy"]
    adapter = SpaceAdapter(env.observation_space, env.action_space)
    for what, mine in (
        ("observation", adapter.rllib_observation_space),
        ("action", adapter.rllib_action_space),
    ):
        trained = getattr(module, f"{what}_space")
        if trained != mine:
            raise ValueError(
                f"checkpoint {checkpoint!r} was trained with {what} space {trained}, the env "
                f"{metadata.get('env')!r} build has {mine}"
            )
    policy = RLlibPolicy(module, adapter, name=f"rllib_ppo:{checkpoint}")
    policy.reset(seed)
    return policy


def evaluate_rllib(
    modules: Mapping[str, Any],
    name: str,
    seeds: Sequence[int],
    *,
    env_kwargs: Mapping[str, Any] | None = None,
    sample: bool = False,
    max_steps: int = 100_000,
) -> np.ndarray:
    """Returns of ``modules`` on the first episode of env ``name`` reset with each seed.

    Single-agent and PettingZoo envs alike, through :func:`make_rllib_env`'s adapters (so an
    action a mask forbids raises ``ValueError``); an agent acts with module
    :func:`agent_module_id` (``"default_policy"`` for a single-agent env).

    :param modules: module id → RLModule (:func:`load_rllib_modules`, or
        ``algo.get_module(id)``).
    :param seeds: the fixed evaluation instances.
    :param sample: sample actions from the masked distributions (a generator seeded with each
        episode's seed) instead of the greedy ones.
    :param max_steps: refuse episodes longer than this.
    :return: ``(len(seeds),)`` float64: the episode return, summed over agents.
    :raises ValueError: an episode longer than ``max_steps``, a module missing for an agent.
    """
    import torch

    returns = np.zeros(len(seeds), dtype=np.float64)
    multi = is_pettingzoo_module(name)
    for index, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(int(seed)) if sample else None
        if multi:
            parallel = RLlibParallelEnv(_parallel_env(name, dict(env_kwargs or {})))
            try:
                returns[index] = _parallel_episode(
                    parallel, modules, int(seed), generator, max_steps
                )
            finally:
                parallel.close()
            continue
        env = make_rllib_env(name, env_kwargs)
        try:
            module = _module(modules, "default_policy")
            observation, _ = env.reset(seed=int(seed))
            for _ in range(max_steps):
                action = _choose(module, env.adapter, observation, generator=generator)
                observation, reward, terminated, truncated, _ = env.step(action)
                returns[index] += float(reward)
                if terminated or truncated:
                    break
            else:
                raise ValueError(f"evaluation episode did not end within {max_steps} steps")
        finally:
            env.close()
    return returns


def _module(modules: Mapping[str, Any], module_id: str) -> Any:
    if module_id not in modules:
        raise ValueError(f"modules: none for {module_id!r}; given: {', '.join(sorted(modules))}")
    return modules[module_id]


def _parallel_episode(
    env: RLlibParallelEnv,
    modules: Mapping[str, Any],
    seed: int,
    generator: torch.Generator | None,
    max_steps: int,
) -> float:
    total = 0.0
    observations, _ = env.reset(seed=seed)
    for _ in range(max_steps):
        actions = {
            agent: _choose(
                _module(modules, agent_module_id(agent)),
                env.adapters[agent],
                observation,
                generator=generator,
            )
            for agent, observation in observations.items()
        }
        observations, rewards, terminations, truncations, _ = env.step(actions)
        total += float(sum(rewards.values()))
        if not env.agents or all(
            terminations.get(a, False) or truncations.get(a, False) for a in actions
        ):
            return total
    raise ValueError(f"evaluation episode did not end within {max_steps} steps")


# --------------------------------------------------------------------------- registry


def _run(job: TrainJob) -> str:
    return train_rllib_ppo(job)


_run.__doc__ = "Train RLlib PPO (env runners on Ray) and save an RLlib checkpoint directory."


#: ``rllib_ppo:DIR`` for the single-agent ids, collected by :func:`agents.registry.load_builtin`.
POLICIES: tuple[PolicyEntry, ...] = (
    PolicyEntry(
        name="rllib_ppo",
        factory=load_rllib_policy,
        env_ids=None,
        description="Ray RLlib PPO checkpoint directory (rllib_ppo:DIR), masked logits",
        needs_checkpoint=True,
        action_spaces=ACTION_SPACES,
    ),
)
#: ``ua-envs train rllib_ppo --env ID|PETTINGZOO_MODULE``.
TRAINERS: tuple[TrainerEntry, ...] = (
    TrainerEntry(
        name="rllib_ppo",
        trainer=job_trainer(_run),
        env_ids=None,
        description="Ray RLlib PPO, env runners on a Ray cluster (ua-envs[rllib])",
        action_spaces=ACTION_SPACES,
        options=frozenset({"steps", "num_env_runners", "address"}),
        check_env=check_rllib_env,
        out_is_directory=True,
    ),
)


# --------------------------------------------------------------------------- benchmark


def benchmark(
    name: str = "multicell_assoc_v0",
    runners: Sequence[int] = (1, 2),
    *,
    iterations: int = 3,
    address: str | None = None,
) -> list[dict[str, float]]:
    """PPO throughput on ``name`` with each number of env runners (:data:`DEFAULT_PPO`).

    One warm-up iteration (actor start, first torch calls), then ``iterations`` timed ones.

    :return: per count: ``num_env_runners``, ``build_s`` (algorithm and actors),
        ``iteration_s`` (mean), ``env_steps_per_s`` (sampled env steps over the timed
        iterations' wall time, updates included).
    """
    from ray.rllib.utils.metrics import ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME

    iterations = check_int_range("iterations", iterations, 1)
    rows = []
    for count in runners:
        started = init_ray(address, count, quiet=True)
        try:
            begin = time.perf_counter()
            algo = ppo_config(name, num_env_runners=count).build_algo()
            build_s = time.perf_counter() - begin
            try:
                first = _metric(algo.train(), ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
                begin = time.perf_counter()
                for _ in range(iterations):
                    result = algo.train()
                seconds = time.perf_counter() - begin
                last = _metric(result, ENV_RUNNER_RESULTS, NUM_ENV_STEPS_SAMPLED_LIFETIME)
            finally:
                algo.stop()
        finally:
            if started:
                import ray

                ray.shutdown()
        rows.append(
            {
                "num_env_runners": float(count),
                "build_s": build_s,
                "iteration_s": seconds / iterations,
                "env_steps_per_s": ((last or 0.0) - (first or 0.0)) / seconds,
            }
        )
    return rows


if __name__ == "__main__":  # python -m agents.rllib [ENV] [RUNNERS ...]
    import sys

    env_name = sys.argv[1] if len(sys.argv) > 1 else "multicell_assoc_v0"
    counts = [int(a) for a in sys.argv[2:]] or [1, 2]
    print(f"RLlib PPO on {env_name} (train batch {DEFAULT_PPO['train_batch_size_per_learner']})")
    print(f"{'env runners':>11}  {'build [s]':>9}  {'iteration [s]':>13}  {'env steps/s':>11}")
    for row in benchmark(env_name, counts):
        print(
            f"{int(row['num_env_runners']):>11}  {row['build_s']:>9.1f}  "
            f"{row['iteration_s']:>13.2f}  {row['env_steps_per_s']:>11.0f}"
        )
