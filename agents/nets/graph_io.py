"""Read the graph views of ``ua_envs.graph`` into the layers' dense and PyG inputs.

``ua_envs.graph`` builds one PyG ``HeteroData`` per bipartite observation (node types ``"ap"``
and ``"ue"``, edge type ``("ap", "link", "ue")`` in transmitter-major order ``e = m·K + k``)
and a ``Batch`` of ``B`` such graphs with graph ``b``'s nodes and edges contiguous. Because every
graph of a batch has the same ``M``, ``K`` and complete edge set, the dense forms are plain
``view`` calls on the batch's tensors:

| function | returns |
|---|---|
| :func:`bipartite_dense` | ``ap (B, M, F_ap)``, ``ue (B, K, F_ue)``, ``edge (B, M, K, F_e)`` |
| :func:`bipartite_sparse` | ``ap (B·M, F)``, ``ue (B·K, F)``, ``edge (E, F)``, index ``(2, E)`` |
| :func:`nodes_dense` | ``x (B, M, F)`` of a homogeneous ``Data`` / ``Batch`` (the BS graph) |
"""

from __future__ import annotations

from typing import Any, NamedTuple

from torch import Tensor
from torch_geometric.data import Batch, Data, HeteroData

from ua_envs.graph import LINK_EDGE, TX_NODE, UE_NODE


class BipartiteInputs(NamedTuple):
    """Node and edge features of a bipartite transmitter–UE graph (dense or PyG layout)."""

    ap: Tensor
    """``(B, M, F_ap)`` dense, ``(B·M, F_ap)`` PyG"""
    ue: Tensor
    """``(B, K, F_ue)`` dense, ``(B·K, F_ue)`` PyG"""
    edge: Tensor
    """``(B, M, K, F_e)`` dense, ``(B·M·K, F_e)`` PyG"""
    edge_index: Tensor | None = None
    """``(2, E)`` int64 (row 0: AP index, row 1: UE index) in the PyG layout; None if dense"""


def _num_graphs(data: Any) -> int:
    return int(data.num_graphs) if isinstance(data, Batch) else 1


def _check_bipartite(data: Any) -> None:
    if not isinstance(data, HeteroData) or LINK_EDGE not in data.edge_types:
        raise ValueError(
            "data must be a bipartite HeteroData / Batch from ua_envs.graph "
            f"(edge type {LINK_EDGE}), got {type(data).__name__}"
        )


def bipartite_sparse(data: HeteroData | Batch) -> BipartiteInputs:
    """The PyG inputs of a bipartite graph or batch: node features, edge features, edge index.

    :param data: a ``HeteroData`` or ``Batch`` from ``ua_envs.graph`` (multicell, cellfree,
        fronthaul builders).
    :return: :class:`BipartiteInputs` with ``edge_index`` set (the batch's global indices).
    :raises ValueError: ``data`` is not a bipartite graph view.
    """
    _check_bipartite(data)
    link = data[LINK_EDGE]
    return BipartiteInputs(data[TX_NODE].x, data[UE_NODE].x, link.edge_attr, link.edge_index)


def bipartite_dense(data: HeteroData | Batch) -> BipartiteInputs:
    """The dense inputs of a bipartite graph or batch (views, no copy).

    Valid because ``ua_envs.graph`` stores the complete graph of every batch member
    contiguously and transmitter-major: link ``b·M·K + m·K + k`` joins AP ``m`` and UE ``k``
    of graph ``b``.

    :param data: a ``HeteroData`` (``B = 1``) or ``Batch`` from ``ua_envs.graph``.
    :return: :class:`BipartiteInputs` with ``ap (B, M, F_ap)``, ``ue (B, K, F_ue)``,
        ``edge (B, M, K, F_e)`` and ``edge_index=None``.
    :raises ValueError: not a bipartite graph view, or not complete (``E != B·M·K``).
    """
    _check_bipartite(data)
    batch = _num_graphs(data)
    ap, ue = data[TX_NODE].x, data[UE_NODE].x
    edge = data[LINK_EDGE].edge_attr
    if ap.shape[0] % batch or ue.shape[0] % batch:
        raise ValueError(
            f"data has {ap.shape[0]} AP and {ue.shape[0]} UE nodes, not a multiple of its "
            f"{batch} graphs: graphs of different sizes have no dense form"
        )
    num_aps, num_ues = ap.shape[0] // batch, ue.shape[0] // batch
    if edge.shape[0] != batch * num_aps * num_ues:
        raise ValueError(
            f"data has {edge.shape[0]} link edges, the complete graph needs B·M·K = "
            f"{batch}·{num_aps}·{num_ues}: use the PyG form (bipartite_sparse) for sparse graphs"
        )
    return BipartiteInputs(
        ap.view(batch, num_aps, -1),
        ue.view(batch, num_ues, -1),
        edge.view(batch, num_aps, num_ues, -1),
    )


def nodes_dense(data: Data | Batch) -> Tensor:
    """Node features ``(B, M, F)`` of a homogeneous graph or batch of equal-size graphs.

    :param data: a ``Data`` (``B = 1``) or ``Batch`` (e.g. ``ua_envs.graph.bs_graph_batch``).
    :raises ValueError: a heterogeneous graph, or node counts that differ between graphs.
    """
    if not isinstance(data, Data):
        raise ValueError(f"data must be a homogeneous Data / Batch, got {type(data).__name__}")
    batch = _num_graphs(data)
    x = data.x
    if x is None or x.shape[0] % batch:
        raise ValueError(f"data.x must hold {batch} graphs of equal size, got {x!r}")
    return x.view(batch, x.shape[0] // batch, -1)


__all__ = ["BipartiteInputs", "bipartite_dense", "bipartite_sparse", "nodes_dense"]
