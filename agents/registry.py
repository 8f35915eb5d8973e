"""Registry of named policies and trainers, keyed by name and the env ids they apply to.

Built-in entries are declared, not registered by import side effects: each module of
:data:`BUILTIN_MODULES` (``agents/baselines/<family>.py``, :mod:`agents.sb3`) exposes tuples
``POLICIES`` (and ``TRAINERS``) of :class:`~agents.entries.PolicyEntry` /
:class:`~agents.entries.TrainerEntry` and never imports this module. The registry imports them
once, on the first lookup or registration (:func:`load_builtin`), so the result does not depend
on which module the user imported first, and there is no import cycle. Users add entries with::

    register_policy("argmax", make_argmax, env_ids=MULTICELL_IDS, description="max-gain BS")

A user's entry registered for the same name and ``env_ids`` as a built-in one replaces it (the
built-ins are loaded before any registration).

A policy spec on the command line is ``NAME`` or ``NAME:CHECKPOINT`` (e.g. ``q_learning:q.npz``).
The same name may be registered for several env families (``argmax`` for multicell and
slotted); lookups pick the entry whose ``env_ids`` contain the env's id, or the generic entry
(``env_ids=None``) when none does. An entry restricted to some action spaces (``dqn`` serves
``Discrete`` ones only) is neither listed for nor accepted on an env with another action space.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, TypeVar

import gymnasium as gym

from agents.entries import (
    PolicyEntry,
    PolicyFactory,
    SpaceTypes,
    Trainer,
    TrainerEntry,
    has_action_masks,
    unsupported_reason,
)
from agents.envs import env_traits
from agents.policy import Policy

__all__ = [
    "BUILTIN_MODULES",
    "PolicyEntry",
    "PolicyFactory",
    "Trainer",
    "TrainerEntry",
    "check_policy_spec",
    "entry_supports",
    "load_builtin",
    "make_policy",
    "parse_policy_spec",
    "policy_entries",
    "policy_entry",
    "policy_names",
    "register_policy",
    "register_trainer",
    "trainer_entries",
    "trainer_entry",
    "trainer_names",
]

#: Modules whose ``POLICIES`` / ``TRAINERS`` are the built-in entries, in loading order.
BUILTIN_MODULES: tuple[str, ...] = (
    "agents.baselines.generic",
    "agents.baselines.multicell",
    "agents.baselines.cellfree",
    "agents.baselines.fronthaul",
    "agents.baselines.slotted",
    "agents.sb3",
)

_POLICIES: dict[str, list[PolicyEntry]] = {}
_TRAINERS: dict[str, list[TrainerEntry]] = {}
_LOCK = threading.RLock()
_loaded = False

_Entry = TypeVar("_Entry", PolicyEntry, TrainerEntry)


def _replace(table: dict[str, list[_Entry]], entry: _Entry) -> None:
    # The same name for the same env ids replaces the older entry (re-registering is harmless).
    entries = table.setdefault(entry.name, [])
    entries[:] = [e for e in entries if e.env_ids != entry.env_ids]
    entries.append(entry)


def _ids(env_ids: Sequence[str] | None) -> tuple[str, ...] | None:
    return None if env_ids is None else tuple(env_ids)


def _register(table: dict[str, list[_Entry]], entry: _Entry) -> None:
    """Add a user's ``entry`` to ``table`` (after the built-ins), after checking its name."""
    name = entry.name
    if not name or ":" in name or "," in name:
        raise ValueError(f"name must be non-empty without ':' or ',', got {name!r}")
    load_builtin()
    with _LOCK:
        _replace(table, entry)


def load_builtin() -> None:
    """Add the entries of :data:`BUILTIN_MODULES` (once; later calls do nothing).

    Called by every lookup and registration. If a module fails to import, nothing is added and
    the error propagates (the next call tries again).
    """
    global _loaded
    if _loaded:
        return
    with _LOCK:
        if _loaded:
            return
        # Explicit imports (not importlib on the names above) keep the dependency visible; a
        # test checks that the two lists agree.
        from agents import sb3
        from agents.baselines import cellfree, fronthaul, generic, multicell, slotted

        modules = (generic, multicell, cellfree, fronthaul, slotted, sb3)
        policies: list[PolicyEntry] = []
        trainers: list[TrainerEntry] = []
        for module in modules:
            policies.extend(getattr(module, "POLICIES", ()))
            trainers.extend(getattr(module, "TRAINERS", ()))
        # Built-ins go first: entries registered earlier by users replace them below.
        user_policies = [e for es in _POLICIES.values() for e in es]
        user_trainers = [e for es in _TRAINERS.values() for e in es]
        _POLICIES.clear()
        _TRAINERS.clear()
        for entry in [*policies, *user_policies]:
            _replace(_POLICIES, entry)
        for tentry in [*trainers, *user_trainers]:
            _replace(_TRAINERS, tentry)
        _loaded = True


