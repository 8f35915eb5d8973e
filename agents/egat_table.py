"""[EGAT] Table II's shape for our agent, and the weighted sum rate with scaling beside the
baselines.

``python -m agents.egat_table --policy egat:pretrained --episodes 1000`` prints

1. feasibility without the scaling heuristic at ``C ∈ {40, …, 90}`` Mbit/s, the paper's EGAT
   row (Table II) beside ours;
2. the weighted sum rate with ``enforce_fronthaul="scale"`` (every association ends feasible)
   and the mean APs per UE of the learned policy (its own beams), its association alone under
   the env's beamformer (``egat_assoc``, MRT in the preset) and under WMMSE
   (``egat_assoc@beamforming=wmmse``: ``pc_wmmse``'s beamformer, so the two rows differ by the
   association only), ``pc_wmmse``, ``fc_zf``, ``nearest_aps`` and ``random`` at every C,

all under ``preset="egat"``, every policy on the same instances (episode ``j`` on seed
``seed + j``), mean ± 95 % CI. Kept apart from :mod:`agents.egat`, which the registry imports,
because it uses the evaluator.
"""

from __future__ import annotations

from collections.abc import Sequence

#: [EGAT] Table II, EGAT's feasibility without scaling, by capacity [Mbit/s].
PAPER_FEASIBILITY: dict[int, float] = {
    40: 0.912,
    50: 0.946,
    60: 0.949,
    70: 0.965,
    80: 0.983,
    90: 0.991,
}
#: The rows of the weighted-sum-rate table after the learned policy.
BASELINES: tuple[str, ...] = ("pc_wmmse", "fc_zf", "nearest_aps", "random")


def egat_tables(
    policy: str = "egat:pretrained",
    *,
    capacities: Sequence[int] = tuple(PAPER_FEASIBILITY),
    episodes: int = 1000,
    seed: int = 2_000_000_000,
) -> str:
    """The two markdown tables of the module docstring.

    :param policy: the learned policy's spec (``egat:PATH`` or ``egat:pretrained``).
    :param capacities: fronthaul capacities [Mbit/s].
    :param episodes: instances per cell.
    :param seed: seed of instance 0.
    """
    from agents.evaluate import evaluate, format_stat

    env_id = "FronthaulAssoc-v0"
    feasibility: list[str] = []
    # The association alone under the env's beamformer (MRT in the preset) and under
    # pc_wmmse's WMMSE, beside its own beams.
    association_only = policy.replace("egat:", "egat_assoc:", 1)
    names = (
        (policy, association_only, f"{association_only}@beamforming=wmmse", *BASELINES)
        if association_only != policy
        else (policy, *BASELINES)
    )
    rate_rows: dict[str, list[str]] = {name: [] for name in names}
    density: dict[str, list[str]] = {name: [] for name in names}
    for capacity in capacities:
        kwargs = {"preset": "egat", "capacity_mbps": capacity}
        plain = evaluate(policy, env_id, episodes, seed, kwargs).summary()
        feasibility.append(format_stat(plain["feasible"]))
        for name in rate_rows:
            scaled = evaluate(
                name, env_id, episodes, seed, {**kwargs, "enforce_fronthaul": "scale"}
            ).summary()
            rate_rows[name].append(format_stat(scaled["wsr"]))
            density[name].append(f"{scaled['aps_per_ue'].mean:.2f}")
    header = "| | " + " | ".join(f"C = {c}" for c in capacities) + " |"
    rule = "|---|" + "---:|" * len(capacities)
    paper = [f"{PAPER_FEASIBILITY[c]:.3f}" if c in PAPER_FEASIBILITY else "–" for c in capacities]
    lines = [
        "Feasibility without scaling (share of instances with every AP within capacity):",
        "",
        header,
        rule,
        "| [EGAT] Table II, EGAT | " + " | ".join(paper) + " |",
        f"| {policy} | " + " | ".join(feasibility) + " |",
        "",
        "Weighted sum rate [bit/s/Hz] with the scaling heuristic (APs per UE in brackets):",
        "",
        header,
        rule,
    ]
    for name in rate_rows:
        cells = [f"{r} ({d})" for r, d in zip(rate_rows[name], density[name], strict=True)]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{env_id} preset=egat, {episodes} instances per cell (seeds {seed} + j, the same "
        "for every row), mean ± 95 % CI."
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.egat_table [--policy SPEC] [--episodes N] [--seed S]``."""
    import argparse

    import torch

    parser = argparse.ArgumentParser(
        prog="python -m agents.egat_table", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--policy", default="egat:pretrained", help="the learned policy's spec")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2_000_000_000)
    parser.add_argument(
        "--capacities", default="40,50,60,70,80,90", help="comma-separated C [Mbit/s]"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        capacities = [int(c) for c in args.capacities.split(",")]
        print(
            egat_tables(args.policy, capacities=capacities, episodes=args.episodes, seed=args.seed)
        )
    except ValueError as error:
        parser.exit(2, f"python -m agents.egat_table: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
