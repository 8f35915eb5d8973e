"""[AttSKGS] Table 1's shape on ``MultiCellAssocBalanced-v0``, the paper's values beside ours.

``python -m agents.l2o_table --episodes 1000`` takes the four association heads of the
paper's ablation as ``l2o`` runs on ``MultiCellAssocBalanced-v0`` (each the best held-out
checkpoint of ``--steps`` training instances with ``--train-seed``, trained here unless
``--checkpoint LABEL=PATH`` gives it):

* ``AttSKGS`` — ``head=skgs encoder=attention`` (Sinkhorn-Gumbel head on the attention encoder);
* ``SKGS`` — ``head=skgs`` on [GS-GNN]'s edge-update encoder;
* ``GS`` — ``head=gs``; ``SMA`` — ``head=softmax``,

and scores each on the same instances (episode ``j`` on seed ``seed + j``), MRT, with the
paper's columns: the share of instances whose one-hot output (each UE to its highest logit)
overloads a BS, the sum rate of that output with every UE served (``overload="none"``, the
paper's "with violations"), and with the overloaded BSs' weakest UEs dropped (the env's
``overload="drop"``, the paper's "load-balanced sum-rate"); then ours after the exact
capacitated repair (``l2o``, 0 violations by construction) and after repair and one round of
local search (``l2o_refined``). The baselines ``exhaustive_feasible`` ([AttSKGS] ES),
``argmax`` (max-SINR), ``dual_decomposition`` (DA) and ``random_balanced`` (RandInt) fill the
same columns. Mean ± 95 % CI; the violation ratio in %. Kept apart from :mod:`agents.l2o`,
which the registry imports, because it uses the evaluator.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ENV_ID = "MultiCellAssocBalanced-v0"
#: [AttSKGS] Table 1 (MRT rows): violation ratio [%], sum rate with violations and
#: load-balanced sum rate [bit/s/Hz] of each head.
PAPER: dict[str, tuple[float, float, float]] = {
    "AttSKGS": (16.2, 6.54, 6.24),
    "SKGS": (18.5, 6.49, 6.01),
    "GS": (94.2, 9.32, 5.92),
    "SMA": (72.3, 5.92, 6.12),
}
#: The ablation's heads as ``l2o`` hyper-parameters.
VARIANTS: dict[str, dict[str, str]] = {
    "AttSKGS": {"head": "skgs", "encoder": "attention"},
    "SKGS": {"head": "skgs"},
    "GS": {"head": "gs"},
    "SMA": {"head": "softmax"},
}
#: Baseline rows (the paper's ES, MaxSINR, DA and RandInt).
BASELINES: tuple[str, ...] = (
    "exhaustive_feasible",
    "argmax",
    "dual_decomposition",
    "random_balanced",
)


def train_variant(label: str, out: Path, steps: int, seed: int) -> Path:
    """Train ``label``'s head (:data:`VARIANTS`) into ``out``; the best held-out checkpoint.

    The run is ``ua-envs train l2o --env MultiCellAssocBalanced-v0 --steps STEPS --seed SEED
    --eval-every STEPS/10 --eval-episodes 500 --trainer-kwargs head=... [encoder=...]``.
    """
    from agents.l2o import L2OArgs, train
    from agents.training import run_files

    args = L2OArgs(**VARIANTS[label], total_steps=steps, seed=seed)  # type: ignore[arg-type]
    train(ENV_ID, None, args, out=out, eval_every=max(1, steps // 10), eval_episodes=500)
    return run_files(out).best


def l2o_table(
    checkpoints: Mapping[str, str | Path],
    *,
    episodes: int = 1000,
    seed: int = 2_000_000_000,
) -> str:
    """The markdown table of the module docstring.

    :param checkpoints: ``label → l2o checkpoint`` for the heads to show (keys of
        :data:`PAPER` get the paper's values beside ours).
    :param episodes: instances per row.
    :param seed: seed of instance 0.
    """
    from agents.checkpoint import load_checkpoint
    from agents.evaluate import evaluate, format_stat
    from agents.l2o import REFINE_PASSES, L2OPolicy, load_scorer

    def scored(policy: Any, **kwargs: Any) -> dict[str, Any]:
        return evaluate(policy, ENV_ID, episodes, seed, kwargs).summary()

    def percent(summary: dict[str, Any]) -> str:
        stat = summary["violation"]
        return f"{100 * stat.mean:.1f} ± {100 * stat.half_width:.1f}"

    header = (
        "| method | violation ratio [%] | sum rate with violations | load-balanced sum rate "
        "(drops) | after repair | after repair + local search |"
    )
    lines = [header, "|---|---:|---:|---:|---:|---:|"]
    for label, path in checkpoints.items():
        scorer, _ = load_scorer(load_checkpoint(str(path), algorithm="l2o", env_id=ENV_ID))
        one_hot = L2OPolicy(scorer, None)
        served_all = scored(one_hot, overload="none")
        dropped = scored(one_hot)
        repaired = scored(L2OPolicy(scorer, 4))
        refined = scored(L2OPolicy(scorer, 4, refine=REFINE_PASSES))
        paper = PAPER.get(label)

        def beside(ours: str, index: int, paper: tuple[float, ...] | None = paper) -> str:
            return ours if paper is None else f"{ours} [{paper[index]:g}]"

        lines.append(
            f"| {label} | {beside(percent(dropped), 0)} | "
            f"{beside(format_stat(served_all['return']), 1)} | "
            f"{beside(format_stat(dropped['return']), 2)} | {format_stat(repaired['return'])} | "
            f"{format_stat(refined['return'])} |"
        )
    for name in BASELINES:
        served_all = scored(name, overload="none")
        dropped = scored(name)
        lines.append(
            f"| {name} | {percent(dropped)} | {format_stat(served_all['return'])} | "
            f"{format_stat(dropped['return'])} | – | – |"
        )
    lines += [
        "",
        f"{ENV_ID} (2 BSs × 4 antennas, 8 UEs, at most 4 UEs per BS, MRT), {episodes} instances "
        f"(seeds {seed} + j, the same for every row); [paper] = [AttSKGS] Table 1; mean ± 95 % "
        "CI. Violation ratio: instances whose association overloads a BS (before repair).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.l2o_table [--episodes N] [--steps N] [--checkpoint LABEL=PATH] ...``."""
    import argparse
    import sys

    import torch

    parser = argparse.ArgumentParser(
        prog="python -m agents.l2o_table", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2_000_000_000)
    parser.add_argument("--steps", type=int, default=256_000, help="training instances per head")
    parser.add_argument("--train-seed", type=int, default=0)
    parser.add_argument(
        "--checkpoint",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="use this l2o checkpoint for a head instead of training it (repeatable)",
    )
    parser.add_argument("--heads", default=",".join(VARIANTS), help="which heads, in order")
    parser.add_argument("--work-dir", default=None, help="keep the trained runs here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        given = dict(item.split("=", 1) for item in args.checkpoint if "=" in item)
        if len(given) != len(args.checkpoint):
            raise ValueError(f"--checkpoint takes LABEL=PATH, got {args.checkpoint}")
        heads = [head for head in args.heads.split(",") if head]
        unknown = sorted(set(heads) - set(VARIANTS))
        if unknown:
            raise ValueError(f"unknown head(s) {', '.join(unknown)}; valid: {', '.join(VARIANTS)}")
        with tempfile.TemporaryDirectory() as scratch:
            folder = Path(args.work_dir if args.work_dir is not None else scratch)
            folder.mkdir(parents=True, exist_ok=True)
            checkpoints: dict[str, str | Path] = {}
            for head in heads:
                if head in given:
                    checkpoints[head] = given[head]
                    continue
                print(f"l2o_table: training {head} ({args.steps:,} instances)", file=sys.stderr)
                path = folder / f"{head}.pt"
                checkpoints[head] = train_variant(head, path, args.steps, args.train_seed)
            print(l2o_table(checkpoints, episodes=args.episodes, seed=args.seed))
    except ValueError as error:
        parser.exit(2, f"python -m agents.l2o_table: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
