"""ua_envs.graph over the registry: every id has a graph view; batched == single per graph;
edges transmitter-major; the dispatcher; the docs page."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from graph_checks import assert_batch_of, assert_same_graph, hand_channel
from gymnasium.envs.registration import registry
from torch_geometric.data import Data, HeteroData

import ua_envs
import ua_envs.graph as graph_module
from ua_envs.graph import (
    CELLFREE_EDGE,
    CELLFREE_REVERSE_EDGE,
    ENV_GRAPH_BUILDERS,
    GRAPH_BUILDERS,
    LINK_EDGE,
    REVERSE_LINK_EDGE,
    bipartite_edge_index,
    complete_edge_index,
    graph_builder,
    observation_graph,
    observation_graph_batch,
)

ENV_IDS = sorted(ua_envs.ENV_IDS)
DOC_PAGE = Path(__file__).resolve().parents[1] / "docs" / "graphs.md"
NUM_ENVS = 4


def vector_observation(env_id: str, seed: int = 0) -> dict[str, Any]:
    env = gym.make_vec(env_id, num_envs=NUM_ENVS, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=seed)
    env.close()
    return obs


def row(obs: Mapping[str, Any], i: int) -> dict[str, Any]:
    return {key: value[i] for key, value in obs.items()}


def test_every_registered_id_has_a_graph_builder() -> None:
    assert set(ENV_GRAPH_BUILDERS) == set(ua_envs.ENV_IDS)
    assert set(GRAPH_BUILDERS) == {"multicell", "cellfree", "fronthaul", "slotted"}
    for env_id, builder in ENV_GRAPH_BUILDERS.items():
        spec = registry[env_id]
        assert isinstance(spec.entry_point, str)
        assert spec.entry_point.startswith(f"ua_envs.envs.{builder.family}."), env_id
    # the public builders are the dispatcher's: test_batch_rows_equal_single_graphs covers them
    for family, name in {
        "multicell": "multicell_graph",
        "cellfree": "cellfree_graph",
        "fronthaul": "fronthaul_graph",
        "slotted": "bs_graph",
    }.items():
        assert GRAPH_BUILDERS[family].single is getattr(graph_module, name)
        assert GRAPH_BUILDERS[family].batch is getattr(graph_module, f"{name}_batch")


def test_backward_compatible_names() -> None:
    assert CELLFREE_EDGE == LINK_EDGE == ("ap", "link", "ue")
    assert CELLFREE_REVERSE_EDGE == REVERSE_LINK_EDGE == ("ue", "rev_link", "ap")
    for name in ("cellfree_graph", "cellfree_graph_batch", "bs_graph", "bs_graph_batch"):
        assert callable(getattr(graph_module, name))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_batch_rows_equal_single_graphs(env_id: str) -> None:
    """Graph i of the batched form equals the single form of row i (get_example, to_data_list),
    and the batch equals Batch.from_data_list of the singles."""
    obs = vector_observation(env_id)
    singles = [observation_graph(env_id, row(obs, i)) for i in range(NUM_ENVS)]
    assert_batch_of(observation_graph_batch(env_id, obs), singles)


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_single_env_observation_matches_vector_row(env_id: str) -> None:
    """A single env reset with seed s + i is the vector env's row i (the seeding rule): their
    graphs agree, numpy in, torch in."""
    obs = vector_observation(env_id, seed=5)
    env = gym.make(env_id)
    single_obs, _ = env.reset(seed=6)
    assert_same_graph(observation_graph(env_id, single_obs), observation_graph(env_id, row(obs, 1)))


@pytest.mark.parametrize("env_id", ENV_IDS)
def test_edges_are_transmitter_major(env_id: str) -> None:
    obs = vector_observation(env_id)
    builder = graph_builder(env_id)
    example = observation_graph(env_id, row(obs, 2))
    if not builder.heterogeneous:
        num_bs = obs["nodes"].shape[1]
        assert isinstance(example, Data)
        assert torch.equal(example.edge_index, complete_edge_index(num_bs))
        assert torch.equal(example.x, obs["nodes"][2])
        return
    assert isinstance(example, HeteroData)
    _, num_aps, num_ues, width = obs["channel"].shape
    link = example[LINK_EDGE]
    assert torch.equal(link.edge_index, bipartite_edge_index(num_aps, num_ues))
    m, k = link.edge_index
    assert torch.equal(m * num_ues + k, torch.arange(num_aps * num_ues))
    # edge e = m·K + k carries channel[m, k] and gain_db[m, k]
    assert torch.equal(link.edge_attr[:, :width], obs["channel"][2, m, k])
    assert torch.equal(link.edge_attr[:, width], obs["gain_db"][2, m, k])
    assert torch.equal(example[REVERSE_LINK_EDGE].edge_index, link.edge_index.flip(0))


HAND_LINKS = [[0, 0, 0], [1, -1, 1], [2, -2, 2], [1, 1, 10], [2, 0, 11], [3, -1, 12]]


def hand_observation(family: str) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """A 2 × 3 observation of ``family`` and its hand-computed features."""
    # N = 1: channel[m, k] = [m + k, m - k]
    channel, gain_db = hand_channel(lambda m, k: [m + k, m - k])
    if family == "multicell":
        obs = {"channel": channel, "gain_db": gain_db, "tx_power_dbm": np.array([30.0, 23.0])}
        return obs, {"ap": [[30.0], [23.0]], "ue": [[1.0]] * 3, "edge_attr": HAND_LINKS}
    if family == "fronthaul":
        obs = {
            "channel": channel,
            "gain_db": gain_db,
            "capacity_mbps": np.array([40.0, 90.0]),
            "weights": np.array([1.0, 0.5, 2.0]),
        }
        return obs, {"ap": [[40.0], [90.0]], "ue": [[1.0], [0.5], [2.0]], "edge_attr": HAND_LINKS}
    if family == "cellfree":
        support = np.array([[1, 0, 0], [0, 0, 1]], dtype=np.float32)
        obs = {
            "channel": channel,
            "gain_db": gain_db,
            "support": support,
            "ap_load": support.sum(1),
            "ue_degree": support.sum(0),
            "action_mask": np.array([0, 1, 1, 1, 1, 0, 0], dtype=np.int8),
        }
        links = [[*a, s] for a, s in zip(HAND_LINKS, support.reshape(-1).tolist(), strict=True)]
        expected = {
            "ap": [[1.0], [1.0]],
            "ue": [[1.0], [0.0], [1.0]],
            "edge_attr": links,
            "action_mask": [False, True, True, True, True, False],
            "end_mask": [False],
        }
        return obs, expected
    nodes = np.arange(12, dtype=np.float32).reshape(2, 6)
    obs = {"nodes": nodes, "arrival": np.ones(1), "action_mask": np.array([1, 0, 1])}
    expected = {
        "x": nodes.tolist(),
        "edge_index": [[0, 1], [1, 0]],
        "node_mask": [True, False],
        "noop_mask": [True],
        "arrival": [1.0],
    }
    return obs, expected


@pytest.mark.parametrize("family", sorted(GRAPH_BUILDERS))
def test_hand_built_features(family: str) -> None:
    """Features of a tiny hand-built observation equal hand-computed values, for the single
    form and for graph 1 of a batch of two (the second observation doubled where it can be)."""
    obs, expected = hand_observation(family)
    graph = observation_graph(family, obs)
    doubled = {
        key: np.stack([value, value * (1 if key in ("action_mask", "support") else 2)])
        for key, value in obs.items()
    }
    batch = observation_graph_batch(family, doubled)
    assert_same_graph(batch.get_example(0), graph)
    if family == "slotted":
        assert isinstance(graph, Data)
        for key, value in expected.items():
            assert graph[key].tolist() == value, key
        assert batch.get_example(1).x.tolist() == (2 * np.asarray(expected["x"])).tolist()
        return
    assert isinstance(graph, HeteroData)
    assert graph["ap"].x.tolist() == expected["ap"]
    assert graph["ue"].x.tolist() == expected["ue"]
    assert graph[LINK_EDGE].edge_index.tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    assert graph[LINK_EDGE].edge_attr.tolist() == expected["edge_attr"]
    assert torch.equal(graph[REVERSE_LINK_EDGE].edge_attr, graph[LINK_EDGE].edge_attr)
    if family == "cellfree":
        assert graph[LINK_EDGE].action_mask.tolist() == expected["action_mask"]
        assert graph.end_mask.tolist() == expected["end_mask"]
    second = batch.get_example(1)
    assert second[LINK_EDGE].edge_attr[:, :3].tolist() == [
        [2 * v for v in link[:3]] for link in expected["edge_attr"]
    ]
    assert torch.equal(second[LINK_EDGE].edge_index, graph[LINK_EDGE].edge_index)
    assert batch[LINK_EDGE].edge_index[:, 6:].tolist() == [[2, 2, 2, 3, 3, 3], [3, 4, 5, 3, 4, 5]]


#: family → (a key its observation needs, malformed entries: key → (value, match of the error)).
BAD_OBSERVATIONS: dict[str, tuple[str, dict[str, tuple[np.ndarray, str]]]] = {
    "multicell": (
        "tx_power_dbm",
        {
            "tx_power_dbm": (np.zeros(3), "tx_power_dbm"),
            "gain_db": (np.zeros((3, 2)), "gain_db"),
            "channel": (np.zeros((2, 3, 3)), "2N"),
        },
    ),
    "cellfree": ("support", {"ap_load": (np.zeros(3), "ap_load")}),
    "fronthaul": (
        "weights",
        {"capacity_mbps": (np.zeros(3), "capacity_mbps"), "weights": (np.zeros(2), "weights")},
    ),
}


@pytest.mark.parametrize("family", sorted(BAD_OBSERVATIONS))
def test_bad_observation_raises(family: str) -> None:
    """``<family>_graph`` raises a ValueError naming the problem: a missing key, each malformed
    entry, and a batch of observations (pointing to ``<family>_graph_batch``)."""
    builder = getattr(graph_module, f"{family}_graph")
    obs, _ = hand_observation(family)
    required, malformed = BAD_OBSERVATIONS[family]
    with pytest.raises(ValueError, match="missing"):
        builder({k: v for k, v in obs.items() if k != required})
    for key, (value, match) in malformed.items():
        with pytest.raises(ValueError, match=match):
            builder({**obs, key: value})
    with pytest.raises(ValueError, match=f"{family}_graph_batch"):
        builder({k: np.stack([v, v]) for k, v in obs.items()})


def test_dispatcher_accepts_ids_families_envs_and_registered_variants() -> None:
    assert graph_builder("MultiCellAssocBalanced-v0") is GRAPH_BUILDERS["multicell"]
    assert graph_builder("fronthaul") is GRAPH_BUILDERS["fronthaul"]
    env = gym.make("SlottedArrivalAssoc-v0")
    assert graph_builder(env) is GRAPH_BUILDERS["slotted"]
    vec = gym.make_vec("CellFreeAssoc-v0", 2, vectorization_mode="vector_entry_point")
    assert graph_builder(vec) is GRAPH_BUILDERS["cellfree"]
    variant = "TestGraphVariantCellFree-v0"
    gym.register(id=variant, entry_point="ua_envs.envs.cellfree.env:CellFreeAssocEnv")
    try:
        assert graph_builder(variant) is GRAPH_BUILDERS["cellfree"]
    finally:
        del registry[variant]
    with pytest.raises(ValueError, match="no graph view"):
        graph_builder("CartPole-v1")
    with pytest.raises(ValueError, match="no graph view"):
        graph_builder("NoSuchEnv-v0")
    with pytest.raises(ValueError, match="env id"):
        graph_builder(3)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("env_id", ENV_IDS)
def test_batch_on_cuda_equals_cpu(env_id: str) -> None:
    obs = vector_observation(env_id)
    cpu = observation_graph_batch(env_id, obs)
    cuda = observation_graph_batch(env_id, {k: v.to("cuda") for k, v in obs.items()})
    assert_same_graph(cuda.cpu(), cpu)
    example = cuda.get_example(NUM_ENVS - 1)
    assert_same_graph(example.cpu(), cpu.get_example(NUM_ENVS - 1))


def test_docs_page_contains_the_module_docstring() -> None:
    assert graph_module.__doc__ is not None
    body = graph_module.__doc__.split("\n", 1)[1].strip()
    assert body in DOC_PAGE.read_text(encoding="utf-8")
