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

The trainers (:func:`train_sb3`) train on the native vector env through
:class:`agents.sb3_vec.SB3VecEnv` (``--num-envs`` sub-envs in one simulator call), with the
training convention of :mod:`agents.training` as far as SB3 allows.

stable-baselines3 is imported only when one of these is used (it takes seconds to import).
Models load on the CPU: the MLP policies SB3 builds are faster there than on a GPU.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.entries import (
    JOB_TRAIN_OPTIONS,
    PolicyEntry,
    SpaceTypes,
    Trainer,
    TrainerEntry,
    TrainJob,
    job_trainer,
    space_names,
    trainer_for,
)
from agents.envs import check_env_id, make_env
from agents.policy import observation_mask
from ua_envs.core.validation import check_int_range

if TYPE_CHECKING:
    from stable_baselines3.common.vec_env import VecEnv

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


#: Sub-envs stepped together when ``--num-envs`` is not given.
DEFAULT_NUM_ENVS = 16
#: Budget in env steps when neither ``--steps`` nor ``--episodes`` is given.
DEFAULT_STEPS = 100_000


def make_training_env(
    env_id: str, num_envs: int, env_kwargs: Mapping[str, Any] | None = None
) -> VecEnv:
    """The SB3 ``VecEnv`` the trainers use: :class:`~agents.sb3_vec.SB3VecEnv` over the native
    vector env (``gym.make_vec(env_id, num_envs, vectorization_mode="vector_entry_point")``);
    for an id without one (e.g. a user's env), SB3's ``DummyVecEnv`` over ``num_envs``
    ``Monitor``-wrapped single envs.

    :raises ValueError: unknown id or env kwargs, bad ``num_envs``.
    """
    from stable_baselines3.common.env_util import make_vec_env

    from agents.sb3_vec import SB3VecEnv

    num_envs = check_int_range("num_envs", num_envs, 1)
    check_env_id(env_id)
    kwargs = dict(env_kwargs or {})
    if gym.spec(env_id).vector_entry_point is not None:
        vector = gym.make_vec(
            env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", **kwargs
        )
        return SB3VecEnv(vector)
    make_env(env_id, kwargs).close()  # one-line errors for bad kwargs before n envs are made
    env: VecEnv = make_vec_env(lambda: make_env(env_id, kwargs), n_envs=num_envs)
    return env


def evaluate_sb3(model: Any, env: VecEnv, seed: int, *, max_steps: int = 100_000) -> np.ndarray:
    """Returns of the deterministic ``model`` on the first episode of each sub-env of ``env``.

    ``env`` is seeded with ``seed`` (sub-env ``i``: the episode of a single env reset with
    ``seed + i``) and stepped until every sub-env has ended its first episode; a model whose
    ``predict`` takes ``action_masks`` gets ``env``'s (sb3-contrib's ``get_action_masks``).

    :return: ``(env.num_envs,)`` float64 episode returns.
    :raises ValueError: some episode did not end within ``max_steps`` steps.
    """
    env.seed(seed)
    observation = env.reset()
    returns = np.zeros(env.num_envs, dtype=np.float64)
    running = np.ones(env.num_envs, dtype=bool)
    masked = _accepts_masks(model)
    for _ in range(max_steps):
        kwargs: dict[str, Any] = {}
        if masked:
            from sb3_contrib.common.maskable.utils import get_action_masks

            kwargs["action_masks"] = get_action_masks(env)
        actions, _ = model.predict(observation, deterministic=True, **kwargs)
        observation, rewards, dones, _ = env.step(actions)
        returns += np.where(running, rewards, 0.0)
        running &= ~dones
        if not running.any():
            return returns
    raise ValueError(f"evaluation episodes did not end within max_steps={max_steps} steps")


def read_curve(path: Path) -> list[dict[str, Any]]:
    """The rows of a learning-curve CSV (``[]`` when ``path`` is missing): ``step`` and
    ``episodes`` as ``int``, other columns as ``float``, empty cells as ``None``."""
    import csv

    if not path.is_file():
        return []
    with path.open(newline="") as handle:
        return [
            {
                key: None
                if value == ""
                else int(float(value))
                if key in ("step", "episodes")
                else float(value)
                for key, value in row.items()
            }
            for row in csv.DictReader(handle)
        ]


