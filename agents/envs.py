"""Env construction with user-facing errors, shared by evaluation, the registry and trainers.

:func:`make_env` is ``gym.make`` whose mistakes (unknown id, unknown kwarg, bad value) are one
``ValueError`` naming the valid choices; :func:`env_traits` is what the registry needs to know
about an id (its default action space, whether it has ``action_masks()``), probed once per id.
The functions are re-exported by :mod:`agents.evaluate`, where they used to live.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

import gymnasium as gym

from agents.entries import has_action_masks

#: Arguments of ``gym.make`` that are not env kwargs but are always accepted.
MAKE_KWARGS = frozenset(
    {"render_mode", "max_episode_steps", "disable_env_checker", "autoreset", "apply_api_compat"}
)


def known_env_ids() -> list[str]:
    """The ua-envs ids plus ids registered by other (non-Gymnasium) modules, e.g. test envs."""
    import ua_envs

    ids = list(ua_envs.ENV_IDS)
    for env_id, spec in gym.registry.items():
        entry = spec.entry_point
        module = entry if isinstance(entry, str) else getattr(entry, "__module__", "")
        if env_id not in ids and not str(module).startswith(("gymnasium", "shimmy", "ale_py")):
            ids.append(env_id)
    return ids


def check_env_id(env_id: str) -> None:
    """Raise ``ValueError`` naming the valid ids unless ``env_id`` is registered."""
    import ua_envs  # noqa: F401  (registers the ids)

    if env_id not in gym.registry:
        raise ValueError(f"unknown env id {env_id!r}; valid: {', '.join(known_env_ids())}")


def env_kwarg_names(env_id: str) -> list[str] | None:
    """Keyword arguments the env's constructor accepts (``None`` when it takes ``**kwargs``).

    Imports the env's module (raises ``ImportError`` if that module is missing).
    """
    check_env_id(env_id)
    entry = gym.spec(env_id).entry_point
    creator = gym.envs.registration.load_env_creator(entry) if isinstance(entry, str) else entry
    if creator is None:
        raise ValueError(f"env id {env_id!r} has no single-env entry point (vector only)")
    parameters = inspect.signature(creator).parameters.values()
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
        return None
    return [
        p.name
        for p in parameters
        if p.kind in (inspect.Parameter.KEYWORD_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]


def make_env(env_id: str, env_kwargs: Mapping[str, Any] | None = None) -> gym.Env:
    """``gym.make(env_id, **env_kwargs)`` with one-line ``ValueError`` for user mistakes.

    :raises ValueError: unknown id (naming the valid ids), unknown kwarg (naming the valid
        kwargs), or whatever ``ValueError`` the env's config validation raises.
    :raises ImportError: the id is registered but its module is not importable.
    """
    kwargs = dict(env_kwargs or {})
    valid = env_kwarg_names(env_id)
    if valid is not None:
        unknown = sorted(set(kwargs) - set(valid) - MAKE_KWARGS)
        if unknown:
            raise ValueError(
                f"unknown env kwarg(s) {', '.join(unknown)} for {env_id}; valid: "
                f"{', '.join(k for k in valid if k != 'render_mode') or '(none)'}"
            )
    return gym.make(env_id, **kwargs)


#: env id → (the registered spec it was probed from, action space, has action masks).
_TRAITS: dict[str, tuple[Any, gym.Space[Any], bool]] = {}


def env_traits(env_id: str) -> tuple[gym.Space[Any], bool] | None:
    """The action space of ``env_id`` made with its default kwargs, and whether it has masks.

    Probed once per id (the env is made and closed; re-registering the id probes again).
    ``None`` when the id is not registered or its env cannot be made with the defaults: the
    caller then cannot tell, and should not refuse anything on that ground.
    """
    import ua_envs  # noqa: F401  (registers the ids)

    spec = gym.registry.get(env_id)
    if spec is None:
        return None
    cached = _TRAITS.get(env_id)
    if cached is not None and cached[0] is spec:
        return cached[1], cached[2]
    try:
        env = gym.make(env_id)
    except Exception:  # any failure to build: unknown traits (the env reports it when used)
        return None
    try:
        traits = (env.action_space, has_action_masks(env))
    finally:
        env.close()
    _TRAITS[env_id] = (spec, *traits)
    return traits
