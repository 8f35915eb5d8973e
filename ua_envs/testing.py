"""Shipped checker for ua-envs environments: ``check_ua_env(env)``.

One call runs every check our environments promise (one seeded random source, fresh
observations, docs/model.md §4) on any single Gymnasium env, so each env family's tests (and
users writing their own variant) can assert them in one line::

    import gymnasium as gym
    from ua_envs.testing import check_ua_env

    check_ua_env(gym.make("MultiCellAssoc-v0"))

Checks, in order (each failure is collected; one ``AssertionError`` lists them all):

1. **API**: Gymnasium's ``check_env`` on ``env.unwrapped`` (spaces, reset/step signatures and
   return types, seed determinism of reset and step, no reused returned objects, render modes).
   With ``strict=True`` (default) any warning it emits is a failure.
2. **Determinism**: ``episodes`` episodes (``reset(seed=seed)`` then unseeded resets) with
   actions drawn from a seeded generator among the legal ones are replayed — on the same env,
   and on a fresh ``env.spec.make()`` when the env has a spec — and must give identical
   observations, rewards, terminations, truncations and infos (exact equality). During the
   replay every returned observation is overwritten in place after it has been recorded, so an
   env that hands out its internal buffers is caught as well. Two different seeds must give
   different first observations (``check_seed_variety``).
3. **Masks** (only when observations are dicts with an ``action_mask``): the mask is an int8
   array of length ``n`` (``Discrete(n)``), ``sum(nvec)`` (``MultiDiscrete``, the sb3-contrib
   layout) or the action's size (``MultiBinary``), with values in {0, 1} and at least one legal
   action (per dimension for ``MultiDiscrete``); ``env.action_masks()``, when present, agrees with
   it. Then, at up to ``masked_probes`` states where some action is masked, the episode prefix
   is replayed and a masked action taken: the env must raise ``ValueError`` or report
   ``info["invalid_action"] = True`` — a masked action is never accepted silently.
4. **Values**: every observation lies in the observation space and holds finite numbers; every
   reward is a finite real number; every numeric info entry (nested dicts / lists included) is
   finite.
"""

from __future__ import annotations

import copy
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.utils.env_checker import check_env, data_equivalence

from ua_envs.spaces import random_legal_action

__all__ = ["check_ua_env"]

Transition = tuple[Any, Any, bool, bool, dict[str, Any]]
#: Problems listed in the AssertionError (the count is always complete).
MAX_LISTED = 20


# ---- masks --------------------------------------------------------------------------------


def _mask_length(space: spaces.Space[Any]) -> int | None:
    if isinstance(space, spaces.Discrete):
        return int(space.n)
    if isinstance(space, spaces.MultiDiscrete):
        return int(np.asarray(space.nvec).sum())
    if isinstance(space, spaces.MultiBinary):
        return int(np.prod(space.shape))
    return None


def _check_mask(mask: Any, space: spaces.Space[Any], where: str) -> list[str]:
    problems: list[str] = []
    if not isinstance(mask, np.ndarray):
        return [f"{where}: action_mask must be a numpy array, got {type(mask).__name__}"]
    if mask.dtype != np.int8:
        problems.append(f"{where}: action_mask dtype must be int8, got {mask.dtype}")
    length = _mask_length(space)
    if length is not None and mask.shape != (length,):
        problems.append(f"{where}: action_mask shape must be ({length},), got {mask.shape}")
        return problems
    if not np.isin(mask, (0, 1)).all():
        problems.append(f"{where}: action_mask values must be 0 or 1")
    if isinstance(space, spaces.MultiDiscrete):
        offsets = np.concatenate([[0], np.cumsum(np.asarray(space.nvec).ravel())])
        for i in range(offsets.size - 1):
            if not mask[offsets[i] : offsets[i + 1]].any():
                problems.append(f"{where}: action_mask allows no value in dimension {i}")
    elif not mask.any():
        problems.append(f"{where}: action_mask allows no action")
    return problems


