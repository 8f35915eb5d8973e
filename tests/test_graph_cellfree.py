"""ua_envs.graph, bipartite AP–UE section: a hand-built 2-AP × 3-UE graph and batching."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, HeteroData
from torch_geometric.nn import HeteroConv, SAGEConv

import ua_envs  # noqa: F401
from ua_envs.graph import (
    CELLFREE_EDGE,
    CELLFREE_REVERSE_EDGE,
    bipartite_edge_index,
    cellfree_graph,
    cellfree_graph_batch,
)


def hand_observation() -> dict[str, np.ndarray]:
    """2 APs, 3 UEs, N = 1: channel[m, k] = [m + k, -(m + k)], gain_db[m, k] = 10·m + k,
    links (AP 0, UE 1) and (AP 1, UE 2) chosen; END legal, link (1, 2) and (0, 1) masked."""
    channel = np.zeros((2, 3, 2), dtype=np.float32)
    gain_db = np.zeros((2, 3), dtype=np.float32)
    for m in range(2):
        for k in range(3):
            channel[m, k] = [m + k, -(m + k)]
            gain_db[m, k] = 10 * m + k
    support = np.array([[0, 1, 0], [0, 0, 1]], dtype=np.float32)
    return {
        "channel": channel,
        "gain_db": gain_db,
        "support": support,
        "ap_load": support.sum(axis=1),
        "ue_degree": support.sum(axis=0),
        "action_mask": np.array([1, 0, 1, 1, 1, 0, 1], dtype=np.int8),
    }


def test_edge_index_is_transmitter_major_and_cached() -> None:
    assert bipartite_edge_index(2, 3).tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    first = bipartite_edge_index(4, 5)
    first[0, 0] = 99  # the caller gets a copy: the cache cannot be corrupted
    assert bipartite_edge_index(4, 5)[0, 0] == 0
    with pytest.raises(ValueError, match="num_aps"):
        bipartite_edge_index(0, 3)


def test_hand_built_graph() -> None:
    """Every tensor of the 2 × 3 graph, entry by entry (edge e = m·3 + k)."""
    data = cellfree_graph(hand_observation())
    assert isinstance(data, HeteroData)
    assert data["ap"].num_nodes == 2 and data["ue"].num_nodes == 3
    assert data["ap"].x.tolist() == [[1.0], [1.0]]  # ap_load
    assert data["ue"].x.tolist() == [[0.0], [1.0], [1.0]]  # ue_degree
    link = data[CELLFREE_EDGE]
    assert link.edge_index.tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    # [Re, Im, gain_db, support] per edge
    assert link.edge_attr.tolist() == [
        [0.0, 0.0, 0.0, 0.0],
        [1.0, -1.0, 1.0, 1.0],
        [2.0, -2.0, 2.0, 0.0],
        [1.0, -1.0, 10.0, 0.0],
        [2.0, -2.0, 11.0, 0.0],
        [3.0, -3.0, 12.0, 1.0],
    ]
    assert link.action_mask.tolist() == [True, False, True, True, True, False]
    assert data.end_mask.tolist() == [True]
    reverse = data[CELLFREE_REVERSE_EDGE]
    assert reverse.edge_index.tolist() == [[0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1]]
    assert torch.equal(reverse.edge_attr, link.edge_attr)
    data.validate(raise_on_error=True)


def test_batch_equals_from_data_list() -> None:
    """The loop-free batch equals PyG's own Batch.from_data_list of the single graphs."""
    env = gym.make_vec("CellFreeAssoc-v0", 3, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(torch.tensor([0, 7, 48]))
    fast = cellfree_graph_batch(obs)
    singles = [cellfree_graph({k: v[i] for k, v in obs.items()}) for i in range(3)]
    slow = Batch.from_data_list(singles)
    assert fast.num_graphs == 3
    for store in ("ap", "ue"):
        for key in ("x", "batch", "ptr"):
            assert torch.equal(fast[store][key], slow[store][key]), (store, key)
    for edge in (CELLFREE_EDGE, CELLFREE_REVERSE_EDGE):
        for key in slow[edge].keys():
            assert torch.equal(fast[edge][key], slow[edge][key]), (edge, key)
    assert torch.equal(fast.end_mask, slow.end_mask)
    for i, graph in enumerate(fast.to_data_list()):
        assert torch.equal(graph[CELLFREE_EDGE].edge_index, singles[i][CELLFREE_EDGE].edge_index)
        assert torch.equal(graph[CELLFREE_EDGE].edge_attr, singles[i][CELLFREE_EDGE].edge_attr)
        assert torch.equal(graph["ap"].x, singles[i]["ap"].x)


def test_graph_of_env_observation_runs_through_a_hetero_gnn() -> None:
    """Edge order = action order: per-edge scores line up with the action mask."""
    env = gym.make("CellFreeAssoc-v0")
    obs, _ = env.reset(seed=1)
    obs, *_ = env.step(13)  # (AP 2, UE 1)
    data = cellfree_graph(obs)
    assert data[CELLFREE_EDGE].edge_attr[13, -1] == 1.0  # support bit of edge 13
    assert not data[CELLFREE_EDGE].action_mask[13]
    conv = HeteroConv(
        {
            CELLFREE_EDGE: SAGEConv((-1, -1), 8),
            CELLFREE_REVERSE_EDGE: SAGEConv((-1, -1), 8),
        }
    )
    out = conv(data.x_dict, data.edge_index_dict)
    assert out["ap"].shape == (8, 8) and out["ue"].shape == (6, 8)


def test_bad_observation_raises() -> None:
    obs = hand_observation()
    with pytest.raises(ValueError, match="missing"):
        cellfree_graph({k: v for k, v in obs.items() if k != "support"})
    with pytest.raises(ValueError, match="ap_load"):
        cellfree_graph({**obs, "ap_load": np.zeros(3)})
    with pytest.raises(ValueError, match="cellfree_graph_batch"):
        cellfree_graph({k: np.stack([v, v]) for k, v in obs.items()})
