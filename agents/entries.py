"""What the registry stores: :class:`PolicyEntry` and :class:`TrainerEntry` (no registry state).

This module imports nothing of ``agents`` but :mod:`agents.policy` and :mod:`agents.paths`, so
the modules that *define* entries (``agents/baselines/<family>.py``, :mod:`agents.sb3`) and the
module that *collects* them (:mod:`agents.registry`) depend on it and not on each other: the
registry imports the built-in modules and reads their ``POLICIES`` / ``TRAINERS`` tuples; they
never import it.

A family declares its policies as a table (:func:`family_policies`, one row a policy); the
trainer of a checkpoint policy is derived from its policy entry (:func:`trainer_for`), and a
trainer is written against one :class:`TrainJob` (:func:`job_trainer` gives it the calling
convention of :data:`Trainer`).

An entry may restrict the action spaces it serves (``action_spaces``: SB3's DQN serves only
``Discrete`` ones), and a trainer may need the env's ``action_masks()`` (sb3-contrib's
MaskablePPO). :func:`unsupported_reason` says why an env does not fit an entry.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.paths import check_output_dir
from agents.policy import Policy

#: ``factory(env, checkpoint=None, seed=None) -> Policy``.
PolicyFactory = Callable[..., Policy]
#: ``trainer(env_id, *, episodes, seed, out, env_kwargs, quiet, steps, ...) -> path`` of the
#: saved checkpoint (see :func:`job_trainer`).
Trainer = Callable[..., str]
#: The optional :class:`TrainJob` fields a trainer may support (``ua-envs train`` options).
JOB_TRAIN_OPTIONS: frozenset[str] = frozenset(
    {"episodes", "steps", "num_envs", "tensorboard", "resume", "eval_every", "eval_episodes"}
)
#: Every optional ``ua-envs train`` option: the :data:`JOB_TRAIN_OPTIONS` and the Ray options
#: ``num_env_runners`` / ``address`` (``--num-env-runners``, ``--address``), which reach the
#: trainer as hyper-parameters (``TrainJob.hyperparameters``).
ALL_TRAIN_OPTIONS: frozenset[str] = JOB_TRAIN_OPTIONS | {"num_env_runners", "address"}
#: Action-space classes an entry serves (``None``: any).
SpaceTypes = tuple[type[gym.Space[Any]], ...]


@dataclass(frozen=True)
class PolicyEntry:
    """A registered policy.

    :param name: the name in policy specs (``NAME`` or ``NAME:CHECKPOINT``).
    :param factory: ``factory(env, checkpoint=None, seed=None) -> Policy``.
    :param env_ids: the env ids it serves (``None``: every id).
    :param description: one line for ``ua-envs list``.
    :param needs_checkpoint: ``NAME`` alone is refused; ``NAME:PATH`` is required.
    :param action_spaces: action-space classes it serves (``None``: any); an env with another
        action space is refused before the factory runs.
    :param accepts_checkpoint: ``NAME:PATH`` is allowed (always true with ``needs_checkpoint``);
        a checkpoint given to a policy that takes none is refused, not silently ignored.
    :param env_settings: the env kwargs the method is defined with (a method is an association
        rule plus a beamformer: ``pc_wmmse`` → ``{"beamforming": "wmmse"}``);
        :func:`agents.evaluate.compare` builds the policy's env with them, over the table's
        ``env_kwargs`` and under the spec's ``@KEY=VALUE`` overrides.
    """

    name: str
    factory: PolicyFactory
    env_ids: tuple[str, ...] | None
    description: str
    needs_checkpoint: bool = False
    action_spaces: SpaceTypes | None = None
    accepts_checkpoint: bool = False
    env_settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def takes_checkpoint(self) -> bool:
        """Whether ``NAME:PATH`` is allowed."""
        return self.needs_checkpoint or self.accepts_checkpoint


@dataclass(frozen=True)
class TrainerEntry:
    """A registered trainer.

    :param name: the policy name it trains (``ua-envs train NAME``).
    :param trainer: ``trainer(env_id, *, episodes, seed, out, env_kwargs, quiet, **hp) -> path``.
    :param env_ids: the env ids it supports (``None``: every id).
    :param description: one line for ``ua-envs list``.
    :param action_spaces: action-space classes it can train on (``None``: any).
    :param needs_action_masks: the env must implement ``action_masks()``.
    :param default_suffix: appended by the trainer to an ``out`` path without a suffix (SB3:
        ``".zip"``), so that the command line checks the path that will really be written.
    :param options: the optional :class:`TrainJob` fields it honours (of
        :data:`ALL_TRAIN_OPTIONS`); one given explicitly that is not here is refused
        (:meth:`refused_options`), not silently ignored. Default: ``episodes`` only.
    :param check_env: for a trainer that also takes names other than the registered
        Gymnasium ids (``rllib_ppo``: PettingZoo modules), the check of such a name
        (``ValueError`` naming the valid ones); ``None``: Gymnasium ids only.
    :param out_is_directory: ``out`` is a directory the trainer writes (RLlib's checkpoint), not
        a file.
    """

    name: str
    trainer: Trainer
    env_ids: tuple[str, ...] | None
    description: str
    action_spaces: SpaceTypes | None = None
    needs_action_masks: bool = False
    default_suffix: str = ""
    options: frozenset[str] = frozenset({"episodes"})
    check_env: Callable[[str], None] | None = None
    out_is_directory: bool = False

    def refused_options(self, given: Iterable[str]) -> list[str]:
        """The names in ``given`` (options set explicitly) that this trainer does not honour.

        >>> entry = TrainerEntry("x", print, None, "", options=frozenset({"steps"}))
        >>> entry.refused_options(["steps", "resume"])
        ['resume']
        """
        return [name for name in given if name not in self.options]


#: A row of :func:`family_policies`: ``(name, factory, description[, env_settings])``.
PolicyRow = tuple[str, PolicyFactory, str] | tuple[str, PolicyFactory, str, Mapping[str, Any]]


def family_policies(env_ids: tuple[str, ...] | None, *rows: PolicyRow) -> tuple[PolicyEntry, ...]:
    """The entries of one env family's policies, from a table of ``(name, factory,
    description[, env_settings])``.

    Each row becomes ``PolicyEntry(name, factory, env_ids, description,
    env_settings=env_settings)`` (no checkpoint, any action space, no settings when the row has
    three entries); an entry with other options is written as a :class:`PolicyEntry`.

    >>> rows = ("a", print, "first"), ("b", print, "second", {"beamforming": "zf"})
    >>> [(e.name, dict(e.env_settings)) for e in family_policies(None, *rows)]
    [('a', {}), ('b', {'beamforming': 'zf'})]
    """
    return tuple(
        PolicyEntry(
            row[0], row[1], env_ids, row[2], env_settings=dict(row[3]) if len(row) > 3 else {}
        )
        for row in rows
    )


def trainer_for(
    policy: PolicyEntry,
    trainer: Trainer,
    description: str,
    *,
    needs_action_masks: bool = False,
    default_suffix: str = "",
    options: Iterable[str] = ("episodes",),
) -> TrainerEntry:
    """The entry of the trainer that writes ``policy``'s checkpoints.

    It has the policy's name, env ids and action spaces (``ua-envs train NAME`` serves the envs
    that ``NAME:PATH`` serves); see :class:`TrainerEntry` for the other fields.

    :raises ValueError: an option not in :data:`ALL_TRAIN_OPTIONS`.
    """
    honoured = frozenset(options)
    unknown = sorted(honoured - ALL_TRAIN_OPTIONS)
    if unknown:
        raise ValueError(
            f"options: unknown {', '.join(unknown)}; valid: {', '.join(sorted(ALL_TRAIN_OPTIONS))}"
        )
    return TrainerEntry(
        policy.name,
        trainer,
        policy.env_ids,
        description,
        policy.action_spaces,
        needs_action_masks,
        default_suffix,
        honoured,
    )


@dataclass(frozen=True)
class TrainJob:
    """The arguments of one call of a :data:`Trainer` (``ua-envs train``), as one value.

    :param env_id: the registered env id to train on.
    :param episodes: training episodes (``--episodes``); ``None``: not given (the trainer
        counts ``steps`` or uses its default budget).
    :param seed: the training seed.
    :param out: the checkpoint path as given (see :meth:`checked_out`).
    :param env_kwargs: keyword arguments of the env (``None``: its defaults).
    :param quiet: no progress bar or summary on stderr.
    :param hyperparameters: the learner's own options (``--trainer-kwargs``).
    :param steps: training budget in env steps (``--steps``); ``None``: the trainer counts
        ``episodes`` instead (trainers that have an episode budget) or uses its default.
    :param num_envs: instances of the native vector env stepped together (``--num-envs``);
        ``None``: the trainer's default.
    :param tensorboard: directory of TensorBoard event files (``--tensorboard DIR``), or ``None``.
    :param resume: checkpoint to continue from (``--resume CKPT``): its weights, optimiser
        state, step count and learning curve; ``None``: start from scratch.
    :param eval_every: periodic evaluation on held-out seeds every this many env steps, keeping
        the best checkpoint (``--eval-every``); ``None``: the trainer's default, ``0``: never.
    :param eval_episodes: episodes of each periodic evaluation (``--eval-episodes``).
    """

    env_id: str
    episodes: int | None
    seed: int
    out: str
    env_kwargs: dict[str, Any] | None = None
    quiet: bool = False
    hyperparameters: dict[str, Any] = field(default_factory=dict)
    steps: int | None = None
    num_envs: int | None = None
    tensorboard: str | None = None
    resume: str | None = None
    eval_every: int | None = None
    eval_episodes: int = 100

    def checked_out(self, default_suffix: str = "") -> Path:
        """``out`` (with ``default_suffix`` when it has no suffix), checked before training.

        :raises ValueError: it is a directory, or its parent can be neither written nor created
            (missing parents are created by the trainer when it saves).
        """
        path = Path(self.out)
        if default_suffix and path.suffix == "":
            path = path.with_suffix(default_suffix)
        if path.is_dir():
            raise ValueError(f"out: {str(path)!r} is a directory, not a file")
        check_output_dir(path.parent, "out")
        return path


def job_trainer(run: Callable[[TrainJob], str]) -> Trainer:
    """The :data:`Trainer` that calls ``run`` with its arguments as one :class:`TrainJob`.

    ``trainer(env_id, *, episodes=None, seed, out, env_kwargs=None, quiet=False, steps=None,
    num_envs=None, tensorboard=None, resume=None, eval_every=None, eval_episodes=100,
    **hyperparameters)`` returns ``run(TrainJob(...))``, the path of the saved checkpoint; it
    has ``run``'s docstring.
    """

    def trainer(
        env_id: str,
        *,
        episodes: int | None = None,
        seed: int,
        out: str,
        env_kwargs: dict[str, Any] | None = None,
        quiet: bool = False,
        steps: int | None = None,
        num_envs: int | None = None,
        tensorboard: str | None = None,
        resume: str | None = None,
        eval_every: int | None = None,
        eval_episodes: int = 100,
        **hyperparameters: Any,
    ) -> str:
        return run(
            TrainJob(
                env_id,
                episodes,
                seed,
                out,
                env_kwargs,
                quiet,
                hyperparameters,
                steps=steps,
                num_envs=num_envs,
                tensorboard=tensorboard,
                resume=resume,
                eval_every=eval_every,
                eval_episodes=eval_episodes,
            )
        )

    trainer.__doc__ = run.__doc__
    return trainer


def space_names(types: SpaceTypes) -> str:
    """``"Discrete, MultiDiscrete"``: the class names of ``types``."""
    return ", ".join(t.__name__ for t in types)


def unsupported_reason(
    entry: PolicyEntry | TrainerEntry, action_space: gym.Space[Any], has_action_masks: bool
) -> str | None:
    """Why an env with ``action_space`` (and masks or not) does not fit ``entry``, else ``None``.

    >>> from gymnasium import spaces
    >>> entry = PolicyEntry("dqn", lambda env: None, None, "", action_spaces=(spaces.Discrete,))
    >>> unsupported_reason(entry, spaces.Discrete(3), False) is None
    True
    >>> unsupported_reason(entry, spaces.MultiBinary(4), False)
    'it serves Discrete action spaces, the env has MultiBinary(4)'
    """
    if entry.action_spaces is not None and not isinstance(action_space, entry.action_spaces):
        return (
            f"it serves {space_names(entry.action_spaces)} action spaces, "
            f"the env has {action_space}"
        )
    if isinstance(entry, TrainerEntry) and entry.needs_action_masks and not has_action_masks:
        return "it needs an env with action_masks(), the env has none"
    return None


def has_action_masks(env: gym.Env) -> bool:
    """Whether ``env`` (or the env it wraps) implements ``action_masks()`` (sb3-contrib)."""
    return callable(getattr(env.unwrapped, "action_masks", None))