def _observation_mask(observation: Any) -> np.ndarray | None:
    if isinstance(observation, Mapping) and "action_mask" in observation:
        return np.asarray(observation["action_mask"])
    return None


def _legal_action(space: spaces.Space[Any], rng: np.random.Generator, mask: Any) -> Any:
    """A uniformly random legal action; ``None`` when the mask allows nothing (reported by the
    mask checks). Spaces the shared sampler does not know are sampled by the space itself."""
    if not isinstance(space, spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
        space.seed(int(rng.integers(0, 2**31 - 1)))
        return space.sample()
    try:
        return random_legal_action(space, rng, None if mask is None else np.asarray(mask))
    except ValueError:
        return None


def _masked_action(space: spaces.Space[Any], rng: np.random.Generator, mask: Any) -> Any:
    """An action outside ``mask`` (``None`` when every action is legal)."""
    mask = np.asarray(mask).astype(bool)
    if isinstance(space, spaces.Discrete):
        illegal = np.flatnonzero(~mask[: int(space.n)])
        if illegal.size == 0:
            return None
        return np.int64(int(space.start) + int(rng.choice(illegal)))
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).ravel()
        offsets = np.concatenate([[0], np.cumsum(nvec)])
        for i in range(nvec.size):
            illegal = np.flatnonzero(~mask[offsets[i] : offsets[i + 1]])
            if illegal.size:
                action = np.asarray(_legal_action(space, rng, mask.astype(np.int8))).ravel()
                action[i] = int(rng.choice(illegal)) + int(np.asarray(space.start).ravel()[i])
                return action.astype(space.dtype).reshape(space.shape)
    return None


# ---- values -------------------------------------------------------------------------------


def _non_finite(value: Any, path: str) -> list[str]:
    """Paths of the non-finite numbers in a (nested) value; non-numeric leaves are skipped."""
    if isinstance(value, Mapping):
        return [p for key, item in value.items() for p in _non_finite(item, f"{path}[{key!r}]")]
    if isinstance(value, (list, tuple)):
        return [p for i, item in enumerate(value) for p in _non_finite(item, f"{path}[{i}]")]
    if isinstance(value, (bool, np.bool_)):
        return []
    if isinstance(value, (int, float, complex, np.number)):
        return [] if np.isfinite(value) else [path]
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return [] if np.isfinite(value).all() else [path]
    if hasattr(value, "detach") and hasattr(value, "isfinite"):  # torch tensors
        return [] if bool(value.isfinite().all()) else [path]
    return []


