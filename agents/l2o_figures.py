"""The [GS-GNN] Fig. 4 shape for any policies: sum rate against the number of UEs.

``python -m agents.l2o_figures sweep --policies argmax,l2o:pretrained,exhaustive --ues 4,6,8``
evaluates every policy spec at each number of UEs on the same instances (kept apart from
:mod:`agents.l2o`, which the registry imports, because it uses the registry and evaluator).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch


def sweep_ues(
    policies: list[str],
    ues: list[int],
    *,
    env_id: str = "MultiCellAssoc-v0",
    episodes: int = 300,
    seed: int = 2_000_000_000,
    env_kwargs: Mapping[str, Any] | None = None,
) -> str:
    """Markdown table: mean sum rate ± 95 % CI of every policy spec for each number of UEs
    (the shape of [GS-GNN] Fig. 4), all on the same instances per K. A policy that cannot run
    at some K (``exhaustive`` beyond K = 10) shows ``n/a`` there.

    :param policies: policy specs (``argmax``, ``l2o:pretrained``, ``l2o:gs.pt``,
        ``exhaustive`` ...).
    :param ues: the numbers of UEs K.
    :raises ValueError: an empty list, or an unknown policy.
    """
    from agents.evaluate import evaluate as evaluate_policy
    from agents.evaluate import format_stat
    from agents.registry import check_policy_spec

    if not policies or not ues:
        raise ValueError("policies and ues must each name at least one value")
    for spec in policies:
        check_policy_spec(spec, env_id)
    lines = [
        "| K | " + " | ".join(policies) + " |",
        "|---:|" + "---:|" * len(policies),
    ]
    for num_ues in ues:
        kwargs = {**dict(env_kwargs or {}), "num_ues": num_ues}
        cells = []
        for spec in policies:
            try:
                result = evaluate_policy(spec, env_id, episodes, seed, kwargs)
            except ValueError:  # e.g. exhaustive search beyond its size limit
                cells.append("n/a")
                continue
            cells.append(format_stat(result.summary()["return"]))
        lines.append(f"| {num_ues} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        f"{env_id} {dict(env_kwargs or {})}, sum rate [bit/s/Hz], {episodes} instances per K "
        f"(seeds {seed} + j), mean ± 95 % CI"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.l2o_figures sweep --policies A,B --ues 4,6,8``: :func:`sweep_ues`."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m agents.l2o_figures", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sweep = sub.add_parser("sweep", help="sum rate against the number of UEs ([GS-GNN] Fig. 4)")
    sweep.add_argument("--env", default="MultiCellAssoc-v0")
    sweep.add_argument(
        "--policies", default="argmax,l2o:pretrained,exhaustive", help="comma-separated specs"
    )
    sweep.add_argument("--ues", default="4,6,8,10,12", help="comma-separated numbers of UEs")
    sweep.add_argument("--episodes", type=int, default=300)
    sweep.add_argument("--seed", type=int, default=2_000_000_000)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    try:
        ues = [int(value) for value in args.ues.split(",")]
        print(
            sweep_ues(
                args.policies.split(","),
                ues,
                env_id=args.env,
                episodes=args.episodes,
                seed=args.seed,
            )
        )
    except ValueError as error:
        parser.exit(2, f"python -m agents.l2o_figures: error: {error}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
