"""What the registry stores: :class:`PolicyEntry` and :class:`TrainerEntry` (no registry state).

This module imports nothing of ``agents`` but :mod:`agents.policy`, so the modules that *define*
entries (``agents/baselines/<family>.py``, :mod:`agents.sb3`) and the module that *collects*
them (:mod:`agents.registry`) depend on it and not on each other: the registry imports the
built-in modules and reads their ``POLICIES`` / ``TRAINERS`` tuples; they never import it.

An entry may restrict the action spaces it serves (``action_spaces``: SB3's DQN serves only
``Discrete`` ones), and a trainer may need the env's ``action_masks()`` (sb3-contrib's
MaskablePPO). :func:`unsupported_reason` says why an env does not fit an entry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from agents.policy import Policy

#: ``factory(env, checkpoint=None, seed=None) -> Policy``.
PolicyFactory = Callable[..., Policy]
#: ``trainer(env_id, *, episodes, seed, out, env_kwargs, quiet) -> path of the saved checkpoint``.
Trainer = Callable[..., str]
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
    """

    name: str
    factory: PolicyFactory
    env_ids: tuple[str, ...] | None
    description: str
    needs_checkpoint: bool = False
    action_spaces: SpaceTypes | None = None
    accepts_checkpoint: bool = False

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
    """

    name: str
    trainer: Trainer
    env_ids: tuple[str, ...] | None
    description: str
    action_spaces: SpaceTypes | None = None
    needs_action_masks: bool = False
    default_suffix: str = ""


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
