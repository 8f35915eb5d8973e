"""stable-baselines3 adapter: any SB3 model as a :class:`~agents.policy.Policy`, plus loaders.

Declared in ``POLICIES`` / ``TRAINERS`` (collected by :func:`agents.registry.load_builtin`),
each for the action spaces its algorithm supports:

=================  =====================================  ==================================
policy spec        loads (action spaces)                  trainer (``ua-envs train NAME``)
=================  =====================================  ==================================
``ppo:PATH``       ``stable_baselines3.PPO.load(PATH)``   PPO, ``MultiInputPolicy`` for Dict
                   (Box, Discrete, MultiDiscrete,         observations, ``MlpPolicy`` else
                   MultiBinary)
``a2c:PATH``       ``stable_baselines3.A2C.load(PATH)``   –
                   (as PPO)
``dqn:PATH``       ``stable_baselines3.DQN.load(PATH)``   –
                   (Discrete only)
``maskable_ppo:``  ``sb3_contrib.MaskablePPO.load(PATH)`` MaskablePPO (masks from the env's
``PATH``           (Discrete, MultiDiscrete,              ``action_masks()``: only envs that
                   MultiBinary)                           have one)
=================  =====================================  ==================================

So ``dqn`` is listed and accepted only for ids with a ``Discrete`` action space
(``CellFreeAssoc-v0``, ``SlottedArrivalAssoc-v0``), and the ``maskable_ppo`` trainer only for
envs with ``action_masks()`` (not ``FronthaulAssoc-v0``).

A checkpoint that cannot be loaded (missing, empty, truncated, corrupted, saved by another
algorithm, e.g. a plain PPO zip given as ``maskable_ppo:PATH``, non-finite weights, or trained
on other spaces) is a ``ValueError`` in one line, raised before any evaluation.

stable-baselines3 is imported only when one of these is used (it takes seconds to import).
Models load on the CPU: the MLP policies SB3 builds are faster there than on a GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.entries import (
    PolicyEntry,
    SpaceTypes,
    Trainer,
    TrainerEntry,
    TrainJob,
    has_action_masks,
    job_trainer,
    space_names,
    trainer_for,
)
from agents.envs import make_env
from agents.policy import observation_mask

#: Loadable algorithms: registry name → (module, class name).
ALGORITHMS: dict[str, tuple[str, str]] = {
    "ppo": ("stable_baselines3", "PPO"),
    "a2c": ("stable_baselines3", "A2C"),
    "dqn": ("stable_baselines3", "DQN"),
    "maskable_ppo": ("sb3_contrib", "MaskablePPO"),
}
#: Algorithms with a registered trainer.
TRAINABLE: tuple[str, ...] = ("ppo", "maskable_ppo")
#: Action spaces each algorithm supports (stable-baselines3's and sb3-contrib's docs).
ACTION_SPACES: dict[str, SpaceTypes] = {
    "ppo": (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
    "a2c": (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
    "dqn": (spaces.Discrete,),
    "maskable_ppo": (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary),
}
#: Trainers that need the env's ``action_masks()``.
NEEDS_ACTION_MASKS: frozenset[str] = frozenset({"maskable_ppo"})
#: Policy class (module, name) each algorithm's checkpoints must hold.
POLICY_BASES: dict[str, tuple[str, str]] = {
    "ppo": ("stable_baselines3.common.policies", "ActorCriticPolicy"),
    "a2c": ("stable_baselines3.common.policies", "ActorCriticPolicy"),
    "dqn": ("stable_baselines3.dqn.policies", "DQNPolicy"),
    "maskable_ppo": ("sb3_contrib.common.maskable.policies", "MaskableActorCriticPolicy"),
}


def algorithm_class(name: str) -> Any:
    """The SB3 class registered as ``name`` (``"ppo"`` → ``stable_baselines3.PPO``)."""
    import importlib

    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {name!r}")
    module, attribute = ALGORITHMS[name]
    return getattr(importlib.import_module(module), attribute)


def _accepts_masks(model: Any) -> bool:
    import inspect

    return "action_masks" in inspect.signature(model.predict).parameters


def _sb3_mask(mask: np.ndarray, space: spaces.Space[Any]) -> np.ndarray:
    """The flat mask layout of sb3-contrib: ``(n,)`` or, for MultiDiscrete, ``(sum(nvec),)``."""
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).reshape(-1)
        if mask.size != int(nvec.sum()):  # (d, max(nvec)) layout: keep each row's first nvec[i]
            rows = mask.reshape(nvec.size, -1)
            return np.concatenate([row[:n] for row, n in zip(rows, nvec, strict=True)])
    return mask.reshape(-1)


class SB3Policy:
    """A stable-baselines3 model (PPO, A2C, DQN, MaskablePPO, ...) behind the Policy interface.

    ``act`` calls ``model.predict(observation, deterministic=deterministic)``; a model whose
    ``predict`` takes ``action_masks`` (sb3-contrib's MaskablePPO) also gets the boolean mask
    of :func:`agents.policy.observation_mask` (``observation["action_mask"]`` or
    ``env.action_masks()``), flattened to sb3-contrib's layout.

    :param model: a trained SB3 model; its observation space must match the env's.
    :param deterministic: greedy actions (default). With ``False``, actions are sampled with
        torch's *global* generator (SB3 has no per-call generator); :meth:`reset` then seeds it
        through ``model.set_random_seed``.
    :param name: label used in tables (default: the model's class name).
    """

    def __init__(self, model: Any, deterministic: bool = True, name: str | None = None) -> None:
        if not callable(getattr(model, "predict", None)):
            raise ValueError(f"model must be a stable-baselines3 model, got {type(model).__name__}")
        self.model = model
        self.deterministic = deterministic
        self.name = name or type(model).__name__
        self._maskable = _accepts_masks(model)

    def reset(self, seed: int | None = None) -> None:
        """Seed SB3's sampling (only used when ``deterministic=False``)."""
        if not self.deterministic and seed is not None:
            self.model.set_random_seed(seed)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """The model's action for one (non-vectorised) observation."""
        kwargs: dict[str, Any] = {}
        if self._maskable:
            mask = observation_mask(observation, env)
            if mask is not None:
                kwargs["action_masks"] = _sb3_mask(mask, self.model.action_space)
        action, _ = self.model.predict(observation, deterministic=self.deterministic, **kwargs)
        if isinstance(self.model.action_space, spaces.Discrete):
            return np.int64(np.asarray(action).reshape(-1)[0])
        return action


def resolve_checkpoint(checkpoint: str, suffix: str = ".zip") -> Path:
    """The file ``checkpoint`` names: itself, else itself + ``suffix`` (as SB3's ``load``).

    :raises ValueError: an empty path, a directory, or no such file (with or without suffix).
    """
    if not checkpoint.strip():
        raise ValueError("checkpoint path is empty")
    path = Path(checkpoint)
    if path.is_file():
        return path
    with_suffix = Path(f"{checkpoint}{suffix}")
    if path.suffix != suffix and with_suffix.is_file():
        return with_suffix
    if path.is_dir():
        raise ValueError(f"checkpoint {checkpoint!r} is a directory, not a checkpoint file")
    raise ValueError(f"checkpoint {checkpoint!r} does not exist")


def _policy_base(algorithm: str) -> Any:
    import importlib

    module, attribute = POLICY_BASES[algorithm]
    return getattr(importlib.import_module(module), attribute)


def load_sb3(algorithm: str, checkpoint: str, device: str = "cpu") -> Any:
    """Load an SB3 checkpoint (``.zip``) with ``ALGORITHMS[algorithm].load`` and check it.

    :raises ValueError: the file does not exist, cannot be read as a checkpoint of
        ``algorithm`` (empty, truncated, corrupted, wrong metadata, another algorithm's policy,
        e.g. a plain PPO zip loaded as ``maskable_ppo``), or holds non-finite weights: one line,
        whatever SB3 raised.
    :raises ImportError: the algorithm's package (stable-baselines3, sb3-contrib) is missing.
    """
    import warnings

    import torch

    cls = algorithm_class(algorithm)  # ImportError: not installed (reported as unavailable)
    base = _policy_base(algorithm)
    label = ALGORITHMS[algorithm][1]
    path = resolve_checkpoint(checkpoint)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            model = cls.load(str(path), device=device)
        except Exception as error:  # a damaged file raises anything: zip, json, torch, pickle
            hint = ""
            if algorithm == "maskable_ppo" and "MaskableActorCriticPolicy" in str(error):
                hint = " (a plain PPO checkpoint? use ppo:PATH)"
            raise ValueError(
                f"checkpoint {checkpoint!r} is not a readable {label} checkpoint{hint}: "
                f"{type(error).__name__}: {error}"
            ) from None
    for warning in caught:  # SB3's notes about a loadable file are still shown
        warnings.warn(warning.message, warning.category, stacklevel=2)
    if not isinstance(model.policy, base):
        raise ValueError(
            f"checkpoint {checkpoint!r} holds a {type(model.policy).__name__}, not the "
            f"{POLICY_BASES[algorithm][1]} of a {label} checkpoint"
        )
    with torch.no_grad():
        if not all(bool(torch.isfinite(p).all()) for p in model.policy.parameters()):
            raise ValueError(f"checkpoint {checkpoint!r} has non-finite (NaN or inf) weights")
    return model


def _make_loader(algorithm: str) -> Any:
    def factory(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> SB3Policy:
        if checkpoint is None:
            raise ValueError(f"policy {algorithm!r} needs a checkpoint: use {algorithm}:PATH")
        if not isinstance(env.action_space, ACTION_SPACES[algorithm]):
            raise ValueError(
                f"policy {algorithm!r} serves {space_names(ACTION_SPACES[algorithm])} action "
                f"spaces, the env has {env.action_space}"
            )
        model = load_sb3(algorithm, checkpoint)
        for what in ("observation_space", "action_space"):
            trained, current = getattr(model, what), getattr(env, what)
            if trained != current:
                raise ValueError(
                    f"checkpoint {checkpoint!r} was trained with {what.replace('_', ' ')} "
                    f"{trained}, the env has {current}"
                )
        policy = SB3Policy(model, name=f"{algorithm}:{checkpoint}")
        policy.reset(seed)
        return policy

    factory.__doc__ = f"Load a {ALGORITHMS[algorithm][1]} checkpoint as a Policy."
    return factory


def train_sb3(algorithm: str, job: TrainJob) -> str:
    """Train ``algorithm`` on ``job.env_id`` for ``job.episodes`` episodes, save it to ``job.out``.

    Default hyperparameters of SB3 unless ``job.hyperparameters`` override them; the network is
    ``MultiInputPolicy`` for Dict observations, ``MlpPolicy`` otherwise; device CPU.
    Training stops after ``episodes`` completed episodes
    (``stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes``). The registered trainers
    (:data:`TRAINERS`, ``trainer(env_id, *, episodes, seed, out, ...)``) call it with their
    arguments as a :class:`~agents.entries.TrainJob`.

    :return: path of the saved ``.zip`` (SB3 appends ``.zip`` when ``out`` has no suffix).
    """
    episodes, env_id = job.episodes, job.env_id
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    algorithm_class(algorithm)  # ImportError before the env is built
    path = job.checked_out(".zip")  # before training; missing parents are created
    from stable_baselines3.common.callbacks import BaseCallback, StopTrainingOnMaxEpisodes

    env = make_env(env_id, job.env_kwargs)
    if not isinstance(env.action_space, ACTION_SPACES[algorithm]):
        env.close()
        raise ValueError(
            f"{algorithm} trains on {space_names(ACTION_SPACES[algorithm])} action spaces, "
            f"{env_id} has {env.action_space}"
        )
    if algorithm in NEEDS_ACTION_MASKS and not has_action_masks(env):
        env.close()
        raise ValueError(f"{algorithm} needs an env with action_masks(), {env_id} has none")
    network = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    options = {"verbose": 0, "seed": job.seed, "device": "cpu", **job.hyperparameters}
    try:
        model = algorithm_class(algorithm)(network, env, **options)
    except TypeError as error:  # an unknown hyper-parameter name
        raise ValueError(f"{algorithm} hyper-parameters: {error}") from None

    callbacks: list[Any] = [StopTrainingOnMaxEpisodes(episodes)]
    if not job.quiet:
        from tqdm.auto import tqdm

        class _Progress(BaseCallback):
            def _on_training_start(self) -> None:
                self.bar = tqdm(total=episodes, desc=f"{algorithm} on {env_id}", unit="ep")

            def _on_step(self) -> bool:
                self.bar.update(int(np.sum(self.locals["dones"])))
                return True

            def _on_training_end(self) -> None:
                self.bar.close()

        callbacks.append(_Progress())
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    # An upper bound: the callback stops training at the episode count.
    budget = episodes * (max_steps or 100_000)
    model.learn(total_timesteps=budget, callback=callbacks)
    env.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return str(path)


def _make_trainer(algorithm: str) -> Trainer:
    def run(job: TrainJob) -> str:
        return train_sb3(algorithm, job)

    run.__doc__ = f"Train {ALGORITHMS[algorithm][1]} (SB3 defaults) and save a .zip."
    return job_trainer(run)


#: The loaders (``ppo:PATH``, ...), collected by :func:`agents.registry.load_builtin`.
POLICIES: tuple[PolicyEntry, ...] = tuple(
    PolicyEntry(
        name=name,
        factory=_make_loader(name),
        env_ids=None,
        description=f"{module}.{cls} checkpoint ({name}:PATH.zip)",
        needs_checkpoint=True,
        action_spaces=ACTION_SPACES[name],
    )
    for name, (module, cls) in ALGORITHMS.items()
)
#: The trainers (``ua-envs train ppo|maskable_ppo``): each serves what its loader serves.
TRAINERS: tuple[TrainerEntry, ...] = tuple(
    trainer_for(
        loader,
        _make_trainer(loader.name),
        f"{ALGORITHMS[loader.name][0]}.{ALGORITHMS[loader.name][1]} with SB3 defaults",
        needs_action_masks=loader.name in NEEDS_ACTION_MASKS,
        default_suffix=".zip",
    )
    for loader in POLICIES
    if loader.name in TRAINABLE
)
