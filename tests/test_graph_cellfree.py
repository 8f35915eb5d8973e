"""ua_envs.graph, bipartite AP–UE section: a hand-built 2-AP × 3-UE graph and batching."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from graph_checks import (
    assert_2x3_links,
    assert_batch_of,
    hand_channel,
    hetero_sage,
)

import ua_envs  # noqa: F401
from ua_envs.graph import (
    CELLFREE_EDGE,
    bipartite_edge_index,
    cellfree_graph,
    cellfree_graph_batch,
)


def hand_observation() -> dict[str, np.ndarray]:
    """2 APs, 3 UEs, N = 1: channel[m, k] = [m + k, -(m + k)], gain_db[m, k] = 10·m + k,
    links (AP 0, UE 1) and (AP 1, UE 2) chosen; END legal, link (1, 2) and (0, 1) masked."""
    channel, gain_db = hand_channel(lambda m, k: [m + k, -(m + k)])
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
    link = assert_2x3_links(data)
    assert data["ap"].num_nodes == 2 and data["ue"].num_nodes == 3
    assert data["ap"].x.tolist() == [[1.0], [1.0]]  # ap_load
    assert data["ue"].x.tolist() == [[0.0], [1.0], [1.0]]  # ue_degree
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


def test_batch_equals_from_data_list() -> None:
    """The loop-free batch of stepped observations (support and masks set) holds the single
    graphs and equals PyG's own Batch.from_data_list of them."""
    env = gym.make_vec("CellFreeAssoc-v0", 3, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    obs, *_ = env.step(torch.tensor([0, 7, 48]))
    assert_batch_of(
        cellfree_graph_batch(obs),
        [cellfree_graph({k: v[i] for k, v in obs.items()}) for i in range(3)],
    )


def test_graph_of_env_observation_runs_through_a_hetero_gnn() -> None:
    """Edge order = action order: per-edge scores line up with the action mask."""
    env = gym.make("CellFreeAssoc-v0")
    obs, _ = env.reset(seed=1)
    obs, *_ = env.step(13)  # (AP 2, UE 1)
    data = cellfree_graph(obs)
    assert data[CELLFREE_EDGE].edge_attr[13, -1] == 1.0  # support bit of edge 13
    assert not data[CELLFREE_EDGE].action_mask[13]
    out = hetero_sage(data)
    assert out["ap"].shape == (8, 8) and out["ue"].shape == (6, 8)
