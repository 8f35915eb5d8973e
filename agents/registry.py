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

A policy spec on the command line is ``NAME[:CHECKPOINT][@KEY=VALUE,...]`` (e.g.
``q_learning:q.npz``, ``greedy@beamforming=mrt``, ``pc_wmmse@beamforming=rzf``). A method is an
association rule plus a beamformer: an entry declares the env kwargs it is defined with
(``PolicyEntry.env_settings``: ``pc_wmmse`` → ``beamforming="wmmse"``), the ``@`` part
overrides them (values read like ``--env-kwargs`` values: JSON, else a Python literal, else a
string), and :func:`policy_env_kwargs` merges ``env_kwargs | declared | overrides`` into the
kwargs the policy's env is built with (:func:`agents.evaluate.compare` builds every row's env
so). :func:`make_policy` refuses an env built with other values of those settings.
The same name may be registered for several env families (``argmax`` for multicell and
slotted); lookups pick the entry whose ``env_ids`` contain the env's id, or the generic entry
(``env_ids=None``) when none does. An entry restricted to some action spaces (``dqn`` serves
``Discrete`` ones only) is neither listed for nor accepted on an env with another action space.
"""

from __future__ import annotations

import dataclasses
import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import gymnasium as gym

from agents.entries import (
    ALL_TRAIN_OPTIONS,
    PolicyEntry,
    PolicyFactory,
    SpaceTypes,
    Trainer,
    TrainerEntry,
    has_action_masks,
    unsupported_reason,
)
from agents.envs import MAKE_KWARGS, env_kwarg_names, env_traits
from agents.policy import Policy
from agents.pretrained import resolve_checkpoint
from agents.values import parse_value

__all__ = [
    "BUILTIN_MODULES",
    "PolicyEntry",
    "PolicyFactory",
    "PolicySpec",
    "Trainer",
    "TrainerEntry",
    "check_policy_spec",
    "entry_supports",
    "load_builtin",
    "make_policy",
    "parse_policy_spec",
    "policy_entries",
    "policy_entry",
    "policy_env_kwargs",
    "policy_names",
    "policy_settings",
    "register_policy",
    "register_trainer",
    "split_policy_list",
    "split_policy_spec",
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
    "agents.baselines.rollout",
    "agents.sb3",
    "agents.rllib",
    "agents.l2o",
    "agents.grows",
    "agents.reinforce",
    "agents.egat",
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
    if not name or ":" in name or "," in name or "@" in name:
        raise ValueError(f"name must be non-empty without ':', ',' or '@', got {name!r}")
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
        from agents import egat, grows, l2o, reinforce, rllib, sb3
        from agents.baselines import cellfree, fronthaul, generic, multicell, rollout, slotted

        modules = (
            generic,
            multicell,
            cellfree,
            fronthaul,
            slotted,
            rollout,
            sb3,
            rllib,
            l2o,
            grows,
            reinforce,
            egat,
        )
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
    env_settings: Mapping[str, Any] | None = None,
) -> None:
    """Register ``factory`` under ``name`` for ``env_ids`` (``None``: every env).

    Registering the same name again for the same ``env_ids`` replaces the older entry (a
    built-in one included); for a different set of ids it adds an entry, and lookups prefer an
    entry that lists the env's id over a generic one.

    :param needs_checkpoint: the spec must be ``NAME:PATH``.
    :param action_spaces: action-space classes the policy serves (``None``: any).
    :param accepts_checkpoint: ``NAME:PATH`` is allowed without being required; a checkpoint
        given to a policy that neither needs nor accepts one is refused.
    :param env_settings: env kwargs the method is defined with (e.g. ``{"beamforming":
        "agent"}``; see :class:`~agents.entries.PolicyEntry`).
    """
    entry = PolicyEntry(
        name,
        factory,
        _ids(env_ids),
        description,
        needs_checkpoint,
        action_spaces,
        accepts_checkpoint,
        dict(env_settings or {}),
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
    options: Sequence[str] = ("episodes",),
) -> None:
    """Register a trainer for policy ``name`` (``ua-envs train NAME --env ENV ...``).

    :param action_spaces: action-space classes it can train on (``None``: any).
    :param needs_action_masks: the env must implement ``action_masks()``.
    :param default_suffix: the suffix the trainer appends to an ``out`` path without one.
    :param options: the optional ``ua-envs train`` options it honours (names of
        :data:`agents.entries.ALL_TRAIN_OPTIONS`: ``steps``, ``resume``, ...); others given on
        the command line are refused.
    """
    unknown = sorted(set(options) - ALL_TRAIN_OPTIONS)
    if unknown:
        raise ValueError(
            f"options: unknown {', '.join(unknown)}; valid: {', '.join(sorted(ALL_TRAIN_OPTIONS))}"
        )
    entry = TrainerEntry(
        name,
        trainer,
        _ids(env_ids),
        description,
        action_spaces,
        needs_action_masks,
        default_suffix,
        frozenset(options),
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


#: Where a spec's settings start: ``@`` followed by ``KEY=`` (a checkpoint path may hold ``@``).
_SETTINGS_START = re.compile(r"@(?=\s*[A-Za-z_]\w*\s*=)")
#: A ``KEY=`` at the start of a comma-separated part (a new setting, not the rest of a value).
_SETTING_KEY = re.compile(r"\s*[A-Za-z_]\w*\s*=")
_OPEN, _CLOSE = "([{", ")]}"


@dataclass(frozen=True)
class PolicySpec:
    """A parsed policy spec ``NAME[:CHECKPOINT][@KEY=VALUE,...]``.

    :param name: the registered name.
    :param checkpoint: the checkpoint path, or ``None``.
    :param settings: the ``@`` overrides of env kwargs (values parsed like ``--env-kwargs``
        values), in the order given.
    """

    name: str
    checkpoint: str | None
    settings: dict[str, Any] = field(default_factory=dict)


def _top_level_parts(text: str) -> list[str]:
    """``text`` split at the commas outside brackets and quotes."""
    parts: list[str] = []
    current: list[str] = []
    depth, quote = 0, ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in _OPEN:
            depth += 1
        elif char in _CLOSE:
            depth = max(depth - 1, 0)
        elif char == "," and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def _parse_settings(text: str, spec: str) -> dict[str, Any]:
    """``KEY=VALUE,...`` → a dict; values read as JSON, else Python literals, else strings."""
    settings: dict[str, Any] = {}
    for part in _top_level_parts(text):
        key, sep, raw = part.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise ValueError(
                f"policy spec {spec!r}: settings must be KEY=VALUE pairs separated by ',', "
                f"got {part.strip()!r}"
            )
        if key in settings:
            raise ValueError(f"policy spec {spec!r} sets {key!r} twice")
        settings[key] = parse_value(raw.strip())
    return settings


def split_policy_spec(spec: str) -> PolicySpec:
    """Parse ``NAME[:CHECKPOINT][@KEY=VALUE,...]``.

    The settings start at the first ``@`` followed by ``KEY=`` (so a checkpoint path may
    contain ``@``); values may hold commas inside brackets or quotes.

    >>> split_policy_spec("pc_wmmse@beamforming=rzf")
    PolicySpec(name='pc_wmmse', checkpoint=None, settings={'beamforming': 'rzf'})
    >>> split_policy_spec("ppo:runs/a@b.zip@beamforming=agent,capacity_mbps=[40, 60]")
    PolicySpec(name='ppo', checkpoint='runs/a@b.zip', settings={'beamforming': 'agent', \
'capacity_mbps': [40, 60]})

    :raises ValueError: an empty name, settings that are not ``KEY=VALUE`` pairs, a key set
        twice.
    """
    match = _SETTINGS_START.search(spec)
    head, settings = spec, {}
    if match is not None:
        head = spec[: match.start()]
        settings = _parse_settings(spec[match.end() :], spec)
    elif spec.rstrip().endswith("@"):
        raise ValueError(f"policy spec {spec!r} has an empty '@' part; use NAME@KEY=VALUE,...")
    name, sep, checkpoint = head.partition(":")
    if not name:
        raise ValueError(
            f"policy spec must be NAME or NAME:CHECKPOINT, then optionally @KEY=VALUE,..., "
            f"got {spec!r}"
        )
    return PolicySpec(name, checkpoint if sep else None, settings)


def parse_policy_spec(spec: str) -> tuple[str, str | None]:
    """Split ``"name"`` or ``"name:checkpoint"`` into ``(name, checkpoint or None)``; a
    ``@KEY=VALUE,...`` part is parsed (and checked) but not returned (:func:`split_policy_spec`).

    >>> parse_policy_spec("ppo:C:/models/a.zip")  # only the first ':' splits
    ('ppo', 'C:/models/a.zip')
    >>> parse_policy_spec("greedy@beamforming=mrt")
    ('greedy', None)
    """
    parsed = split_policy_spec(spec)
    return parsed.name, parsed.checkpoint


def split_policy_list(text: str) -> list[str]:
    """Split a command line's ``A,B@k=v,l=w,C`` into policy specs ``[A, B@k=v,l=w, C]``.

    A comma-separated part that starts with ``KEY=`` after a spec with settings continues
    that spec's settings; commas inside brackets or quotes do not split (``B@k=[1,2]``).
    Empty parts are dropped.

    >>> split_policy_list("nearest_aps, pc_wmmse@beamforming=rzf,capacity_mbps=40,fc_zf")
    ['nearest_aps', 'pc_wmmse@beamforming=rzf,capacity_mbps=40', 'fc_zf']
    """
    specs: list[str] = []
    for part in _top_level_parts(text):
        part = part.strip()
        if not part:
            continue
        continues = specs and _SETTINGS_START.search(specs[-1]) and "@" not in part
        if continues and _SETTING_KEY.match(part):
            specs[-1] = f"{specs[-1]},{part}"
        else:
            specs.append(part)
    return specs


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


#: env id → the kwargs its env accepts (``None``: unknown), probed once per id.
_KWARGS: dict[str, list[str] | None] = {}


def _settable_kwargs(env_id: str) -> list[str] | None:
    """The kwargs ``env_id``'s env accepts: its constructor's named parameters, or, for a
    constructor that takes ``**kwargs`` (the ua-envs families), the fields of the config
    dataclass of its env made with the defaults; ``None`` when neither can be told."""
    if env_id in _KWARGS:
        return _KWARGS[env_id]
    try:
        names = env_kwarg_names(env_id)
    except ValueError:  # an id that cannot be resolved here
        return None
    if names is None:
        try:
            env = gym.make(env_id)
        except Exception:  # any failure to build: unknown (the env reports it when used)
            return None
        try:
            config = getattr(env.unwrapped, "config", None)
            if dataclasses.is_dataclass(config):
                names = [f.name for f in dataclasses.fields(config) if f.init]
        finally:
            env.close()
    _KWARGS[env_id] = names
    return names


def _check_settings(spec: str, settings: Mapping[str, Any], env_id: str | None) -> None:
    """Refuse ``@`` keys that are not kwargs of ``env_id``'s env (naming the valid ones)."""
    if not settings or env_id is None:
        return
    valid = _settable_kwargs(env_id)
    if valid is None:  # nothing to check against
        return
    allowed = [k for k in valid if k != "render_mode"]
    unknown = sorted(set(settings) - set(allowed) - MAKE_KWARGS)
    if unknown:
        raise ValueError(
            f"policy spec {spec!r}: unknown env kwarg(s) {', '.join(unknown)} for {env_id}; "
            f"valid: {', '.join(allowed) or '(none)'}"
        )


