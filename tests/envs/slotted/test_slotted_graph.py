"""ua_envs.graph BS graph (slotted family): complete graph, features, batching."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch_geometric.data import Batch
from torch_geometric.nn import GCNConv

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.graph import bs_graph, bs_graph_batch, complete_edge_index


def test_complete_edge_index_has_every_ordered_pair_once() -> None:
    index = complete_edge_index(4)
    pairs = {tuple(p) for p in index.t().tolist()}
    assert index.shape == (2, 12) and len(pairs) == 12
    assert pairs == {(i, j) for i in range(4) for j in range(4) if i != j}
    assert complete_edge_index(1).shape == (2, 0)


def test_single_graph_carries_the_observation() -> None:
    env = gym.make("SlottedArrivalAssoc-v0", arrival_prob=1.0)
    obs, _ = env.reset(seed=0)
    graph = bs_graph(obs)
    assert torch.equal(graph.x, torch.from_numpy(obs["nodes"]))
    assert graph.node_mask.tolist() == obs["action_mask"][:3].astype(bool).tolist()
    assert graph.noop_mask.tolist() == [bool(obs["action_mask"][3])]
    assert graph.arrival.tolist() == [1.0]


def test_batch_equals_from_data_list_and_round_trips() -> None:
    envs = gym.make_vec("SlottedArrivalAssoc-v0", 5, vectorization_mode="vector_entry_point")
    obs, _ = envs.reset(seed=0)
    batch = bs_graph_batch(obs)
    reference = Batch.from_data_list(
        [bs_graph({k: v[i] for k, v in obs.items()}) for i in range(5)]
    )
    assert batch.num_graphs == 5
    for key in ("x", "edge_index", "node_mask", "noop_mask", "arrival", "batch", "ptr"):
        assert torch.equal(batch[key], reference[key]), key
    for mine, theirs in zip(batch.to_data_list(), reference.to_data_list(), strict=True):
        assert torch.equal(mine.edge_index, theirs.edge_index)
    out = GCNConv(6, 2)(batch.x, batch.edge_index)
    assert out.shape == (15, 2)


def test_bad_observations_raise() -> None:
    with pytest.raises(ValueError, match="missing"):
        bs_graph({"nodes": np.zeros((3, 6))})
    with pytest.raises(ValueError, match="nodes"):
        bs_graph({"nodes": np.zeros((3, 4)), "action_mask": np.ones(4), "arrival": np.ones(1)})
    with pytest.raises(ValueError, match="action_mask"):
        bs_graph({"nodes": np.zeros((3, 6)), "action_mask": np.ones(3), "arrival": np.ones(1)})
    with pytest.raises(ValueError, match="bs_graph_batch"):
        bs_graph(
            {
                "nodes": np.zeros((2, 3, 6)),
                "action_mask": np.ones((2, 4)),
                "arrival": np.ones((2, 1)),
            }
        )
