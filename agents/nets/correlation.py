"""Correlation mixing: link states exchanged along the MRT interference structure of each BS.

Under MRT at transmitter ``m``, UE ``k`` hears UE ``j``'s beam in proportion to
``C_{m,k,j} = |u_{m,k}ᴴ u_{m,j}|²`` (unit channel directions, zero for ``k = j``;
:func:`agents.nets.link_features.mrt_correlation`), whether ``k`` is served by ``m`` or not. The
edge-update layers ([GS-GNN]) only see other links through means over a node, which weigh every
UE alike; this layer lets each link gather the states of the links that interfere with it::

    z_{m,j}  = A e_{m,j} + a
    e'_{m,k} = e_{m,k} + ReLU(B [ (1/K) Σ_j C_{m,k,j} z_{m,j} ; Σ_j C_{m,k,j} s_{m,j} z_{m,j} ] + b)

with ``s_{m,j}`` UE ``j``'s share of the linear gains at ``m`` (the second sum weights strong
interferers more). Residual, so a zero ``B`` is the identity.

Shapes:
    ``edge`` ``(B, M, K, H)`` float, ``correlation`` ``(B, M, K, K)`` float, ``weights``
    ``(B, M, K)`` float → ``(B, M, K, H)``.

Permuting BSs or UEs (the correlation and weights permuted with them) permutes the output the
same way.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from agents.nets.common import check_dims, match_sizes
from ua_envs.core.validation import check_int_range


class CorrelationMixing(nn.Module):
    """One residual correlation-mixing step over the links of each BS (module docstring).

    :param hidden: width ``H`` of the link states.

    >>> mix = CorrelationMixing(4)
    >>> out = mix(torch.zeros(2, 3, 5, 4), torch.zeros(2, 3, 5, 5), torch.zeros(2, 3, 5))
    >>> tuple(out.shape)
    (2, 3, 5, 4)
    """

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.hidden = check_int_range("hidden", hidden, 1)
        self.message = nn.Linear(hidden, hidden)  # A, a
        self.update = nn.Linear(2 * hidden, hidden)  # B, b

    def forward(self, edge: Tensor, correlation: Tensor, weights: Tensor) -> Tensor:
        """``e'`` ``(B, M, K, H)`` from the link states and the MRT correlations."""
        sizes = check_dims("edge", edge, ("B", "M", "K", self.hidden))
        match_sizes(sizes, "correlation", correlation, ("B", "M", "K", "K"))
        match_sizes(sizes, "weights", weights, ("B", "M", "K"))
        z = self.message(edge)
        mean = torch.matmul(correlation, z) / sizes["K"]
        strong = torch.matmul(correlation * weights.unsqueeze(-2), z)
        return edge + torch.relu(self.update(torch.cat([mean, strong], dim=-1)))


__all__ = ["CorrelationMixing"]
