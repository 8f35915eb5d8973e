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
* beam, ``beam_head="direct"``: ``ṽ_mk = sqrt(p_mk) · (ĥ_mk + δ_mk) / ‖ĥ_mk + δ_mk‖`` with
  ``ĥ_mk`` the unit channel direction (MRT), ``δ_mk ∈ C^N`` and ``p_mk = softplus(·) + 10⁻³``
  from an MLP (the env rescales each AP's beams to its power, so ``p`` is the relative power
  within an AP);
* beam, ``beam_head="mmse"``: the structure of the optimal (and of the WMMSE fixed-point)
  joint beam, with learned parameters (Björnson, Bengtsson & Ottersten 2014; the
  "beamforming neural network" of Xia et al. 2020). With ``g_k ∈ C^{MN}`` UE ``k``'s stacked
  noise-normalised channels and ``D_k`` the diagonal mask of the antennas of its serving APs
  (the association ``X``),

  ``u_k = D_k (D_k A D_k + I)⁻¹ D_k g_k``, ``A = Σ_j λ_j g_j g_jᴴ``,

  ``ṽ_mk = sqrt(p_mk) · u_k[m] / ‖u_k‖`` (``u_k[m]``: AP ``m``'s ``N`` entries, floored at
  ``10⁻³`` of ``‖u_k‖`` so that no served beam vanishes), with the UE's dual power
  ``λ_k = exp(ℓ + MLP(f_k))`` [W] (``ℓ`` a learned scalar, initialised to ``ln(P/K)``: the
  regularised ZF of equal uplink powers) and the link's power ``p_mk = softplus(·) + 10⁻³``.
  The beams depend on the association: ``forward(observation, association)``;
* value ``V = MLP(mean_mk e_mk ‖ mean_m f_m ‖ mean_k f_k)``: the critic's estimate of the
  instance's expected reward.

Permuting APs or UEs permutes the logits and beams and leaves the value unchanged.

Beams are computed for ``association`` (``(B, M, K)`` 0/1; default the network's own
deterministic choice ``1{z > 0}``); ``"direct"`` beams do not depend on it.

Shapes:
    observation: ``channel`` ``(B, M, K, 2N)``, ``gain_db`` ``(B, M, K)``, ``capacity_mbps``
    ``(B, M)``, ``weights`` ``(B, K)`` float; association ``(B, M, K)`` 0/1 → logits ``(B, M,
    K)`` float32, beams ``(B, M, K, N)`` complex64, value ``(B,)`` float32.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import NamedTuple

import torch
from torch import Tensor, nn

from agents.nets.common import MLP
from agents.nets.egat import EGATLayer
from agents.nets.link_features import EXTRA_FEATURES, link_features
from ua_envs.core.validation import check_choice, check_int_range

#: Scale of the capacity feature [Mbit/s] and of the absolute gain feature [dB].
CAPACITY_SCALE_MBPS = 100.0
GAIN_SCALE_DB = 30.0
#: Beam heads (module docstring).
BEAM_HEADS: tuple[str, ...] = ("direct", "mmse")
#: Floor of a served link's share of its UE's ``"mmse"`` beam, relative to the beam's norm.
BEAM_SHARE_FLOOR = 1e-3


class EGATOutput(NamedTuple):
    """What :class:`EGATAgentNet` returns."""

    logits: Tensor
    """``(B, M, K)`` association logits"""
    beams: Tensor
    """``(B, M, K, N)`` complex unscaled beams"""
    value: Tensor
    """``(B,)`` critic value"""


class EGATEncoding(NamedTuple):
    """The encoder's output and the inputs the beam heads reuse (:meth:`EGATAgentNet.encode`)."""

    logits: Tensor
    """``(B, M, K)`` association logits"""
    value: Tensor
    """``(B,)`` critic value"""
    edge: Tensor
    """``(B, M, K, H)`` link embeddings"""
    ue: Tensor
    """``(B, K, H)`` UE embeddings"""
    channel: Tensor
    """``(B, M, K, 2N)`` float32 noise-normalised channels ``[Re, Im]``"""
    direction: Tensor
    """``(B, M, K, 2N)`` unit channel directions ``[Re, Im]``"""
    gain_db: Tensor
    """``(B, M, K)`` link gains [dB]"""


