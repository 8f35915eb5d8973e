"""Calibration of the ``grows`` preset against [GROWS] Table I's baseline column "B".

``python -m ua_envs.envs.slotted.calibration`` plays the max-SNR rule (``argmax``, the paper's
baseline B) on the 15 cells of Table I (``arrival_prob`` p in {0.5, 0.7, 1}, ``mean_demand`` D̄
in {6, 8, 10, 12, 14}) with the ``grows`` preset's kwargs (or ``--kwargs``), 300 episodes per
cell on fixed seeds, and prints per cell: the paper's B rejections per episode, ours (mean ± 95 %
CI), the paper's B utility per slot and ours, then the RMSE of the rejections over the cells.
``--fit`` searches the two calibration parameters (``rate_scale`` on a grid, for each
``max_users_per_bs`` given) and prints the best pairs.

The episodes run in one batch per cell on :class:`~ua_envs.envs.slotted.sim.SlottedSimulator`
(the engine of the native vector env), seeded with ``torch.Generator().manual_seed(seed)``; the
max-SNR rule is implemented here on the state's tensors (``ua_envs`` does not import
``agents``): the candidate BS with the best SNR, ties to the lower index, the no-op otherwise.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ua_envs.core.validation import check_int_range
from ua_envs.envs.slotted.sim import SlottedSimulator, SlottedState, make_config

__all__ = [
    "ARRIVAL_PROBS",
    "MEAN_DEMANDS",
    "PAPER_B_REJECTIONS",
    "PAPER_B_UTILITY",
    "CellResult",
    "evaluate_argmax",
    "main",
    "rejection_rmse",
]

#: Table I's arrival probabilities p and mean demands D̄.
ARRIVAL_PROBS = (0.5, 0.7, 1.0)
MEAN_DEMANDS = (6, 8, 10, 12, 14)
#: [GROWS] Table I, column B (argmax): mean user rejections per episode, keyed by (p, D̄).
PAPER_B_REJECTIONS: Mapping[tuple[float, int], float] = {
    **dict(zip([(0.5, d) for d in MEAN_DEMANDS], (0.01, 0.09, 0.26, 0.52, 0.83), strict=True)),
    **dict(zip([(0.7, d) for d in MEAN_DEMANDS], (0.26, 1.07, 2.00, 2.86, 3.62), strict=True)),
    **dict(zip([(1.0, d) for d in MEAN_DEMANDS], (3.12, 5.63, 7.32, 8.38, 9.08), strict=True)),
}
#: [GROWS] Table I, column B: "mean utility per episode", which has the magnitude of our
#: utility per slot (episode utility / T), keyed by (p, D̄).
PAPER_B_UTILITY: Mapping[tuple[float, int], float] = {
    **dict(zip([(0.5, d) for d in MEAN_DEMANDS], (2.64, 2.73, 2.76, 2.77, 2.78), strict=True)),
    **dict(zip([(0.7, d) for d in MEAN_DEMANDS], (2.86, 2.93, 2.96, 2.96, 2.95), strict=True)),
    **dict(zip([(1.0, d) for d in MEAN_DEMANDS], (3.15, 3.20, 3.21, 3.21, 3.21), strict=True)),
}
#: Seed of every cell's batch (fixed: the table is reproducible).
CALIBRATION_SEED = 2_000_000


@dataclass(frozen=True)
class CellResult:
    """argmax on one cell: means over the episodes and their 95 % CI half-widths
    (``1.96 · s / sqrt(n)``).

    :param rejections: rejected users per episode.
    :param utility_per_slot: episode log-sum utility / horizon [nats/slot].
    """

    rejections: float
    rejections_ci: float
    utility_per_slot: float
    utility_ci: float


def _argmax(state: SlottedState) -> Tensor:
    legal = state.mask[:, :-1]
    snr = torch.where(legal, state.cur_snr_db, -torch.inf)
    return torch.where(legal.any(dim=1), snr.argmax(dim=1), legal.shape[1])


def _mean_ci(x: Tensor) -> tuple[float, float]:
    x = x.double()
    half = 1.96 * float(x.std()) / math.sqrt(x.numel()) if x.numel() > 1 else 0.0
    return float(x.mean()), half


def evaluate_argmax(
    kwargs: Mapping[str, Any], episodes: int = 300, seed: int = CALIBRATION_SEED
) -> CellResult:
    """argmax's rejections and utility per slot over ``episodes`` episodes of one config.

    :param kwargs: env kwargs (``preset`` included, as ``gym.make`` takes them).
    :param episodes: episodes, played as one batch.
    :param seed: seed of the batch's generator.
    """
    episodes = check_int_range("episodes", episodes, 1)
    config = make_config(kwargs)
    sim = SlottedSimulator(config, batch_size=episodes)
    state = sim.reset(torch.Generator().manual_seed(seed))
    for _ in range(config.horizon):
        state, _, _ = sim.step(state, _argmax(state), validate=False)
    rejections = _mean_ci(state.rejections)
    utility = _mean_ci(state.episode_utility / config.horizon)
    return CellResult(rejections[0], rejections[1], utility[0], utility[1])


def table(
    kwargs: Mapping[str, Any], episodes: int = 300, seed: int = CALIBRATION_SEED
) -> dict[tuple[float, int], CellResult]:
    """:func:`evaluate_argmax` on the 15 cells of Table I (``arrival_prob``, ``mean_demand``
    set per cell over ``kwargs``)."""
    return {
        (p, d): evaluate_argmax({**kwargs, "arrival_prob": p, "mean_demand": d}, episodes, seed)
        for p in ARRIVAL_PROBS
        for d in MEAN_DEMANDS
    }


def rejection_rmse(results: Mapping[tuple[float, int], CellResult]) -> float:
    """RMSE [rejections per episode] of ``results`` against Table I's B column."""
    errors = [results[cell].rejections - PAPER_B_REJECTIONS[cell] for cell in PAPER_B_REJECTIONS]
    return math.sqrt(sum(e * e for e in errors) / len(errors))


