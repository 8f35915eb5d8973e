"""Seeded evaluation of policies with confidence intervals, and side-by-side comparison tables.

:func:`evaluate` runs one policy for ``episodes`` episodes of a single Gymnasium env and
returns :class:`Results`; :func:`compare` evaluates several policies on the same seeds and
returns a :class:`Table` (markdown, CSV, JSON and a PNG figure).

Seeding rule (reproducible, and the same instances for every policy):

* episode ``j`` starts with ``env.reset(seed=seed + j)``, so two policies compared with the same
  ``seed`` see the same initial states (one-step envs: the same instances);
* a policy with a ``reset`` method is reset once with ``reset(seed)`` before the first episode;
  a policy given by name is built with ``make_policy(spec, env, seed)``.

Info metrics. After every ``step`` the env's ``info`` entries that are numeric (Python / numpy
scalars, numpy arrays, CPU tensors; booleans count as 0/1) are collected; an array entry is
reduced to the mean of its elements (``rates`` (K,) → mean per-UE rate). Per episode the
values are aggregated by ``aggregate``:

* ``"final"`` (default): the value after the episode's last step. For one-step envs this is the
  step's value; for sequential envs it is the state at the end (the final support's sum rate,
  a cumulative counter such as ``rejections`` when the env reports counters cumulatively).
* ``"mean"``: the mean over the episode's steps (per-slot quantities such as ``utility``).
* ``"sum"``: the sum over the episode's steps.

Entries whose name starts with ``_`` and the entries ``association``, ``action_mask``,
``final_obs``, ``final_info``, ``episode`` are skipped (decisions and bookkeeping, not
metrics); ``metrics=[...]`` selects entries explicitly. An episode whose info lacks an entry
gets NaN for it, and the statistics of that entry are over the episodes that have it (``n``).

Truncation. An episode that ends because ``truncated`` is set (a time limit such as the id's
``max_episode_steps``) while ``terminated`` is not, was cut before its end: in envs whose
reward comes at the end (``CellFreeAssoc-v0`` pays the sum rate at END) its return is
meaningless. :class:`Results` records per episode whether it was truncated
(``Results.truncated``); tables carry the count and fraction per policy (columns ``truncated``
and ``truncated_fraction``, in every output file) and :meth:`Table.warnings` returns one line
per policy with truncated episodes, which :func:`compare` prints under the table (and the
command line on stderr).

Statistics (:func:`summarize`): mean, sample standard deviation (``ddof=1``) and the 95 %
Student-t confidence interval of the mean ``mean ± t_{0.975, n-1} · std / sqrt(n)``; a constant
sample has ``std = 0`` exactly and a zero-width interval; with ``n = 1`` the std and the
interval are undefined (NaN, printed ``n/a``).
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import scipy.special

from agents.envs import MAKE_KWARGS, check_env_id, env_kwarg_names, known_env_ids, make_env
from agents.paths import check_output_dir
from agents.policy import Policy
from agents.registry import check_policy_spec, make_policy

__all__ = [
    "AGGREGATES",
    "CONFIDENCE",
    "OUTPUT_FILES",
    "Results",
    "Stat",
    "Table",
    "check_env_id",
    "compare",
    "env_kwarg_names",
    "evaluate",
    "format_stat",
    "known_env_ids",
    "make_env",
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
#: Files :meth:`Table.save` writes into its directory (the figure only with ``plot=True``).
OUTPUT_FILES: tuple[str, ...] = ("summary.csv", "episodes.csv", "summary.json", "compare.png")
#: Safety cap: an env without a time limit that never ends is a bug, not an infinite loop.
MAX_STEPS_PER_EPISODE = 1_000_000
#: Confidence level of every interval.
CONFIDENCE = 0.95


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

    def truncation_warning(self) -> str | None:
        """One line saying how many episodes were truncated, or ``None`` if none was.

        >>> r = Results("argmax", "X-v0", 0, 2, np.zeros(2), np.full(2, 3), {},
        ...             truncated=np.array([True, False]), max_episode_steps=3)
        >>> print(r.truncation_warning())
        1 of 2 episodes of argmax on X-v0 were truncated at max_episode_steps=3 before they ...
        """
        if self.num_truncated == 0:
            return None
        limit = (
            f" at max_episode_steps={self.max_episode_steps}"
            if self.max_episode_steps is not None
            else ""
        )
        return (
            f"{self.num_truncated} of {len(self.truncated_flags)} episodes of "
            f"{self.policy} on {self.env_id} were truncated{limit} before they terminated; "
            "their returns may miss the terminal reward (raise max_episode_steps)"
        )

    def summary(self) -> dict[str, Stat]:
        """:class:`Stat` of ``return``, ``length`` and every info metric, in that order."""
        out = {"return": summarize(self.returns), "length": summarize(self.lengths)}
        out.update({name: summarize(values) for name, values in self.metrics.items()})
        return out


def _label(policy: Policy | str) -> str:
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


def evaluate(
    policy: Policy | str,
    env_id: str | gym.Env,
    episodes: int,
    seed: int,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    progress: bool = False,
    aggregate: str = "final",
    metrics: Sequence[str] | None = None,
    label: str | None = None,
) -> Results:
    """Run ``policy`` for ``episodes`` seeded episodes and collect returns and info metrics.

    :param policy: a :class:`~agents.policy.Policy` or a spec ``NAME`` / ``NAME:CHECKPOINT``
        resolved with :func:`agents.registry.make_policy` on the env.
    :param env_id: a registered id, or an already-made single env (used as is, not closed).
    :param episodes: number of episodes, ≥ 1; episode ``j`` is ``env.reset(seed=seed + j)``.
    :param seed: base seed, ≥ 0; also ``policy.reset(seed)`` / the built policy's seed.
    :param env_kwargs: kwargs of ``gym.make`` (only with an id).
    :param progress: show a tqdm bar over episodes (on stderr).
    :param aggregate: per-episode aggregation of info metrics: ``"final"``, ``"mean"``, ``"sum"``.
    :param metrics: info entries to collect (default: every numeric entry, module docstring).
    :param label: the policy's label in results (default: the spec, or the policy's ``name``
        attribute or class name).
    :raises ValueError: bad episodes/seed/aggregate, unknown env id, kwarg or policy name, a
        checkpoint that cannot be loaded (before the first episode).
    """
    _check_run_args(episodes, seed, aggregate)
    episodes, seed = int(episodes), int(seed)
    own_env = isinstance(env_id, str)
    if isinstance(env_id, str):
        env = make_env(env_id, env_kwargs)
    else:
        if env_kwargs:
            raise ValueError("env_kwargs can only be given with an env id, not an env instance")
        env = env_id
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    label = label if label is not None else _label(policy)
    try:
        if isinstance(policy, str):
            policy = make_policy(policy, env, seed)
        reset = getattr(policy, "reset", None)
        if callable(reset):
            reset(seed)
        returns = np.zeros(episodes, dtype=np.float64)
        lengths = np.zeros(episodes, dtype=np.int64)
        truncated = np.zeros(episodes, dtype=bool)
        per_episode: list[dict[str, float]] = []
        started = time.perf_counter()
        iterator: Any = range(episodes)
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(iterator, desc=f"{label} on {name}", unit="ep", leave=False)
        for j in iterator:
            returns[j], lengths[j], truncated[j], values = _run_episode(
                policy, env, seed + j, metrics, aggregate
            )
            per_episode.append(values)
        seconds = time.perf_counter() - started
    finally:
        if own_env:
            env.close()
    names: list[str] = []
    for values in per_episode:
        names.extend(k for k in values if k not in names)
    table = {
        key: np.array([values.get(key, math.nan) for values in per_episode], dtype=np.float64)
        for key in names
    }
    return Results(
        policy=label,
        env_id=name,
        seed=seed,
        episodes=episodes,
        returns=returns,
        lengths=lengths,
        metrics=table,
        aggregate=aggregate,
        env_kwargs=dict(env_kwargs or {}),
        seconds=seconds,
        truncated=truncated,
        max_episode_steps=max_steps,
    )


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


# --------------------------------------------------------------------------------------------
# compare() and the Table
# --------------------------------------------------------------------------------------------


def format_stat(stat: Stat) -> str:
    """``"mean ± half-width"`` with the half-width to 2 significant digits."""
    if math.isnan(stat.mean):
        return "n/a"
    half = stat.half_width
    if math.isnan(half):
        return f"{stat.mean:.4g} ± n/a"
    if half == 0.0:
        return f"{stat.mean:.4g} ± 0"
    decimals = min(max(1 - math.floor(math.log10(half)), 0), 8)
    return f"{stat.mean:.{decimals}f} ± {half:.{decimals}f}"


def _clean(value: Any) -> Any:
    """JSON-safe: NaN/inf → None, numpy scalars → Python."""
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


@dataclass
class Table:
    """Side-by-side results of several policies on the same env and seeds (see :func:`compare`).

    :param results: one :class:`Results` per policy, in the order given.
    :param reference: label of the policy the ``% of`` column divides by, or ``None``.
    :param files: paths written by :meth:`save` (name → path).
    """

    results: list[Results]
    reference: str | None = None
    files: dict[str, Path] = field(default_factory=dict)

    @property
    def env_id(self) -> str:
        """The env id shared by every row."""
        return self.results[0].env_id

    def metric_names(self) -> list[str]:
        """Info metrics of any policy, in first-seen order."""
        names: list[str] = []
        for result in self.results:
            names.extend(k for k in result.metrics if k not in names)
        return names

    def any_truncated(self) -> bool:
        """Whether any episode of any policy was cut by truncation."""
        return any(r.num_truncated > 0 for r in self.results)

    def warnings(self) -> list[str]:
        """One line per policy with truncated episodes (empty when none was)."""
        return [w for w in (r.truncation_warning() for r in self.results) if w is not None]

    def _show_length(self) -> bool:
        return any(bool(np.any(r.lengths != 1)) for r in self.results)

    def percent_of_reference(self, result: Results) -> float:
        """``100 · mean return / mean return of the reference`` (NaN without one, or if 0)."""
        if self.reference is None:
            return math.nan
        ref = next(r for r in self.results if r.policy == self.reference)
        denominator = float(ref.returns.mean())
        return 100.0 * float(result.returns.mean()) / denominator if denominator else math.nan

    def rows(self) -> list[dict[str, Any]]:
        """One flat dict per policy: ``policy, episodes, seed, truncated, truncated_fraction,
        return_mean, return_std, return_ci95, [return_pct_of_REF], length_*, <metric>_mean,
        _std, _ci95 ...`` (``truncated``: episodes cut by truncation before they terminated)."""
        out = []
        for result in self.results:
            summary = result.summary()
            row: dict[str, Any] = {
                "policy": result.policy,
                "episodes": result.episodes,
                "seed": result.seed,
                "truncated": result.num_truncated,
                "truncated_fraction": result.truncated_fraction,
            }
            names = ["return", "length", *self.metric_names()]
            for name in names:
                stat = summary.get(name, summarize([]))
                row[f"{name}_mean"] = stat.mean
                row[f"{name}_std"] = stat.std
                row[f"{name}_ci95"] = stat.half_width
                if name == "return" and self.reference is not None:
                    row[f"return_pct_of_{self.reference}"] = self.percent_of_reference(result)
            out.append(row)
        return out

    def to_markdown(self) -> str:
        """Markdown table: mean ± 95 % CI half-width of the return and of each info metric.

        With truncated episodes, a ``truncated`` column (count of the policy's episodes) and,
        under the table, the lines of :meth:`warnings`.
        """
        metric_names = self.metric_names()
        header = ["policy", "return"]
        if self.reference is not None:
            header.append(f"% of {self.reference}")
        if self.any_truncated():
            header.append("truncated")
        if self._show_length():
            header.append("length")
        header.extend(metric_names)
        lines = [
            "| " + " | ".join(header) + " |",
            "|---" + "|---:" * (len(header) - 1) + "|",
        ]
        for result in self.results:
            summary = result.summary()
            cells = [result.policy, format_stat(summary["return"])]
            if self.reference is not None:
                pct = self.percent_of_reference(result)
                cells.append("n/a" if math.isnan(pct) else f"{pct:.1f}")
            if self.any_truncated():
                cells.append(f"{result.num_truncated}/{result.episodes}")
            if self._show_length():
                cells.append(format_stat(summary["length"]))
            cells.extend(format_stat(summary.get(n, summarize([]))) for n in metric_names)
            lines.append("| " + " | ".join(cells) + " |")
        first = self.results[0]
        lines.append("")
        lines.append(
            f"{self.env_id}, {first.episodes} episodes, seeds {first.seed}..."
            f"{first.seed + first.episodes - 1}, mean ± 95 % CI (Student t), "
            f"info metrics aggregated per episode: {first.aggregate}"
        )
        lines.extend(f"WARNING: {warning}" for warning in self.warnings())
        return "\n".join(lines)

    def to_csv(self, path: str | Path) -> Path:
        """Write :meth:`rows` as CSV (floats at full precision); return the path."""
        path = Path(path)
        rows = self.rows()
        columns: list[str] = []
        for row in rows:
            columns.extend(k for k in row if k not in columns)
        with path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            for row in rows:
                writer.writerow({k: row.get(k, "") for k in columns})
        return path

    def episodes_csv(self, path: str | Path) -> Path:
        """Per-episode CSV: ``policy, episode, seed, return, length, truncated, <metrics>``
        (``truncated``: 1 if the episode was cut by truncation before it terminated, else 0)."""
        path = Path(path)
        names = self.metric_names()
        with path.open("w", newline="") as handle:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(["policy", "episode", "seed", "return", "length", "truncated", *names])
            for r in self.results:
                flags = r.truncated_flags
                for j in range(r.episodes):
                    extra = [float(r.metrics[n][j]) if n in r.metrics else "" for n in names]
                    writer.writerow(
                        [
                            r.policy,
                            j,
                            r.seed + j,
                            float(r.returns[j]),
                            int(r.lengths[j]),
                            int(flags[j]),
                            *extra,
                        ]
                    )
        return path

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings, per-policy summaries, truncation counts, per-episode
        returns, lengths and truncation flags, and the :meth:`warnings`."""
        import ua_envs

        first = self.results[0]
        return _clean(
            {
                "env_id": self.env_id,
                "env_kwargs": first.env_kwargs,
                "episodes": first.episodes,
                "seed": first.seed,
                "aggregate": first.aggregate,
                "confidence": CONFIDENCE,
                "reference": self.reference,
                "ua_envs_version": ua_envs.__version__,
                "max_episode_steps": first.max_episode_steps,
                "warnings": self.warnings(),
                "policies": [
                    {
                        "policy": r.policy,
                        "summary": {k: s.as_dict() for k, s in r.summary().items()},
                        "percent_of_reference": self.percent_of_reference(r),
                        "truncated": r.num_truncated,
                        "truncated_fraction": r.truncated_fraction,
                        "returns": r.returns.tolist(),
                        "lengths": r.lengths.tolist(),
                        "truncated_episodes": r.truncated_flags.astype(bool).tolist(),
                    }
                    for r in self.results
                ],
            }
        )

    def to_json(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON (NaN written as null); return the path."""
        path = Path(path)
        path.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return path

    def plot(self, path: str | Path) -> Path:
        """PNG: mean return with 95 % CI bars (left), empirical CDF of returns (right).

        Uses matplotlib's object API with the Agg canvas: no display, no global backend change.
        """
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        path = Path(path)
        figure = Figure(figsize=(10.0, 4.0), layout="constrained")
        FigureCanvasAgg(figure)
        bars, cdf = figure.subplots(1, 2)
        labels = [r.policy for r in self.results]
        stats = [r.summary()["return"] for r in self.results]
        errors = [0.0 if math.isnan(s.half_width) else s.half_width for s in stats]
        positions = np.arange(len(labels))
        colors = [f"C{i}" for i in range(len(labels))]
        bars.bar(positions, [s.mean for s in stats], yerr=errors, capsize=4, color=colors)
        bars.set_xticks(positions, labels, rotation=20, ha="right")
        bars.set_ylabel("mean episode return (95 % CI)")
        bars.set_title(self.env_id)
        for index, result in enumerate(self.results):
            # Start each curve at (smallest return, 0) so the first jump is drawn.
            values = np.sort(result.returns)
            values = np.concatenate([values[:1], values])
            fraction = np.arange(values.size) / (values.size - 1)
            cdf.step(values, fraction, where="post", label=result.policy, color=f"C{index}")
        cdf.set_xlabel("episode return")
        cdf.set_ylabel("empirical CDF")
        cdf.set_ylim(0.0, 1.0)
        cdf.legend(loc="lower right")
        cdf.grid(alpha=0.3)
        figure.savefig(path, dpi=120)
        return path

    def save(self, out_dir: str | Path, *, plot: bool = False) -> dict[str, Path]:
        """Write ``summary.csv``, ``episodes.csv``, ``summary.json`` (and ``compare.png``).

        The directory is created with its missing parents.
        """
        directory = Path(out_dir)
        directory.mkdir(parents=True, exist_ok=True)
        self.files["csv"] = self.to_csv(directory / "summary.csv")
        self.files["episodes"] = self.episodes_csv(directory / "episodes.csv")
        self.files["json"] = self.to_json(directory / "summary.json")
        if plot:
            self.files["png"] = self.plot(directory / "compare.png")
        return self.files


def compare(
    policy_specs: Sequence[Policy | str],
    env_id: str,
    episodes: int,
    seed: int,
    env_kwargs: Mapping[str, Any] | None = None,
    *,
    out_dir: str | Path | None = None,
    plot: bool = False,
    reference: str | None = None,
    aggregate: str = "final",
    progress: bool = False,
    print_table: bool = True,
    printer: Callable[[str], None] = print,
) -> Table:
    """Evaluate every policy on the same seeds; print and optionally save the table.

    :param policy_specs: spec strings (``"random"``, ``"q_learning:q.npz"``) or Policy objects
        (labelled by their ``name`` attribute or class name); duplicate labels get ``#2``, ...
    :param env_id: registered env id.
    :param episodes: episodes per policy (episode ``j`` of every policy uses ``seed + j``).
    :param seed: base seed.
    :param env_kwargs: kwargs of ``gym.make``.
    :param out_dir: if given, write ``summary.csv``, ``episodes.csv`` and ``summary.json`` there
        (and ``compare.png`` with ``plot=True``).
    :param plot: save the figure (needs ``out_dir``).
    :param reference: label or spec of the policy that the ``% of REF`` column divides by
        (ratio of mean returns); evaluated too if it is not among ``policy_specs``.
    :param aggregate: per-episode aggregation of info metrics (module docstring).
    :param progress: tqdm bars on stderr.
    :param print_table: print the markdown table with ``printer``.
    :raises ValueError: empty ``policy_specs``, ``plot`` without ``out_dir``, an ``out_dir``
        that cannot be written, and whatever :func:`evaluate` raises; all of them before the
        first episode (every policy is built, its checkpoint loaded, before any is evaluated).

    The table's :meth:`Table.warnings` (truncated episodes) are printed with ``printer`` too,
    as part of the markdown.
    """
    if not policy_specs:
        raise ValueError("policy_specs must name at least one policy")
    if plot and out_dir is None:
        raise ValueError("plot=True needs out_dir (the figure is saved as out_dir/compare.png)")
    _check_run_args(episodes, seed, aggregate)
    if out_dir is not None:
        check_output_dir(out_dir, "out_dir", OUTPUT_FILES if plot else OUTPUT_FILES[:-1])
    specs = list(policy_specs)
    labels = [_label(p) for p in specs]
    if reference is not None and reference not in labels:
        specs.append(reference)
        labels.append(reference)
    if isinstance(env_id, str):
        check_env_id(env_id)
        # Fail fast on unknown names and misused checkpoints, before any env is built.
        for spec in specs:
            if isinstance(spec, str):
                check_policy_spec(spec, env_id)
    # Build every policy (loading its checkpoint) on its own env before the first episode, so
    # that a damaged checkpoint of the last policy is reported before any evaluation.
    owned: list[gym.Env] = []
    runs: list[tuple[Policy, gym.Env]] = []
    try:
        for spec in specs:
            if isinstance(env_id, str):
                env = make_env(env_id, env_kwargs)
                owned.append(env)
            else:
                env = env_id
            runs.append((make_policy(spec, env, seed) if isinstance(spec, str) else spec, env))
        seen: dict[str, int] = {}
        results = []
        for (policy, env), label in zip(runs, labels, strict=True):
            result = evaluate(
                policy, env, episodes, seed, progress=progress, aggregate=aggregate, label=label
            )
            result.env_kwargs = dict(env_kwargs or {})
            seen[label] = seen.get(label, 0) + 1
            result.policy = label if seen[label] == 1 else f"{label}#{seen[label]}"
            results.append(result)
    finally:
        for env in owned:
            env.close()
    table = Table(results, reference=reference)
    if out_dir is not None:
        table.save(out_dir, plot=plot)
    if print_table:
        printer(table.to_markdown())
    return table
