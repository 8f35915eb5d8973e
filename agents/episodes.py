"""Running a policy for seeded episodes, on a single env or batched on the native vector env.

The machinery of :func:`agents.evaluate.evaluate` (seeding rule, batched path, info metrics,
truncation and statistics are documented in :mod:`agents.evaluate`), without policy specs:
this module does not import :mod:`agents.registry`, so the learners that the registry lists
(``agents.q_learning`` and the GNN agents' trainers) evaluate through :func:`run_episodes` on
held-out seeds with exactly the numbers ``evaluate`` reports.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.special

from agents.envs import MAKE_KWARGS, make_env
from agents.policy import BatchPolicy, Policy
from ua_envs.core.validation import check_int_range

__all__ = [
    "AGGREGATES",
    "CONFIDENCE",
    "DEFAULT_BATCH_SIZE",
    "Results",
    "Stat",
    "run_episodes",
    "summarize",
]

#: Per-episode aggregations of info metrics.
AGGREGATES: tuple[str, ...] = ("final", "mean", "sum")
#: Info entries never treated as metrics.
SKIPPED_INFO: frozenset[str] = frozenset(
    {"association", "action_mask", "final_obs", "final_info", "episode"}
)
#: Arguments of ``gym.make`` that are not env kwargs but are always accepted.
_MAKE_KWARGS = MAKE_KWARGS
#: Safety cap: an env without a time limit that never ends is a bug, not an infinite loop.
MAX_STEPS_PER_EPISODE = 1_000_000
#: Confidence level of every interval.
CONFIDENCE = 0.95
#: Episodes per vector-env batch of :func:`evaluate`'s batched path (fewer if fewer are asked).
DEFAULT_BATCH_SIZE = 256

# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stat:
    """Mean, sample std and 95 % Student-t confidence interval of one quantity.

    :param mean: sample mean (NaN when ``n = 0``).
    :param std: sample standard deviation, ``ddof=1`` (0 for a constant, NaN when ``n < 2``).
    :param ci_low: lower end of the 95 % interval of the mean.
    :param ci_high: upper end.
    :param n: number of (non-NaN) values.
    """

    mean: float
    std: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def half_width(self) -> float:
        """Half the width of the interval, ``t_{0.975, n-1} · std / sqrt(n)``."""
        return (self.ci_high - self.ci_low) / 2.0

    def as_dict(self) -> dict[str, float | int]:
        """Plain dict (for JSON)."""
        return {
            "mean": self.mean,
            "std": self.std,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "half_width": self.half_width,
            "n": self.n,
        }


def summarize(values: Sequence[float] | np.ndarray, confidence: float = CONFIDENCE) -> Stat:
    """Mean, std and Student-t confidence interval of ``values`` (NaNs are dropped).

    :param values: 1-D sample.
    :param confidence: two-sided level in (0, 1), default 0.95.

    >>> s = summarize([1.0, 2.0, 3.0])  # std 1, t_{0.975,2} = 4.3027, hw = 4.3027/sqrt(3)
    >>> round(s.mean, 4), round(s.std, 4), round(s.half_width, 4)
    (2.0, 1.0, 2.4841)
    >>> summarize([5.0, 5.0, 5.0]).half_width
    0.0
    """
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    sample = np.asarray(values, dtype=np.float64).reshape(-1)
    sample = sample[~np.isnan(sample)]
    n = int(sample.size)
    if n == 0:
        return Stat(math.nan, math.nan, math.nan, math.nan, 0)
    if n == 1:
        return Stat(float(sample[0]), math.nan, math.nan, math.nan, 1)
    if bool(np.all(sample == sample[0])):
        # Exact: a constant sample has a zero-width interval (the mean of n equal floats can
        # differ from them by rounding, which would leave a 1e-16 std).
        value = float(sample[0])
        return Stat(value, 0.0, value, value, n)
    mean = float(sample.mean())
    std = float(sample.std(ddof=1))
    half = float(scipy.special.stdtrit(n - 1, 0.5 + confidence / 2.0)) * std / math.sqrt(n)
    return Stat(mean, std, mean - half, mean + half, n)


# --------------------------------------------------------------------------------------------
# evaluate()
# --------------------------------------------------------------------------------------------


def _metric_value(value: Any) -> float | None:
    """A scalar float for a numeric info entry (array entries: the mean), else ``None``."""
    if hasattr(value, "detach"):  # torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, (bool, int, float, np.number, np.bool_, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind in "biuf" and array.size > 0:
            return float(array.astype(np.float64).mean())
    return None


def _collect(info: Mapping[str, Any], names: Sequence[str] | None) -> dict[str, float]:
    out = {}
    for key, value in info.items():
        if names is None and (key.startswith("_") or key in SKIPPED_INFO):
            continue
        if names is not None and key not in names:
            continue
        scalar = _metric_value(value)
        if scalar is not None:
            out[key] = scalar
    return out


@dataclass
class Results:
    """Outcome of :func:`evaluate`: per-episode returns and info metrics of one policy.

    :param policy: the policy's label (its spec string or class name).
    :param env_id: the env id.
    :param seed: episode ``j`` was reset with ``seed + j``.
    :param episodes: number of episodes.
    :param returns: ``(episodes,)`` float64 undiscounted episode returns.
    :param lengths: ``(episodes,)`` int64 steps per episode.
    :param truncated: ``(episodes,)`` bool, the episode was cut by truncation (a time limit)
        without terminating, so its return may miss the terminal reward; ``None`` (when built
        by hand) means none was.
    :param max_episode_steps: the env's time limit (``None``: none), for messages.
    :param metrics: name → ``(episodes,)`` float64 per-episode aggregate of the info entry
        (NaN where the episode's info lacked it).
    :param aggregate: ``"final"``, ``"mean"`` or ``"sum"`` (module docstring).
    :param env_kwargs: kwargs the env was made with.
    :param seconds: wall time of the evaluation [s].
    """

    policy: str
    env_id: str
    seed: int
    episodes: int
    returns: np.ndarray
    lengths: np.ndarray
    metrics: dict[str, np.ndarray]
    aggregate: str = "final"
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    truncated: np.ndarray | None = None
    max_episode_steps: int | None = None

    def __post_init__(self) -> None:
        if self.truncated is None:
            self.truncated = np.zeros(len(self.returns), dtype=bool)
        else:
            self.truncated = np.asarray(self.truncated, dtype=bool).reshape(-1)
        if self.truncated.shape != (len(self.returns),):
            raise ValueError(
                f"truncated must have one flag per episode ({len(self.returns)}), "
                f"got shape {self.truncated.shape}"
            )

    @property
    def truncated_flags(self) -> np.ndarray:
        """``(episodes,)`` bool: :attr:`truncated`, never ``None``."""
        assert self.truncated is not None  # set by __post_init__
        return self.truncated

    @property
    def num_truncated(self) -> int:
        """Episodes cut by truncation before they terminated."""
        return int(self.truncated_flags.sum())

    @property
    def truncated_fraction(self) -> float:
        """``num_truncated / episodes`` (0 when there are no episodes)."""
        count = len(self.truncated_flags)
        return self.num_truncated / count if count else 0.0

    @property
    def num_time_limited(self) -> int:
        """Truncated episodes that ran ``max_episode_steps`` steps: cut by the time limit.

        An env that truncates itself at its own horizon, with no ``max_episode_steps``
        (``SlottedArrivalAssoc-v0``: the episode is ``horizon`` slots by design), has none.
        """
        if self.max_episode_steps is None:
            return 0
        cut = self.truncated_flags & (np.asarray(self.lengths) >= self.max_episode_steps)
        return int(cut.sum())

    def truncation_warning(self) -> str | None:
        """One line saying how many episodes the time limit cut before they terminated, or
        ``None`` if it cut none (:attr:`num_time_limited`; episodes the env truncates itself
        are counted in :attr:`num_truncated` but are not a warning).

        >>> r = Results("argmax", "X-v0", 0, 2, np.zeros(2), np.full(2, 3), {},
        ...             truncated=np.array([True, False]), max_episode_steps=3)
        >>> print(r.truncation_warning())
        1 of 2 episodes of argmax on X-v0 were truncated at max_episode_steps=3 before they ...
        >>> r.max_episode_steps = None  # the env's own horizon, no time limit
        >>> r.truncation_warning() is None
        True
        """
        count = self.num_time_limited
        if count == 0:
            return None
        return (
            f"{count} of {len(self.truncated_flags)} episodes of "
            f"{self.policy} on {self.env_id} were truncated at max_episode_steps="
            f"{self.max_episode_steps} before they terminated; "
            "their returns may miss the terminal reward (raise max_episode_steps)"
        )

    def summary(self) -> dict[str, Stat]:
        """:class:`Stat` of ``return``, ``length`` and every info metric, in that order."""
        out = {"return": summarize(self.returns), "length": summarize(self.lengths)}
        out.update({name: summarize(values) for name, values in self.metrics.items()})
        return out


def _label(policy: Policy | BatchPolicy | str) -> str:
    if isinstance(policy, str):
        return policy
    return str(getattr(policy, "name", type(policy).__name__))


def _check_run_args(episodes: Any, seed: Any, aggregate: Any) -> None:
    if isinstance(episodes, bool) or not isinstance(episodes, (int, np.integer)) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    if aggregate not in AGGREGATES:
        raise ValueError(f"aggregate must be one of {', '.join(AGGREGATES)}, got {aggregate!r}")


def run_episodes(
    policy: Policy | BatchPolicy | None,
    env_id: str | gym.Env,
    episodes: int,
    seed: int,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    progress: bool = False,
    aggregate: str = "final",
    metrics: Sequence[str] | None = None,
    label: str | None = None,
    batched: bool | None = None,
    batch_size: int | None = None,
    build: Callable[[gym.Env], Policy | BatchPolicy] | None = None,
) -> Results:
    """Run a policy object for ``episodes`` seeded episodes: :func:`agents.evaluate.evaluate`
    without policy specs (this module imports no registry, so learners may use it).

    :param policy: the policy, or ``None`` with ``build``.
    :param build: ``build(env) -> policy``, called once on the single env built from
        ``env_id`` (how :func:`~agents.evaluate.evaluate` resolves a spec on its env); a build
        that replaces the env's ``config`` keeps the run on the single env.

    The other parameters, the seeding rule, the paths and the results are those of
    :func:`agents.evaluate.evaluate` (see :mod:`agents.evaluate`).
    """
    if (policy is None) == (build is None):
        raise ValueError("give exactly one of policy and build")
    _check_run_args(episodes, seed, aggregate)
    episodes, seed = int(episodes), int(seed)
    if batched not in (None, True, False):
        raise ValueError(f"batched must be None, True or False, got {batched!r}")
    if batch_size is not None:
        batch_size = check_int_range("batch_size", batch_size, 1)
    own_env = isinstance(env_id, str)
    # The single env and the vector env of the batched path are built with the same kwargs.
    make_kwargs = dict(env_kwargs or {})
    if isinstance(env_id, str):
        env = make_env(env_id, make_kwargs)
    else:
        if env_kwargs:
            raise ValueError("env_kwargs can only be given with an env id, not an env instance")
        env = env_id
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    label = label if label is not None else _label(policy if policy is not None else "policy")
    try:
        if build is not None:
            config = getattr(env.unwrapped, "config", None)
            policy = build(env)
            config_changed = getattr(env.unwrapped, "config", None) is not config
        else:
            config_changed = False
        why_not = _why_not_batched(policy, env_id, make_kwargs, config_changed)
        if batched is True and why_not is not None:
            raise ValueError(f"batched=True cannot run {label!r}: {why_not}")
        use_batched = batched is not False and why_not is None
        if not use_batched and not callable(getattr(policy, "act", None)):
            reason = "batched=False was asked" if batched is False else why_not
            raise ValueError(
                f"policy {label!r} has no act for the single env ({reason}); "
                "a BatchPolicy alone needs the batched path"
            )
        reset = getattr(policy, "reset", None)
        if callable(reset):
            reset(seed)
        started = time.perf_counter()
        if use_batched:
            assert isinstance(env_id, str)  # _why_not_batched refuses env instances
            size = min(episodes, batch_size if batch_size is not None else DEFAULT_BATCH_SIZE)
            returns, lengths, truncated, table = _run_batched(
                policy,  # type: ignore[arg-type]  # has act_batch (_why_not_batched)
                env_id,
                make_kwargs,
                episodes,
                seed,
                metrics,
                aggregate,
                size,
                f"{label} on {name}" if progress else None,
            )
        else:
            returns, lengths, truncated, table = _run_single(
                policy,  # type: ignore[arg-type]  # has act (checked above)
                env,
                episodes,
                seed,
                metrics,
                aggregate,
                f"{label} on {name}" if progress else None,
            )
        seconds = time.perf_counter() - started
    finally:
        if own_env:
            env.close()
    return Results(
        policy=label,
        env_id=name,
        seed=seed,
        episodes=episodes,
        returns=returns,
        lengths=lengths,
        metrics=table,
        aggregate=aggregate,
        env_kwargs=make_kwargs,
        seconds=seconds,
        truncated=truncated,
        max_episode_steps=max_steps,
    )


#: Per-episode returns, lengths, truncation flags and info metrics of a run.
_Run = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]


def _why_not_batched(
    policy: Any, env_id: str | gym.Env, env_kwargs: Mapping[str, Any] | None, config_changed: bool
) -> str | None:
    """Why :func:`evaluate` cannot run ``policy`` on the native vector env, or ``None``."""
    if not callable(getattr(policy, "act_batch", None)):
        return "the policy has no act_batch (it is not a BatchPolicy); use batched=False"
    if not getattr(policy, "supports_batch", True):
        return "the policy's act_batch does not serve this env (supports_batch is False)"
    if not isinstance(env_id, str):
        return "an env instance was given; the batched path needs an env id"
    if gym.spec(env_id).vector_entry_point is None:
        return f"{env_id} has no native vector env (vector_entry_point)"
    single_only = sorted(set(env_kwargs or {}) & (set(MAKE_KWARGS) - {"max_episode_steps"}))
    if single_only:
        return f"env kwarg(s) {', '.join(single_only)} apply to the single env only"
    if config_changed:
        # E.g. greedy_wmmse switches the env it is built on to WMMSE beams: a fresh vector env
        # would score with another beamformer.
        return "building the policy changed the env's config, which the vector env would not share"
    return None


def _progress_bar(description: str | None, episodes: int) -> Any:
    """A tqdm bar over ``episodes`` (on stderr), or ``None`` without a description."""
    if description is None:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=episodes, desc=description, unit="ep", leave=False)


def _run_single(
    policy: Policy,
    env: gym.Env,
    episodes: int,
    seed: int,
    metrics: Sequence[str] | None,
    aggregate: str,
    progress: str | None,
) -> _Run:
    """The single-env path: :func:`_run_episode` for ``seed, seed + 1, ...``."""
    returns = np.zeros(episodes, dtype=np.float64)
    lengths = np.zeros(episodes, dtype=np.int64)
    truncated = np.zeros(episodes, dtype=bool)
    per_episode: list[dict[str, float]] = []
    bar = _progress_bar(progress, episodes)
    try:
        for j in range(episodes):
            returns[j], lengths[j], truncated[j], values = _run_episode(
                policy, env, seed + j, metrics, aggregate
            )
            per_episode.append(values)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    names: list[str] = []
    for values in per_episode:
        names.extend(k for k in values if k not in names)
    table = {
        key: np.array([values.get(key, math.nan) for values in per_episode], dtype=np.float64)
        for key in names
    }
    return returns, lengths, truncated, table


def _run_batched(
    policy: BatchPolicy,
    env_id: str,
    env_kwargs: Mapping[str, Any] | None,
    episodes: int,
    seed: int,
    metrics: Sequence[str] | None,
    aggregate: str,
    batch_size: int,
    progress: str | None,
) -> _Run:
    """The batched path: episodes ``[start, start + n)`` on one vector env reset with
    ``seed + start`` (a second env of the remainder's size for the last batch)."""
    returns = np.zeros(episodes, dtype=np.float64)
    lengths = np.zeros(episodes, dtype=np.int64)
    truncated = np.zeros(episodes, dtype=bool)
    columns: dict[str, np.ndarray] = {}
    pass_env = _takes_env(policy.act_batch)
    bar = _progress_bar(progress, episodes)
    envs: Any = None
    try:
        for start in range(0, episodes, batch_size):
            count = min(batch_size, episodes - start)
            if envs is None or envs.num_envs != count:
                if envs is not None:
                    envs.close()
                envs = gym.make_vec(
                    env_id, count, vectorization_mode="vector_entry_point", **dict(env_kwargs or {})
                )
            rows = slice(start, start + count)
            returns[rows], lengths[rows], truncated[rows], values = _run_batch(
                policy, envs, seed + start, metrics, aggregate, pass_env
            )
            for key, value in values.items():
                if key not in columns:
                    columns[key] = np.full(episodes, math.nan, dtype=np.float64)
                columns[key][rows] = value
            if bar is not None:
                bar.update(count)
    finally:
        if envs is not None:
            envs.close()
        if bar is not None:
            bar.close()
    return returns, lengths, truncated, columns


def _takes_env(method: Callable[..., Any]) -> bool:
    """Whether ``act_batch`` declares an ``env`` parameter (it then gets the vector env)."""
    try:
        return "env" in inspect.signature(method).parameters
    except (TypeError, ValueError):  # no introspectable signature: call it the plain way
        return False


def _collect_batch(
    info: Mapping[str, Any], names: Sequence[str] | None, count: int
) -> dict[str, np.ndarray]:
    """:func:`_collect` of every row of a vector env's info: name → ``(count,)`` float64.

    Entries without a leading batch dim of ``count`` (``final_obs``, ``final_info`` and
    other bookkeeping) are not per-row values and are skipped.
    """
    out = {}
    for key, value in info.items():
        if names is None and (key.startswith("_") or key in SKIPPED_INFO):
            continue
        if names is not None and key not in names:
            continue
        if hasattr(value, "detach"):  # torch tensor
            value = value.detach().cpu().numpy()
        if not isinstance(value, np.ndarray) or value.ndim == 0 or value.shape[0] != count:
            continue
        if value.dtype.kind in "biuf" and value[0].size > 0:
            out[key] = value.reshape(count, -1).astype(np.float64).mean(axis=1)
    return out


def _run_batch(
    policy: BatchPolicy,
    envs: Any,
    seed: int,
    metrics: Sequence[str] | None,
    aggregate: str,
    pass_env: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """One episode per sub-env of ``envs`` (reset with ``seed``), as :func:`_run_episode` counts
    them: returns, lengths, truncation flags, info aggregates (NaN where an episode lacks one).

    Every row steps until all episodes ended; a row's numbers stop at its episode's end (the
    vector env has then already started another episode in it, which is not counted).
    """
    count = int(envs.num_envs)
    observation, _ = envs.reset(seed=seed)
    active = np.ones(count, dtype=bool)
    totals = np.zeros(count, dtype=np.float64)
    steps = np.zeros(count, dtype=np.int64)
    cut = np.zeros(count, dtype=bool)
    last: dict[str, np.ndarray] = {}  # value after the row's latest step (NaN: missing)
    has_last: dict[str, np.ndarray] = {}  # the row's latest step had the entry
    sums: dict[str, np.ndarray] = {}
    counts: dict[str, np.ndarray] = {}  # steps of the row that had the entry
    while active.any():
        mask = envs.action_masks()
        if pass_env:
            action = policy.act_batch(observation, mask, env=envs)  # type: ignore[call-arg]
        else:
            action = policy.act_batch(observation, mask)
        observation, reward, terminated, truncated, info = envs.step(action)
        rewards = _numpy(reward).astype(np.float64).reshape(count)
        ended_now = _numpy(terminated).astype(bool).reshape(count)
        cut_now = _numpy(truncated).astype(bool).reshape(count)
        totals[active] += rewards[active]
        steps[active] += 1
        values = _collect_batch(info, metrics, count)
        for key in values:
            if key not in last:  # first-seen order, as the single path's
                last[key] = np.full(count, math.nan)
                has_last[key] = np.zeros(count, dtype=bool)
                sums[key] = np.zeros(count)
                counts[key] = np.zeros(count, dtype=np.int64)
        for key in last:
            # As _run_episode: "final" is the latest step's info, missing entries included.
            has_last[key][active] = key in values
            last[key][active] = values[key][active] if key in values else math.nan
            if key in values:
                sums[key][active] += values[key][active]
                counts[key][active] += 1
        done = ended_now | cut_now
        cut[active & done] = (cut_now & ~ended_now)[active & done]
        active &= ~done
        if active.any() and int(steps.max()) >= MAX_STEPS_PER_EPISODE:
            raise RuntimeError(
                f"episode did not end within {MAX_STEPS_PER_EPISODE} steps; "
                "register the env with max_episode_steps"
            )
    table: dict[str, np.ndarray] = {}
    for key in last:
        present = has_last[key] if aggregate == "final" else counts[key] > 0
        if not present.any():
            continue  # an entry no episode had is no metric (the single path never sees it)
        if aggregate == "final":
            value = last[key]
        elif aggregate == "mean":
            value = sums[key] / np.maximum(counts[key], 1)
        else:
            value = sums[key]
        table[key] = np.where(present, value, math.nan)
    return totals, steps, cut, table


def _numpy(value: Any) -> np.ndarray:
    """A tensor or array as numpy (a CPU copy of a tensor)."""
    if hasattr(value, "detach"):
        return np.asarray(value.detach().cpu().numpy())
    return np.asarray(value)


def _run_episode(
    policy: Policy, env: gym.Env, seed: int, metrics: Sequence[str] | None, aggregate: str
) -> tuple[float, int, bool, dict[str, float]]:
    """Return, length, whether it was truncated (cut without terminating), info aggregates."""
    observation, info = env.reset(seed=seed)
    total = 0.0
    steps = 0
    sums: dict[str, float] = {}
    counts: dict[str, int] = {}
    last: dict[str, float] = {}
    done = False
    cut = False
    while not done:
        action = policy.act(observation, info, env=env)
        observation, reward, terminated, truncated, info = env.step(action)
        total += float(reward)
        steps += 1
        last = _collect(info, metrics)
        for key, value in last.items():
            sums[key] = sums.get(key, 0.0) + value
            counts[key] = counts.get(key, 0) + 1
        done = bool(terminated) or bool(truncated)
        cut = bool(truncated) and not bool(terminated)
        if steps >= MAX_STEPS_PER_EPISODE and not done:
            raise RuntimeError(
                f"episode did not end within {MAX_STEPS_PER_EPISODE} steps; "
                "register the env with max_episode_steps"
            )
    if aggregate == "final":
        values = last
    elif aggregate == "mean":
        values = {key: sums[key] / counts[key] for key in sums}
    else:
        values = sums
    return total, steps, cut, values
