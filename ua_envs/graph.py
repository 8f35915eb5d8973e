"""Graph views of observations for GNN agents (torch_geometric).

## Overview

Every registered env's observation has a graph view: one builder for a single observation
(numpy or torch dict → PyG ``HeteroData`` / ``Data``) and one for a batched observation of the
native vector env (leading batch dim ``B``, torch tensors on any device → one PyG ``Batch``).
The batched builders make no Python loop over graphs: the edge index of one graph is cached per
size and device, and the ``B`` copies come from one broadcast add of per-graph node offsets.
Each batch equals ``Batch.from_data_list`` of the single graphs (same tensors, ``batch`` /
``ptr``, ``get_example(i)`` and ``to_data_list()``). A learner that handles every env the same
way calls the dispatcher:

| function | returns |
|---|---|
| ``observation_graph(env, observation)`` | the graph of one observation |
| ``observation_graph_batch(env, observation)`` | the ``Batch`` of a vector-env observation |
| ``graph_builder(env)`` | the family's ``GraphBuilder`` (``single``, ``batch``) |

``env`` is a registered id (``ENV_GRAPH_BUILDERS`` maps every id of ``ua_envs.ENV_IDS``), a
family name (``GRAPH_BUILDERS``: ``"multicell"``, ``"cellfree"``, ``"fronthaul"``,
``"slotted"``), any other id registered with a ``ua_envs.envs.<family>`` entry point, or an env
/ vector env (its ``spec.id``).

## Conventions

* **Bipartite families** (multicell, cellfree, fronthaul) give a ``HeteroData`` with node types
  ``"ap"`` (the ``M`` transmitters: the BSs of MultiCellAssoc, the APs of the cell-free
  families; ``TX_NODE``) and ``"ue"`` (the ``K`` UEs; ``UE_NODE``), the edge type
  ``("ap", "link", "ue")`` (``LINK_EDGE``) over all ``M·K`` pairs and its reverse
  ``("ue", "rev_link", "ap")`` (``REVERSE_LINK_EDGE``, the name PyG's ``ToUndirected`` gives it)
  with the same ``edge_attr``. One GNN encoder therefore fits all three families; only the
  feature widths differ.
* **Edge order is transmitter-major**: link edge ``e = m·K + k`` joins transmitter ``m`` and
  UE ``k`` (``bipartite_edge_index``), the flat action index of CellFreeAssoc-v0 (END is action
  ``M·K``) and FronthaulAssoc-v0. MultiCellAssoc's action is per UE: with per-edge scores
  ``s`` ``(B·M·K,)``, ``s.view(B, M, K).argmax(1)`` is the action ``(B, K)`` and
  ``s.view(B, M, K).transpose(1, 2)`` the ``(B, K, M)`` logits of its ``MultiDiscrete``.
* ``edge_attr`` always starts with the ``2N`` channel entries, then ``gain_db``; families add
  columns after them. Node features ``x`` are 2-D float32 even with one feature.
* In a ``Batch``, graph ``b``'s nodes and edges are contiguous (transmitter ``b·M + m``, UE
  ``b·K + k``, link ``b·M·K + e``), so ``view(B, ...)`` lines up with the vector env's actions.
  Graph-level attributes have one row per graph.
* Features are float32 copies (never views of the observation) on the device of the
  observation's first key (``channel`` / ``nodes``); masks are bool.
* Units: ``h_{m,k}`` is the ``N``-vector channel [amplitude gain], ``σ_k²`` UE k's noise power
  [W], so ``h/σ`` is in W^-1/2 and ``gain_db = 10 log10(‖h_{m,k}‖²/σ_k²)`` in dB re 1/W: the
  receive SNR of UE k served alone by transmitter m at power P is
  ``gain_db + P_dBm − 30`` [dB]. ``gain_db`` reads −300 for a zero channel.

## Feature tables

In the bipartite tables ``ap`` = ``data["ap"]``, ``ue`` = ``data["ue"]``, ``link`` =
``data[LINK_EDGE]``, ``rev`` = ``data[REVERSE_LINK_EDGE]`` and ``N`` is the antennas per
transmitter.

### MultiCellAssoc-v0, MultiCellAssocBalanced-v0: ``multicell_graph``

| store | feature | shape | meaning | unit |
|---|---|---|---|---|
| ``ap.x`` | ``tx_power_dbm`` | ``(M, 1)`` | BS transmit power | dBm |
| ``ue.x`` | constant | ``(K, 1)`` | 1 (the observation has no per-UE entry) | – |
| ``link.edge_attr[:, :N]`` | ``Re h/σ`` | ``(M·K, N)`` | real part of ``h_{m,k}/σ_k`` | W^-1/2 |
| ``link.edge_attr[:, N:2N]`` | ``Im h/σ`` | ``(M·K, N)`` | imaginary part | W^-1/2 |
| ``link.edge_attr[:, 2N]`` | ``gain_db`` | ``(M·K,)`` | ``10 log10(‖h‖²/σ²)`` | dB re 1/W |
| ``rev.edge_attr`` | the same | ``(M·K, 2N+1)`` | link ``e`` reversed | – |

Every action is legal (no mask in the graph).

### CellFreeAssoc-v0: ``cellfree_graph``

| store | feature | shape | meaning | unit |
|---|---|---|---|---|
| ``ap.x`` | ``ap_load`` | ``(M, 1)`` | UEs the AP serves | UEs |
| ``ue.x`` | ``ue_degree`` | ``(K, 1)`` | APs serving the UE | APs |
| ``link.edge_attr[:, :2N]`` | ``Re h/σ``, ``Im h/σ`` | ``(M·K, 2N)`` | ``h_{m,k}/σ_k`` | W^-1/2 |
| ``link.edge_attr[:, 2N]`` | ``gain_db`` | ``(M·K,)`` | ``10 log10(‖h‖²/σ²)`` | dB re 1/W |
| ``link.edge_attr[:, 2N+1]`` | ``support`` | ``(M·K,)`` | 1 if the link is chosen | {0, 1} |
| ``link.action_mask`` | mask | ``(M·K,)`` bool | link action ``e`` is legal | – |
| ``rev.edge_attr`` | the same | ``(M·K, 2N+2)`` | link ``e`` reversed | – |
| ``data.end_mask`` | mask | ``(1,)`` bool | END (action ``M·K``) is legal | – |

### FronthaulAssoc-v0: ``fronthaul_graph``

| store | feature | shape | meaning | unit |
|---|---|---|---|---|
| ``ap.x`` | ``capacity_mbps`` | ``(M, 1)`` | fronthaul capacity ``C_m`` | Mbit/s |
| ``ue.x`` | ``weights`` | ``(K, 1)`` | UE weight ``w_k`` in the weighted sum rate | – |
| ``link.edge_attr[:, :2N]`` | ``Re h/σ``, ``Im h/σ`` | ``(M·K, 2N)`` | ``h_{m,k}/σ_k`` | W^-1/2 |
| ``link.edge_attr[:, 2N]`` | ``gain_db`` | ``(M·K,)`` | ``10 log10(‖h‖²/σ²)`` | dB re 1/W |
| ``rev.edge_attr`` | the same | ``(M·K, 2N+1)`` | link ``e`` reversed | – |

Every association is legal; per-edge scores ``s.view(B, M·K)`` are the Bernoulli logits of the
``MultiBinary(M·K)`` action.

### SlottedArrivalAssoc-v0: ``bs_graph``

A homogeneous ``Data``: the fully connected BS graph of [GROWS], a directed edge ``i → j`` for
every ordered pair ``i ≠ j``, source-major (``complete_edge_index``; GCN layers add self-loops
themselves).

| store | feature | shape | meaning | unit |
|---|---|---|---|---|
| ``data.x[:, 0]`` | users | ``(M,)`` | users at the BS / ``max_users_per_bs`` | – |
| ``data.x[:, 1]`` | utility | ``(M,)`` | mean next-slot utility of its users | nats |
| ``data.x[:, 2]`` | rate | ``(M,)`` | new user's rate/``max_rate`` (0: none) | – |
| ``data.x[:, 3]`` | demand | ``(M,)`` | new user's demand/(mean + spread) (0: none) | – |
| ``data.x[:, 4]`` | candidate | ``(M,)`` | 1 if the BS is a candidate | {0, 1} |
| ``data.x[:, 5]`` | mean utility | ``(M,)`` | its log-sum utility per slot so far | nats/slot |
| ``data.edge_index`` | edges | ``(2, M(M−1))`` | complete directed graph | – |
| ``data.node_mask`` | mask | ``(M,)`` bool | "associate here" (action ``n``) is legal | – |
| ``data.noop_mask`` | mask | ``(1,)`` bool | the no-op (action ``M``) is legal | – |
| ``data.arrival`` | arrival | ``(1,)`` | 1 if a user arrives | {0, 1} |

Per-node Q-values ``q.view(B, M)`` read "associate here", a graph readout the no-op
(docs/model.md §6).

## Example

```python
>>> import gymnasium as gym
>>> import ua_envs  # registers the ids
>>> from ua_envs.graph import LINK_EDGE, observation_graph, observation_graph_batch
>>> env = gym.make("MultiCellAssoc-v0")  # M = 2 BSs, K = 8 UEs, N = 4 antennas
>>> obs, _ = env.reset(seed=0)
>>> graph = observation_graph("MultiCellAssoc-v0", obs)
>>> tuple(graph["ap"].x.shape), tuple(graph["ue"].x.shape), tuple(graph[LINK_EDGE].edge_attr.shape)
((2, 1), (8, 1), (16, 9))
>>> envs = gym.make_vec("FronthaulAssoc-v0", num_envs=3, vectorization_mode="vector_entry_point")
>>> obs, _ = envs.reset(seed=0)
>>> batch = observation_graph_batch(envs, obs)  # M = 8 APs, K = 4 UEs, N = 2 antennas
>>> batch.num_graphs, tuple(batch[LINK_EDGE].edge_attr.shape), tuple(batch["ap"].x.shape)
(3, (96, 5), (24, 1))

```
"""

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch_geometric.data import Batch, Data, HeteroData

