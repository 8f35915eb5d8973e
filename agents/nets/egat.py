"""Edge-graph attention layer ([EGAT], Liu & Zhao 2026, §IV-C, eqs. 17–26): dense form.

Per head ``c`` (of ``C``) with linear maps ``W_AP``, ``W_UE``, ``W_e`` (to ``d`` features
each), attention vectors ``a_AP``, ``a_UE``, ``a_e`` (``3d``) and ``σ`` = LeakyReLU:

Node attention (AP ``m``; the UE update is the mirror image, eqs. 20–22)::

    α_{m,k}  = softmax_{k ∈ N(m)} σ(a_AP · [W_AP f_m ‖ W_e e_mk ‖ W_UE f_k])        (17)
    f_{m,c}  = Σ_k α_{m,k} [W_e e_mk ‖ W_UE f_k]                                    (18)
    f'_m     = MLP_AP(‖_c f_{m,c}) + f_m                                            (19)

Edge attention (link ``(m, k)``; neighbours: the other links of AP ``m`` and of UE ``k``)::

    β^AP_{mk,mj} = softmax_{j ≠ k} σ(a_e · [W_e e_mj ‖ W_AP f_m ‖ W_e e_mk])          (23)
    β^UE_{mk,nk} = softmax_{n ≠ m} σ(a_e · [W_e e_nk ‖ W_UE f_k ‖ W_e e_mk])          (24)
    e_{mk,c}     = Σ_{j≠k} β^AP [W_e e_mj ‖ W_AP f_m] + Σ_{n≠m} β^UE [W_e e_nk ‖ W_UE f_k]  (25)
    e'_mk        = MLP_e(‖_c e_{mk,c}) + e_mk                                        (26)

Choices where the paper is loose: every update adds its residual after its MLP (the form of
eqs. 22 and 26; eq. 19 prints it inside), all three maps project to the same ``d`` so eq. 25's
two sums add, the MLPs have no batch norm (rows of a batch stay independent), and a link whose
AP (UE) has no other link gets 0 from that sum (softmax over an empty set). The edge attention
looks at pairs of links sharing a node, which has no natural PyG ``MessagePassing`` form on
the bipartite edge index; the layer is dense only.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch_geometric.data import Batch, HeteroData

from agents.nets.common import MLP, check_dims, check_float, masked_softmax, match_sizes
from agents.nets.graph_io import BipartiteInputs, bipartite_dense
from ua_envs.core.validation import check_float_range, check_int_range


class EGATLayer(nn.Module):
    """One EGAT update layer: multi-head node and edge attention with residual connections.

    Math: module docstring. Outputs keep the input widths (the residual needs it); map raw
    features to ``ap_dim``/``ue_dim``/``edge_dim`` first (the paper's preprocessing layer).

    Shapes:
        ``ap`` ``(B, M, ap_dim)``, ``ue`` ``(B, K, ue_dim)``, ``edge`` ``(B, M, K, edge_dim)``
        float → the same shapes. Memory of the edge attention: ``O(B·M·K·(M + K)·C)``.

    :param ap_dim: AP features (``f_m``), kept by the layer.
    :param ue_dim: UE features (``f_k``), kept by the layer.
    :param edge_dim: link features (``e_mk``), kept by the layer.
    :param head_dim: ``d``, the width of each head's projections.
    :param heads: ``C`` attention heads.
    :param hidden: hidden widths of ``MLP_AP``, ``MLP_UE``, ``MLP_e`` (ReLU; no output activation).
    :param negative_slope: LeakyReLU slope of ``σ`` (the paper: 0.001).

    >>> layer = EGATLayer(16, 16, 16, head_dim=8, heads=4)
    >>> out = layer(torch.zeros(2, 3, 16), torch.zeros(2, 5, 16), torch.zeros(2, 3, 5, 16))
    >>> [tuple(t.shape) for t in out]
    [(2, 3, 16), (2, 5, 16), (2, 3, 5, 16)]
    """

    def __init__(
        self,
        ap_dim: int,
        ue_dim: int,
        edge_dim: int,
        head_dim: int = 16,
        heads: int = 4,
        hidden: Sequence[int] = (64,),
        negative_slope: float = 0.001,
    ) -> None:
        super().__init__()
        self.ap_dim = check_int_range("ap_dim", ap_dim, 1)
        self.ue_dim = check_int_range("ue_dim", ue_dim, 1)
        self.edge_dim = check_int_range("edge_dim", edge_dim, 1)
        self.head_dim = check_int_range("head_dim", head_dim, 1)
        self.heads = check_int_range("heads", heads, 1)
        self.negative_slope = check_float_range("negative_slope", negative_slope, 0.0, 1.0)
        width = heads * head_dim
        self.w_ap = nn.Linear(ap_dim, width, bias=False)
        self.w_ue = nn.Linear(ue_dim, width, bias=False)
        self.w_e = nn.Linear(edge_dim, width, bias=False)
        # Attention vectors, one row per head, split in the three concatenated slots.
        self.a_ap = nn.Parameter(torch.empty(heads, 3, head_dim))
        self.a_ue = nn.Parameter(torch.empty(heads, 3, head_dim))
        self.a_e = nn.Parameter(torch.empty(heads, 3, head_dim))
        for a in (self.a_ap, self.a_ue, self.a_e):
            nn.init.xavier_uniform_(a.view(heads, 3 * head_dim))
        self.mlp_ap = MLP(2 * width, ap_dim, hidden)
        self.mlp_ue = MLP(2 * width, ue_dim, hidden)
        self.mlp_e = MLP(2 * width, edge_dim, hidden)

    def _score(self, a: Tensor, *slots: Tensor) -> Tensor:
        """``σ(Σ_s a[:, s] · slot_s)``; each slot ``(..., C, d)`` broadcast → ``(..., C)``."""
        total = (slots[0] * a[:, 0]).sum(-1)
        for i, slot in enumerate(slots[1:], start=1):
            total = total + (slot * a[:, i]).sum(-1)
        return F.leaky_relu(total, self.negative_slope)

    def forward(self, ap: Tensor, ue: Tensor, edge: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Dense form on the complete bipartite graph; returns ``(ap', ue', edge')``."""
        sizes = check_dims("ap", ap, ("B", "M", self.ap_dim))
        match_sizes(sizes, "ue", ue, ("B", "K", self.ue_dim))
        match_sizes(sizes, "edge", edge, ("B", "M", "K", self.edge_dim))
        for name, value in (("ap", ap), ("ue", ue), ("edge", edge)):
            check_float(name, value)
        batch, num_aps, num_ues = sizes["B"], sizes["M"], sizes["K"]
        heads, dim = self.heads, self.head_dim
        p_ap = self.w_ap(ap).view(batch, num_aps, 1, heads, dim)  # W_AP f_m
        p_ue = self.w_ue(ue).view(batch, 1, num_ues, heads, dim)  # W_UE f_k
        p_e = self.w_e(edge).view(batch, num_aps, num_ues, heads, dim)  # W_e e_mk

        # Node attention, eqs. 17–18 (AP over its UEs: axis 2) and 20–21 (UE over its APs: axis 1).
        alpha_ap = torch.softmax(self._score(self.a_ap, p_ap, p_e, p_ue), dim=2)  # (B, M, K, C)
        alpha_ue = torch.softmax(self._score(self.a_ue, p_ue, p_e, p_ap), dim=1)
        ap_msg = torch.cat([p_e, p_ue.expand_as(p_e)], -1)  # (B, M, K, C, 2d)
        ue_msg = torch.cat([p_e, p_ap.expand_as(p_e)], -1)
        ap_agg = (alpha_ap.unsqueeze(-1) * ap_msg).sum(2)  # (B, M, C, 2d)
        ue_agg = (alpha_ue.unsqueeze(-1) * ue_msg).sum(1)  # (B, K, C, 2d)
        ap_out = self.mlp_ap(ap_agg.reshape(batch, num_aps, 2 * heads * dim)) + ap
        ue_out = self.mlp_ue(ue_agg.reshape(batch, num_ues, 2 * heads * dim)) + ue

        # Edge attention, eqs. 23–25. AP side: target link (m, k) [axis 2], neighbour (m, j)
        # [axis 3]; UE side: target (m, k) [axes 1, 2], neighbour (n, k) [axis 3].
        a_nb, a_node, a_self = self.a_e[:, 0], self.a_e[:, 1], self.a_e[:, 2]
        nb_ap = (p_e * a_nb).sum(-1)  # (B, M, K, C): a_e[0] · W_e e
        self_term = (p_e * a_self).sum(-1)  # (B, M, K, C): a_e[2] · W_e e_mk
        node_ap = (p_ap * a_node).sum(-1)  # (B, M, 1, C)
        node_ue = (p_ue * a_node).sum(-1)  # (B, 1, K, C)
        score_ap = F.leaky_relu(
            nb_ap.unsqueeze(2) + (node_ap + self_term).unsqueeze(3), self.negative_slope
        )  # (B, M, K_target, K_nb, C)
        score_ue = F.leaky_relu(
            nb_ap.permute(0, 2, 1, 3).unsqueeze(1) + (node_ue + self_term).unsqueeze(3),
            self.negative_slope,
        )  # (B, M_target, K, M_nb, C)
        off_k = ~torch.eye(num_ues, dtype=torch.bool, device=ap.device)  # j ≠ k
        off_m = ~torch.eye(num_aps, dtype=torch.bool, device=ap.device)  # n ≠ m
        beta_ap = masked_softmax(score_ap, off_k.view(1, 1, num_ues, num_ues, 1), dim=3)
        beta_ue = masked_softmax(score_ue, off_m.view(1, num_aps, 1, num_aps, 1), dim=3)
        # Σ_j β [W_e e_mj ‖ W_AP f_m] = [Σ_j β W_e e_mj ‖ (Σ_j β) W_AP f_m] (Σβ is 1, or 0 alone).
        e_from_ap = torch.einsum("bmkjc,bmjcd->bmkcd", beta_ap, p_e)
        e_from_ue = torch.einsum("bmknc,bnkcd->bmkcd", beta_ue, p_e)
        node_from_ap = beta_ap.sum(3).unsqueeze(-1) * p_ap  # (B, M, K, C, d)
        node_from_ue = beta_ue.sum(3).unsqueeze(-1) * p_ue
        edge_agg = torch.cat([e_from_ap + e_from_ue, node_from_ap + node_from_ue], -1)
        edge_out = self.mlp_e(edge_agg.reshape(batch, num_aps, num_ues, 2 * heads * dim)) + edge
        return ap_out, ue_out, edge_out

    def forward_graph(self, data: HeteroData | Batch) -> BipartiteInputs:
        """The dense form on a bipartite ``HeteroData`` / ``Batch`` of ``ua_envs.graph``
        (feature widths must equal the layer's); outputs ``(B, M, ·)``, ``(B, K, ·)``,
        ``(B, M, K, ·)``."""
        inputs = bipartite_dense(data)
        return BipartiteInputs(*self(inputs.ap, inputs.ue, inputs.edge))


__all__ = ["EGATLayer"]
