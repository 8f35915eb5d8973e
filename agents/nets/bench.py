"""Forward time of the dense and PyG forms of the layers: ``python -m agents.nets.bench``.

Prints a markdown table (milliseconds per forward pass, median of ``--repeats`` timed runs
after warm-up, ``torch.no_grad``) for a batch of complete graphs: ``B`` graphs of ``M`` APs and
``K`` UEs with ``F`` features on every node and link (the BS graph: ``M`` nodes). Run with one
intra-op thread on small CPUs (``OMP_NUM_THREADS=1``, set by default here).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from agents.nets.edge_node import EdgeNodeLayer
from agents.nets.egat import EGATLayer
from agents.nets.gcn import GCNLayer
from ua_envs.graph import bipartite_edge_index, complete_edge_index


def _time_ms(fn: Callable[[], object], repeats: int, device: torch.device) -> float:
    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for _ in range(3):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        sync()
        times.append(1e3 * (time.perf_counter() - start))
    return statistics.median(times)


def _batched_index(base: torch.Tensor, batch: int, offsets: tuple[int, int]) -> torch.Tensor:
    graphs = torch.arange(batch, device=base.device)
    shift = torch.stack([graphs * offsets[0], graphs * offsets[1]])  # (2, B)
    return (base.unsqueeze(1) + shift.unsqueeze(-1)).reshape(2, -1)


def run(
    batch: int = 256,
    aps: int = 8,
    ues: int = 6,
    features: int = 32,
    repeats: int = 20,
    device: str = "cpu",
) -> list[tuple[str, float, float | None]]:
    """Time each layer; return rows ``(layer, dense_ms, pyg_ms or None)`` and print the table."""
    dev = torch.device(device)
    torch.manual_seed(0)
    ap = torch.randn(batch, aps, features, device=dev)
    ue = torch.randn(batch, ues, features, device=dev)
    edge = torch.randn(batch, aps, ues, features, device=dev)
    rows: list[tuple[str, float, float | None]] = []
    with torch.no_grad():
        gcn = GCNLayer(features, features, root_weight=True, activation=torch.tanh).to(dev)
        bs_index = _batched_index(complete_edge_index(aps, dev), batch, (aps, aps))
        flat_ap = ap.reshape(batch * aps, features)
        rows.append(
            (
                "GCNLayer (BS graph, M nodes)",
                _time_ms(lambda: gcn(ap), repeats, dev),
                _time_ms(lambda: gcn.forward_pyg(flat_ap, bs_index), repeats, dev),
            )
        )
        layer = EdgeNodeLayer(features, features, features, features).to(dev)
        link_index = _batched_index(bipartite_edge_index(aps, ues, dev), batch, (aps, ues))
        flat = (flat_ap, ue.reshape(-1, features), edge.reshape(-1, features))
        rows.append(
            (
                "EdgeNodeLayer (M x K links)",
                _time_ms(lambda: layer(ap, ue, edge), repeats, dev),
                _time_ms(lambda: layer.forward_pyg(*flat, link_index), repeats, dev),
            )
        )
        egat = EGATLayer(features, features, features, head_dim=8, heads=4).to(dev)
        rows.append(
            ("EGATLayer (M x K links)", _time_ms(lambda: egat(ap, ue, edge), repeats, dev), None)
        )
    print(
        f"B={batch}, M={aps}, K={ues}, F={features}, device={dev}, "
        f"threads={torch.get_num_threads()}; ms per forward (median of {repeats})\n"
    )
    print("| layer | dense ms | PyG ms | PyG / dense |")
    print("|---|---:|---:|---:|")
    for name, dense_ms, pyg_ms in rows:
        ratio = "–" if pyg_ms is None else f"{pyg_ms / dense_ms:.1f}x"
        pyg = "–" if pyg_ms is None else f"{pyg_ms:.2f}"
        print(f"| {name} | {dense_ms:.2f} | {pyg} | {ratio} |")
    return rows


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m agents.nets.bench [--batch 256 --aps 8 --ues 6 ...]``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--aps", type=int, default=8)
    parser.add_argument("--ues", type=int, default=6)
    parser.add_argument("--features", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op CPU threads")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    run(args.batch, args.aps, args.ues, args.features, args.repeats, args.device)


if __name__ == "__main__":
    main()
