"""Sweeps: every policy at every value of one env kwarg, on the same instances, as a table and
a figure (the papers' "sum rate vs transmit power" / "vs number of UEs" plots).

``ua-envs sweep CellFreeAssoc-v0 --policies random,greedy,reinforce:pretrained --vary
tx_power_dbm=10,15,20,25,30`` evaluates every policy spec at each value with
:func:`agents.evaluate.evaluate` (episode ``j`` on seed ``seed + j`` at every point, so the
rows of one point are paired) and prints a markdown table of mean ± 95 % CI; ``--png FILE``
draws the means with their intervals. A policy that cannot run at a point (``exhaustive``
beyond its size limit) shows ``n/a`` there. Kept apart from the learners, which the registry
imports, because it uses the registry and the evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agents.episodes import Stat

#: Seed of the first sweep episode by default (no training run uses it, as the scoreboard's).
SWEEP_SEED = 2_000_000_000


@dataclass
class Sweep:
    """The result of :func:`run_sweep`.

    :param env_id: the env id.
    :param key: the varied env kwarg.
    :param values: its values, in order.
    :param policies: the policy specs, in order.
    :param stats: ``stats[spec][i]``: the episode return's :class:`~agents.episodes.Stat` (mean,
        95 % CI) at ``values[i]``, ``None`` where the policy could not run.
    :param episodes: episodes per point and policy.
    :param seed: seed of episode 0 at every point.
    :param env_kwargs: the fixed env kwargs.
    :param notes: why a policy shows ``n/a`` (its first failure), by spec.
    """

    env_id: str
    key: str
    values: list[Any]
    policies: list[str]
    stats: dict[str, list[Stat | None]]
    episodes: int
    seed: int
    env_kwargs: dict[str, Any]
    notes: dict[str, str]

    def to_markdown(self) -> str:
        """One row per value, one column per policy, then a line saying what was run."""
        from agents.evaluate import format_stat

        lines = [
            f"| {self.key} | " + " | ".join(self.policies) + " |",
            "|---:|" + "---:|" * len(self.policies),
        ]
        for index, value in enumerate(self.values):
            cells = []
            for spec in self.policies:
                stat = self.stats[spec][index]
                cells.append("n/a" if stat is None else format_stat(stat))
            lines.append(f"| {value} | " + " | ".join(cells) + " |")
        lines.append("")
        lines.append(
            f"{self.env_id} {self.env_kwargs}, mean episode return ± 95 % CI, {self.episodes} "
            f"episodes per point (seeds {self.seed} + j, the same instances for every policy)"
        )
        lines.extend(f"n/a {spec}: {why}" for spec, why in self.notes.items())
        return "\n".join(lines)

    def plot(self, path: str | Path) -> Path:
        """Draw the means with their 95 % intervals against the varied kwarg into ``path``."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6.4, 4.2))
        numeric = all(isinstance(v, (int, float)) for v in self.values)
        xs = list(self.values) if numeric else list(range(len(self.values)))
        for spec in self.policies:
            points = [(x, s) for x, s in zip(xs, self.stats[spec], strict=True) if s is not None]
            if points:
                axes.errorbar(
                    [x for x, _ in points],
                    [s.mean for _, s in points],
                    yerr=[s.half_width for _, s in points],
                    marker="o",
                    capsize=3,
                    label=spec,
                )
        if not numeric:
            axes.set_xticks(xs, [str(v) for v in self.values])
        axes.set_xlabel(self.key)
        axes.set_ylabel("mean episode return")
        axes.set_title(f"{self.env_id}: {self.episodes} episodes per point")
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
        figure.tight_layout()
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(out, dpi=100)
        plt.close(figure)
        return out


def run_sweep(
    env_id: str,
    policies: Sequence[str],
    key: str,
    values: Sequence[Any],
    *,
    episodes: int = 300,
    seed: int = SWEEP_SEED,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Sweep:
    """Evaluate every policy spec at every value of the env kwarg ``key`` (module docstring).

    :param env_id: a registered env id.
    :param policies: policy specs (``greedy``, ``reinforce:pretrained``, ``l2o:FILE.pt`` ...).
    :param key: the env kwarg to vary (``tx_power_dbm``, ``num_ues`` ...).
    :param values: its values.
    :param episodes: episodes per point and policy, ≥ 1.
    :param seed: seed of episode 0 at every point.
    :param env_kwargs: fixed env kwargs (``key`` must not be among them).
    :raises ValueError: no policy or value, an unknown policy, ``key`` also in ``env_kwargs``
        (a policy that fails at a point is ``n/a`` there, with the reason in ``notes``).
    """
    from agents.evaluate import evaluate as evaluate_policy
    from agents.registry import check_policy_spec

    fixed = dict(env_kwargs or {})
    if not policies or not values:
        raise ValueError("policies and values must each name at least one entry")
    if key in fixed:
        raise ValueError(f"{key} is varied by the sweep; remove it from env_kwargs")
    for spec in policies:
        check_policy_spec(spec, env_id)
    stats: dict[str, list[Stat | None]] = {spec: [] for spec in policies}
    notes: dict[str, str] = {}
    for value in values:
        kwargs = {**fixed, key: value}
        for spec in policies:
            try:
                result = evaluate_policy(spec, env_id, episodes, seed, kwargs)
            except ValueError as error:  # e.g. exhaustive search beyond its size limit
                stats[spec].append(None)
                notes.setdefault(spec, f"{key}={value}: {error}")
                continue
            stats[spec].append(result.summary()["return"])
    return Sweep(env_id, key, list(values), list(policies), stats, episodes, seed, fixed, notes)


def parse_vary(text: str) -> tuple[str, list[Any]]:
    """``KEY=V1,V2,...`` → ``(KEY, [values])`` (each value read like ``--env-kwargs``).

    >>> parse_vary("tx_power_dbm=10,20.5")
    ('tx_power_dbm', [10, 20.5])
    """
    key, sep, rest = text.partition("=")
    key = key.strip()
    if not sep or not key.isidentifier() or not rest.strip():
        raise ValueError(f"--vary must be KEY=V1,V2,... (e.g. tx_power_dbm=10,20,30), got {text!r}")
    from agents.values import parse_value

    return key, [parse_value(item.strip()) for item in rest.split(",")]


__all__ = ["SWEEP_SEED", "Sweep", "parse_vary", "run_sweep"]