from ua_envs.core.validation import as_tensor, check_int_range

# ---- shared helpers ----------------------------------------------------------------------------


def _required_tensors(
    observation: Mapping[str, Any], env_name: str, required: tuple[str, ...]
) -> dict[str, Tensor]:
    """The ``required`` entries of an ``env_name`` observation as tensors (``ValueError`` if any
    is missing)."""
    missing = [key for key in required if key not in observation]
    if missing:
        raise ValueError(
            f"observation must be a {env_name} observation with keys {required}, missing {missing}"
        )
    return {key: as_tensor(key, observation[key]) for key in required}


def _match_shapes(
    out: dict[str, Tensor], lead: str, expected: Mapping[str, tuple[int, ...]]
) -> None:
    """Check ``out[key].shape == expected[key]`` (shapes implied by ``out[lead]``) and move each
    such entry to ``out[lead]``'s device, in place."""
    for key, shape in expected.items():
        if tuple(out[key].shape) != shape:
            raise ValueError(
                f"observation[{key!r}] must have shape {shape} to match {lead} "
                f"{tuple(out[lead].shape)}, got {tuple(out[key].shape)}"
            )
        out[key] = out[key].to(out[lead].device)


def _f32(tensor: Tensor, *shape: int) -> Tensor:
    """``tensor`` as a fresh float32 tensor of ``shape`` (never a view of the observation)."""
    return tensor.to(torch.float32, copy=True).reshape(shape)