def check_policy_spec(spec: str, env_id: str | None = None) -> PolicyEntry:
    """The entry of ``spec`` on ``env_id``, after the checks that need no env or file.

    :raises ValueError: malformed spec, unknown name (or one that does not serve the id's
        action space), a missing checkpoint for a policy that needs one, a checkpoint for a
        policy that takes none, an empty checkpoint path, an ``@`` key that is not a kwarg of
        the env (the message names the valid ones), ``NAME:pretrained`` where no checkpoint of
        NAME for ``env_id`` is shipped (:mod:`agents.pretrained`).
    """
    parsed = split_policy_spec(spec)
    entry = policy_entry(parsed.name, env_id)
    _check_checkpoint(entry, spec, parsed.checkpoint)
    _check_settings(spec, parsed.settings, env_id)
    resolve_checkpoint(parsed.name, env_id, parsed.checkpoint)
    return entry


def policy_settings(spec: str, env_id: str | None = None) -> dict[str, Any]:
    """The env settings ``spec`` is defined with: its entry's declared ``env_settings`` with
    the spec's ``@`` overrides on top (checked like :func:`check_policy_spec`).

    >>> policy_settings("pc_wmmse", "FronthaulAssoc-v0")
    {'beamforming': 'wmmse'}
    >>> policy_settings("pc_wmmse@beamforming=rzf", "FronthaulAssoc-v0")
    {'beamforming': 'rzf'}
    """
    entry = check_policy_spec(spec, env_id)
    return {**entry.env_settings, **split_policy_spec(spec).settings}


