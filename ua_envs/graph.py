"""Graph views of observations for GNN agents (torch_geometric).

Two sections, one per graph kind: the bipartite AP–UE graph (``HeteroData``) used by the
cell-free family, and the fully connected BS graph (``Data``) used by the slotted family.
"""

import functools
from collections.abc import Mapping
from typing import Any, TypeVar

import torch
from torch import Tensor
from torch_geometric.data import Batch, HeteroData

from ua_envs.core.validation import as_tensor, check_int_range


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


# ---- bipartite AP–UE graph (cell-free family) -------------------------------------------------

#
# A cell-free observation (``CellFreeAssoc-v0``) as a complete bipartite graph: node types
# ``"ap"`` (M nodes) and ``"ue"`` (K nodes), edge type ``("ap", "link", "ue")`` with one edge per
# (AP, UE) pair in transmitter-major order (edge ``e = m·K + k`` is action ``e`` of the env), and
# the reverse ``("ue", "rev_link", "ap")`` with the same features (the name PyG's ``ToUndirected``
# gives it). Features (``N`` antennas):
#
# =============================  ==============  ==============================================
# store                          shape           content
# =============================  ==============  ==============================================
# ``data["ap"].x``               ``(M, 1)``      ``ap_load`` (UEs served)
# ``data["ue"].x``               ``(K, 1)``      ``ue_degree`` (APs serving)
# ``data[link].edge_attr``       ``(M·K, 2N+2)`` ``[Re h/σ (N), Im h/σ (N), gain_db, support]``
# ``data[link].action_mask``     ``(M·K,)`` bool  the link is a legal action
# ``data.end_mask``              ``(1,)`` bool    END is legal
# =============================  ==============  ==============================================
#
# The batched builder stacks ``B`` observations into one ``Batch`` (disjoint union) from the
# cached ``(2, M·K)`` edge index with one broadcast add, without a Python loop over graphs.


CELLFREE_EDGE = ("ap", "link", "ue")
CELLFREE_REVERSE_EDGE = ("ue", "rev_link", "ap")


@functools.lru_cache(maxsize=64)
def _bipartite_edge_index_cpu(num_aps: int, num_ues: int) -> Tensor:
    ap = torch.arange(num_aps).repeat_interleave(num_ues)
    ue = torch.arange(num_ues).repeat(num_aps)
    return torch.stack([ap, ue])


def bipartite_edge_index(
    num_aps: int, num_ues: int, device: torch.device | str | None = None
) -> Tensor:
    """Edge index ``(2, M·K)`` int64 of the complete bipartite AP–UE graph (cached by (M, K)).

    Row 0 holds the AP index ``m``, row 1 the UE index ``k``; edge ``e = m·K + k``
    (transmitter-major, the order of ``CellFreeAssoc-v0``'s link actions).

    >>> bipartite_edge_index(2, 3).tolist()
    [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    """
    num_aps = check_int_range("num_aps", num_aps, 1)
    num_ues = check_int_range("num_ues", num_ues, 1)
    index = _bipartite_edge_index_cpu(num_aps, num_ues)
    return index.to(device) if device is not None else index.clone()


def _cellfree_tensors(observation: Mapping[str, Any]) -> dict[str, Tensor]:
    """The cell-free observation entries as batched tensors ``(B, ...)``, validated."""
    required = ("channel", "gain_db", "support", "ap_load", "ue_degree", "action_mask")
    out = _required_tensors(observation, "CellFreeAssoc", required)
    channel = out["channel"]
    if channel.dim() not in (3, 4):
        raise ValueError(
            f"observation['channel'] must have shape (M, K, 2N) or (B, M, K, 2N), "
            f"got {tuple(channel.shape)}"
        )
    if channel.dim() == 3:
        out = {key: value.unsqueeze(0) for key, value in out.items()}
    batch, num_aps, num_ues, width = out["channel"].shape
    expected = {
        "gain_db": (batch, num_aps, num_ues),
        "support": (batch, num_aps, num_ues),
        "ap_load": (batch, num_aps),
        "ue_degree": (batch, num_ues),
        "action_mask": (batch, num_aps * num_ues + 1),
    }
    _match_shapes(out, "channel", expected)
    if width % 2:
        raise ValueError(f"observation['channel'] last dim must be 2N (even), got {width}")
    return out