#: Former name of :func:`load_builtin` (kept for code that called it).
_load_builtin = load_builtin


def _reason(entry: PolicyEntry | TrainerEntry, env_id: str | None) -> str | None:
    """Why ``env_id`` does not fit ``entry`` (``None``: it does, or nothing can be told)."""
    if env_id is None:
        return None
    if entry.action_spaces is None and not getattr(entry, "needs_action_masks", False):
        return None  # no need to probe the env
    traits = env_traits(env_id)
    if traits is None:
        return None
    return unsupported_reason(entry, *traits)


def entry_supports(entry: PolicyEntry | TrainerEntry, env_id: str | None) -> bool:
    """Whether ``entry`` serves ``env_id`` (its ids and, if restricted, its action space)."""
    if entry.env_ids is not None and env_id is not None and env_id not in entry.env_ids:
        return False
    return _reason(entry, env_id) is None


def _names(table: dict[str, list[_Entry]], env_id: str | None) -> list[str]:
    load_builtin()
    return sorted(n for n, es in table.items() if any(entry_supports(e, env_id) for e in es))


def _entries(table: dict[str, list[_Entry]], env_id: str | None) -> list[_Entry]:
    load_builtin()
    return [e for name in sorted(table) for e in table[name] if entry_supports(e, env_id)]


def register_policy(
    name: str,
    factory: PolicyFactory,
    *,
    env_ids: Sequence[str] | None = None,
    description: str = "",
    needs_checkpoint: bool = False,
    action_spaces: SpaceTypes | None = None,
    accepts_checkpoint: bool = False,
) -> None:
    """Register ``factory`` under ``name`` for ``env_ids`` (``None``: every env).

    Registering the same name again for the same ``env_ids`` replaces the older entry (a
    built-in one included); for a different set of ids it adds an entry, and lookups prefer an
    entry that lists the env's id over a generic one.

    :param needs_checkpoint: the spec must be ``NAME:PATH``.
    :param action_spaces: action-space classes the policy serves (``None``: any).
    :param accepts_checkpoint: ``NAME:PATH`` is allowed without being required; a checkpoint
        given to a policy that neither needs nor accepts one is refused.
    """
    entry = PolicyEntry(
        name,
        factory,
        _ids(env_ids),
        description,
        needs_checkpoint,
        action_spaces,
        accepts_checkpoint,
    )
    _register(_POLICIES, entry)


def register_trainer(
    name: str,
    trainer: Trainer,
    *,
    env_ids: Sequence[str] | None = None,
    description: str = "",
    action_spaces: SpaceTypes | None = None,
    needs_action_masks: bool = False,
    default_suffix: str = "",
) -> None:
    """Register a trainer for policy ``name`` (``ua-envs train NAME --env ENV ...``).

    :param action_spaces: action-space classes it can train on (``None``: any).
    :param needs_action_masks: the env must implement ``action_masks()``.
    :param default_suffix: the suffix the trainer appends to an ``out`` path without one.
    """
    entry = TrainerEntry(
        name, trainer, _ids(env_ids), description, action_spaces, needs_action_masks, default_suffix
    )
    _register(_TRAINERS, entry)


def _lookup(
    table: dict[str, list[Any]],
    name: str,
    env_id: str | None,
    kind: str,
    env: gym.Env | None = None,
) -> Any:
    load_builtin()
    entries = table.get(name, [])
    specific = [e for e in entries if e.env_ids is not None and env_id in e.env_ids]
    generic = [e for e in entries if e.env_ids is None]
    candidates = specific or generic
    where = f" for env {env_id!r}" if env_id else ""
    reasons = []
    for entry in candidates:
        if env is not None:
            reason = unsupported_reason(entry, env.action_space, has_action_masks(env))
        else:
            reason = _reason(entry, env_id)
        if reason is None:
            return entry
        reasons.append(reason)
    names = policy_names(env_id) if kind == "policy" else trainer_names(env_id)
    valid = ", ".join(names) or "(none)"
    if reasons:
        raise ValueError(f"{kind} {name!r} cannot be used{where}: {reasons[0]}; valid: {valid}")
    raise ValueError(f"unknown {kind} {name!r}{where}; valid: {valid}")


