"""Graph convolution over the BS graph ([GROWS]): dense batched and PyG forms.

[GROWS] builds a Q-network from graph perceptrons (its eq. 2: a graph filter with taps
``S^0 … S^{T-1}`` on a shift operator ``S``, here Kipf & Welling's normalised adjacency)::

    H' = σ( [H W_0] + Σ_{t=1}^{hops} Â^t H W_t + b ),
    Â = D^{-1/2} (A + I) D^{-1/2},   D = diag((A + I) 1)

The bracketed root term is present with ``root_weight=True``. With ``hops=1`` and no root term
this is exactly PyG's ``GCNConv`` (``Â H W + b``); [GROWS] eq. 2 with ``T`` taps is
``hops=T-1, root_weight=True``. On the *fully connected* BS graph ``Â = J / M`` (every entry
``1/M``), so without the root term every node gets the same output (a function of the mean
input): a GROWS-style per-node Q-value needs ``root_weight=True``.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import MessagePassing
from torch_geometric.nn.conv.gcn_conv import gcn_norm

from agents.nets.common import check_dims, check_float, match_sizes
from agents.nets.graph_io import nodes_dense
from ua_envs.core.validation import check_int_range


def normalized_adjacency(adjacency: Tensor) -> Tensor:
    """``Â = D^{-1/2} (A + I) D^{-1/2}`` with ``D`` the row sums of ``A + I``, batched.

    ``adjacency[..., i, j]`` is the weight of the edge ``j → i`` (the message node ``i``
    receives from ``j``), as PyG's ``source_to_target`` flow: the degree of ``i`` is its
    in-degree (row sum), as in ``gcn_norm``.

    Shapes:
        ``adjacency`` ``(..., M, M)`` float, nonnegative; output the same.

    >>> complete = torch.ones(3, 3) - torch.eye(3)  # fully connected: Â = J / 3
    >>> torch.allclose(normalized_adjacency(complete), torch.full((3, 3), 1 / 3))
    True
    """
    size = adjacency.shape[-1]
    with_loops = adjacency + torch.eye(size, dtype=adjacency.dtype, device=adjacency.device)
    inv_sqrt = with_loops.sum(-1).clamp_min(torch.finfo(adjacency.dtype).tiny).rsqrt()
    return inv_sqrt.unsqueeze(-1) * with_loops * inv_sqrt.unsqueeze(-2)


class _WeightedSum(MessagePassing):
    """``out_i = Σ_{j → i} w_ji x_j`` on an edge index (sum aggregation)."""

    def __init__(self) -> None:
        super().__init__(aggr="add")

    def forward(self, x: Tensor, edge_index: Tensor, edge_weight: Tensor) -> Tensor:
        return self.propagate(edge_index, x=x, edge_weight=edge_weight)

    def message(self, x_j: Tensor, edge_weight: Tensor) -> Tensor:
        return edge_weight.unsqueeze(-1) * x_j


class GCNLayer(nn.Module):
    r"""Graph convolution ``H' = σ([H W_0] + Σ_{t=1}^{hops} Â^t H W_t + b)`` ([GROWS], GCN).

    ``Â = D^{-1/2}(A + I)D^{-1/2}`` is the self-looped, symmetrically normalised adjacency
    (:func:`normalized_adjacency`). Two forms compute the same function with the same weights:

    * :meth:`forward` (dense, batched): ``x`` ``(B, M, F)`` and an adjacency ``(M, M)`` or
      ``(B, M, M)``; ``None`` means the fully connected BS graph of ``ua_envs.graph.bs_graph``
      (``A = J − I``). Fastest for small complete graphs.
    * :meth:`forward_pyg` (sparse): ``x`` ``(N, F)`` and a PyG ``edge_index`` ``(2, E)``
      (self-loops added by ``gcn_norm``), e.g. ``bs_graph_batch(obs)``; with ``hops=1`` and
      no root term the result equals ``torch_geometric.nn.GCNConv`` with the same weight and bias.

    :meth:`forward_graph` takes a ``Data`` / ``Batch`` from ``ua_envs.graph`` directly.

    Shapes:
        dense: ``x`` ``(B, M, in_dim)`` float → ``(B, M, out_dim)``; ``adjacency`` ``(M, M)`` or
        ``(B, M, M)`` float (entry ``[i, j]``: weight of edge ``j → i``) or None.
        PyG: ``x`` ``(N, in_dim)`` float, ``edge_index`` ``(2, E)`` int64, ``edge_weight``
        ``(E,)`` float or None → ``(N, out_dim)``.

    :param in_dim: input features per node.
    :param out_dim: output features per node.
    :param hops: powers ``Â^1 … Â^hops`` (>= 1); 1 = Kipf–Welling GCN.
    :param root_weight: add the ``H W_0`` term (node's own features, the ``Â^0`` tap).
    :param activation: ``σ``, any callable on tensors (``torch.tanh`` for GROWS); None = identity.
    :param bias: add the learnable bias ``b``.

    >>> layer = GCNLayer(5, 8, root_weight=True, activation=torch.tanh)  # GROWS, 2 taps
    >>> layer(torch.zeros(4, 3, 5)).shape
    torch.Size([4, 3, 8])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hops: int = 1,
        root_weight: bool = False,
        activation: Callable[[Tensor], Tensor] | None = None,
        bias: bool = True,
    ) -> None:
        super().__init__()
        self.in_dim = check_int_range("in_dim", in_dim, 1)
        self.out_dim = check_int_range("out_dim", out_dim, 1)
        self.hops = check_int_range("hops", hops, 1)
        self.weights = nn.ModuleList(nn.Linear(in_dim, out_dim, bias=False) for _ in range(hops))
        self.root = nn.Linear(in_dim, out_dim, bias=False) if root_weight else None
        self.bias = nn.Parameter(torch.zeros(out_dim)) if bias else None
        self.activation = activation
        self._propagate = _WeightedSum()

    def _finish(self, x: Tensor, out: Tensor) -> Tensor:
        if self.root is not None:
            out = out + self.root(x)
        if self.bias is not None:
            out = out + self.bias
        return out if self.activation is None else self.activation(out)

    def forward(self, x: Tensor, adjacency: Tensor | None = None) -> Tensor:
        """Dense form. ``x`` ``(B, M, in_dim)``; ``adjacency`` ``(M, M)``, ``(B, M, M)`` or None
        (complete graph without self-loops). Returns ``(B, M, out_dim)``."""
        sizes = check_dims("x", x, ("B", "M", self.in_dim))
        check_float("x", x)
        num_nodes = sizes["M"]
        if adjacency is None:
            norm = torch.full(
                (num_nodes, num_nodes), 1.0 / num_nodes, dtype=x.dtype, device=x.device
            )
        else:
            if adjacency.dim() == 2:
                match_sizes(sizes, "adjacency", adjacency, ("M", "M"))
            else:
                match_sizes(sizes, "adjacency", adjacency, ("B", "M", "M"))
            check_float("adjacency", adjacency)
            norm = normalized_adjacency(adjacency.to(x.dtype))
        power, out = x, torch.zeros(())
        for weight in self.weights:
            power = torch.matmul(norm, power)
            out = out + weight(power)
        return self._finish(x, out)

    def forward_pyg(
        self, x: Tensor, edge_index: Tensor, edge_weight: Tensor | None = None
    ) -> Tensor:
        """PyG form on an edge index (any graph). ``x`` ``(N, in_dim)``, ``edge_index`` ``(2, E)``
        (row 0 source, row 1 target), ``edge_weight`` ``(E,)`` or None (ones). Returns
        ``(N, out_dim)``."""
        check_dims("x", x, ("N", self.in_dim))
        check_float("x", x)
        check_dims("edge_index", edge_index, (2, "E"))
        if edge_weight is not None:
            check_dims("edge_weight", edge_weight, (edge_index.shape[1],))
        # Self-loops (weight 1) and D^{-1/2} (A + I) D^{-1/2}, exactly as GCNConv normalises.
        index, weight = gcn_norm(edge_index, edge_weight, x.shape[0], dtype=x.dtype)
        power, out = x, torch.zeros(())
        for linear in self.weights:
            power = self._propagate(power, index, weight)
            out = out + linear(power)
        return self._finish(x, out)

    def forward_graph(self, data: Data | Batch, dense: bool = True) -> Tensor:
        """Apply the layer to a ``Data`` / ``Batch`` from ``ua_envs.graph`` (e.g. ``bs_graph``).

        :param data: homogeneous graph(s) with ``x`` and ``edge_index``.
        :param dense: True: the dense form on the complete graph (``data``'s graphs must be the
            complete BS graphs of ``bs_graph``); False: the PyG form on ``data.edge_index``.
        :return: ``(B, M, out_dim)`` if dense, else ``(N, out_dim)``.
        """
        if dense:
            x = nodes_dense(data)
            batch, num_nodes = x.shape[0], x.shape[1]
            edges = data.edge_index.shape[1]
            if edges != batch * num_nodes * (num_nodes - 1):
                raise ValueError(
                    f"data has {edges} edges, the dense form needs the complete graphs of "
                    f"bs_graph (B·M·(M-1) = {batch * num_nodes * (num_nodes - 1)}); use dense=False"
                )
            return self(x)
        return self.forward_pyg(data.x, data.edge_index)


__all__ = ["GCNLayer", "normalized_adjacency"]