def _cellfree_parts(obs: dict[str, Tensor]) -> dict[str, Tensor]:
    """Node features, edge features and masks of ``B`` graphs, stacked (edges graph-major)."""
    batch, num_aps, num_ues, width = obs["channel"].shape
    edge_attr = torch.cat(
        [
            obs["channel"].to(torch.float32),
            obs["gain_db"].to(torch.float32).unsqueeze(-1),
            obs["support"].to(torch.float32).unsqueeze(-1),
        ],
        dim=-1,
    ).reshape(batch * num_aps * num_ues, width + 2)
    mask = obs["action_mask"].to(torch.bool)
    return {
        "ap_x": obs["ap_load"].to(torch.float32).reshape(batch * num_aps, 1),
        "ue_x": obs["ue_degree"].to(torch.float32).reshape(batch * num_ues, 1),
        "edge_attr": edge_attr,
        "link_mask": mask[:, :-1].reshape(batch * num_aps * num_ues),
        "end_mask": mask[:, -1],
    }


_Hetero = TypeVar("_Hetero", HeteroData, Batch)


def _fill_cellfree(data: _Hetero, parts: dict[str, Tensor], edge_index: Tensor) -> _Hetero:
    """Store the node/edge features of :func:`_cellfree_parts` and ``edge_index`` (and its
    reverse) in ``data``, in place; return it."""
    data["ap"].x = parts["ap_x"]
    data["ue"].x = parts["ue_x"]
    data[CELLFREE_EDGE].edge_index = edge_index
    data[CELLFREE_EDGE].edge_attr = parts["edge_attr"]
    data[CELLFREE_EDGE].action_mask = parts["link_mask"]
    data[CELLFREE_REVERSE_EDGE].edge_index = edge_index.flip(0)
    data[CELLFREE_REVERSE_EDGE].edge_attr = parts["edge_attr"]
    data.end_mask = parts["end_mask"]
    return data


def cellfree_graph(observation: Mapping[str, Any]) -> HeteroData:
    """One ``CellFreeAssoc-v0`` observation as a bipartite ``HeteroData`` (table above).

    :param observation: the env's observation dict (numpy or torch), unbatched: ``channel``
        ``(M, K, 2N)``, ``gain_db`` / ``support`` ``(M, K)``, ``ap_load`` ``(M,)``,
        ``ue_degree`` ``(K,)``, ``action_mask`` ``(M·K + 1,)``.
    :return: ``HeteroData`` with ``M`` AP nodes, ``K`` UE nodes and ``M·K`` link edges (and the
        reverse), float32 features on the device of ``observation["channel"]``.
    :raises ValueError: missing keys or mismatched shapes.
    """
    obs = _cellfree_tensors(observation)
    if obs["channel"].shape[0] != 1:
        raise ValueError("cellfree_graph takes one observation; use cellfree_graph_batch")
    _, num_aps, num_ues, _ = obs["channel"].shape
    parts = _cellfree_parts(obs)
    edge_index = bipartite_edge_index(num_aps, num_ues, obs["channel"].device)
    return _fill_cellfree(HeteroData(), parts, edge_index)


