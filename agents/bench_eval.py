"""Episodes per second of :func:`agents.evaluate.evaluate` on the single env and batched.

``python -m agents.bench_eval`` times ``--episodes`` episodes (default 1,000) of each
batched baseline (``argmax`` on MultiCellAssoc-v0 and SlottedArrivalAssoc-v0, ``greedy`` on
CellFreeAssoc-v0, ``nearest_aps`` on FronthaulAssoc-v0) on both paths of ``evaluate``, with the
same seeds, checks that the two paths agree (returns to ``rtol=1e-5``, identical lengths), and
prints a markdown table of episodes/s and the speed-up. Each timing is the best of ``--repeats``
runs (wall clock, after one warm-up episode per path). Set ``OMP_NUM_THREADS`` (the figures in
docs/agents.md used 1).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from agents.evaluate import DEFAULT_BATCH_SIZE, Results, evaluate
from ua_envs.core.validation import check_int_range

__all__ = ["CASES", "Timing", "bench", "main", "to_markdown"]

#: ``(env id, policy spec)`` pairs timed by default.
CASES: tuple[tuple[str, str], ...] = (
    ("MultiCellAssoc-v0", "argmax"),
    ("SlottedArrivalAssoc-v0", "argmax"),
    ("CellFreeAssoc-v0", "greedy"),
    ("FronthaulAssoc-v0", "nearest_aps"),
)


@dataclass(frozen=True)
class Timing:
    """Both paths of one case.

    :param env_id: the env id.
    :param policy: the policy spec.
    :param episodes: episodes per run.
    :param batch_size: episodes per vector-env batch of the batched path.
    :param single_s: best wall time of the single path [s].
    :param batched_s: best wall time of the batched path [s].
    :param max_rel_diff: largest relative difference of the two paths' returns.
    """

    env_id: str
    policy: str
    episodes: int
    batch_size: int
    single_s: float
    batched_s: float
    max_rel_diff: float

    @property
    def single_eps(self) -> float:
        """Episodes per second of the single path."""
        return self.episodes / self.single_s

    @property
    def batched_eps(self) -> float:
        """Episodes per second of the batched path."""
        return self.episodes / self.batched_s

    @property
    def speedup(self) -> float:
        """``single_s / batched_s``."""
        return self.single_s / self.batched_s


def _best(
    env_id: str, policy: str, episodes: int, batched: bool, batch: int, repeats: int
) -> tuple[float, Results]:
    evaluate(policy, env_id, 1, 0, batched=batched, batch_size=1)  # warm-up (imports, caches)
    best, result = float("inf"), None
    for _ in range(repeats):
        started = time.perf_counter()
        result = evaluate(policy, env_id, episodes, 0, batched=batched, batch_size=batch)
        best = min(best, time.perf_counter() - started)
    assert result is not None
    return best, result


def bench(
    cases: Sequence[tuple[str, str]] = CASES,
    *,
    episodes: int = 1000,
    batch_size: int = DEFAULT_BATCH_SIZE,
    repeats: int = 1,
) -> list[Timing]:
    """Time every ``(env id, policy)`` of ``cases`` on both paths of ``evaluate``.

    :param episodes: episodes per run, ≥ 1 (seeds ``0 .. episodes - 1``).
    :param batch_size: episodes per vector-env batch, ≥ 1.
    :param repeats: runs per path; the best time counts, ≥ 1.
    :raises RuntimeError: the two paths disagree (returns beyond ``rtol=1e-5`` or lengths).
    """
    episodes = check_int_range("episodes", episodes, 1)
    batch_size = check_int_range("batch_size", batch_size, 1)
    repeats = check_int_range("repeats", repeats, 1)
    timings = []
    for env_id, policy in cases:
        size = min(batch_size, episodes)
        single_s, single = _best(env_id, policy, episodes, False, size, repeats)
        batched_s, batched = _best(env_id, policy, episodes, True, size, repeats)
        scale = np.maximum(np.abs(single.returns), 1e-12)
        rel = float(np.max(np.abs(batched.returns - single.returns) / scale))
        if rel > 1e-5 or not np.array_equal(single.lengths, batched.lengths):
            raise RuntimeError(
                f"{policy} on {env_id}: batched and single evaluation disagree "
                f"(max relative return difference {rel:.2e})"
            )
        timings.append(Timing(env_id, policy, episodes, size, single_s, batched_s, rel))
    return timings


def to_markdown(timings: Sequence[Timing]) -> str:
    """Markdown table of :func:`bench`'s timings, one row per case."""
    lines = [
        "| env | policy | episodes | batch | single ep/s | batched ep/s | speed-up "
        "| max rel. diff |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for t in timings:
        lines.append(
            f"| {t.env_id} | {t.policy} | {t.episodes} | {t.batch_size} | {t.single_eps:,.0f} | "
            f"{t.batched_eps:,.0f} | {t.speedup:.1f}x | {t.max_rel_diff:.1e} |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: ``python -m agents.bench_eval [--episodes N] [--batch-size B]
    [--repeats R] [--env ID --policy SPEC]``."""
    parser = argparse.ArgumentParser(
        prog="python -m agents.bench_eval",
        description="Episodes/s of agents.evaluate.evaluate: single env vs batched vector env.",
    )
    parser.add_argument("--episodes", type=int, default=1000, help="episodes per run (1000)")
    parser.add_argument(
        "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="episodes per vector batch"
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs per path, best counts (1)")
    parser.add_argument("--env", help="time only this env id (with --policy)")
    parser.add_argument("--policy", help="time only this policy spec (with --env)")
    args = parser.parse_args(argv)
    if (args.env is None) != (args.policy is None):
        parser.error("--env and --policy go together")
    cases = CASES if args.env is None else ((args.env, args.policy),)
    try:
        timings = bench(
            cases, episodes=args.episodes, batch_size=args.batch_size, repeats=args.repeats
        )
    except ValueError as error:
        parser.error(str(error))
    print(to_markdown(timings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