def policy_env_kwargs(
    spec: str, env_id: str, env_kwargs: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The kwargs to build ``spec``'s env with: ``env_kwargs | declared | overrides``.

    :param spec: ``NAME[:CHECKPOINT][@KEY=VALUE,...]``.
    :param env_id: the env id (selects the entry).
    :param env_kwargs: the table-wide kwargs (a comparison's ``--env-kwargs``).
    :raises ValueError: whatever :func:`check_policy_spec` raises.
    """
    return {**dict(env_kwargs or {}), **policy_settings(spec, env_id)}


_UNREADABLE = object()


def _env_kwargs(env: gym.Env) -> dict[str, Any]:
    """The kwargs in force in ``env``: its config's fields (a dataclass, or any object's
    attributes), then its ``spec.kwargs`` on top."""
    config = getattr(env.unwrapped, "config", None)
    kwargs: dict[str, Any] = {}
    if config is not None and dataclasses.is_dataclass(config):
        kwargs = {f.name: getattr(config, f.name) for f in dataclasses.fields(config)}
    elif hasattr(config, "__dict__"):
        kwargs = dict(vars(config))
    if env.spec is not None:
        kwargs.update(env.spec.kwargs)
    return kwargs


def make_policy(spec: str, env: gym.Env, seed: int | None = None) -> Policy:
    """Build the policy ``spec`` (``NAME[:CHECKPOINT][@KEY=VALUE,...]``) for ``env``.

    :param env: a single Gymnasium env; its ``spec.id`` selects the family's entry, and its
        action space must be one the entry serves. It must be built with the spec's settings
        (:func:`policy_settings`; build it with :func:`policy_env_kwargs`).
    :param seed: seed for policies with internal randomness.
    :raises ValueError: unknown name for this env, an action space the policy cannot serve,
        a trained policy without checkpoint, a checkpoint for a policy that takes none, an env
        built with other values of the spec's settings (so that no result is labelled with a
        method it did not run), and whatever the factory raises (a damaged checkpoint, for the
        built-in loaders). ``NAME:pretrained`` loads the checkpoint shipped for the env's id and
        kwargs (:func:`agents.pretrained.find_pretrained`).
    """
    parsed = split_policy_spec(spec)
    env_id = env.spec.id if env.spec is not None else None
    entry: PolicyEntry = _lookup(_POLICIES, parsed.name, env_id, "policy", env=env)
    _check_checkpoint(entry, spec, parsed.checkpoint)
    _check_settings(spec, parsed.settings, env_id)
    settings = {**entry.env_settings, **parsed.settings}
    in_force = _env_kwargs(env)
    for key, wanted in settings.items():
        actual = in_force.get(key, _UNREADABLE)
        if actual is not _UNREADABLE and actual != wanted:
            raise ValueError(
                f"policy {spec!r} is defined with {key}={wanted!r}, the env was built with "
                f"{key}={actual!r}: build it with {key}={wanted!r} "
                f"(agents.registry.policy_env_kwargs) or give the spec "
                f"{parsed.name}@{key}={actual!r}"
            )
    # NAME:pretrained: the shipped file for the env's id and the kwargs it was built with
    checkpoint = resolve_checkpoint(parsed.name, env_id, parsed.checkpoint, in_force)
    return entry.factory(env, checkpoint=checkpoint, seed=seed)
