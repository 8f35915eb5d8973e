"""Per-transmitter MMSE beam head: the structure of the optimal multi-cell beams, learned.

For transmitter ``m`` with noise-normalised channels ``g_{m,j} ∈ C^N`` to every UE ``j``
(``h_{m,j} / σ_j``), the beams that maximise a weighted sum rate under a power budget have the
form (Björnson, Bengtsson & Ottersten 2014: the uplink–downlink duality of the MMSE receiver)

    u_{m,k} = (Σ_j λ_j g_{m,j} g_{m,j}ᴴ + I)⁻¹ g_{m,k},
    ṽ_{m,k} = sqrt(p_{m,k}) · u_{m,k} / ‖u_{m,k}‖,

interference to every UE ``j`` (served by ``m`` or not) weighted by its dual power ``λ_j``
[W]. The head learns ``λ_j = exp(ℓ + MLP(mean_m e_{m,j}))`` (``ℓ`` a scalar initialised to
``ln(dual_power_w)``; with the MLP's last layer at zero the start is the regularised ZF of
equal uplink powers) and the relative power ``p_{m,k} = softplus(MLP(e_{m,k}) + 0.5413) +
10⁻³`` (1 at the start; the floor keeps every beam away from zero). The env rescales each
transmitter's beams to its power (:func:`ua_envs.core.signal.project_power`), so ``p`` is a
share within a transmitter. The beams do not depend on the association (each link gets its
own beam; the association weights them), so a relaxed association trains them as well.

The single-transmitter-per-UE case of :class:`agents.nets.egat_agent.EGATAgentNet`'s joint
``"mmse"`` head, which spans the antennas of all the UE's serving APs instead.

Shapes:
    ``edge`` ``(B, M, K, H)`` float link embeddings, ``channel`` ``(B, M, K, 2N)`` float
    ``[Re g, Im g]`` → beams ``(B, M, K, N)`` complex64 (unscaled ṽ).

Permuting transmitters or UEs permutes the beams the same way.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from agents.nets.common import MLP

#: ``softplus(0.5413) ≈ 1``: equal relative powers at the start.
_POWER_OFFSET = 0.5413


class MMSEBeamHead(nn.Module):
    """Per-transmitter MMSE beams with learned dual and link powers (module docstring).

    :param hidden: width ``H`` of the link embeddings.
    :param num_antennas: ``N``.
    :param dual_power_w: initial dual power ``λ`` per UE [W] (``P / K`` is the usual start).
    """

    def __init__(self, hidden: int, num_antennas: int, dual_power_w: float = 1.0) -> None:
        super().__init__()
        if not dual_power_w > 0 or not math.isfinite(dual_power_w):
            raise ValueError(f"dual_power_w must be finite and > 0, got {dual_power_w!r}")
        self.num_antennas = num_antennas
        self.power = MLP(hidden, 1, (hidden,))
        self.dual_power = MLP(hidden, 1, (hidden,))
        self.log_dual_power = nn.Parameter(torch.tensor(math.log(dual_power_w)))
        for head in (self.power, self.dual_power):  # start: equal powers, equal λ
            last = head[-1]
            assert isinstance(last, nn.Linear)
            nn.init.zeros_(last.weight)
            nn.init.zeros_(last.bias)

    def forward(self, edge: Tensor, channel: Tensor) -> Tensor:
        """``(B, M, K, N)`` complex64 unscaled beams for link embeddings ``edge`` and
        noise-normalised channels ``channel`` ``(B, M, K, 2N)``."""
        n = self.num_antennas
        if channel.shape[-1] != 2 * n:
            raise ValueError(
                f"channel must have 2N = {2 * n} entries per link (the head was built for "
                f"N = {n}), got {channel.shape[-1]}"
            )
        # complex128: the Gram of high-SNR links spans many decades (MPS has no complex128).
        real = torch.float32 if channel.device.type == "mps" else torch.float64
        parts = channel.to(real)
        g = torch.complex(parts[..., :n], parts[..., n:])  # (B, M, K, N)
        ue = edge.mean(dim=1)  # (B, K, H)
        dual = torch.exp(
            self.log_dual_power + self.dual_power(ue).squeeze(-1).clamp(-20.0, 20.0)
        ).to(real)  # (B, K)
        gram = torch.einsum("bj,bmjp,bmjq->bmpq", dual.to(g.dtype), g, g.conj())  # (B, M, N, N)
        eye = torch.eye(n, dtype=g.dtype, device=g.device)
        solved = torch.linalg.solve(gram + eye, g.transpose(-1, -2))  # (B, M, N, K)
        unit = solved.transpose(-1, -2)
        unit = unit / torch.linalg.vector_norm(unit, dim=-1, keepdim=True).clamp_min(1e-30)
        power = nn.functional.softplus(self.power(edge).squeeze(-1) + _POWER_OFFSET) + 1e-3
        return (unit * power.to(real).sqrt().unsqueeze(-1)).to(torch.complex64)


__all__ = ["MMSEBeamHead"]