class EGATAgentNet(nn.Module):
    """EGAT encoder with association, beam and value heads (module docstring).

    :param num_antennas: ``N``.
    :param hidden: width ``H`` of nodes and links.
    :param layers: EGAT layers, ≥ 1.
    :param heads: attention heads per layer (each of width ``H / heads``).
    :param gain_weighted: ``"direct"`` head: multiply the relative powers by ``‖h_mk‖²``
        (relative to the AP's strongest link): the untrained beams are then exactly the
        env's MRT, each AP's power shared in proportion to its links' gains.
    :param beam_head: ``"mmse"`` (default) or ``"direct"`` (module docstring).
    :param dual_power_w: ``"mmse"`` head: the initial dual power ``λ`` per UE [W] (the
        trainer passes ``P / K``); a learned parameter afterwards.
    """

    def __init__(
        self,
        num_antennas: int,
        hidden: int = 32,
        layers: int = 2,
        heads: int = 4,
        gain_weighted: bool = False,
        beam_head: str = "mmse",
        dual_power_w: float = 1.0,
    ):
        super().__init__()
        self.gain_weighted = bool(gain_weighted)
        self.num_antennas = check_int_range("num_antennas", num_antennas, 1)
        check_int_range("layers", layers, 1)
        check_int_range("heads", heads, 1)
        check_choice("beam_head", beam_head, BEAM_HEADS)
        if not (math.isfinite(dual_power_w) and dual_power_w > 0):
            raise ValueError(f"dual_power_w must be a positive number, got {dual_power_w!r}")
        if hidden % heads:
            raise ValueError(f"hidden must be divisible by heads, got {hidden}, {heads}")
        if gain_weighted and beam_head != "direct":
            raise ValueError(
                f"gain_weighted applies to the 'direct' beam head only, got beam_head={beam_head!r}"
            )
        self.beam_head = beam_head
        self.embed_edge = nn.Linear(2 * num_antennas + EXTRA_FEATURES + 1, hidden)
        self.embed_ap = nn.Linear(1, hidden)
        self.embed_ue = nn.Linear(1, hidden)
        self.layers = nn.ModuleList(
            EGATLayer(hidden, hidden, hidden, head_dim=hidden // heads, heads=heads,
                      hidden=(hidden,))
            for _ in range(layers)
        )  # fmt: skip
        self.association = MLP(hidden, 1, (hidden,))
        # "direct": a direction correction (2N) and a power per link; "mmse": a power per link.
        self.beam = MLP(hidden, 2 * num_antennas + 1 if beam_head == "direct" else 1, (hidden,))
        self.value = MLP(3 * hidden, 1, (hidden,))
        # Start from MRT beams (or the equal-λ regularised ZF) at equal power: the beam
        # heads' last layers at zero.
        heads_at_zero = [self.beam]
        if beam_head == "mmse":
            self.dual_power = MLP(hidden, 1, (hidden,))
            self.log_dual_power = nn.Parameter(torch.tensor(math.log(dual_power_w)))
            heads_at_zero.append(self.dual_power)
        for head in heads_at_zero:
            last = head[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def encode(self, observation: Mapping[str, Tensor]) -> EGATEncoding:
        """Encoder, association logits and value (everything but the beams)."""
        channel = observation["channel"].to(torch.float32)
        width = int(channel.shape[-1])
        if width != 2 * self.num_antennas:
            raise ValueError(
                f"observation['channel'] must have 2N = {2 * self.num_antennas} entries per "
                f"link (the network was built for N = {self.num_antennas} antennas), got {width}"
            )
        features = link_features(observation)
        gain_db = observation["gain_db"].to(torch.float32)
        edge = self.embed_edge(torch.cat([features, gain_db.unsqueeze(-1) / GAIN_SCALE_DB], -1))
        capacity = observation["capacity_mbps"].to(torch.float32).unsqueeze(-1)
        ap = self.embed_ap(capacity / CAPACITY_SCALE_MBPS)
        ue = self.embed_ue(observation["weights"].to(torch.float32).unsqueeze(-1))
        for layer in self.layers:
            ap, ue, edge = layer(ap, ue, edge)
        logits = self.association(edge).squeeze(-1)
        pooled = torch.cat([edge.mean(dim=(1, 2)), ap.mean(1), ue.mean(1)], -1)
        return EGATEncoding(
            logits,
            self.value(pooled).squeeze(-1),
            edge,
            ue,
            channel,
            features[..., : 2 * self.num_antennas],
            gain_db,
        )

    def beams(self, encoding: EGATEncoding, association: Tensor) -> Tensor:
        """``(B, M, K, N)`` complex64 unscaled beams for ``association`` ``(B, M, K)`` 0/1."""
        raw = self.beam(encoding.edge)
        if self.beam_head == "mmse":
            power = self._relative_power(raw[..., 0])
            unit = self._mmse_directions(encoding, association)
            return unit * power.sqrt().unsqueeze(-1)
        # "direct", computed in the first release's order (its checkpoints reproduce bit for bit).
        n = self.num_antennas
        direction = encoding.direction + raw[..., : 2 * n]
        direction = direction / direction.square().sum(-1, keepdim=True).sqrt().clamp_min(1e-6)
        power = self._relative_power(raw[..., 2 * n])
        if self.gain_weighted:
            # Start from the env's MRT ([EGAT] eq. 36): power ∝ ‖h_mk‖² within each AP
            # (relative to the AP's strongest link, floored so that no beam vanishes).
            relative = encoding.gain_db - encoding.gain_db.amax(dim=-1, keepdim=True)
            power = power * torch.pow(10.0, relative.clamp_min(-60.0) / 10.0)
        amplitude = power.sqrt().unsqueeze(-1)
        return torch.complex(direction[..., :n] * amplitude, direction[..., n:] * amplitude)

    @staticmethod
    def _relative_power(raw: Tensor) -> Tensor:
        """``softplus(raw + 0.5413) + 10⁻³``: 1 at ``raw = 0`` (equal powers at the start). The
        floor keeps every beam away from zero: an AP whose beams all vanish has an infinite
        power-projection gradient."""
        return nn.functional.softplus(raw + 0.5413) + 1e-3

    def _mmse_directions(self, encoding: EGATEncoding, association: Tensor) -> Tensor:
        """``D_k (D_k A D_k + I)⁻¹ D_k g_k`` per UE, normalised to unit norm over all antennas;
        ``(B, M, K, N)`` complex64 (module docstring)."""
        # complex128: the Gram of high-SNR links spans many decades (MPS has no complex128).
        mps = encoding.channel.device.type == "mps"
        real = torch.float32 if mps else torch.float64
        n = self.num_antennas
        parts = encoding.channel.to(real)
        channel = torch.complex(parts[..., :n], parts[..., n:])
        batch, aps, ues, _ = channel.shape
        size = aps * n
        stacked = channel.permute(0, 2, 1, 3).reshape(batch, ues, size)  # g_k, (B, K, MN)
        dual = torch.exp(
            self.log_dual_power + self.dual_power(encoding.ue).squeeze(-1).clamp(-20.0, 20.0)
        ).to(real)  # (B, K)
        gram = torch.einsum("bj,bjp,bjq->bpq", dual.to(channel.dtype), stacked, stacked.conj())
        served = (association.detach() > 0).to(real)
        mask = served.transpose(1, 2).unsqueeze(-1).expand(batch, ues, aps, n)
        mask = mask.reshape(batch, ues, size).to(channel.dtype)  # D_k, (B, K, MN)
        outer = mask.unsqueeze(-1) * mask.unsqueeze(-2)
        eye = torch.eye(size, dtype=channel.dtype, device=channel.device)
        restricted = gram.unsqueeze(1) * outer + eye  # D_k A D_k + I, (B, K, MN, MN)
        rhs = (stacked * mask).unsqueeze(-1)
        solved = torch.linalg.solve(restricted, rhs).squeeze(-1) * mask
        solved = solved.reshape(batch, ues, aps, n)
        total = torch.linalg.vector_norm(solved, dim=(-2, -1), keepdim=True).clamp_min(1e-30)
        share = solved / total  # unit norm per UE
        # A served link whose share vanishes would leave an AP with no power to project.
        norm = torch.linalg.vector_norm(share, dim=-1, keepdim=True)
        floor = torch.where(
            norm < BEAM_SHARE_FLOOR,
            BEAM_SHARE_FLOOR / norm.clamp_min(1e-30),
            torch.ones_like(norm),
        )
        share = torch.where(norm > 0, share * floor, torch.zeros_like(share))
        return share.permute(0, 2, 1, 3).to(torch.complex64)

    def forward(
        self, observation: Mapping[str, Tensor], association: Tensor | None = None
    ) -> EGATOutput:
        """Logits, beams for ``association`` (default ``1{z > 0}``) and value."""
        encoding = self.encode(observation)
        if association is None:
            association = (encoding.logits > 0).to(torch.float32)
        return EGATOutput(encoding.logits, self.beams(encoding, association), encoding.value)


__all__ = [
    "BEAM_HEADS",
    "CAPACITY_SCALE_MBPS",
    "GAIN_SCALE_DB",
    "EGATAgentNet",
    "EGATEncoding",
    "EGATOutput",
]
