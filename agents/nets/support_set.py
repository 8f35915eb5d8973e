"""Encoder–decoder of the [SupportSet] agent: link logits + END for a partial support.

[SupportSet] (§III) builds the cell-free support one link at a time. Our network for it, on the
complete AP–UE graph (dense form, batch first):

1. **Encoder** (:class:`LinkEncoder`, once per instance): static link features ``x_mk``
   (:func:`agents.nets.link_features.link_features`: unit channel direction, standardised
   gain, MRT leakage and largest correlation) → ``Linear`` → ``L``
   :class:`~agents.nets.EdgeNodeLayer` updates ([GS-GNN] eqs. 6–8, residual from the second
   layer) → link embeddings ``e_mk`` ``(H)``.
2. **Context** of the current support ``S`` (every decoding step). Dynamic link features
   ``d_mk = [s_mk, legal_mk, load_m / cap_ap, degree_k / cap_ue, 1{degree_k > 0}]`` are
   embedded and added: ``t_mk = e_mk + W_d d_mk``. With ``context="gnn"`` (default, the
   paper's GNN context) one more edge-update layer, with its own weights, passes messages
   over ``t`` so that every link sees the support at its AP and at its UE; with
   ``context="attention"`` the tokens stay ``t`` and only the decoder's glimpse attends over
   them. The context vector is :class:`~agents.nets.SupportContext` over the tokens (all /
   chosen / not chosen means) with the step features ``[|S| / (M·K), covered UEs / K]``.
3. **Decoder** (:class:`~agents.nets.PointerDecoder`): glimpse + clipped compatibility of the
   context with every link and a learned END token, masked by the legal actions:
   ``π(a | S) = softmax(u)_a``, action ``a = m·K + k`` or ``M·K`` (END), the layout of
   ``CellFreeAssoc-v0``.

The critic (:class:`SupportSetCritic`) is an encoder of its own with a value head on the mean
link embedding: the expected terminal sum rate of the instance.

The network is size-free (any ``M``, ``K``; the antennas ``N`` are fixed by the first layer)
and permutation-equivariant: permuting APs or UEs permutes the link logits (END unchanged).

Shapes:
    observation: ``channel`` ``(B, M, K, 2N)``, ``gain_db`` ``(B, M, K)``, ``support``
    ``(B, M, K)`` 0/1, ``ap_load`` ``(B, M)``, ``ue_degree`` ``(B, K)`` float, ``action_mask``
    ``(B, M·K + 1)`` int8/bool → logits ``(B, M·K + 1)`` float32 (``-inf`` where illegal).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from agents.nets.attention import PointerDecoder, SupportContext
from agents.nets.common import MLP
from agents.nets.edge_node import EdgeNodeLayer, edge_layer_stack, run_edge_layers
from agents.nets.link_features import EXTRA_FEATURES, link_features
from ua_envs.core.validation import check_choice, check_int_range

#: Context networks of :class:`SupportSetNet`.
CONTEXTS: tuple[str, ...] = ("gnn", "attention")
#: Dynamic features per link (module docstring, item 2).
DYNAMIC_FEATURES = 5


class LinkEncoder(nn.Module):
    """``Linear`` + ``layers`` :class:`~agents.nets.EdgeNodeLayer` s over the complete graph.

    ``h⁰ = ReLU(W x)``; ``(b, c, hˡ⁺¹) = EdgeNode(b, c, hˡ)`` with zero-initialised AP / UE
    states (1 feature) and a residual ``hˡ⁺¹ += hˡ`` from the second layer on.

    Shapes:
        ``features`` ``(B, M, K, in_dim)`` float → ``(B, M, K, hidden)``.

    :param in_dim: link features.
    :param hidden: width of every layer.
    :param layers: edge-update layers, ≥ 1.

    >>> LinkEncoder(7, 16, 2)(torch.zeros(3, 4, 2, 7)).shape
    torch.Size([3, 4, 2, 16])
    """

    def __init__(self, in_dim: int, hidden: int, layers: int) -> None:
        super().__init__()
        check_int_range("layers", layers, 1)
        self.embed = nn.Linear(check_int_range("in_dim", in_dim, 1), hidden)
        self.layers = edge_layer_stack(hidden, layers)

    def forward(self, features: Tensor) -> Tensor:
        return run_edge_layers(self.layers, torch.relu(self.embed(features)))


def dynamic_features(
    observation: Mapping[str, Tensor], max_ues_per_ap: int, max_aps_per_ue: int
) -> Tensor:
    """``(B, M, K, 5)`` float32 features of the partial support (module docstring, item 2)."""
    support = observation["support"].to(torch.float32)
    batch, num_aps, num_ues = support.shape
    legal = observation["action_mask"][:, : num_aps * num_ues].to(torch.float32)
    load = (observation["ap_load"].to(torch.float32) / max_ues_per_ap)[:, :, None]
    degree = observation["ue_degree"].to(torch.float32)
    covered = (degree > 0).to(torch.float32)[:, None, :]
    degree = (degree / max_aps_per_ue)[:, None, :]
    shape = (batch, num_aps, num_ues)
    return torch.stack(
        [
            support,
            legal.view(shape),
            load.expand(shape),
            degree.expand(shape),
            covered.expand(shape),
        ],
        -1,
    )


class SupportSetNet(nn.Module):
    """The [SupportSet] policy network: masked link + END logits (module docstring).

    Call :meth:`encode` once per instance and pass its result to :meth:`forward` at every
    decoding step (the encoder does not read the support); ``forward(observation)`` alone
    encodes too.

    Shapes:
        see the module docstring; :meth:`encode` → ``(B, M, K, hidden)``.

    :param num_antennas: ``N`` (the direction has ``2N`` entries).
    :param hidden: width ``H`` of every layer (divisible by ``heads``).
    :param layers: encoder edge-update layers.
    :param context: ``"gnn"`` or ``"attention"`` (:data:`CONTEXTS`).
    :param heads: glimpse attention heads of the decoder.
    :param clip: tanh clipping of the decoder's logits.
    :param max_ues_per_ap: the env's cap (normalises the AP load feature).
    :param max_aps_per_ue: the env's cap (normalises the UE degree feature).
    """

    def __init__(
        self,
        num_antennas: int,
        hidden: int = 64,
        layers: int = 3,
        context: str = "gnn",
        heads: int = 4,
        clip: float = 10.0,
        max_ues_per_ap: int = 3,
        max_aps_per_ue: int = 3,
    ) -> None:
        super().__init__()
        self.num_antennas = check_int_range("num_antennas", num_antennas, 1)
        check_choice("context", context, CONTEXTS)
        self.context_kind = context
        self.max_ues_per_ap = check_int_range("max_ues_per_ap", max_ues_per_ap, 1)
        self.max_aps_per_ue = check_int_range("max_aps_per_ue", max_aps_per_ue, 1)
        self.encoder = LinkEncoder(2 * num_antennas + EXTRA_FEATURES, hidden, layers)
        self.dynamic = nn.Linear(DYNAMIC_FEATURES, hidden)
        self.context_layer = (
            EdgeNodeLayer(DYNAMIC_FEATURES - 3, 2, hidden, hidden, (hidden,))
            if context == "gnn"
            else None
        )
        self.context = SupportContext(hidden, hidden, extra_dim=2, hidden=(hidden,))
        self.decoder = PointerDecoder(hidden, hidden, heads=heads, clip=clip, end_token=True)

    def encode(self, observation: Mapping[str, Tensor]) -> Tensor:
        """``(B, M, K, H)`` link embeddings of the instances (support-independent)."""
        self._check_antennas(observation)
        return self.encoder(link_features(observation))

    def _check_antennas(self, observation: Mapping[str, Tensor]) -> None:
        width = int(observation["channel"].shape[-1])
        if width != 2 * self.num_antennas:
            raise ValueError(
                f"observation['channel'] must have 2N = {2 * self.num_antennas} entries per "
                f"link (the network was built for N = {self.num_antennas} antennas), got "
                f"{width}"
            )

    def forward(self, observation: Mapping[str, Tensor], encoded: Tensor | None = None) -> Tensor:
        """``(B, M·K + 1)`` masked logits of the next action (END last)."""
        if encoded is None:
            encoded = self.encode(observation)
        dynamic = dynamic_features(observation, self.max_ues_per_ap, self.max_aps_per_ue)
        batch, num_aps, num_ues, hidden = encoded.shape
        tokens = encoded + self.dynamic(dynamic)
        if self.context_layer is not None:
            # AP state: [load / cap, full]; UE state: [degree / cap, covered].
            ap_state = torch.stack(
                [dynamic[:, :, 0, 2], (dynamic[:, :, 0, 2] >= 1).to(tokens.dtype)], -1
            )
            ue_state = dynamic[:, 0, :, 3:5]
            _, _, updated = self.context_layer(ap_state, ue_state, tokens)
            tokens = tokens + updated
        flat = tokens.reshape(batch, num_aps * num_ues, hidden)
        support = observation["support"].reshape(batch, -1) > 0.5
        covered = dynamic[:, 0, :, 4].mean(-1)
        extra = torch.stack([support.to(flat.dtype).mean(-1), covered], -1)
        context = self.context(flat, support, extra)
        mask = observation["action_mask"].to(torch.bool)
        return self.decoder(flat, context, mask)


class SupportSetCritic(nn.Module):
    """Value of an instance: its own :class:`LinkEncoder`, mean over links, MLP → scalar.

    Shapes:
        observation as in :class:`SupportSetNet` (only ``channel`` and ``gain_db`` read) →
        ``(B,)`` float32 (the predicted terminal sum rate, bit/s/Hz).

    :param num_antennas: ``N``.
    :param hidden: layer width.
    :param layers: encoder layers.
    """

    def __init__(self, num_antennas: int, hidden: int = 64, layers: int = 3) -> None:
        super().__init__()
        self.num_antennas = check_int_range("num_antennas", num_antennas, 1)
        self.encoder = LinkEncoder(2 * num_antennas + EXTRA_FEATURES, hidden, layers)
        self.head = MLP(hidden, 1, (hidden,))

    def forward(self, observation: Mapping[str, Tensor]) -> Tensor:
        embedded = self.encoder(link_features(observation))  # (B, M, K, H)
        return self.head(embedded.mean(dim=(1, 2))).squeeze(-1)


class BeamPowerHead(nn.Module):
    """Learned beams for a chosen support: per-link powers on the partial-RZF directions.

    ``w_mk = softplus(Linear(LinkEncoder([x_mk, s_mk])))`` with ``x`` the static link features
    and ``s`` the support bit; the beams are ``ṽ_mk = sqrt(w_mk) · v^{RZF}_mk`` (the caller's
    RZF beams), which the env's ``evaluate(..., beams=...)`` rescales to each AP's power.

    Shapes:
        observation as in :class:`SupportSetNet` (``channel``, ``gain_db``), ``support``
        ``(B, M, K)`` bool → weights ``(B, M, K)`` float32, > 0 on every link (the caller
        masks by the support).

    :param num_antennas: ``N``.
    :param hidden: layer width.
    :param layers: encoder layers.
    """

    def __init__(self, num_antennas: int, hidden: int = 32, layers: int = 2) -> None:
        super().__init__()
        self.num_antennas = check_int_range("num_antennas", num_antennas, 1)
        self.encoder = LinkEncoder(2 * num_antennas + EXTRA_FEATURES + 1, hidden, layers)
        self.out = nn.Linear(hidden, 1)

    def forward(self, observation: Mapping[str, Tensor], support: Tensor) -> Tensor:
        features = torch.cat(
            [link_features(observation), support.to(torch.float32).unsqueeze(-1)], -1
        )
        return nn.functional.softplus(self.out(self.encoder(features)).squeeze(-1)) + 1e-3


__all__ = [
    "CONTEXTS",
    "BeamPowerHead",
    "LinkEncoder",
    "SupportSetCritic",
    "SupportSetNet",
    "dynamic_features",
]