def cellfree_graph_batch(observation: Mapping[str, Any]) -> Batch:
    """A batch of ``CellFreeAssoc-v0`` observations ``(B, ...)`` as one PyG ``Batch``.

    The result equals ``Batch.from_data_list([cellfree_graph(obs_b) for b in range(B)])``
    (same tensors, ``batch``/``ptr`` vectors, ``to_data_list()``), built without a loop: the
    edge index is the cached ``(2, M·K)`` one plus per-graph offsets ``(b·M, b·K)``. Graph b's
    edges are ``[b·M·K, (b+1)·M·K)``, so ``edge_attr.view(B, M·K, -1)`` lines up with the
    vector env's ``(B, M·K + 1)`` action logits (END last).

    :param observation: batched observation dict (numpy or torch), e.g. from the vector env;
        an unbatched one is a batch of one.
    :return: ``HeteroDataBatch`` with ``num_graphs = B``.
    """
    obs = _cellfree_tensors(observation)
    batch, num_aps, num_ues, _ = obs["channel"].shape
    device = obs["channel"].device
    num_edges = num_aps * num_ues
    parts = _cellfree_parts(obs)
    base = bipartite_edge_index(num_aps, num_ues, device)  # (2, E)
    graphs = torch.arange(batch, device=device)
    offsets = torch.stack([graphs * num_aps, graphs * num_ues])  # (2, B)
    edge_index = (base.unsqueeze(1) + offsets.unsqueeze(-1)).reshape(2, batch * num_edges)

    data = _fill_cellfree(Batch(_base_cls=HeteroData), parts, edge_index)
    data["ap"].batch = graphs.repeat_interleave(num_aps)
    data["ap"].ptr = graphs.new_tensor(range(0, (batch + 1) * num_aps, num_aps))
    data["ue"].batch = graphs.repeat_interleave(num_ues)
    data["ue"].ptr = graphs.new_tensor(range(0, (batch + 1) * num_ues, num_ues))

    # Bookkeeping that Batch.from_data_list would create, so to_data_list()/get_example() work.
    cpu = torch.arange(batch + 1)
    edge_slices = cpu * num_edges
    zeros = torch.zeros(batch, dtype=torch.long)
    data._num_graphs = batch
    data._slice_dict = {
        "end_mask": cpu,
        "ap": {"x": cpu * num_aps},
        "ue": {"x": cpu * num_ues},
        CELLFREE_EDGE: {
            "edge_index": edge_slices,
            "edge_attr": edge_slices,
            "action_mask": edge_slices,
        },
        CELLFREE_REVERSE_EDGE: {"edge_index": edge_slices, "edge_attr": edge_slices},
    }
    link_inc = torch.stack([cpu[:-1] * num_aps, cpu[:-1] * num_ues], dim=1).unsqueeze(-1)
    data._inc_dict = {
        "end_mask": zeros,
        "ap": {"x": zeros},
        "ue": {"x": zeros},
        CELLFREE_EDGE: {"edge_index": link_inc, "edge_attr": zeros, "action_mask": zeros},
        CELLFREE_REVERSE_EDGE: {"edge_index": link_inc.flip(1), "edge_attr": zeros},
    }
    return data


# ---- BS graph (slotted family) -----------------------------------------------------------------

#
# A slotted observation (``SlottedArrivalAssoc-v0``) as the fully connected BS graph of GROWS:
# one node per BS with the observation's ``nodes`` features, a directed edge ``i → j`` for every
# ordered pair ``i ≠ j`` (GCN layers add self-loops themselves). Per graph:
#
# =====================  ===============  ==================================================
# attribute              shape            content
# =====================  ===============  ==================================================
# ``x``                  ``(M, 5)``       ``nodes`` (users/U_max, mean utility, new user's
#                                         SNR feature, demand feature, candidate)
# ``edge_index``         ``(2, M(M-1))``  complete directed graph, source-major
# ``node_mask``          ``(M,)`` bool    "associate here" is legal (action n)
# ``noop_mask``          ``(1,)`` bool    the no-op is legal (action M)
# ``arrival``            ``(1,)`` float   1 if a user arrives
# =====================  ===============  ==================================================
#
# Per-node Q-values read "associate here", a graph readout the no-op (SPEC §6, GROWS).


@functools.lru_cache(maxsize=64)
def _complete_edge_index_cpu(num_nodes: int) -> Tensor:
    src = torch.arange(num_nodes).repeat_interleave(num_nodes)
    dst = torch.arange(num_nodes).repeat(num_nodes)
    keep = src != dst
    return torch.stack([src[keep], dst[keep]])


def complete_edge_index(num_nodes: int, device: torch.device | str | None = None) -> Tensor:
    """Edge index ``(2, n(n-1))`` int64 of the complete directed graph without self-loops.

    Source-major: the edges leaving node 0 first (cached by ``n``).

    >>> complete_edge_index(3).tolist()
    [[0, 0, 1, 1, 2, 2], [1, 2, 0, 2, 0, 1]]
    """
    num_nodes = check_int_range("num_nodes", num_nodes, 1)
    index = _complete_edge_index_cpu(num_nodes)
    return index.to(device) if device is not None else index.clone()


