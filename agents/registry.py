"""Registry of named policies and trainers, keyed by name and the env ids they apply to.

Each baseline family registers itself (``agents/baselines/<family>.py``) at import time::

    register_policy("argmax", make_argmax, env_ids=MULTICELL_IDS, description="max-gain BS")

A policy spec on the command line is ``NAME`` or ``NAME:CHECKPOINT`` (e.g. ``q_learning:q.npz``).
The same name may be registered for several env families (``argmax`` for multicell and
slotted); lookups pick the entry whose ``env_ids`` contain the env's id, or the generic entry
(``env_ids=None``) when none does.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import gymnasium as gym

from agents.policy import Policy

#: ``factory(env, checkpoint=None, seed=None) -> Policy``.
PolicyFactory = Callable[..., Policy]
#: ``trainer(env_id, *, episodes, seed, out, env_kwargs, quiet) -> path of the saved checkpoint``.
Trainer = Callable[..., str]


@dataclass(frozen=True)
class PolicyEntry:
    """A registered policy: its name, factory, the env ids it serves (None: all) and a summary."""

    name: str
    factory: PolicyFactory
    env_ids: tuple[str, ...] | None
    description: str
    needs_checkpoint: bool = False


@dataclass(frozen=True)
class TrainerEntry:
    """A registered trainer: the policy name it trains, the env ids it supports, a summary."""

    name: str
    trainer: Trainer
    env_ids: tuple[str, ...] | None
    description: str


_POLICIES: dict[str, list[PolicyEntry]] = {}
_TRAINERS: dict[str, list[TrainerEntry]] = {}


def _matches(env_ids: tuple[str, ...] | None, env_id: str | None) -> bool:
    return env_ids is None or env_id is None or env_id in env_ids


_Entry = TypeVar("_Entry", PolicyEntry, TrainerEntry)


def _replace(table: dict[str, list[_Entry]], entry: _Entry) -> None:
    # The same name for the same env ids replaces the older entry (re-imports are harmless).
    entries = table.setdefault(entry.name, [])
    entries[:] = [e for e in entries if e.env_ids != entry.env_ids]
    entries.append(entry)


def _names(table: dict[str, list[_Entry]], env_id: str | None) -> list[str]:
    _load_builtin()
    return sorted(n for n, es in table.items() if any(_matches(e.env_ids, env_id) for e in es))


def _entries(table: dict[str, list[_Entry]], env_id: str | None) -> list[_Entry]:
    _load_builtin()
    return [e for name in sorted(table) for e in table[name] if _matches(e.env_ids, env_id)]


def register_policy(
    name: str,
    factory: PolicyFactory,
    *,
    env_ids: Sequence[str] | None = None,
    description: str = "",
    needs_checkpoint: bool = False,
) -> None:
    """Register ``factory`` under ``name`` for ``env_ids`` (``None``: every env).

    Registering the same name again for the same ``env_ids`` replaces the older entry (so
    re-importing a module is harmless); for a different set of ids it adds an entry, and
    lookups prefer an entry that lists the env's id over a generic one.
    """
    ids = None if env_ids is None else tuple(env_ids)
    _replace(_POLICIES, PolicyEntry(name, factory, ids, description, needs_checkpoint))


def register_trainer(
    name: str, trainer: Trainer, *, env_ids: Sequence[str] | None = None, description: str = ""
) -> None:
    """Register a trainer for policy ``name`` (``ua-envs train NAME --env ENV ...``)."""
    ids = None if env_ids is None else tuple(env_ids)
    _replace(_TRAINERS, TrainerEntry(name, trainer, ids, description))


def _load_builtin() -> None:
    # Baselines register themselves on import; importing here keeps the registry complete
    # whichever module the user imported first.
    import agents.baselines
    import agents.sb3  # noqa: F401  (ppo:PATH, maskable_ppo:PATH, ... and their trainers)


def _lookup(table: dict[str, list[Any]], name: str, env_id: str | None, kind: str) -> Any:
    _load_builtin()
    entries = table.get(name, [])
    specific = [e for e in entries if e.env_ids is not None and env_id in e.env_ids]
    generic = [e for e in entries if e.env_ids is None]
    if specific or generic:
        return (specific or generic)[0]
    valid = ", ".join(policy_names(env_id) if kind == "policy" else trainer_names(env_id))
    where = f" for env {env_id!r}" if env_id else ""
    raise ValueError(f"unknown {kind} {name!r}{where}; valid: {valid or '(none)'}")


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
    """The entry registered for ``name`` on ``env_id``; ``ValueError`` naming valid ones if none."""
    entry: PolicyEntry = _lookup(_POLICIES, name, env_id, "policy")
    return entry


def trainer_entry(name: str, env_id: str | None = None) -> TrainerEntry:
    """The trainer registered for ``name`` on ``env_id``; ``ValueError`` naming valid ones."""
    entry: TrainerEntry = _lookup(_TRAINERS, name, env_id, "trainer")
    return entry


def parse_policy_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"name"`` or ``"name:checkpoint"`` into ``(name, checkpoint or None)``."""
    name, sep, checkpoint = spec.partition(":")
    if not name:
        raise ValueError(f"policy spec must be NAME or NAME:CHECKPOINT, got {spec!r}")
    return name, (checkpoint if sep else None)


def make_policy(spec: str, env: gym.Env, seed: int | None = None) -> Policy:
    """Build the policy ``spec`` (``NAME`` or ``NAME:CHECKPOINT``) for ``env``.

    :param env: a single Gymnasium env; its ``spec.id`` selects the family's entry.
    :param seed: seed for policies with internal randomness.
    :raises ValueError: unknown name for this env, or a trained policy without checkpoint.
    """
    name, checkpoint = parse_policy_spec(spec)
    env_id = env.spec.id if env.spec is not None else None
    entry = policy_entry(name, env_id)
    if entry.needs_checkpoint and checkpoint is None:
        raise ValueError(f"policy {name!r} needs a checkpoint: use {name}:PATH")
    return entry.factory(env, checkpoint=checkpoint, seed=seed)
