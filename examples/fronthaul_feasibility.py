"""Feasibility of the fronthaul baselines on many instances at once ([EGAT] Table II shape).

Runs ``pc_wmmse`` (all UEs on all APs, WMMSE beams; while an AP is overloaded drop its weakest
UE and recompute) on ``--instances`` instances per capacity, batched through the native vector
env, and prints the feasibility rate, the mean weighted sum rate and the APs per UE::

    python examples/fronthaul_feasibility.py --instances 1000 --capacities 40 60 90

Instances are those of ``FronthaulAssoc-v0`` reset with ``--seed`` (sub-env i ↔ seed + i).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym
import torch

import ua_envs  # noqa: F401  (registers the ids)
from agents.baselines.fronthaul import partial_connection


def main(argv: Sequence[str] | None = None) -> dict[float, dict[str, float]]:
    """Print one line per capacity; return ``{capacity_mbps: {feasible, wsr, aps_per_ue}}``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="instances per capacity")
    parser.add_argument("--capacities", type=float, nargs="+", default=[40.0, 60.0, 90.0])
    parser.add_argument("--beamforming", default="wmmse", help="beams the env evaluates with")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results: dict[float, dict[str, float]] = {}
    for capacity in args.capacities:
        envs = gym.make_vec(
            "FronthaulAssoc-v0",
            args.instances,
            vectorization_mode="vector_entry_point",
            beamforming=args.beamforming,
            capacity_mbps=capacity,
        )
        envs.reset(seed=args.seed)
        start = time.perf_counter()
        vector: Any = envs.unwrapped  # FronthaulAssocVectorEnv: its simulator and batch state
        association = partial_connection(vector.sim, vector.state)
        _, _, _, _, infos = envs.step(association.reshape(args.instances, -1))
        info = infos["final_info"]
        results[capacity] = {
            "feasible": float(info["feasible"].float().mean()),
            "wsr": float(info["wsr"].mean()),
            "aps_per_ue": float(info["aps_per_ue"].float().mean()),
        }
        row = results[capacity]
        print(
            f"C = {capacity:g} Mbit/s: feasible {row['feasible']:.3f}, WSR {row['wsr']:.2f} "
            f"bit/s/Hz, APs per UE {row['aps_per_ue']:.2f} ({args.instances} instances, "
            f"seed {args.seed}, {time.perf_counter() - start:.0f} s)"
        )
        envs.close()
    return results


if __name__ == "__main__":
    main()