def _check_single(obs: dict[str, Tensor], lead: str, name: str) -> None:
    if obs[lead].shape[0] != 1:
        raise ValueError(f"{name} takes one observation; use {name}_batch")


# ---- bipartite transmitter–UE graphs (multicell, cellfree, fronthaul) ---------------------------

#: Node type of the ``M`` transmitters (BSs or APs) in every bipartite graph.
TX_NODE = "ap"
#: Node type of the ``K`` UEs in every bipartite graph.
UE_NODE = "ue"
#: Edge type transmitter → UE; edge ``e = m·K + k``.
LINK_EDGE = (TX_NODE, "link", UE_NODE)
#: Edge type UE → transmitter (same edges, flipped; same ``edge_attr``).
REVERSE_LINK_EDGE = (UE_NODE, "rev_link", TX_NODE)
#: The cell-free names of :data:`LINK_EDGE` and :data:`REVERSE_LINK_EDGE` (kept for old code).
CELLFREE_EDGE = LINK_EDGE
CELLFREE_REVERSE_EDGE = REVERSE_LINK_EDGE


@functools.lru_cache(maxsize=64)
def _bipartite_edge_index_cached(num_aps: int, num_ues: int, device: torch.device) -> Tensor:
    """Cached ``(2, M·K)`` index on ``device``; callers must not modify it."""
    ap = torch.arange(num_aps).repeat_interleave(num_ues)
    ue = torch.arange(num_ues).repeat(num_aps)
    return torch.stack([ap, ue]).to(device)


def bipartite_edge_index(
    num_aps: int, num_ues: int, device: torch.device | str | None = None
) -> Tensor:
    """Edge index ``(2, M·K)`` int64 of the complete bipartite transmitter–UE graph.

    Row 0 holds the transmitter (AP/BS) index ``m``, row 1 the UE index ``k``; edge
    ``e = m·K + k`` (transmitter-major, the order of the flat link actions of
    ``CellFreeAssoc-v0`` and ``FronthaulAssoc-v0``). Cached per ``(M, K, device)``; the caller
    gets a fresh copy.

    >>> bipartite_edge_index(2, 3).tolist()
    [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    """
    num_aps = check_int_range("num_aps", num_aps, 1)
    num_ues = check_int_range("num_ues", num_ues, 1)
    target = torch.device("cpu") if device is None else torch.device(device)
    return _bipartite_edge_index_cached(num_aps, num_ues, target).clone()


def _bipartite_tensors(
    observation: Mapping[str, Any],
    env_name: str,
    required: tuple[str, ...],
    shapes: Callable[[int, int, int], dict[str, tuple[int, ...]]],
) -> dict[str, Tensor]:
    """The ``required`` entries (``channel`` first) as batched tensors ``(B, ...)``, validated:
    ``gain_db`` must be ``(B, M, K)`` and the others ``shapes(B, M, K)``."""
    out = _required_tensors(observation, env_name, required)
    channel = out["channel"]
    if channel.dim() not in (3, 4):
        raise ValueError(
            f"observation['channel'] must have shape (M, K, 2N) or (B, M, K, 2N), "
            f"got {tuple(channel.shape)}"
        )
    if channel.dim() == 3:
        out = {key: value.unsqueeze(0) for key, value in out.items()}
    batch, num_aps, num_ues, width = out["channel"].shape
    expected = {"gain_db": (batch, num_aps, num_ues), **shapes(batch, num_aps, num_ues)}
    _match_shapes(out, "channel", expected)
    if width % 2:
        raise ValueError(f"observation['channel'] last dim must be 2N (even), got {width}")
    return out