def _scramble(value: Any) -> None:
    """Overwrite every writable numeric array of a (nested) observation in place."""
    if isinstance(value, Mapping):
        for item in value.values():
            _scramble(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _scramble(item)
    elif isinstance(value, np.ndarray) and value.flags.writeable and value.dtype.kind in "biuf":
        value[...] = 1 if value.dtype.kind in "biu" else 12345.0


# ---- rollouts -----------------------------------------------------------------------------


def _rollout(
    env: gym.Env,
    seed: int,
    episodes: int,
    max_steps: int,
    *,
    scramble: bool,
    problems: list[str] | None = None,
) -> tuple[list[Any], list[list[Transition]], list[list[Any]]]:
    """First observations, transitions and actions of ``episodes`` seeded episodes."""
    rng = np.random.default_rng(seed)
    firsts: list[Any] = []
    episodes_out: list[list[Transition]] = []
    actions_out: list[list[Any]] = []
    base = env.unwrapped
    for episode in range(episodes):
        obs, _ = env.reset(seed=seed if episode == 0 else None)
        firsts.append(copy.deepcopy(obs))
        transitions: list[Transition] = []
        actions: list[Any] = []
        for step in range(max_steps):
            where = f"episode {episode} step {step}"
            mask = _observation_mask(obs)
            if problems is not None:
                problems.extend(_observation_problems(env, obs, where))
            action = _legal_action(env.action_space, rng, mask)
            if action is None:  # nothing legal: already reported by the mask checks
                break
            if scramble:
                _scramble(obs)
            actions.append(copy.deepcopy(action))
            masks_fn = getattr(base, "action_masks", None)
            if problems is not None and callable(masks_fn):
                env_mask = np.asarray(masks_fn())
                if mask is not None and not np.array_equal(
                    env_mask.astype(bool), mask.astype(bool)
                ):
                    problems.append(f"{where}: env.action_masks() differs from the observation's")
            obs, reward, terminated, truncated, info = env.step(action)
            record = (copy.deepcopy(obs), reward, terminated, truncated, copy.deepcopy(info))
            transitions.append(record)
            if problems is not None:
                problems.extend(_step_problems(reward, info, where))
            if terminated or truncated:
                if problems is not None:
                    problems.extend(_observation_problems(env, obs, f"{where} (final)"))
                break
        else:
            if problems is not None:
                problems.append(f"episode {episode} did not end within max_steps={max_steps}")
        if scramble:
            _scramble(obs)
        episodes_out.append(transitions)
        actions_out.append(actions)
    return firsts, episodes_out, actions_out


def _observation_problems(env: gym.Env, obs: Any, where: str) -> list[str]:
    problems = []
    if obs not in env.observation_space:
        problems.append(f"{where}: observation is not in the observation space")
    problems.extend(f"{where}: non-finite observation at {p}" for p in _non_finite(obs, "obs"))
    mask = _observation_mask(obs)
    if mask is not None:
        problems.extend(_check_mask(obs["action_mask"], env.action_space, where))
    return problems


def _step_problems(reward: Any, info: Any, where: str) -> list[str]:
    problems = []
    if isinstance(reward, (bool, np.bool_)) or not isinstance(reward, (int, float, np.number)):
        problems.append(f"{where}: reward must be a real number, got {type(reward).__name__}")
    elif not math.isfinite(float(reward)):
        problems.append(f"{where}: reward is not finite ({reward})")
    if not isinstance(info, dict):
        problems.append(f"{where}: info must be a dict, got {type(info).__name__}")
    else:
        problems.extend(f"{where}: non-finite info at {p}" for p in _non_finite(info, "info"))
    return problems


def _same(a: Any, b: Any) -> bool:
    return bool(data_equivalence(a, b, exact=True))


def _compare_rollouts(
    first: tuple[list[Any], list[list[Transition]], list[list[Any]]],
    second: tuple[list[Any], list[list[Transition]], list[list[Any]]],
    label: str,
) -> list[str]:
    problems = []
    names = ("observation", "reward", "terminated", "truncated", "info")
    for episode, (obs_a, obs_b) in enumerate(zip(first[0], second[0], strict=False)):
        if not _same(obs_a, obs_b):
            problems.append(f"{label}: episode {episode} reset observations differ")
    if [len(t) for t in first[1]] != [len(t) for t in second[1]]:
        problems.append(f"{label}: episode lengths differ")
    for episode, (run_a, run_b) in enumerate(zip(first[1], second[1], strict=False)):
        for step, (tr_a, tr_b) in enumerate(zip(run_a, run_b, strict=False)):
            for name, value_a, value_b in zip(names, tr_a, tr_b, strict=True):
                if not _same(value_a, value_b):
                    problems.append(f"{label}: episode {episode} step {step}: {name} differs")
    return problems


def _probe_masked_actions(
    env: gym.Env, seed: int, actions: Sequence[Any], probes: int, max_steps: int
) -> list[str]:
    """Replay the first episode's prefix and try a masked action at up to ``probes`` states."""
    problems: list[str] = []
    rng = np.random.default_rng(seed + 1)
    # Find the states (step indices of the first episode) where some action is masked.
    obs, _ = env.reset(seed=seed)
    candidates: list[int] = []
    for step, action in enumerate(actions[:max_steps]):
        mask = _observation_mask(obs)
        if mask is not None and _masked_action(env.action_space, rng, mask) is not None:
            candidates.append(step)
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    if not candidates:
        return problems
    chosen = sorted({candidates[0], candidates[len(candidates) // 2], candidates[-1]})[:probes]
    for target in chosen:
        obs, _ = env.reset(seed=seed)
        for action in actions[:target]:
            obs, *_ = env.step(action)
        bad = _masked_action(env.action_space, rng, _observation_mask(obs))
        try:
            _, reward, _, _, info = env.step(bad)
        except ValueError:
            continue
        if not (isinstance(info, dict) and info.get("invalid_action") is True):
            problems.append(
                f"masked action {bad!r} at episode 0 step {target} was accepted without "
                "ValueError or info['invalid_action'] = True"
            )
        elif not math.isfinite(float(reward)):
            problems.append(f"masked action at step {target}: non-finite reward {reward}")
    return problems


# ---- entry point --------------------------------------------------------------------------


def check_ua_env(
    env: gym.Env,
    *,
    seed: int = 0,
    episodes: int = 3,
    max_steps: int = 1000,
    masked_probes: int = 2,
    strict: bool = True,
    skip_render_check: bool = False,
    check_seed_variety: bool = True,
) -> None:
    """Run every ua-envs check on a single env (see the module docstring).

    :param env: a single Gymnasium env, usually from ``gym.make`` (the rollouts use it as
        given, time limits included; Gymnasium's ``check_env`` runs on ``env.unwrapped``).
    :param seed: seed of the rollouts and of their action generator.
    :param episodes: episodes per rollout (the first reset seeded, the others not).
    :param max_steps: cap on an episode's length (an env that never ends fails).
    :param masked_probes: states at which a masked action is tried (0 disables the probe).
    :param strict: treat warnings emitted during the checks as failures.
    :param skip_render_check: skip Gymnasium's render checks.
    :param check_seed_variety: require different first observations for ``seed`` and
        ``seed + 1``.
    :raises AssertionError: listing every failed check.
    """
    problems: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            check_env(env.unwrapped, skip_render_check=skip_render_check)
        except Exception as err:  # reported with the other failures
            problems.append(f"gymnasium check_env failed: {type(err).__name__}: {err}")

        reference = _rollout(env, seed, episodes, max_steps, scramble=False, problems=problems)
        replay = _rollout(env, seed, episodes, max_steps, scramble=True)
        problems.extend(
            _compare_rollouts(
                reference,
                replay,
                "replay on the same env with the returned observations overwritten",
            )
        )
        if env.spec is not None:
            fresh = env.spec.make()
            try:
                other = _rollout(fresh, seed, episodes, max_steps, scramble=False)
            finally:
                fresh.close()
            problems.extend(_compare_rollouts(reference, other, "fresh env, same seed"))
        if check_seed_variety:
            obs_a, _ = env.reset(seed=seed)
            obs_a = copy.deepcopy(obs_a)
            obs_b, _ = env.reset(seed=seed + 1)
            if _same(obs_a, obs_b):
                problems.append(f"seeds {seed} and {seed + 1} give the same first observation")
        if masked_probes > 0 and reference[2]:
            problems.extend(
                _probe_masked_actions(env, seed, reference[2][0], masked_probes, max_steps)
            )
    if strict:
        problems.extend(
            f"warning: {w.category.__name__}: {w.message}"
            for w in caught
            if not issubclass(w.category, DeprecationWarning)
        )
    if problems:
        unique = list(dict.fromkeys(problems))  # in order
        shown = unique[:MAX_LISTED] + (
            [f"... {len(unique) - MAX_LISTED} more"] if len(unique) > MAX_LISTED else []
        )
        listing = "\n  - ".join(shown)
        raise AssertionError(f"check_ua_env found {len(unique)} problem(s):\n  - {listing}")
