"""Edge-update message passing on the bipartite AP–UE graph ([GS-GNN], ENGNN-style).

One update layer of [GS-GNN] (Lyu & Vu, eqs. 6–8; the encoder of [SupportSet] and the
backbone of [AttSKGS] use the same node/edge structure). With AP features ``b_m``, UE
features ``c_k``, link features ``e_mk`` and an aggregation ``φ`` (mean, sum or max over the
neighbours; the papers use mean)::

    b'_m  = f2([ b_m, φ_{k ∈ N(m)} f1([c_k, e_mk]) ])                      (AP update, eq. 6)
    c'_k  = f4([ c_k, φ_{m ∈ N(k)} f3([b_m, e_mk]) ])                      (UE update, eq. 7)
    p_mk  = f5([ b_m, c_k ])
    e'_mk = f6([ e_mk, φ_{k' ∈ N(m)} p_mk', φ_{m' ∈ N(k)} p_m'k ])          (edge update, eq. 8)

``f1 … f6`` are MLPs. All updates read the previous layer's features. The paper's eq. 8
aggregates ``f5`` over "both nodes connected to either end node of the current edge"; we read
this as the two aggregates of ``f5`` over the links at AP ``m`` and at UE ``k`` (each includes
link ``(m, k)`` itself), concatenated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, HeteroData
from torch_geometric.nn import MessagePassing
from torch_geometric.utils import scatter

from agents.nets.common import (
    MLP,
    aggregate,
    check_aggregation,
    check_dims,
    check_float,
    match_sizes,
)
from agents.nets.graph_io import BipartiteInputs, bipartite_dense, bipartite_sparse
from ua_envs.core.validation import check_int_range


class _EdgeMessages(MessagePassing):
    """Aggregate ``f([x_j, e_ij])`` at the target nodes of a bipartite edge index."""

    def __init__(self, aggr: str, mlp: nn.Module) -> None:
        super().__init__(aggr=aggr)
        self.mlp = mlp

    def forward(
        self, x_src: Tensor, edge_index: Tensor, edge_attr: Tensor, num_targets: int
    ) -> Tensor:
        return self.propagate(
            edge_index, x=(x_src, None), edge_attr=edge_attr, size=(x_src.shape[0], num_targets)
        )

    def message(self, x_j: Tensor, edge_attr: Tensor) -> Tensor:
        return self.mlp(torch.cat([x_j, edge_attr], dim=-1))


class EdgeNodeLayer(nn.Module):
    """One edge-update layer on the complete or sparse bipartite AP–UE graph ([GS-GNN]).

    Math: module docstring (eqs. 6–8). Each ``f_i`` is an :class:`~agents.nets.common.MLP`
    ``in → hidden… → out`` with the activation after every layer (also the last), so stacked
    layers feed nonnegative features forward, as the papers' MLPs with ReLU do.

    Two forms compute the same function with the same weights (tested to 1e-5):

    * :meth:`forward` (dense, complete graph): ``ap (B, M, F_ap)``, ``ue (B, K, F_ue)``,
      ``edge (B, M, K, F_e)``; aggregation is a reduction over a tensor axis.
    * :meth:`forward_pyg` (PyG ``MessagePassing`` on ``edge_index`` ``(2, E)``, row 0 the AP,
      row 1 the UE index): any bipartite graph, e.g. top-k links; a node without links
      aggregates to 0.

    :meth:`forward_graph` takes a ``HeteroData`` / ``Batch`` of ``ua_envs.graph``.

    Shapes:
        dense: ``ap`` ``(B, M, ap_dim)``, ``ue`` ``(B, K, ue_dim)``, ``edge`` ``(B, M, K,
        edge_dim)`` float → ``(B, M, out_dim)``, ``(B, K, out_dim)``, ``(B, M, K, out_dim)``.
        PyG: ``ap`` ``(N_ap, ap_dim)``, ``ue`` ``(N_ue, ue_dim)``, ``edge`` ``(E, edge_dim)``,
        ``edge_index`` ``(2, E)`` int64 → ``(N_ap, out_dim)``, ``(N_ue, out_dim)``,
        ``(E, out_dim)``.

    :param ap_dim: input features per AP (``b_m``).
    :param ue_dim: input features per UE (``c_k``).
    :param edge_dim: input features per link (``e_mk``).
    :param out_dim: output features of every node and link.
    :param hidden: hidden widths of each MLP ``f1 … f6`` (empty: one ``Linear`` + activation).
    :param aggr: ``"mean"`` (papers' choice), ``"sum"`` or ``"max"``.
    :param activation: activation module class (default ``nn.ReLU``).

    >>> layer = EdgeNodeLayer(1, 1, 5, 16)
    >>> ap, ue, edge = layer(torch.zeros(2, 8, 1), torch.zeros(2, 4, 1), torch.zeros(2, 8, 4, 5))
    >>> tuple(ap.shape), tuple(ue.shape), tuple(edge.shape)
    ((2, 8, 16), (2, 4, 16), (2, 8, 4, 16))
    """

    def __init__(
        self,
        ap_dim: int,
        ue_dim: int,
        edge_dim: int,
        out_dim: int,
        hidden: Sequence[int] = (),
        aggr: str = "mean",
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        self.ap_dim = check_int_range("ap_dim", ap_dim, 1)
        self.ue_dim = check_int_range("ue_dim", ue_dim, 1)
        self.edge_dim = check_int_range("edge_dim", edge_dim, 1)
        self.out_dim = check_int_range("out_dim", out_dim, 1)
        self.aggr = check_aggregation("aggr", aggr)

        def mlp(width: int) -> MLP:
            return MLP(width, out_dim, hidden, activation, activate_output=True)

        self.f1 = mlp(ue_dim + edge_dim)  # UE → AP message
        self.f2 = mlp(ap_dim + out_dim)  # AP update
        self.f3 = mlp(ap_dim + edge_dim)  # AP → UE message
        self.f4 = mlp(ue_dim + out_dim)  # UE update
        self.f5 = mlp(ap_dim + ue_dim)  # node-pair message for the edges
        self.f6 = mlp(edge_dim + 2 * out_dim)  # edge update
        self._to_ap = _EdgeMessages(aggr, self.f1)
        self._to_ue = _EdgeMessages(aggr, self.f3)

    def forward(self, ap: Tensor, ue: Tensor, edge: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Dense form on the complete bipartite graph; returns ``(ap', ue', edge')``."""
        sizes = check_dims("ap", ap, ("B", "M", self.ap_dim))
        match_sizes(sizes, "ue", ue, ("B", "K", self.ue_dim))
        match_sizes(sizes, "edge", edge, ("B", "M", "K", self.edge_dim))
        for name, value in (("ap", ap), ("ue", ue), ("edge", edge)):
            check_float(name, value)
        batch, num_aps, num_ues = sizes["B"], sizes["M"], sizes["K"]
        ap_b = ap.unsqueeze(2).expand(batch, num_aps, num_ues, self.ap_dim)
        ue_b = ue.unsqueeze(1).expand(batch, num_aps, num_ues, self.ue_dim)
        to_ap = aggregate(self.f1(torch.cat([ue_b, edge], -1)), 2, self.aggr)  # (B, M, out)
        to_ue = aggregate(self.f3(torch.cat([ap_b, edge], -1)), 1, self.aggr)  # (B, K, out)
        pair = self.f5(torch.cat([ap_b, ue_b], -1))  # (B, M, K, out)
        at_ap = aggregate(pair, 2, self.aggr).unsqueeze(2).expand_as(pair)
        at_ue = aggregate(pair, 1, self.aggr).unsqueeze(1).expand_as(pair)
        return (
            self.f2(torch.cat([ap, to_ap], -1)),
            self.f4(torch.cat([ue, to_ue], -1)),
            self.f6(torch.cat([edge, at_ap, at_ue], -1)),
        )

    def forward_pyg(
        self, ap: Tensor, ue: Tensor, edge: Tensor, edge_index: Tensor
    ) -> tuple[Tensor, Tensor, Tensor]:
        """PyG form on a bipartite ``edge_index`` ``(2, E)`` (AP row, UE row); returns
        ``(ap', ue', edge')`` in the same layout."""
        sizes = check_dims("ap", ap, ("N_ap", self.ap_dim))
        check_dims("ue", ue, ("N_ue", self.ue_dim))
        match_sizes(sizes, "edge", edge, ("E", self.edge_dim))
        match_sizes(sizes, "edge_index", edge_index, (2, "E"))
        for name, value in (("ap", ap), ("ue", ue), ("edge", edge)):
            check_float(name, value)
        src, dst = edge_index[0], edge_index[1]
        num_aps, num_ues = ap.shape[0], ue.shape[0]
        to_ap = self._to_ap(ue, edge_index.flip(0), edge, num_aps)
        to_ue = self._to_ue(ap, edge_index, edge, num_ues)
        pair = self.f5(torch.cat([ap[src], ue[dst]], -1))  # (E, out)
        at_ap = scatter(pair, src, 0, dim_size=num_aps, reduce=self.aggr)[src]
        at_ue = scatter(pair, dst, 0, dim_size=num_ues, reduce=self.aggr)[dst]
        return (
            self.f2(torch.cat([ap, to_ap], -1)),
            self.f4(torch.cat([ue, to_ue], -1)),
            self.f6(torch.cat([edge, at_ap, at_ue], -1)),
        )

    def forward_graph(self, data: HeteroData | Batch, dense: bool = True) -> BipartiteInputs:
        """Apply the layer to a bipartite ``HeteroData`` / ``Batch`` of ``ua_envs.graph``.

        :param data: the graph view (its ``x`` / ``edge_attr`` widths must be ``ap_dim``,
            ``ue_dim``, ``edge_dim``).
        :param dense: True: dense form (complete graphs; outputs ``(B, M, ·)``, ``(B, K, ·)``,
            ``(B, M, K, ·)``); False: PyG form (outputs in the batch's node / edge layout).
        :return: :class:`~agents.nets.graph_io.BipartiteInputs` of the updated features
            (``edge_index`` passed through in the PyG form).
        """
        if dense:
            inputs = bipartite_dense(data)
            return BipartiteInputs(*self(inputs.ap, inputs.ue, inputs.edge))
        inputs = bipartite_sparse(data)
        assert inputs.edge_index is not None
        out = self.forward_pyg(inputs.ap, inputs.ue, inputs.edge, inputs.edge_index)
        return BipartiteInputs(*out, inputs.edge_index)


def edge_layer_stack(hidden: int, layers: int) -> nn.ModuleList:
    """``layers`` :class:`EdgeNodeLayer` s of width ``hidden`` (MLPs with one hidden layer of
    ``hidden``) for :func:`run_edge_layers`: the first takes 1-feature AP and UE states."""
    return nn.ModuleList(
        EdgeNodeLayer(hidden if i else 1, hidden if i else 1, hidden, hidden, (hidden,))
        for i in range(layers)
    )


def run_edge_layers(
    layers: Sequence[EdgeNodeLayer] | nn.ModuleList,
    edge: Tensor,
    between: Callable[[int, Tensor], Tensor] | None = None,
) -> Tensor:
    """Apply an :func:`edge_layer_stack` to link features on the complete graph.

    AP and UE states start at zero (1 feature) and are built by the layers; the link features
    carry a residual connection from the second layer on.

    :param between: ``(layer index, link states) → link states`` applied after each layer
        (e.g. :class:`~agents.nets.correlation.CorrelationMixing`); ``None``: nothing.

    Shapes:
        ``edge`` ``(B, M, K, hidden)`` float → ``(B, M, K, hidden)``.
    """
    batch, num_aps, num_ues, _ = edge.shape
    ap = edge.new_zeros(batch, num_aps, 1)
    ue = edge.new_zeros(batch, num_ues, 1)
    for index, layer in enumerate(layers):
        ap, ue, updated = layer(ap, ue, edge)
        edge = updated + edge if index else updated
        if between is not None:
            edge = between(index, edge)
    return edge


__all__ = ["EdgeNodeLayer", "edge_layer_stack", "run_edge_layers"]