@dataclass
class _BipartiteParts:
    """Features of ``B`` bipartite graphs, stacked graph-major."""

    ap_x: Tensor  # (B·M, F_ap)
    ue_x: Tensor  # (B·K, F_ue)
    edge_attr: Tensor  # (B·M·K, D)
    link: dict[str, Tensor] = field(default_factory=dict)  # more per-link attributes (B·M·K, …)
    graph: dict[str, Tensor] = field(default_factory=dict)  # per-graph attributes (B, …)


def _link_features(obs: dict[str, Tensor], *extra: Tensor) -> Tensor:
    """``[channel (2N), gain_db, *extra]`` per link: ``(B·M·K, 2N + 1 + len(extra))`` float32."""
    batch, num_aps, num_ues, width = obs["channel"].shape
    columns = [obs["channel"].to(torch.float32), obs["gain_db"].to(torch.float32).unsqueeze(-1)]
    columns += [value.to(torch.float32).unsqueeze(-1) for value in extra]
    return torch.cat(columns, dim=-1).reshape(batch * num_aps * num_ues, width + 1 + len(extra))


_Hetero = TypeVar("_Hetero", HeteroData, Batch)


def _fill_bipartite(data: _Hetero, parts: _BipartiteParts, edge_index: Tensor) -> _Hetero:
    """Store ``parts`` and ``edge_index`` (and its reverse) in ``data``, in place; return it."""
    data[TX_NODE].x = parts.ap_x
    data[UE_NODE].x = parts.ue_x
    data[LINK_EDGE].edge_index = edge_index
    data[LINK_EDGE].edge_attr = parts.edge_attr
    for key, value in parts.link.items():
        data[LINK_EDGE][key] = value
    data[REVERSE_LINK_EDGE].edge_index = edge_index.flip(0)
    data[REVERSE_LINK_EDGE].edge_attr = parts.edge_attr
    for key, value in parts.graph.items():
        data[key] = value
    return data


def _bipartite_graph(obs: dict[str, Tensor], parts: _BipartiteParts) -> HeteroData:
    """One graph (``B = 1``) from its parts."""
    _, num_aps, num_ues, _ = obs["channel"].shape
    edge_index = bipartite_edge_index(num_aps, num_ues, obs["channel"].device)
    return _fill_bipartite(HeteroData(), parts, edge_index)


def _bipartite_batch(obs: dict[str, Tensor], parts: _BipartiteParts) -> Batch:
    """``B`` graphs as one ``Batch`` equal to ``Batch.from_data_list``, without a loop: the
    cached ``(2, M·K)`` index plus per-graph offsets ``(b·M, b·K)``."""
    batch, num_aps, num_ues, _ = obs["channel"].shape
    device = obs["channel"].device
    num_edges = num_aps * num_ues
    base = _bipartite_edge_index_cached(num_aps, num_ues, device)  # (2, E), read only
    graphs = torch.arange(batch, device=device)
    offsets = torch.stack([graphs * num_aps, graphs * num_ues])  # (2, B)
    edge_index = (base.unsqueeze(1) + offsets.unsqueeze(-1)).reshape(2, batch * num_edges)

    data = _fill_bipartite(Batch(_base_cls=HeteroData), parts, edge_index)
    data[TX_NODE].batch = graphs.repeat_interleave(num_aps)
    data[TX_NODE].ptr = graphs.new_tensor(range(0, (batch + 1) * num_aps, num_aps))
    data[UE_NODE].batch = graphs.repeat_interleave(num_ues)
    data[UE_NODE].ptr = graphs.new_tensor(range(0, (batch + 1) * num_ues, num_ues))

    # Bookkeeping that Batch.from_data_list would create, so to_data_list()/get_example() work.
    cpu = torch.arange(batch + 1)
    edge_slices = cpu * num_edges
    zeros = torch.zeros(batch, dtype=torch.long)
    link_inc = torch.stack([cpu[:-1] * num_aps, cpu[:-1] * num_ues], dim=1).unsqueeze(-1)
    data._num_graphs = batch
    data._slice_dict = {
        **{key: cpu for key in parts.graph},
        TX_NODE: {"x": cpu * num_aps},
        UE_NODE: {"x": cpu * num_ues},
        LINK_EDGE: {
            "edge_index": edge_slices,
            "edge_attr": edge_slices,
            **{key: edge_slices for key in parts.link},
        },
        REVERSE_LINK_EDGE: {"edge_index": edge_slices, "edge_attr": edge_slices},
    }
    data._inc_dict = {
        **{key: zeros for key in parts.graph},
        TX_NODE: {"x": zeros},
        UE_NODE: {"x": zeros},
        LINK_EDGE: {
            "edge_index": link_inc,
            "edge_attr": zeros,
            **{key: zeros for key in parts.link},
        },
        REVERSE_LINK_EDGE: {"edge_index": link_inc.flip(1), "edge_attr": zeros},
    }
    return data


# ---- multicell (MultiCellAssoc-v0, MultiCellAssocBalanced-v0) -----------------------------------


