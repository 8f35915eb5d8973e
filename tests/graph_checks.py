"""Checks shared by the graph-view tests (tests/test_graph_*.py): hand-built 2 × 3 channels,
graph equality, the bipartite link layout, batches against ``Batch.from_data_list`` and a
hetero GNN pass."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch_geometric.data import Batch, Data, HeteroData
from torch_geometric.nn import HeteroConv, SAGEConv

from ua_envs.graph import LINK_EDGE, REVERSE_LINK_EDGE


def hand_channel(entry: Callable[[int, int], list[int]]) -> tuple[np.ndarray, np.ndarray]:
    """2 transmitters × 3 UEs: channel[m, k] = entry(m, k), gain_db[m, k] = 10·m + k (float32)."""
    m, k = np.meshgrid(np.arange(2), np.arange(3), indexing="ij")
    channel = np.array([[entry(i, j) for j in range(3)] for i in range(2)], dtype=np.float32)
    return channel, (10 * m + k).astype(np.float32)


def assert_same_graph(a: HeteroData | Data, b: HeteroData | Data) -> None:
    """Same stores, same keys, equal tensors (values, dtypes, shapes)."""

    def check(x: Mapping[str, Any], y: Mapping[str, Any], where: str) -> None:
        assert set(x) == set(y), where
        for key in x:
            if isinstance(x[key], Mapping):
                check(x[key], y[key], f"{where}/{key}")
            else:
                assert x[key].dtype == y[key].dtype, (where, key)
                assert torch.equal(x[key], y[key]), (where, key)

    check(a.to_dict(), b.to_dict(), "graph")


def assert_2x3_links(data: HeteroData) -> Any:
    """A 2 × 3 hetero graph: transmitter-major links (edge e = m·3 + k), reverse links with the
    same features, a valid graph. Returns the link store."""
    assert isinstance(data, HeteroData)
    link = data[LINK_EDGE]
    assert link.edge_index.tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    reverse = data[REVERSE_LINK_EDGE]
    assert reverse.edge_index.tolist() == [[0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1]]
    assert torch.equal(reverse.edge_attr, link.edge_attr)
    data.validate(raise_on_error=True)
    return link


def assert_batch_of(batch: Batch, singles: list[HeteroData | Data]) -> None:
    """The batched form holds the single graphs: graph i (get_example, to_data_list) equals
    single i, and the batch equals PyG's own Batch.from_data_list of the singles."""
    assert isinstance(batch, Batch) and batch.num_graphs == len(singles)
    for i, single in enumerate(singles):
        assert_same_graph(batch.get_example(i), single)
    for mine, single in zip(batch.to_data_list(), singles, strict=True):
        assert_same_graph(mine, single)
    assert_same_graph(batch, Batch.from_data_list(singles))


def hetero_sage(data: HeteroData) -> dict[str, torch.Tensor]:
    """One HeteroConv of SAGEConv layers (8 channels) over the links both ways."""
    conv = HeteroConv({LINK_EDGE: SAGEConv((-1, -1), 8), REVERSE_LINK_EDGE: SAGEConv((-1, -1), 8)})
    return conv(data.x_dict, data.edge_index_dict)
