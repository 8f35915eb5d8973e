"""ua_envs.graph, fronthaul section: a hand-built 2-AP × 3-UE graph, batching, action order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, HeteroData

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.graph import (
    LINK_EDGE,
    REVERSE_LINK_EDGE,
    fronthaul_graph,
    fronthaul_graph_batch,
)


def hand_observation() -> dict[str, np.ndarray]:
    """2 APs, 3 UEs, N = 2: channel[m, k] = [m, k, -m, -k], gain_db[m, k] = 10·m + k,
    capacities [40, 90] Mbit/s, weights [1, 2, 0.5]."""
    channel = np.zeros((2, 3, 4), dtype=np.float32)
    gain_db = np.zeros((2, 3), dtype=np.float32)
    for m in range(2):
        for k in range(3):
            channel[m, k] = [m, k, -m, -k]
            gain_db[m, k] = 10 * m + k
    return {
        "channel": channel,
        "gain_db": gain_db,
        "capacity_mbps": np.array([40.0, 90.0], dtype=np.float32),
        "weights": np.array([1.0, 2.0, 0.5], dtype=np.float32),
    }


def test_hand_built_graph() -> None:
    """Every tensor of the 2 × 3 graph, entry by entry (edge e = m·3 + k)."""
    data = fronthaul_graph(hand_observation())
    assert isinstance(data, HeteroData)
    assert data["ap"].x.tolist() == [[40.0], [90.0]]  # capacity_mbps
    assert data["ue"].x.tolist() == [[1.0], [2.0], [0.5]]  # weights
    link = data[LINK_EDGE]
    assert link.edge_index.tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    # [Re h/σ (2), Im h/σ (2), gain_db] per edge
    assert link.edge_attr.tolist() == [
        [0.0, 0.0, -0.0, -0.0, 0.0],
        [0.0, 1.0, -0.0, -1.0, 1.0],
        [0.0, 2.0, -0.0, -2.0, 2.0],
        [1.0, 0.0, -1.0, -0.0, 10.0],
        [1.0, 1.0, -1.0, -1.0, 11.0],
        [1.0, 2.0, -1.0, -2.0, 12.0],
    ]
    reverse = data[REVERSE_LINK_EDGE]
    assert reverse.edge_index.tolist() == [[0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1]]
    assert torch.equal(reverse.edge_attr, link.edge_attr)
    assert set(link.keys()) == {"edge_index", "edge_attr"}  # no mask: every association legal
    data.validate(raise_on_error=True)


def test_batch_equals_from_data_list() -> None:
    env = gym.make_vec("FronthaulAssoc-v0", 4, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    fast = fronthaul_graph_batch(obs)
    singles = [fronthaul_graph({k: v[i] for k, v in obs.items()}) for i in range(4)]
    slow = Batch.from_data_list(singles)
    assert fast.num_graphs == 4
    for store in ("ap", "ue"):
        for key in ("x", "batch", "ptr"):
            assert torch.equal(fast[store][key], slow[store][key]), (store, key)
    for edge in (LINK_EDGE, REVERSE_LINK_EDGE):
        for key in slow[edge].keys():
            assert torch.equal(fast[edge][key], slow[edge][key]), (edge, key)
    for i, graph in enumerate(fast.to_data_list()):
        assert torch.equal(graph["ue"].x, singles[i]["ue"].x)
        assert torch.equal(graph[LINK_EDGE].edge_attr, singles[i][LINK_EDGE].edge_attr)


def test_edges_line_up_with_the_multibinary_action() -> None:
    """Edge b·M·K + m·K + k carries gain_db[b, m, k], and env action index m·K + k is the link
    (m, k): thresholding per-edge scores gives a valid action."""
    env = gym.make_vec("FronthaulAssoc-v0", 3, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=2)
    batch, num_aps, num_ues, width = obs["channel"].shape
    data = fronthaul_graph_batch(obs)
    gain = data[LINK_EDGE].edge_attr[:, width].view(batch, num_aps * num_ues)
    assert torch.equal(gain, obs["gain_db"].reshape(batch, -1))
    assert torch.equal(data["ap"].x.view(batch, num_aps), obs["capacity_mbps"])
    assert torch.equal(data["ue"].x.view(batch, num_ues), obs["weights"])
    # the two strongest APs of each UE, chosen through the edge view
    scores = gain.view(batch, num_aps, num_ues)
    top = scores.topk(2, dim=1).indices
    action = torch.zeros(batch, num_aps, num_ues, dtype=torch.int8).scatter_(1, top, 1)
    _, _, terminated, _, info = env.step(action.reshape(batch, -1))
    assert bool(terminated.all())
    assert info["aps_per_ue"].tolist() == [[2] * num_ues] * batch


def test_bad_observation_raises() -> None:
    obs = hand_observation()
    with pytest.raises(ValueError, match="missing"):
        fronthaul_graph({k: v for k, v in obs.items() if k != "weights"})
    with pytest.raises(ValueError, match="capacity_mbps"):
        fronthaul_graph({**obs, "capacity_mbps": np.zeros(3)})
    with pytest.raises(ValueError, match="weights"):
        fronthaul_graph({**obs, "weights": np.zeros(2)})
    with pytest.raises(ValueError, match="fronthaul_graph_batch"):
        fronthaul_graph({k: np.stack([v, v]) for k, v in obs.items()})