def policy_names(env_id: str | None = None) -> list[str]:
    """Sorted names of the policies usable on ``env_id`` (all names when ``None``)."""
    return _names(_POLICIES, env_id)


def trainer_names(env_id: str | None = None) -> list[str]:
    """Sorted names of the trainers usable on ``env_id`` (all names when ``None``)."""
    return _names(_TRAINERS, env_id)


def policy_entries(env_id: str | None = None) -> list[PolicyEntry]:
    """Every registered policy entry usable on ``env_id`` (all when ``None``), sorted by name."""
    return _entries(_POLICIES, env_id)


def trainer_entries(env_id: str | None = None) -> list[TrainerEntry]:
    """Every registered trainer entry usable on ``env_id`` (all when ``None``), sorted by name."""
    return _entries(_TRAINERS, env_id)


def policy_entry(name: str, env_id: str | None = None) -> PolicyEntry:
    """The entry registered for ``name`` on ``env_id``; ``ValueError`` naming valid ones if none.

    An entry restricted to action spaces that the id's env (default kwargs) does not have is
    refused with the reason (``dqn`` on a ``MultiDiscrete`` env).
    """
    entry: PolicyEntry = _lookup(_POLICIES, name, env_id, "policy")
    return entry


def trainer_entry(name: str, env_id: str | None = None) -> TrainerEntry:
    """The trainer registered for ``name`` on ``env_id``; ``ValueError`` naming valid ones."""
    entry: TrainerEntry = _lookup(_TRAINERS, name, env_id, "trainer")
    return entry


def parse_policy_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"name"`` or ``"name:checkpoint"`` into ``(name, checkpoint or None)``.

    >>> parse_policy_spec("ppo:C:/models/a.zip")  # only the first ':' splits
    ('ppo', 'C:/models/a.zip')
    """
    name, sep, checkpoint = spec.partition(":")
    if not name:
        raise ValueError(f"policy spec must be NAME or NAME:CHECKPOINT, got {spec!r}")
    return name, (checkpoint if sep else None)


def _check_checkpoint(entry: PolicyEntry, spec: str, checkpoint: str | None) -> None:
    name = entry.name
    if checkpoint is None:
        if entry.needs_checkpoint:
            raise ValueError(f"policy {name!r} needs a checkpoint: use {name}:PATH")
        return
    if not entry.takes_checkpoint:
        raise ValueError(
            f"policy {name!r} takes no checkpoint, got {spec!r}; use {name} without ':PATH'"
        )
    if not checkpoint.strip():
        raise ValueError(f"policy spec {spec!r} has an empty checkpoint path; use {name}:PATH")


def check_policy_spec(spec: str, env_id: str | None = None) -> PolicyEntry:
    """The entry of ``spec`` on ``env_id``, after the checks that need no env or file.

    :raises ValueError: malformed spec, unknown name (or one that does not serve the id's
        action space), a missing checkpoint for a policy that needs one, a checkpoint for a
        policy that takes none, an empty checkpoint path.
    """
    name, checkpoint = parse_policy_spec(spec)
    entry = policy_entry(name, env_id)
    _check_checkpoint(entry, spec, checkpoint)
    return entry


def make_policy(spec: str, env: gym.Env, seed: int | None = None) -> Policy:
    """Build the policy ``spec`` (``NAME`` or ``NAME:CHECKPOINT``) for ``env``.

    :param env: a single Gymnasium env; its ``spec.id`` selects the family's entry, and its
        action space must be one the entry serves.
    :param seed: seed for policies with internal randomness.
    :raises ValueError: unknown name for this env, an action space the policy cannot serve,
        a trained policy without checkpoint, a checkpoint for a policy that takes none, and
        whatever the factory raises (a damaged checkpoint, for the built-in loaders).
    """
    name, checkpoint = parse_policy_spec(spec)
    env_id = env.spec.id if env.spec is not None else None
    entry: PolicyEntry = _lookup(_POLICIES, name, env_id, "policy", env=env)
    _check_checkpoint(entry, spec, checkpoint)
    return entry.factory(env, checkpoint=checkpoint, seed=seed)
