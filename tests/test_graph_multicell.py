"""ua_envs.graph, multicell section: a hand-built 2-BS × 3-UE graph, batching, action order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from graph_checks import (
    assert_2x3_links,
    hand_channel,
    hetero_sage,
)

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.graph import LINK_EDGE, multicell_graph, multicell_graph_batch


def hand_observation() -> dict[str, np.ndarray]:
    """2 BSs, 3 UEs, N = 1: channel[m, k] = [m + k, -(m + k)], gain_db[m, k] = 10·m + k,
    tx_power_dbm = [30, 20]."""
    channel, gain_db = hand_channel(lambda m, k: [m + k, -(m + k)])
    return {
        "channel": channel,
        "gain_db": gain_db,
        "tx_power_dbm": np.array([30.0, 20.0], dtype=np.float32),
    }


def test_hand_built_graph() -> None:
    """Every tensor of the 2 × 3 graph, entry by entry (edge e = m·3 + k)."""
    data = multicell_graph(hand_observation())
    link = assert_2x3_links(data)
    assert data.node_types == ["ap", "ue"]
    assert data["ap"].num_nodes == 2 and data["ue"].num_nodes == 3
    assert data["ap"].x.tolist() == [[30.0], [20.0]]  # tx_power_dbm
    assert data["ue"].x.tolist() == [[1.0], [1.0], [1.0]]  # constant
    # [Re h/σ, Im h/σ, gain_db] per edge
    assert link.edge_attr.tolist() == [
        [0.0, 0.0, 0.0],
        [1.0, -1.0, 1.0],
        [2.0, -2.0, 2.0],
        [1.0, -1.0, 10.0],
        [2.0, -2.0, 11.0],
        [3.0, -3.0, 12.0],
    ]
    assert set(link.keys()) == {"edge_index", "edge_attr"}  # no mask: all legal
    for tensor in (data["ap"].x, data["ue"].x, link.edge_attr):
        assert tensor.dtype == torch.float32


def test_numpy_and_torch_inputs_agree_and_features_are_copies() -> None:
    obs = hand_observation()
    torch_obs = {key: torch.from_numpy(value) for key, value in obs.items()}
    a, b = multicell_graph(obs), multicell_graph(torch_obs)
    assert torch.equal(a["ap"].x, b["ap"].x)
    assert torch.equal(a[LINK_EDGE].edge_attr, b[LINK_EDGE].edge_attr)
    b["ap"].x += 1.0
    assert torch_obs["tx_power_dbm"].tolist() == [30.0, 20.0]


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
    out = hetero_sage(data)
    assert out["ap"].shape == (batch * num_bs, 8) and out["ue"].shape == (batch * num_ues, 8)