def _multicell_tensors(observation: Mapping[str, Any]) -> dict[str, Tensor]:
    return _bipartite_tensors(
        observation,
        "MultiCellAssoc",
        ("channel", "gain_db", "tx_power_dbm"),
        lambda b, m, k: {"tx_power_dbm": (b, m)},
    )


def _multicell_parts(obs: dict[str, Tensor]) -> _BipartiteParts:
    batch, num_bs, num_ues, _ = obs["channel"].shape
    return _BipartiteParts(
        ap_x=_f32(obs["tx_power_dbm"], batch * num_bs, 1),
        ue_x=torch.ones(batch * num_ues, 1, device=obs["channel"].device),
        edge_attr=_link_features(obs),
    )


def multicell_graph(observation: Mapping[str, Any]) -> HeteroData:
    """One ``MultiCellAssoc-v0`` observation as a bipartite BS–UE ``HeteroData``.

    Features: module docstring, "MultiCellAssoc-v0" table (BSs are the ``"ap"`` nodes).

    :param observation: the env's observation dict (numpy or torch), unbatched: ``channel``
        ``(M, K, 2N)``, ``gain_db`` ``(M, K)``, ``tx_power_dbm`` ``(M,)``.
    :return: ``HeteroData`` with ``M`` BS nodes, ``K`` UE nodes and ``M·K`` link edges (and the
        reverse), float32 features on the device of ``observation["channel"]``.
    :raises ValueError: missing keys, mismatched shapes or a batched observation.

    >>> import numpy as np
    >>> obs = {"channel": np.zeros((2, 3, 2), np.float32), "gain_db": np.zeros((2, 3)),
    ...        "tx_power_dbm": np.array([30.0, 20.0])}
    >>> g = multicell_graph(obs)
    >>> g["ap"].x.tolist(), g[LINK_EDGE].edge_attr.shape
    ([[30.0], [20.0]], torch.Size([6, 3]))
    """
    obs = _multicell_tensors(observation)
    _check_single(obs, "channel", "multicell_graph")
    return _bipartite_graph(obs, _multicell_parts(obs))


def multicell_graph_batch(observation: Mapping[str, Any]) -> Batch:
    """A batch of ``MultiCellAssoc-v0`` observations ``(B, ...)`` as one PyG ``Batch``.

    Equals ``Batch.from_data_list([multicell_graph(obs_b) for b in range(B)])``, built without
    a Python loop. Per-edge scores ``s`` give the action as ``s.view(B, M, K).argmax(1)``.

    :param observation: batched observation dict (numpy or torch, any device), e.g. from the
        vector env; an unbatched one is a batch of one.
    :return: ``HeteroDataBatch`` with ``num_graphs = B``.
    """
    obs = _multicell_tensors(observation)
    return _bipartite_batch(obs, _multicell_parts(obs))


# ---- cell-free (CellFreeAssoc-v0) ---------------------------------------------------------------


def _cellfree_tensors(observation: Mapping[str, Any]) -> dict[str, Tensor]:
    return _bipartite_tensors(
        observation,
        "CellFreeAssoc",
        ("channel", "gain_db", "support", "ap_load", "ue_degree", "action_mask"),
        lambda b, m, k: {
            "support": (b, m, k),
            "ap_load": (b, m),
            "ue_degree": (b, k),
            "action_mask": (b, m * k + 1),
        },
    )


def _cellfree_parts(obs: dict[str, Tensor]) -> _BipartiteParts:
    batch, num_aps, num_ues, _ = obs["channel"].shape
    mask = obs["action_mask"].to(torch.bool, copy=True)
    return _BipartiteParts(
        ap_x=_f32(obs["ap_load"], batch * num_aps, 1),
        ue_x=_f32(obs["ue_degree"], batch * num_ues, 1),
        edge_attr=_link_features(obs, obs["support"]),
        link={"action_mask": mask[:, :-1].reshape(batch * num_aps * num_ues)},
        graph={"end_mask": mask[:, -1].clone()},
    )


def cellfree_graph(observation: Mapping[str, Any]) -> HeteroData:
    """One ``CellFreeAssoc-v0`` observation as a bipartite AP–UE ``HeteroData``.

    Features: module docstring, "CellFreeAssoc-v0" table.

    :param observation: the env's observation dict (numpy or torch), unbatched: ``channel``
        ``(M, K, 2N)``, ``gain_db`` / ``support`` ``(M, K)``, ``ap_load`` ``(M,)``,
        ``ue_degree`` ``(K,)``, ``action_mask`` ``(M·K + 1,)``.
    :return: ``HeteroData`` with ``M`` AP nodes, ``K`` UE nodes and ``M·K`` link edges (and the
        reverse), float32 features on the device of ``observation["channel"]``.
    :raises ValueError: missing keys, mismatched shapes or a batched observation.
    """
    obs = _cellfree_tensors(observation)
    _check_single(obs, "channel", "cellfree_graph")
    return _bipartite_graph(obs, _cellfree_parts(obs))