def _slotted_tensors(observation: Mapping[str, Any]) -> dict[str, Tensor]:
    """The slotted observation entries as batched tensors ``(B, ...)``, validated."""
    out = _required_tensors(observation, "SlottedArrivalAssoc", ("nodes", "action_mask", "arrival"))
    nodes = out["nodes"]
    if nodes.dim() not in (2, 3) or nodes.shape[-1] != 5:
        raise ValueError(
            f"observation['nodes'] must have shape (M, 5) or (B, M, 5), got {tuple(nodes.shape)}"
        )
    if nodes.dim() == 2:
        out = {key: value.unsqueeze(0) for key, value in out.items()}
    batch, num_bs, _ = out["nodes"].shape
    _match_shapes(out, "nodes", {"action_mask": (batch, num_bs + 1), "arrival": (batch, 1)})
    return out


def bs_graph(observation: Mapping[str, Any]) -> Any:
    """One ``SlottedArrivalAssoc-v0`` observation as a fully connected BS ``Data`` graph.

    :param observation: the env's observation (numpy or torch), unbatched: ``nodes`` ``(M, 5)``,
        ``action_mask`` ``(M + 1,)``, ``arrival`` ``(1,)``.
    :return: ``torch_geometric.data.Data`` with the attributes of the table above (float32
        features on the device of ``observation["nodes"]``).
    :raises ValueError: missing keys or mismatched shapes.

    >>> import numpy as np
    >>> obs = {"nodes": np.zeros((3, 5), np.float32), "arrival": np.ones(1, np.float32),
    ...        "action_mask": np.array([1, 1, 0, 0], np.int8)}
    >>> g = bs_graph(obs)
    >>> g.num_nodes, g.num_edges, g.node_mask.tolist(), g.noop_mask.tolist()
    (3, 6, [True, True, False], [False])
    """
    from torch_geometric.data import Data

    obs = _slotted_tensors(observation)
    if obs["nodes"].shape[0] != 1:
        raise ValueError("bs_graph takes one observation; use bs_graph_batch")
    num_bs = obs["nodes"].shape[1]
    mask = obs["action_mask"][0].to(torch.bool)
    return Data(
        x=obs["nodes"][0].to(torch.float32),
        edge_index=complete_edge_index(num_bs, obs["nodes"].device),
        node_mask=mask[:num_bs],
        noop_mask=mask[num_bs:],
        arrival=obs["arrival"][0].to(torch.float32),
    )


def bs_graph_batch(observation: Mapping[str, Any]) -> Batch:
    """A batch of ``SlottedArrivalAssoc-v0`` observations ``(B, ...)`` as one PyG ``Batch``.

    Equals ``Batch.from_data_list([bs_graph(obs_b) for b in range(B)])`` (same tensors,
    ``batch``/``ptr``, ``to_data_list()``), built without a Python loop: the cached
    ``(2, M(M-1))`` edge index plus per-graph offsets ``b·M``. Node ``b·M + n`` is BS ``n`` of
    graph ``b``, so ``q.view(B, M)`` lines up with the vector env's actions ``0..M-1``.

    :param observation: batched observation dict (numpy or torch), e.g. from the vector env;
        an unbatched one is a batch of one.
    :return: ``DataBatch`` with ``num_graphs = B``.
    """
    from torch_geometric.data import Data

    obs = _slotted_tensors(observation)
    batch, num_bs, _ = obs["nodes"].shape
    device = obs["nodes"].device
    num_edges = num_bs * (num_bs - 1)
    base = complete_edge_index(num_bs, device)  # (2, E)
    graphs = torch.arange(batch, device=device)
    edge_index = (base.unsqueeze(1) + (graphs * num_bs).view(1, batch, 1)).reshape(
        2, batch * num_edges
    )
    mask = obs["action_mask"].to(torch.bool)
    data = Batch(_base_cls=Data)
    data.x = obs["nodes"].to(torch.float32).reshape(batch * num_bs, 5)
    data.edge_index = edge_index
    data.node_mask = mask[:, :num_bs].reshape(batch * num_bs)
    data.noop_mask = mask[:, num_bs]
    data.arrival = obs["arrival"].to(torch.float32).reshape(batch)
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
