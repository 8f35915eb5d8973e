"""Seeded evaluation of policies with confidence intervals, and side-by-side comparison tables.

:func:`evaluate` runs one policy for ``episodes`` episodes of a single Gymnasium env and
returns :class:`Results`; :func:`compare` evaluates several policies on the same seeds and
returns a :class:`Table` (markdown, CSV, JSON and a PNG figure).

Seeding rule (reproducible, and the same instances for every policy):

* episode ``j`` starts with ``env.reset(seed=seed + j)``, so two policies compared with the same
  ``seed`` see the same initial states (one-step envs: the same instances);
* a policy with a ``reset`` method is reset once with ``reset(seed)`` before the first episode;
  a policy given by name is built with ``make_policy(spec, env, seed)``.

Batched path. When the policy (an object, or the one a spec builds) implements
``act_batch`` (:class:`agents.policy.BatchPolicy`) and the id has a native vector env,
:func:`evaluate` runs ``batch_size`` episodes at a time on ``gym.make_vec(id, batch_size,
vectorization_mode="vector_entry_point")`` (``batched=None``, the default; ``batched=False``
forces the single env). The vector env's ``reset(seed=s)`` draws sub-env ``i`` as a single env
reset with ``s + i``, so episode ``j`` is still the instance of ``seed + j``; a row is counted
until its episode ends and ignored afterwards (the vector env autoresets it in the same step).
The :class:`Results` are those of the single path (same episodes, returns, lengths, truncation
flags, metric names and aggregation) up to float rounding: a deterministic policy whose
``act`` is its ``act_batch`` on a batch of one decides the same actions; a random policy draws
other numbers (its batched generator is not its single one).

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
per policy whose episodes the time limit cut (they ran ``max_episode_steps`` steps), which
:func:`compare` prints under the table (and the command line on stderr). An env that truncates
itself at its own horizon and has no ``max_episode_steps`` (``SlottedArrivalAssoc-v0``: an
episode is ``horizon`` slots by design) gets the counts but no warning.

Statistics (:func:`summarize`): mean, sample standard deviation (``ddof=1``) and the 95 %
Student-t confidence interval of the mean ``mean ± t_{0.975, n-1} · std / sqrt(n)``; a constant
sample has ``std = 0`` exactly and a zero-width interval; with ``n = 1`` the std and the
interval are undefined (NaN, printed ``n/a``).
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.envs import check_env_id, env_kwarg_names, known_env_ids, make_env
from agents.episodes import (
    AGGREGATES,
    CONFIDENCE,
    DEFAULT_BATCH_SIZE,
    Results,
    Stat,
    _check_run_args,
    _label,
    _why_not_batched,
    run_episodes,
    summarize,
)
from agents.paths import check_output_dir
from agents.policy import BatchPolicy, Policy
from agents.registry import check_policy_spec, make_policy, policy_env_kwargs

__all__ = [
    "AGGREGATES",
    "CONFIDENCE",
    "DEFAULT_BATCH_SIZE",
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

#: Files :meth:`Table.save` writes into its directory (the figure only with ``plot=True``).
OUTPUT_FILES: tuple[str, ...] = ("summary.csv", "episodes.csv", "summary.json", "compare.png")


def evaluate(
    policy: Policy | BatchPolicy | str,
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
) -> Results:
    """Run ``policy`` for ``episodes`` seeded episodes and collect returns and info metrics.

    :param policy: a :class:`~agents.policy.Policy` (and/or :class:`~agents.policy.BatchPolicy`)
        or a spec ``NAME`` / ``NAME:CHECKPOINT`` resolved with
        :func:`agents.registry.make_policy` on the env.
    :param env_id: a registered id, or an already-made single env (used as is, not closed;
        always the single path).
    :param episodes: number of episodes, ≥ 1; episode ``j`` is ``env.reset(seed=seed + j)``.
    :param seed: base seed, ≥ 0; also ``policy.reset(seed)`` / the built policy's seed.
    :param env_kwargs: kwargs of ``gym.make`` (only with an id).
    :param progress: show a tqdm bar over episodes (on stderr).
    :param aggregate: per-episode aggregation of info metrics: ``"final"``, ``"mean"``, ``"sum"``.
    :param metrics: info entries to collect (default: every numeric entry, module docstring).
    :param label: the policy's label in results (default: the spec, or the policy's ``name``
        attribute or class name).
    :param batched: ``None`` (default): run on the native vector env when possible (the policy
        has ``act_batch`` and no ``supports_batch = False``, ``env_id`` is an id with a vector
        entry point, ``env_kwargs`` holds
        only env kwargs and ``max_episode_steps``, and building the policy left the env's
        config unchanged), else on the single env; ``True``: the vector env, or ``ValueError``
        saying why not; ``False``: the single env.
    :param batch_size: episodes per vector-env batch on the batched path, ≥ 1 (default
        ``min(episodes, DEFAULT_BATCH_SIZE)``); the results do not depend on it.
    :raises ValueError: bad episodes/seed/aggregate/batched/batch_size, unknown env id, kwarg or
        policy name, a checkpoint that cannot be loaded, ``batched=True`` where the batched path
        cannot run (all before the first episode).
    """
    if not isinstance(policy, str):
        return run_episodes(
            policy,
            env_id,
            episodes,
            seed,
            env_kwargs,
            progress=progress,
            aggregate=aggregate,
            metrics=metrics,
            label=label,
            batched=batched,
            batch_size=batch_size,
        )
    spec = policy
    # A spec's env carries its declared settings and overrides on top of env_kwargs (a method
    # is an association rule plus a beamformer, agents.registry.policy_env_kwargs).
    if isinstance(env_id, str):
        env_kwargs = policy_env_kwargs(spec, env_id, env_kwargs)
    return run_episodes(
        None,
        env_id,
        episodes,
        seed,
        env_kwargs,
        progress=progress,
        aggregate=aggregate,
        metrics=metrics,
        label=spec if label is None else label,
        batched=batched,
        batch_size=batch_size,
        build=lambda env: make_policy(spec, env, seed),
    )


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
    :param beams: the beamformer each row's env used (``beamforming``; ``None`` for a row whose
        env has none), parallel to ``results``; empty: not recorded (no ``beams`` column).
    :param env_kwargs: the table-wide env kwargs (``None``: the first row's); each row's own,
        with its policy's settings, are its :attr:`Results.env_kwargs`.
    """

    results: list[Results]
    reference: str | None = None
    files: dict[str, Path] = field(default_factory=dict)
    beams: list[str | None] = field(default_factory=list)
    env_kwargs: dict[str, Any] | None = None

    def beams_of(self, index: int) -> str | None:
        """The beamformer of row ``index`` (``None``: unknown, or an env without one)."""
        return self.beams[index] if index < len(self.beams) else None

    def _show_beams(self) -> bool:
        return any(b is not None for b in self.beams)

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
        """One line per policy whose episodes the time limit cut (empty when it cut none;
        :meth:`Results.truncation_warning`)."""
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
        """One flat dict per policy: ``policy, [beams], episodes, seed, truncated,
        truncated_fraction, return_mean, return_std, return_ci95, [return_pct_of_REF],
        length_*, <metric>_mean, _std, _ci95 ...`` (``truncated``: episodes cut by truncation
        before they terminated; ``beams``: the row's beamformer, when recorded)."""
        out = []
        for index, result in enumerate(self.results):
            summary = result.summary()
            row: dict[str, Any] = {"policy": result.policy}
            if self._show_beams():
                row["beams"] = self.beams_of(index) or ""
            row |= {
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
        under the table, the lines of :meth:`warnings`. With recorded beamformers, a ``beams``
        column (each row's ``beamforming``; ``-`` for an env without one).
        """
        metric_names = self.metric_names()
        header = ["policy", "beams", "return"] if self._show_beams() else ["policy", "return"]
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
        for index, result in enumerate(self.results):
            summary = result.summary()
            cells = [result.policy]
            if self._show_beams():
                cells.append(self.beams_of(index) or "-")
            cells.append(format_stat(summary["return"]))
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
                "env_kwargs": first.env_kwargs if self.env_kwargs is None else self.env_kwargs,
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
                        "beams": self.beams_of(index),
                        "env_kwargs": r.env_kwargs,
                        "summary": {k: s.as_dict() for k, s in r.summary().items()},
                        "percent_of_reference": self.percent_of_reference(r),
                        "truncated": r.num_truncated,
                        "truncated_fraction": r.truncated_fraction,
                        "returns": r.returns.tolist(),
                        "lengths": r.lengths.tolist(),
                        "truncated_episodes": r.truncated_flags.astype(bool).tolist(),
                    }
                    for index, r in enumerate(self.results)
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


def _beamformer(env: gym.Env) -> str | None:
    """The ``beamforming`` the env's config holds, or ``None`` (a family without one)."""
    value = getattr(getattr(env.unwrapped, "config", None), "beamforming", None)
    return None if value is None else str(value)


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

    :param policy_specs: spec strings (``"random"``, ``"q_learning:q.npz"``,
        ``"pc_wmmse@beamforming=rzf"``) or Policy objects (labelled by their ``name`` attribute
        or class name); duplicate labels get ``#2``, ...
    :param env_id: registered env id.
    :param episodes: episodes per policy (episode ``j`` of every policy uses ``seed + j``).
    :param seed: base seed.
    :param env_kwargs: kwargs of ``gym.make`` for every row. A spec's row is built with
        ``env_kwargs | declared settings | spec overrides``
        (:func:`agents.registry.policy_env_kwargs`: a method is an association rule plus a
        beamformer, e.g. ``pc_wmmse`` runs with ``beamforming="wmmse"``); Policy objects get
        ``env_kwargs``. Every row sees the same instances (the draw does not depend on the
        beamformer), and the table says which beamformer each row used (``beams``).
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
    runs: list[tuple[Policy, gym.Env, dict[str, Any]]] = []
    beams: list[str | None] = []
    try:
        for spec in specs:
            kwargs = dict(env_kwargs or {})
            if isinstance(env_id, str):
                if isinstance(spec, str):
                    kwargs = policy_env_kwargs(spec, env_id, env_kwargs)
                env = make_env(env_id, kwargs)
                owned.append(env)
            else:
                env = env_id
            policy = make_policy(spec, env, seed) if isinstance(spec, str) else spec
            runs.append((policy, env, kwargs))
            beams.append(_beamformer(env))
        seen: dict[str, int] = {}
        results = []
        for (policy, env, kwargs), label in zip(runs, labels, strict=True):
            # A BatchPolicy runs on the native vector env built with the row's kwargs (same
            # seeds, same numbers); any other policy on the single env it was built on.
            if isinstance(env_id, str) and _why_not_batched(policy, env_id, kwargs, False) is None:
                result = evaluate(
                    policy,
                    env_id,
                    episodes,
                    seed,
                    kwargs,
                    progress=progress,
                    aggregate=aggregate,
                    label=label,
                )
            else:
                result = evaluate(
                    policy, env, episodes, seed, progress=progress, aggregate=aggregate, label=label
                )
            result.env_kwargs = kwargs
            seen[label] = seen.get(label, 0) + 1
            result.policy = label if seen[label] == 1 else f"{label}#{seen[label]}"
            results.append(result)
    finally:
        for env in owned:
            env.close()
    table = Table(results, reference=reference, beams=beams, env_kwargs=dict(env_kwargs or {}))
    if out_dir is not None:
        table.save(out_dir, plot=plot)
    if print_table:
        printer(table.to_markdown())
    return table