def cellfree_graph_batch(observation: Mapping[str, Any]) -> Batch:
    """A batch of ``CellFreeAssoc-v0`` observations ``(B, ...)`` as one PyG ``Batch``.

    The result equals ``Batch.from_data_list([cellfree_graph(obs_b) for b in range(B)])``
    (same tensors, ``batch``/``ptr`` vectors, ``to_data_list()``), built without a loop: the
    edge index is the cached ``(2, M·K)`` one plus per-graph offsets ``(b·M, b·K)``. Graph b's
    edges are ``[b·M·K, (b+1)·M·K)``, so ``edge_attr.view(B, M·K, -1)`` lines up with the
    vector env's ``(B, M·K + 1)`` action logits (END last).

    :param observation: batched observation dict (numpy or torch, any device), e.g. from the
        vector env; an unbatched one is a batch of one.
    :return: ``HeteroDataBatch`` with ``num_graphs = B``.
    """
    obs = _cellfree_tensors(observation)
    return _bipartite_batch(obs, _cellfree_parts(obs))


# ---- fronthaul (FronthaulAssoc-v0) --------------------------------------------------------------


def _fronthaul_tensors(observation: Mapping[str, Any]) -> dict[str, Tensor]:
    return _bipartite_tensors(
        observation,
        "FronthaulAssoc",
        ("channel", "gain_db", "capacity_mbps", "weights"),
        lambda b, m, k: {"capacity_mbps": (b, m), "weights": (b, k)},
    )


def _fronthaul_parts(obs: dict[str, Tensor]) -> _BipartiteParts:
    batch, num_aps, num_ues, _ = obs["channel"].shape
    return _BipartiteParts(
        ap_x=_f32(obs["capacity_mbps"], batch * num_aps, 1),
        ue_x=_f32(obs["weights"], batch * num_ues, 1),
        edge_attr=_link_features(obs),
    )


def fronthaul_graph(observation: Mapping[str, Any]) -> HeteroData:
    """One ``FronthaulAssoc-v0`` observation as a bipartite AP–UE ``HeteroData``.

    Features: module docstring, "FronthaulAssoc-v0" table (capacity on the APs, weights on
    the UEs).

    :param observation: the env's observation dict (numpy or torch), unbatched: ``channel``
        ``(M, K, 2N)``, ``gain_db`` ``(M, K)``, ``capacity_mbps`` ``(M,)``, ``weights`` ``(K,)``.
    :return: ``HeteroData`` with ``M`` AP nodes, ``K`` UE nodes and ``M·K`` link edges (and the
        reverse), float32 features on the device of ``observation["channel"]``.
    :raises ValueError: missing keys, mismatched shapes or a batched observation.
    """
    obs = _fronthaul_tensors(observation)
    _check_single(obs, "channel", "fronthaul_graph")
    return _bipartite_graph(obs, _fronthaul_parts(obs))


def fronthaul_graph_batch(observation: Mapping[str, Any]) -> Batch:
    """A batch of ``FronthaulAssoc-v0`` observations ``(B, ...)`` as one PyG ``Batch``.

    Equals ``Batch.from_data_list([fronthaul_graph(obs_b) for b in range(B)])``, built without
    a Python loop; per-edge scores ``s.view(B, M·K)`` line up with the ``MultiBinary(M·K)``
    action.

    :param observation: batched observation dict (numpy or torch, any device), e.g. from the
        vector env; an unbatched one is a batch of one.
    :return: ``HeteroDataBatch`` with ``num_graphs = B``.
    """
    obs = _fronthaul_tensors(observation)
    return _bipartite_batch(obs, _fronthaul_parts(obs))


# ---- BS graph (slotted family, SlottedArrivalAssoc-v0) ------------------------------------------


@functools.lru_cache(maxsize=64)
def _complete_edge_index_cached(num_nodes: int, device: torch.device) -> Tensor:
    """Cached ``(2, n(n-1))`` index on ``device``; callers must not modify it."""
    src = torch.arange(num_nodes).repeat_interleave(num_nodes)
    dst = torch.arange(num_nodes).repeat(num_nodes)
    keep = src != dst
    return torch.stack([src[keep], dst[keep]]).to(device)


def complete_edge_index(num_nodes: int, device: torch.device | str | None = None) -> Tensor:
    """Edge index ``(2, n(n-1))`` int64 of the complete directed graph without self-loops.

    Source-major: the edges leaving node 0 first (cached per ``(n, device)``; the caller gets
    a fresh copy).

    >>> complete_edge_index(3).tolist()
    [[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]
    """
    num_nodes = check_int_range("num_nodes", num_nodes, 1)
    target = torch.device("cpu") if device is None else torch.device(device)
    return _complete_edge_index_cached(num_nodes, target).clone()


#: Node features of the slotted observation (``ua_envs.envs.slotted.sim.NODE_FEATURES``; this
#: module does not import the env families).
SLOTTED_NODE_FEATURES = 6


