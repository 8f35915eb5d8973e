"""[GROWS] Table I's shape for our agents, the paper's values beside ours.

``python -m agents.grows_table --episodes 300`` plays, on each cell of Table I (arrival
probability p ∈ {0.5, 0.7, 1}, mean demand D̄ ∈ {6, 8, 10, 12, 14}) of
``SlottedArrivalAssoc-v0`` with ``preset="grows"`` (``--defaults``: the id's defaults):

* ``q_learning`` — a table trained on that cell (``--q-steps`` env steps, ``--q-seed``; the
  paper's Q column is also trained per cell);
* ``argmax`` — the paper's baseline B;
* ``grows`` — the learned agent (``--grows SPEC``, default ``grows:pretrained``: one
  checkpoint for every cell, the paper's open generalisation question);
* ``random`` and ``rollout`` (the planner: its margin over argmax is the headroom),

and prints two tables in Table I's layout — utility per slot (the paper's "mean utility per
episode" has that magnitude: episode utility / T) and rejections per episode — with the
paper's Q / B / GROWS values in brackets, every policy on the same instances (episode ``j`` on
seed ``seed + j``), mean ± 95 % CI. ``--fig4 grows=RUN.curve.csv --fig4 q_learning=...``
prints Fig. 4's shape instead (:func:`fig4_table`). Kept apart from :mod:`agents.grows`, which
the registry imports, because it uses the evaluator.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

#: Table I's cells (p, D̄) in the paper's order.
CELLS: tuple[tuple[float, int], ...] = tuple(
    (p, d) for p in (0.5, 0.7, 1.0) for d in (6, 8, 10, 12, 14)
)
#: [GROWS] Table I, (utility, rejections) per episode of Q, B and GROWS, keyed by (p, D̄).
PAPER: dict[tuple[float, int], dict[str, tuple[float, float]]] = {
    (0.5, 6): {"Q": (2.67, 0.01), "B": (2.64, 0.01), "GROWS": (2.70, 0.01)},
    (0.5, 8): {"Q": (2.81, 0.08), "B": (2.73, 0.09), "GROWS": (2.87, 0.09)},
    (0.5, 10): {"Q": (2.86, 0.24), "B": (2.76, 0.26), "GROWS": (2.80, 0.21)},
    (0.5, 12): {"Q": (2.92, 0.45), "B": (2.77, 0.52), "GROWS": (2.95, 0.48)},
    (0.5, 14): {"Q": (2.92, 0.69), "B": (2.78, 0.83), "GROWS": (2.99, 0.63)},
    (0.7, 6): {"Q": (2.94, 0.25), "B": (2.86, 0.26), "GROWS": (2.92, 0.34)},
    (0.7, 8): {"Q": (3.07, 0.99), "B": (2.93, 1.07), "GROWS": (3.08, 1.10)},
    (0.7, 10): {"Q": (3.15, 1.93), "B": (2.96, 2.00), "GROWS": (3.16, 1.77)},
    (0.7, 12): {"Q": (3.19, 2.75), "B": (2.96, 2.86), "GROWS": (3.23, 2.66)},
    (0.7, 14): {"Q": (3.20, 3.44), "B": (2.95, 3.62), "GROWS": (3.20, 3.38)},
    (1.0, 6): {"Q": (3.39, 2.86), "B": (3.15, 3.12), "GROWS": (3.24, 2.65)},
    (1.0, 8): {"Q": (3.50, 5.59), "B": (3.20, 5.63), "GROWS": (3.42, 5.35)},
    (1.0, 10): {"Q": (3.56, 7.04), "B": (3.21, 7.32), "GROWS": (3.54, 7.03)},
    (1.0, 12): {"Q": (3.57, 8.34), "B": (3.21, 8.38), "GROWS": (3.55, 8.17)},
    (1.0, 14): {"Q": (3.57, 9.15), "B": (3.21, 9.08), "GROWS": (3.52, 9.13)},
}
#: Our rows beside the paper's columns (``None``: the paper has no such column).
COLUMNS: tuple[tuple[str, str | None], ...] = (
    ("q_learning", "Q"),
    ("argmax", "B"),
    ("grows", "GROWS"),
    ("random", None),
    ("rollout", None),
)
ENV_ID = "SlottedArrivalAssoc-v0"
#: Policies whose held-out return :func:`fig4_table` prints beside the curves.
FIG4_REFERENCES: tuple[str, ...] = ("argmax", "rollout")


def parse_cells(text: str) -> list[tuple[float, int]]:
    """``"0.5:14,1:14"`` → ``[(0.5, 14), (1.0, 14)]``, each a cell of Table I.

    :raises ValueError: a malformed entry or a cell Table I does not have.
    """
    cells: list[tuple[float, int]] = []
    for entry in text.split(","):
        p_text, sep, d_text = entry.strip().partition(":")
        try:
            cell = (float(p_text), int(d_text))
        except ValueError:
            cell = None
        if not sep or cell not in PAPER:
            valid = ", ".join(f"{p:g}:{d}" for p, d in CELLS)
            raise ValueError(f"cells: {entry.strip()!r} is not a cell of Table I; valid: {valid}")
        cells.append(cell)
    return cells


def grows_tables(
    grows: str = "grows:pretrained",
    *,
    cells: Sequence[tuple[float, int]] = CELLS,
    episodes: int = 300,
    seed: int = 2_000_000_000,
    q_steps: int = 4_000_000,
    q_seed: int = 0,
    preset: str | None = "grows",
    work_dir: str | Path | None = None,
    printer: Callable[[str], None] | None = None,
) -> str:
    """The two markdown tables of the module docstring.

    :param grows: the learned policy's spec (``grows:PATH`` or ``grows:pretrained``).
    :param cells: the (p, D̄) cells (default: all 15).
    :param episodes: episodes per policy and cell.
    :param seed: seed of episode 0.
    :param q_steps: env steps of each cell's Q-learning table.
    :param q_seed: seed of those tables.
    :param preset: the env preset (``None``: the id's defaults).
    :param work_dir: where the Q tables go (``None``: a temporary directory).
    :param printer: progress notes (one line per cell).
    """
    from agents.evaluate import evaluate, format_stat
    from agents.q_learning import QLearningArgs
    from agents.q_learning import train as train_q

    base: dict[str, Any] = {} if preset is None else {"preset": preset}
    rows: dict[str, dict[tuple[float, int], tuple[str, str]]] = {n: {} for n, _ in COLUMNS}
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(work_dir if work_dir is not None else scratch)
        folder.mkdir(parents=True, exist_ok=True)
        for p, d in cells:
            kwargs = {**base, "arrival_prob": p, "mean_demand": d}
            table = folder / f"q-p{p:g}-d{d}.pt"
            train_q(kwargs, QLearningArgs(total_steps=q_steps, seed=q_seed), out=table)
            specs = {"q_learning": f"q_learning:{table}", "grows": grows}
            for name, _ in COLUMNS:
                summary = evaluate(specs.get(name, name), ENV_ID, episodes, seed, kwargs).summary()
                rows[name][(p, d)] = (
                    format_stat(summary["utility_per_slot"]),
                    format_stat(summary["rejections"]),
                )
            if printer is not None:
                printer(f"grows_table: p={p:g}, D={d} done")
    setting = f"preset={preset}" if preset is not None else "defaults"
    lines: list[str] = []
    for index, title in ((0, "Utility per slot"), (1, "Rejections per episode")):
        lines += [
            f"{title} (ours, [paper] where Table I has the column):",
            "",
            "| p | D̄ | " + " | ".join(name for name, _ in COLUMNS) + " |",
            "|---:|---:|" + "---:|" * len(COLUMNS),
        ]
        for p, d in cells:
            cells_text = []
            for name, column in COLUMNS:
                ours = rows[name][(p, d)][index]
                paper = "" if column is None else f" [{PAPER[(p, d)][column][index]:.2f}]"
                cells_text.append(ours + paper)
            lines.append(f"| {p:g} | {d} | " + " | ".join(cells_text) + " |")
        lines.append("")
    lines.append(
        f"{ENV_ID} {setting}, {episodes} episodes per cell (seeds {seed} + j, the same for every "
        f"row); q_learning trained per cell ({q_steps:,} steps, seed {q_seed}); grows = {grows} "
        "on every cell; mean ± 95 % CI."
    )
    return "\n".join(lines)


def fig4_table(
    curves: dict[str, str | Path],
    *,
    eval_episodes: int,
    env_kwargs: dict[str, Any] | None = None,
) -> str:
    """[GROWS] Fig. 4's shape: each learner's held-out return over training, normalised to
    ``random``'s on the same held-out instances (1 = random), with :data:`FIG4_REFERENCES`'
    returns (argmax, the planner) as reference lines.

    :param curves: learner name → the ``.curve.csv`` of a ``ua-envs train`` run with
        ``--eval-every`` (its ``eval_return`` rows: ``eval_episodes`` episodes on seeds
        ``10⁹ + j``, :data:`agents.training.EVAL_SEED_BASE`).
    :param eval_episodes: the runs' ``--eval-episodes`` (random is scored on those episodes).
    :param env_kwargs: the runs' env kwargs (Fig. 4: ``preset="grows"``, p = 0.5, D̄ = 14).
    :raises ValueError: a curve without evaluation rows.
    """
    import csv

    from agents.evaluate import evaluate
    from agents.training import EVAL_SEED_BASE

    kwargs = dict(env_kwargs or {})
    random_mean = float(
        evaluate("random", ENV_ID, eval_episodes, EVAL_SEED_BASE, kwargs).returns.mean()
    )
    lines = [
        f"Held-out return over training, / random's ({random_mean:.2f} on the same "
        f"{eval_episodes} episodes):",
        "",
        "| learner | step | episodes | held-out return | / random |",
        "|---|---:|---:|---:|---:|",
    ]
    for name in FIG4_REFERENCES:  # the flat lines of the figure
        value = float(evaluate(name, ENV_ID, eval_episodes, EVAL_SEED_BASE, kwargs).returns.mean())
        lines.append(f"| {name} (reference) | – | – | {value:.2f} | {value / random_mean:.3f} |")
    for name, path in curves.items():
        with open(path, newline="") as handle:
            rows = [row for row in csv.DictReader(handle) if row.get("eval_return")]
        if not rows:
            raise ValueError(
                f"curve {str(path)!r} has no eval_return rows (train with --eval-every)"
            )
        for row in rows:
            value = float(row["eval_return"])
            lines.append(
                f"| {name} | {int(float(row['step'])):,} | {int(float(row['episodes'])):,} | "
                f"{value:.2f} | {value / random_mean:.3f} |"
            )
    setting = ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"
    lines += ["", f"{ENV_ID} {setting}; held-out seeds {EVAL_SEED_BASE} + j."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.grows_table [--grows SPEC] [--episodes N] [--cells p:D,...] ...``."""
    import argparse
    import sys

    import torch

    parser = argparse.ArgumentParser(
        prog="python -m agents.grows_table", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--grows", default="grows:pretrained", help="the learned policy's spec")
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=2_000_000_000)
    parser.add_argument("--q-steps", type=int, default=4_000_000)
    parser.add_argument("--q-seed", type=int, default=0)
    parser.add_argument("--cells", default=None, help="e.g. 0.5:14,1:14 (default: all 15)")
    parser.add_argument("--defaults", action="store_true", help="the id's defaults, no preset")
    parser.add_argument("--work-dir", default=None, help="keep the Q tables here")
    parser.add_argument(
        "--fig4",
        action="append",
        metavar="NAME=CURVE_CSV",
        help="print Fig. 4's shape from these training curves instead (repeatable)",
    )
    parser.add_argument("--eval-episodes", type=int, default=200, help="the curves' (--fig4)")
    parser.add_argument("--env-kwargs", nargs="*", default=[], help="the curves' (--fig4)")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        if args.fig4:
            from agents.cli import parse_env_kwargs

            curves = dict(item.split("=", 1) for item in args.fig4 if "=" in item)
            if len(curves) != len(args.fig4):
                raise ValueError(f"--fig4 takes NAME=CURVE_CSV, got {args.fig4}")
            kwargs = parse_env_kwargs(args.env_kwargs)
            print(fig4_table(curves, eval_episodes=args.eval_episodes, env_kwargs=kwargs))
            return 0
        cells = CELLS if args.cells is None else parse_cells(args.cells)
        print(
            grows_tables(
                args.grows,
                cells=cells,
                episodes=args.episodes,
                seed=args.seed,
                q_steps=args.q_steps,
                q_seed=args.q_seed,
                preset=None if args.defaults else "grows",
                work_dir=args.work_dir,
                printer=lambda line: print(line, file=sys.stderr),
            )
        )
    except ValueError as error:
        parser.exit(2, f"python -m agents.grows_table: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
