"""ua_envs.graph, multicell section: a hand-built 2-BS × 3-UE graph, batching, action order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch, HeteroData
from torch_geometric.nn import HeteroConv, SAGEConv

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.graph import (
    LINK_EDGE,
    REVERSE_LINK_EDGE,
    multicell_graph,
    multicell_graph_batch,
)


def hand_observation() -> dict[str, np.ndarray]:
    """2 BSs, 3 UEs, N = 1: channel[m, k] = [m + k, -(m + k)], gain_db[m, k] = 10·m + k,
    tx_power_dbm = [30, 20]."""
    channel = np.zeros((2, 3, 2), dtype=np.float32)
    gain_db = np.zeros((2, 3), dtype=np.float32)
    for m in range(2):
        for k in range(3):
            channel[m, k] = [m + k, -(m + k)]
            gain_db[m, k] = 10 * m + k
    return {
        "channel": channel,
        "gain_db": gain_db,
        "tx_power_dbm": np.array([30.0, 20.0], dtype=np.float32),
    }


def test_hand_built_graph() -> None:
    """Every tensor of the 2 × 3 graph, entry by entry (edge e = m·3 + k)."""
    data = multicell_graph(hand_observation())
    assert isinstance(data, HeteroData)
    assert data.node_types == ["ap", "ue"]
    assert data["ap"].num_nodes == 2 and data["ue"].num_nodes == 3
    assert data["ap"].x.tolist() == [[30.0], [20.0]]  # tx_power_dbm
    assert data["ue"].x.tolist() == [[1.0], [1.0], [1.0]]  # constant
    link = data[LINK_EDGE]
    assert link.edge_index.tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    # [Re h/σ, Im h/σ, gain_db] per edge
    assert link.edge_attr.tolist() == [
        [0.0, 0.0, 0.0],
        [1.0, -1.0, 1.0],
        [2.0, -2.0, 2.0],
        [1.0, -1.0, 10.0],
        [2.0, -2.0, 11.0],
        [3.0, -3.0, 12.0],
    ]
    reverse = data[REVERSE_LINK_EDGE]
    assert reverse.edge_index.tolist() == [[0, 1, 2, 0, 1, 2], [0, 0, 0, 1, 1, 1]]
    assert torch.equal(reverse.edge_attr, link.edge_attr)
    assert set(data[LINK_EDGE].keys()) == {"edge_index", "edge_attr"}  # no mask: all legal
    for tensor in (data["ap"].x, data["ue"].x, link.edge_attr):
        assert tensor.dtype == torch.float32
    data.validate(raise_on_error=True)


def test_numpy_and_torch_inputs_agree_and_features_are_copies() -> None:
    obs = hand_observation()
    torch_obs = {key: torch.from_numpy(value) for key, value in obs.items()}
    a, b = multicell_graph(obs), multicell_graph(torch_obs)
    assert torch.equal(a["ap"].x, b["ap"].x)
    assert torch.equal(a[LINK_EDGE].edge_attr, b[LINK_EDGE].edge_attr)
    b["ap"].x += 1.0
    assert torch_obs["tx_power_dbm"].tolist() == [30.0, 20.0]


def test_batch_equals_from_data_list() -> None:
    env = gym.make_vec("MultiCellAssoc-v0", 4, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=0)
    fast = multicell_graph_batch(obs)
    singles = [multicell_graph({k: v[i] for k, v in obs.items()}) for i in range(4)]
    slow = Batch.from_data_list(singles)
    assert fast.num_graphs == 4
    for store in ("ap", "ue"):
        for key in ("x", "batch", "ptr"):
            assert torch.equal(fast[store][key], slow[store][key]), (store, key)
    for edge in (LINK_EDGE, REVERSE_LINK_EDGE):
        assert set(fast[edge].keys()) == set(slow[edge].keys())
        for key in slow[edge].keys():
            assert torch.equal(fast[edge][key], slow[edge][key]), (edge, key)
    for i in range(4):
        example = fast.get_example(i)
        assert torch.equal(example[LINK_EDGE].edge_index, singles[i][LINK_EDGE].edge_index)
        assert torch.equal(example[LINK_EDGE].edge_attr, singles[i][LINK_EDGE].edge_attr)
        assert torch.equal(example["ap"].x, singles[i]["ap"].x)


def test_edge_scores_map_to_the_multidiscrete_action() -> None:
    """Scoring each edge by its gain_db column and taking s.view(B, M, K).argmax(1) is the
    'strongest BS' action; a hetero GNN runs on the batch."""
    env = gym.make_vec("MultiCellAssoc-v0", 3, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=1)
    data = multicell_graph_batch(obs)
    batch, num_bs, num_ues, width = obs["channel"].shape
    scores = data[LINK_EDGE].edge_attr[:, width]
    action = scores.view(batch, num_bs, num_ues).argmax(1)
    assert torch.equal(action, obs["gain_db"].argmax(1))
    conv = HeteroConv({LINK_EDGE: SAGEConv((-1, -1), 8), REVERSE_LINK_EDGE: SAGEConv((-1, -1), 8)})
    out = conv(data.x_dict, data.edge_index_dict)
    assert out["ap"].shape == (batch * num_bs, 8) and out["ue"].shape == (batch * num_ues, 8)


def test_bad_observation_raises() -> None:
    obs = hand_observation()
    with pytest.raises(ValueError, match="missing"):
        multicell_graph({k: v for k, v in obs.items() if k != "tx_power_dbm"})
    with pytest.raises(ValueError, match="tx_power_dbm"):
        multicell_graph({**obs, "tx_power_dbm": np.zeros(3)})
    with pytest.raises(ValueError, match="gain_db"):
        multicell_graph({**obs, "gain_db": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="2N"):
        multicell_graph({**obs, "channel": np.zeros((2, 3, 3))})
    with pytest.raises(ValueError, match="multicell_graph_batch"):
        multicell_graph({k: np.stack([v, v]) for k, v in obs.items()})