def _slotted_tensors(observation: Mapping[str, Any]) -> dict[str, Tensor]:
    """The slotted observation entries as batched tensors ``(B, ...)``, validated."""
    out = _required_tensors(observation, "SlottedArrivalAssoc", ("nodes", "action_mask", "arrival"))
    nodes = out["nodes"]
    width = SLOTTED_NODE_FEATURES
    if nodes.dim() not in (2, 3) or nodes.shape[-1] != width:
        raise ValueError(
            f"observation['nodes'] must have shape (M, {width}) or (B, M, {width}), "
            f"got {tuple(nodes.shape)}"
        )
    if nodes.dim() == 2:
        out = {key: value.unsqueeze(0) for key, value in out.items()}
    batch, num_bs, _ = out["nodes"].shape
    _match_shapes(out, "nodes", {"action_mask": (batch, num_bs + 1), "arrival": (batch, 1)})
    return out


def bs_graph(observation: Mapping[str, Any]) -> Data:
    """One ``SlottedArrivalAssoc-v0`` observation as a fully connected BS ``Data`` graph.

    Features: module docstring, "SlottedArrivalAssoc-v0" table.

    :param observation: the env's observation (numpy or torch), unbatched: ``nodes`` ``(M, 6)``,
        ``action_mask`` ``(M + 1,)``, ``arrival`` ``(1,)``.
    :return: ``torch_geometric.data.Data`` (float32 features on the device of
        ``observation["nodes"]``).
    :raises ValueError: missing keys, mismatched shapes or a batched observation.

    >>> import numpy as np
    >>> obs = {"nodes": np.zeros((3, 6), np.float32), "arrival": np.ones(1, np.float32),
    ...        "action_mask": np.array([1, 1, 0, 0], np.int8)}
    >>> g = bs_graph(obs)
    >>> g.num_nodes, g.num_edges, g.node_mask.tolist(), g.noop_mask.tolist()
    (3, 6, [True, True, False], [False])
    """
    obs = _slotted_tensors(observation)
    _check_single(obs, "nodes", "bs_graph")
    num_bs = obs["nodes"].shape[1]
    mask = obs["action_mask"][0].to(torch.bool, copy=True)
    return Data(
        x=_f32(obs["nodes"][0], num_bs, SLOTTED_NODE_FEATURES),
        edge_index=complete_edge_index(num_bs, obs["nodes"].device),
        node_mask=mask[:num_bs].clone(),
        noop_mask=mask[num_bs:].clone(),
        arrival=_f32(obs["arrival"][0], 1),
    )


def bs_graph_batch(observation: Mapping[str, Any]) -> Batch:
    """A batch of ``SlottedArrivalAssoc-v0`` observations ``(B, ...)`` as one PyG ``Batch``.

    Equals ``Batch.from_data_list([bs_graph(obs_b) for b in range(B)])`` (same tensors,
    ``batch``/``ptr``, ``to_data_list()``), built without a Python loop: the cached
    ``(2, M(M-1))`` edge index plus per-graph offsets ``b·M``. Node ``b·M + n`` is BS ``n`` of
    graph ``b``, so ``q.view(B, M)`` lines up with the vector env's actions ``0..M-1``.

    :param observation: batched observation dict (numpy or torch, any device), e.g. from the
        vector env; an unbatched one is a batch of one.
    :return: ``DataBatch`` with ``num_graphs = B``.
    """
    obs = _slotted_tensors(observation)
    batch, num_bs, _ = obs["nodes"].shape
    device = obs["nodes"].device
    num_edges = num_bs * (num_bs - 1)
    base = _complete_edge_index_cached(num_bs, device)  # (2, E), read only
    graphs = torch.arange(batch, device=device)
    edge_index = (base.unsqueeze(1) + (graphs * num_bs).view(1, batch, 1)).reshape(
        2, batch * num_edges
    )
    mask = obs["action_mask"].to(torch.bool, copy=True)
    data = Batch(_base_cls=Data)
    data.x = _f32(obs["nodes"], batch * num_bs, SLOTTED_NODE_FEATURES)
    data.edge_index = edge_index
    data.node_mask = mask[:, :num_bs].reshape(batch * num_bs)
    data.noop_mask = mask[:, num_bs].clone()
    data.arrival = _f32(obs["arrival"], batch)
    data.batch = graphs.repeat_interleave(num_bs)
    data.ptr = graphs.new_tensor(range(0, (batch + 1) * num_bs, num_bs))
    # Bookkeeping that Batch.from_data_list would create, so to_data_list()/get_example() work.
    cpu = torch.arange(batch + 1)
    zeros = torch.zeros(batch, dtype=torch.long)
    data._num_graphs = batch
    data._slice_dict = {
        "x": cpu * num_bs,
        "edge_index": cpu * num_edges,
        "node_mask": cpu * num_bs,
        "noop_mask": cpu,
        "arrival": cpu,
    }
    data._inc_dict = {
        "x": zeros,
        "edge_index": cpu[:-1] * num_bs,
        "node_mask": zeros,
        "noop_mask": zeros,
        "arrival": zeros,
    }
    return data


# ---- dispatch: any registered env → its graph builder -------------------------------------------