def _print_table(results: Mapping[tuple[float, int], CellResult]) -> None:
    print("| p | D̄ | paper B rejections | ours | paper B utility/slot | ours |")
    print("|---:|---:|---:|---:|---:|---:|")
    for (p, d), r in results.items():
        print(
            f"| {p:g} | {d} | {PAPER_B_REJECTIONS[(p, d)]:.2f} | "
            f"{r.rejections:.2f} ± {r.rejections_ci:.2f} | {PAPER_B_UTILITY[(p, d)]:.2f} | "
            f"{r.utility_per_slot:.2f} ± {r.utility_ci:.2f} |"
        )
    print(f"RMSE of the rejections: {rejection_rmse(results):.2f} per episode")


def _parse_kwargs(items: Sequence[str]) -> dict[str, Any]:
    import ast

    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--kwargs entries must be KEY=VALUE, got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv: Sequence[str] | None = None) -> None:
    """The command line (module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m ua_envs.envs.slotted.calibration")
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--seed", type=int, default=CALIBRATION_SEED)
    parser.add_argument(
        "--kwargs", nargs="*", default=["preset='grows'"], help="env kwargs KEY=VALUE"
    )
    parser.add_argument("--fit", action="store_true", help="grid-search rate_scale per U_max")
    parser.add_argument("--seats", type=int, nargs="*", default=[8, 9, 10, 11])
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    kwargs = _parse_kwargs(args.kwargs)
    if args.fit:
        base = {k: v for k, v in kwargs.items() if k != "preset"}
        found = []
        for seats in args.seats:
            for i in range(25):
                scale = round(0.1 * 1.05**i, 4)
                trial = {**base, "max_users_per_bs": seats, "rate_scale": scale}
                rmse = rejection_rmse(table(trial, args.episodes, args.seed))
                found.append((rmse, seats, scale))
                print(f"max_users_per_bs={seats} rate_scale={scale}: RMSE {rmse:.3f}", flush=True)
        for rmse, seats, scale in sorted(found)[:5]:
            print(f"best: max_users_per_bs={seats} rate_scale={scale} RMSE {rmse:.3f}")
        return
    _print_table(table(kwargs, args.episodes, args.seed))


if __name__ == "__main__":
    main()
