"""ua_envs.graph, fronthaul section: a hand-built 2-AP × 3-UE graph, batching, action order."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from graph_checks import assert_2x3_links, hand_channel

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.graph import LINK_EDGE, fronthaul_graph, fronthaul_graph_batch


def hand_observation() -> dict[str, np.ndarray]:
    """2 APs, 3 UEs, N = 2: channel[m, k] = [m, k, -m, -k], gain_db[m, k] = 10·m + k,
    capacities [40, 90] Mbit/s, weights [1, 2, 0.5]."""
    channel, gain_db = hand_channel(lambda m, k: [m, k, -m, -k])
    return {
        "channel": channel,
        "gain_db": gain_db,
        "capacity_mbps": np.array([40.0, 90.0], dtype=np.float32),
        "weights": np.array([1.0, 2.0, 0.5], dtype=np.float32),
    }


def test_hand_built_graph() -> None:
    """Every tensor of the 2 × 3 graph, entry by entry (edge e = m·3 + k)."""
    data = fronthaul_graph(hand_observation())
    link = assert_2x3_links(data)
    assert data["ap"].x.tolist() == [[40.0], [90.0]]  # capacity_mbps
    assert data["ue"].x.tolist() == [[1.0], [2.0], [0.5]]  # weights
    # [Re h/σ (2), Im h/σ (2), gain_db] per edge
    assert link.edge_attr.tolist() == [
        [0.0, 0.0, -0.0, -0.0, 0.0],
        [0.0, 1.0, -0.0, -1.0, 1.0],
        [0.0, 2.0, -0.0, -2.0, 2.0],
        [1.0, 0.0, -1.0, -0.0, 10.0],
        [1.0, 1.0, -1.0, -1.0, 11.0],
        [1.0, 2.0, -1.0, -2.0, 12.0],
    ]
    assert set(link.keys()) == {"edge_index", "edge_attr"}  # no mask: every association legal


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