@dataclass(frozen=True)
class GraphBuilder:
    """The graph view of one env family.

    :param family: ``"multicell"``, ``"cellfree"``, ``"fronthaul"`` or ``"slotted"`` (the
        package ``ua_envs.envs.<family>``).
    :param single: one observation → ``HeteroData`` (bipartite families) or ``Data``.
    :param batch: a batched observation ``(B, ...)`` → ``Batch`` (no Python loop over graphs).
    :param heterogeneous: True for the bipartite ``HeteroData`` families.
    """

    family: str
    single: Callable[[Mapping[str, Any]], HeteroData | Data]
    batch: Callable[[Mapping[str, Any]], Batch]
    heterogeneous: bool


#: Family name → its graph builder.
GRAPH_BUILDERS: dict[str, GraphBuilder] = {
    "multicell": GraphBuilder("multicell", multicell_graph, multicell_graph_batch, True),
    "cellfree": GraphBuilder("cellfree", cellfree_graph, cellfree_graph_batch, True),
    "fronthaul": GraphBuilder("fronthaul", fronthaul_graph, fronthaul_graph_batch, True),
    "slotted": GraphBuilder("slotted", bs_graph, bs_graph_batch, False),
}

#: Every registered env id (``ua_envs.ENV_IDS``) → its graph builder.
ENV_GRAPH_BUILDERS: dict[str, GraphBuilder] = {
    "MultiCellAssoc-v0": GRAPH_BUILDERS["multicell"],
    "MultiCellAssocBalanced-v0": GRAPH_BUILDERS["multicell"],
    "CellFreeAssoc-v0": GRAPH_BUILDERS["cellfree"],
    "FronthaulAssoc-v0": GRAPH_BUILDERS["fronthaul"],
    "SlottedArrivalAssoc-v0": GRAPH_BUILDERS["slotted"],
}

_FAMILY_OF_ENTRY_POINT = re.compile(r"^ua_envs\.envs\.(\w+)\.")


def graph_builder(env: Any) -> GraphBuilder:
    """The graph builder of an env id, a family name, or an env / vector env.

    :param env: a key of :data:`ENV_GRAPH_BUILDERS` or :data:`GRAPH_BUILDERS`, another
        Gymnasium id registered with a ``ua_envs.envs.<family>`` entry point (e.g. one with
        other kwargs), or an object with a ``spec.id`` (``gym.make``/``gym.make_vec`` result).
    :raises ValueError: the env has no graph view.

    >>> graph_builder("MultiCellAssocBalanced-v0").family
    'multicell'
    """
    name = env if isinstance(env, str) else getattr(getattr(env, "spec", None), "id", None)
    if not isinstance(name, str):
        raise ValueError(f"env must be an env id, a family name or an env with a spec, got {env!r}")
    if name in GRAPH_BUILDERS:
        return GRAPH_BUILDERS[name]
    if name in ENV_GRAPH_BUILDERS:
        return ENV_GRAPH_BUILDERS[name]
    from gymnasium.envs.registration import registry

    spec = registry.get(name)
    for entry_point in (spec.entry_point, spec.vector_entry_point) if spec else ():
        match = _FAMILY_OF_ENTRY_POINT.match(entry_point) if isinstance(entry_point, str) else None
        if match and match.group(1) in GRAPH_BUILDERS:
            return GRAPH_BUILDERS[match.group(1)]
    raise ValueError(
        f"no graph view for {name!r}: expected one of {sorted(ENV_GRAPH_BUILDERS)}, a family in "
        f"{sorted(GRAPH_BUILDERS)} or an id registered with a ua_envs.envs.<family> entry point"
    )


def observation_graph(env: Any, observation: Mapping[str, Any]) -> HeteroData | Data:
    """The graph of one observation of ``env`` (id, family or env; see :func:`graph_builder`).

    >>> import numpy as np
    >>> obs = {"channel": np.ones((2, 3, 2)), "gain_db": np.zeros((2, 3)),
    ...        "capacity_mbps": np.full(2, 60.0), "weights": np.ones(3)}
    >>> g = observation_graph("FronthaulAssoc-v0", obs)
    >>> g["ap"].x.tolist(), g[LINK_EDGE].edge_index.shape
    ([[60.0], [60.0]], torch.Size([2, 6]))
    """
    return graph_builder(env).single(observation)


def observation_graph_batch(env: Any, observation: Mapping[str, Any]) -> Batch:
    """The ``Batch`` of a batched (vector-env) observation of ``env`` (see
    :func:`graph_builder`); no Python loop over graphs."""
    return graph_builder(env).batch(observation)


__all__ = [
    "CELLFREE_EDGE",
    "CELLFREE_REVERSE_EDGE",
    "ENV_GRAPH_BUILDERS",
    "GRAPH_BUILDERS",
    "LINK_EDGE",
    "REVERSE_LINK_EDGE",
    "TX_NODE",
    "UE_NODE",
    "GraphBuilder",
    "bipartite_edge_index",
    "bs_graph",
    "bs_graph_batch",
    "cellfree_graph",
    "cellfree_graph_batch",
    "complete_edge_index",
    "fronthaul_graph",
    "fronthaul_graph_batch",
    "graph_builder",
    "multicell_graph",
    "multicell_graph_batch",
    "observation_graph",
    "observation_graph_batch",
]