class _Evaluation:
    """Periodic evaluation of an SB3 model on held-out seeds, keeping the best checkpoint
    (the schedule of :class:`agents.training.PeriodicEvaluation`: at every multiple of
    ``every`` env steps and at the end; the episodes run on a vector env, one per sub-env)."""

    def __init__(
        self, env: VecEnv, every: int, seed: int, best_path: Path, start_step: int, rows: Any
    ) -> None:
        self.env, self.every, self.seed, self.best_path = env, every, seed, best_path
        self.next_step = (start_step // every + 1) * every
        previous = [r["eval_return"] for r in rows if r.get("eval_return") is not None]
        self.best: float | None = max(previous) if previous else None
        self.last_step: int | None = None

    def __call__(self, model: Any, step: int) -> float:
        value = float(evaluate_sb3(model, self.env, self.seed).mean())
        self.last_step = step
        self.next_step = (step // self.every + 1) * self.every
        if self.best is None or value > self.best:
            self.best = value
            self.best_path.parent.mkdir(parents=True, exist_ok=True)
            model.save(str(self.best_path))
        return value


def _training_callback(log: Any, max_episodes: int | None, evaluation: _Evaluation | None) -> Any:
    """The SB3 callback of :func:`train_sb3`: drives the :class:`agents.training.TrainingLog`
    (bar, curve row per rollout), stops an episode budget, runs the periodic evaluation."""
    from stable_baselines3.common.callbacks import BaseCallback

    class TrainingCallback(BaseCallback):
        eval_return: float | None = None
        run_episodes = 0

        def _on_step(self) -> bool:
            dones = self.locals["dones"]
            ended = np.flatnonzero(dones)
            returns = []
            if ended.size:
                infos = self.locals["infos"]
                episodes = (infos[row].get("episode") for row in ended.tolist())
                returns = [float(episode["r"]) for episode in episodes if episode is not None]
                self.run_episodes += int(ended.size)
            log.advance(int(dones.size), returns)
            if evaluation is not None and self.num_timesteps >= evaluation.next_step:
                self._evaluate()
            return max_episodes is None or self.run_episodes < max_episodes

        def _evaluate(self) -> None:
            assert evaluation is not None
            self.eval_return = evaluation(self.model, int(self.num_timesteps))
            self.logger.record("eval/mean_return", self.eval_return)

        def _on_rollout_end(self) -> None:
            log.record(eval_return=self.eval_return)
            self.eval_return = None

        def _on_training_end(self) -> None:
            if evaluation is not None and evaluation.last_step != self.num_timesteps:
                self._evaluate()  # the best checkpoint has seen the final weights
                log.record(eval_return=self.eval_return)

    return TrainingCallback()


def _budget(job: TrainJob) -> tuple[int | None, int | None]:
    """``(steps, episodes)``: exactly one is set (see :func:`train_sb3`)."""
    if job.steps is not None and job.episodes is not None:
        raise ValueError(
            f"give the budget as --steps or as --episodes, not both "
            f"(got steps={job.steps}, episodes={job.episodes})"
        )
    if job.episodes is not None:
        return None, check_int_range("episodes", job.episodes, 1)
    steps = DEFAULT_STEPS if job.steps is None else job.steps
    return check_int_range("steps", steps, 1), None


def _episode_steps(env: VecEnv) -> int | None:
    """The longest episode of the training env, when known (its ``max_episode_steps``)."""
    try:
        value = env.get_attr("max_episode_steps")[0]
    except AttributeError:
        return None
    return int(value) if value is not None else None


def train_sb3(algorithm: str, job: TrainJob) -> str:
    """Train ``algorithm`` (PPO or MaskablePPO) on ``job.env_id``; save it to ``job.out``.

    The model trains on ``job.num_envs`` sub-envs (default :data:`DEFAULT_NUM_ENVS`) of
    :func:`make_training_env`: the native vector env behind :class:`~agents.sb3_vec.SB3VecEnv`.
    Options: :func:`agents.sb3_vec.sb3_options` (SB3's defaults, ``n_steps =
    ceil(2048 / num_envs)``), then ``job.hyperparameters``; ``MultiInputPolicy`` for Dict
    observations, ``MlpPolicy`` else.

    Budget: ``job.steps`` env steps (default :data:`DEFAULT_STEPS`; SB3 finishes the rollout it
    is in, so a multiple of ``n_steps · num_envs``), or ``job.episodes``: until that many
    episodes have ended over all sub-envs (for fixed-length episodes ``episodes × length``
    steps, rounded up to whole vector steps; for variable ones, e.g. ``CellFreeAssoc-v0``,
    the count itself). Not both.

    The training convention of :mod:`agents.training`, as far as SB3 allows: the same
    ``job.seed`` (and options) gives the same saved parameters; an
    :class:`agents.training.TrainingLog` shows the bar and writes the curve (one row per
    rollout) ``<out stem>.curve.csv`` / ``.curve.png`` and, with ``job.tensorboard``, its
    scalars there, next to SB3's own TensorBoard logs (``tensorboard_log``, run
    ``<algorithm>_1``). Periodic evaluation every ``job.eval_every`` env steps (default
    ``0``: never) and at the end, on ``job.eval_episodes`` held-out episodes (seeds
    :func:`agents.training.evaluation_seed` ``+ j``), keeps the best model as
    ``<out stem>.best.zip``. ``job.resume``: continue that ``.zip`` (weights, optimiser state,
    step count, and the curve of its CSV) up to ``steps`` env steps in all (or for
    ``episodes`` more episodes), the env seeded with ``seed + steps so far`` (not replaying the
    first run's episodes).

    :return: path of the saved ``.zip`` (``.zip`` is appended when ``out`` has no suffix).
    :raises ValueError: bad budget, env id or kwargs, an env the algorithm cannot train on,
        unknown hyper-parameters, an unusable ``resume`` checkpoint.
    """
    from agents.sb3_vec import sb3_options
    from agents.training import TrainingLog, evaluation_seed, run_files

    env_id = job.env_id
    steps, episodes = _budget(job)
    num_envs = check_int_range(
        "num_envs", DEFAULT_NUM_ENVS if job.num_envs is None else job.num_envs, 1
    )
    eval_episodes = check_int_range("eval_episodes", job.eval_episodes, 1)
    eval_every = check_int_range("eval_every", job.eval_every or 0, 0)
    eval_seed = evaluation_seed(job.seed, num_envs)
    cls = algorithm_class(algorithm)  # ImportError before the env is built
    path = job.checked_out(".zip")  # before training; missing parents are created
    files = run_files(path)
    resume = None if job.resume is None else load_sb3(algorithm, job.resume)  # checked first

    env = make_training_env(env_id, num_envs, job.env_kwargs)
    eval_env: VecEnv | None = None
    try:
        if not isinstance(env.action_space, ACTION_SPACES[algorithm]):
            raise ValueError(
                f"{algorithm} trains on {space_names(ACTION_SPACES[algorithm])} action spaces, "
                f"{env_id} has {env.action_space}"
            )
        if algorithm in NEEDS_ACTION_MASKS and not env.has_attr("action_masks"):
            raise ValueError(f"{algorithm} needs an env with action_masks(), {env_id} has none")
        dict_obs = isinstance(env.observation_space, spaces.Dict)
        network = "MultiInputPolicy" if dict_obs else "MlpPolicy"
        rows: list[dict[str, Any]] = []
        if resume is not None:
            assert job.resume is not None
            source = resolve_checkpoint(job.resume)
            model = _resume(cls, source, env, job, resume)
            rows = read_curve(run_files(source).curve_csv)
        else:
            options = sb3_options(num_envs, job.seed, job.hyperparameters)
            options["tensorboard_log"] = job.tensorboard
            try:
                model = cls(network, env, **options)
            except TypeError as error:  # an unknown hyper-parameter name
                raise ValueError(f"{algorithm} hyper-parameters: {error}") from None
        start = int(model.num_timesteps)
        evaluation = None
        if eval_every:
            eval_env = make_training_env(env_id, eval_episodes, job.env_kwargs)
            best = files.checkpoint.with_name(files.best.name).with_suffix(".zip")
            evaluation = _Evaluation(eval_env, eval_every, eval_seed, best, start, rows)
        length = _episode_steps(env)
        total: Any  # the bar's total; None: episodes of unknown length
        if steps is not None:
            if steps <= start:
                raise ValueError(
                    f"--resume: the checkpoint has already trained {start:,} steps; give a "
                    f"budget beyond it (--steps > {start}), got {steps:,}"
                )
            budget, total = steps - start, steps
        else:  # an upper bound: the callback stops at the episode count
            assert episodes is not None
            budget = episodes * (length or 100_000)
            total = start + episodes * length if length else None
        log = TrainingLog(
            total,
            curve_csv=files.curve_csv,
            rows=rows,
            start_step=start,
            start_episodes=int(rows[-1].get("episodes") or 0) if rows else 0,
            tensorboard=job.tensorboard,
            quiet=job.quiet,
            description=f"{algorithm} on {env_id}",
        )
        with log:
            model.learn(
                total_timesteps=budget,
                callback=_training_callback(log, episodes, evaluation),
                reset_num_timesteps=resume is None,
                tb_log_name=algorithm,
            )
    finally:
        env.close()
        if eval_env is not None:
            eval_env.close()
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return str(path)


def _resume(cls: Any, source: Path, env: VecEnv, job: TrainJob, checked: Any) -> Any:
    """The checkpoint ``source`` (already checked as ``checked``) loaded onto ``env``."""
    for what in ("observation_space", "action_space"):
        trained, current = getattr(checked, what), getattr(env, what)
        if trained != current:
            raise ValueError(
                f"resume: checkpoint {str(source)!r} was trained with "
                f"{what.replace('_', ' ')} {trained}, {job.env_id} has {current}"
            )
    try:
        model = cls.load(
            str(source),
            env=env,
            device="cpu",
            tensorboard_log=job.tensorboard,
            **job.hyperparameters,
        )
    except TypeError as error:
        raise ValueError(f"hyper-parameters: {error}") from None
    # A new stream of instances: the first run's seeds would replay its first episodes.
    model.set_random_seed(job.seed + int(model.num_timesteps))
    return model


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
        f"{ALGORITHMS[loader.name][0]}.{ALGORITHMS[loader.name][1]} with SB3 defaults, on the "
        "native vector env (agents.sb3_vec)",
        needs_action_masks=loader.name in NEEDS_ACTION_MASKS,
        default_suffix=".zip",
        options=JOB_TRAIN_OPTIONS,
    )
    for loader in POLICIES
    if loader.name in TRAINABLE
)
