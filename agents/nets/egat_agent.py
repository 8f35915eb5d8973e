"""The [EGAT] agent's network: EGAT encoder, association, beam and value heads.

Inputs (a ``FronthaulAssoc-v0`` observation, dense, batch first):

* link features ``x_mk``: :func:`agents.nets.link_features.link_features` (unit channel
  direction ``2N``, gain standardised per instance, MRT leakage, largest correlation) and the
  absolute gain ``gain_db / 30`` (the rate a link can carry, hence its fronthaul load, depends
  on it, not only on its rank);
* AP features ``[C_m / 100]`` (the fronthaul capacity [Mbit/s]: one network serves every C);
* UE features ``[w_k]`` (the weights).

Encoder: linear maps to width ``H``, then ``L`` :class:`~agents.nets.EGATLayer` updates (node
and edge attention, multi-head, residual). Heads on the link embeddings ``e_mk``:

* association logit ``z_mk = MLP(e_mk)``: ``P(x_mk = 1) = σ(z_mk)`` (independent Bernoulli per
  link, [EGAT] §IV-B);
* beam ``ṽ_mk = sqrt(p_mk) · (ĥ_mk + δ_mk) / ‖ĥ_mk + δ_mk‖`` with ``ĥ_mk`` the unit channel
  direction (MRT), ``δ_mk ∈ C^N`` and ``p_mk = softplus(·) + 10⁻³`` from an MLP (the env
  rescales each AP's beams to its power, so ``p`` is the relative power within an AP);
* value ``V = MLP(mean_mk e_mk ‖ mean_m f_m ‖ mean_k f_k)``: the critic's estimate of the
  instance's expected reward.

Permuting APs or UEs permutes the logits and beams and leaves the value unchanged.

Shapes:
    observation: ``channel`` ``(B, M, K, 2N)``, ``gain_db`` ``(B, M, K)``, ``capacity_mbps``
    ``(B, M)``, ``weights`` ``(B, K)`` float → logits ``(B, M, K)`` float32, beams ``(B, M, K,
    N)`` complex64, value ``(B,)`` float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import Tensor, nn

from agents.nets.common import MLP
from agents.nets.egat import EGATLayer
from agents.nets.link_features import EXTRA_FEATURES, link_features
from ua_envs.core.validation import check_int_range

#: Scale of the capacity feature [Mbit/s] and of the absolute gain feature [dB].
CAPACITY_SCALE_MBPS = 100.0
GAIN_SCALE_DB = 30.0


class EGATOutput(NamedTuple):
    """What :class:`EGATAgentNet` returns."""

    logits: Tensor
    """``(B, M, K)`` association logits"""
    beams: Tensor
    """``(B, M, K, N)`` complex unscaled beams"""
    value: Tensor
    """``(B,)`` critic value"""


class EGATAgentNet(nn.Module):
    """EGAT encoder with association, beam and value heads (module docstring).

    :param num_antennas: ``N``.
    :param hidden: width ``H`` of nodes and links.
    :param layers: EGAT layers, ≥ 1.
    :param heads: attention heads per layer (each of width ``H / heads``).
    :param gain_weighted: multiply the relative powers by ``‖h_mk‖²`` (relative to the AP's
        strongest link): the untrained beams are then exactly the env's MRT, each AP's power
        shared in proportion to its links' gains.
    """

    def __init__(
        self,
        num_antennas: int,
        hidden: int = 32,
        layers: int = 2,
        heads: int = 4,
        gain_weighted: bool = False,
    ):
        super().__init__()
        self.gain_weighted = bool(gain_weighted)
        self.num_antennas = check_int_range("num_antennas", num_antennas, 1)
        check_int_range("layers", layers, 1)
        check_int_range("heads", heads, 1)
        if hidden % heads:
            raise ValueError(f"hidden must be divisible by heads, got {hidden}, {heads}")
        self.embed_edge = nn.Linear(2 * num_antennas + EXTRA_FEATURES + 1, hidden)
        self.embed_ap = nn.Linear(1, hidden)
        self.embed_ue = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(
            EGATLayer(hidden, hidden, hidden, head_dim=hidden // heads, heads=heads,
                      hidden=(hidden,))
            for _ in range(layers)
        )  # fmt: skip
        self.association = MLP(hidden, 1, (hidden,))
        self.beam = MLP(hidden, 2 * num_antennas + 1, (hidden,))
        self.value = MLP(3 * hidden, 1, (hidden,))
        # Start from MRT beams at equal power: the beam head's last layer at zero.
        last = self.beam[-1]
        assert isinstance(last, nn.Linear)
        nn.init.zeros_(last.weight)
        nn.init.zeros_(last.bias)

    def forward(self, observation: Mapping[str, Tensor]) -> EGATOutput:
        channel = observation["channel"].to(torch.float32)
        width = int(channel.shape[-1])
        if width != 2 * self.num_antennas:
            raise ValueError(
                f"observation['channel'] must have 2N = {2 * self.num_antennas} entries per "
                f"link (the network was built for N = {self.num_antennas} antennas), got {width}"
            )
        features = link_features(observation)
        absolute = observation["gain_db"].to(torch.float32).unsqueeze(-1) / GAIN_SCALE_DB
        edge = self.embed_edge(torch.cat([features, absolute], -1))
        capacity = observation["capacity_mbps"].to(torch.float32).unsqueeze(-1)
        ap = self.embed_ap(capacity / CAPACITY_SCALE_MBPS)
        ue = self.embed_ue(observation["weights"].to(torch.float32).unsqueeze(-1))
        for layer in self.layers:
            ap, ue, edge = layer(ap, ue, edge)
        logits = self.association(edge).squeeze(-1)
        raw = self.beam(edge)
        n = self.num_antennas
        direction = features[..., : 2 * n] + raw[..., : 2 * n]
        direction = direction / direction.square().sum(-1, keepdim=True).sqrt().clamp_min(1e-6)
        # softplus(0.5413) = 1: equal powers at the start. The floor keeps every beam away
        # from zero: an AP whose beams all vanish has an infinite power-projection gradient.
        power = nn.functional.softplus(raw[..., 2 * n] + 0.5413) + 1e-3
        if self.gain_weighted:
            # Start from the env's MRT ([EGAT] eq. 36): power ∝ ‖h_mk‖² within each AP
            # (relative to the AP's strongest link, floored so that no beam vanishes).
            gain_db = observation["gain_db"].to(torch.float32)
            relative = gain_db - gain_db.amax(dim=-1, keepdim=True)
            power = power * torch.pow(10.0, relative.clamp_min(-60.0) / 10.0)
        amplitude = power.sqrt().unsqueeze(-1)
        beams = torch.complex(direction[..., :n] * amplitude, direction[..., n:] * amplitude)
        pooled = torch.cat([edge.mean(dim=(1, 2)), ap.mean(1), ue.mean(1)], -1)
        return EGATOutput(logits, beams, self.value(pooled).squeeze(-1))


__all__ = ["CAPACITY_SCALE_MBPS", "GAIN_SCALE_DB", "EGATAgentNet", "EGATOutput"]
