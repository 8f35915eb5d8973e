"""Association heads: from per-link logits to a relaxed (differentiable) association.

The learning-to-optimize agents ([GS-GNN], [AttSKGS]) score every link ``(m, k)`` with a logit
``z_{m,k}`` and turn the logits into an association ``a ∈ [0, 1]^{M×K}`` whose sum rate is
differentiated. Each UE ``k`` picks one transmitter (column ``k`` is a distribution over ``m``):

* ``softmax``: ``a_{:,k} = softmax(z_{:,k} / τ)``.
* ``gs`` (Gumbel-softmax): ``a_{:,k} = softmax((z_{:,k} + g_{:,k}) / τ)``,
  ``g = -log(-log u)``, ``u ~ U(0, 1)`` i.i.d.: a relaxed sample of ``categorical(softmax z)``.
* ``stgs`` (straight-through GS): the forward value is the one-hot of ``argmax_m`` of the GS
  sample, the backward pass the GS sample's gradient (``one_hot - y.detach() + y``).
* ``skgs`` (Sinkhorn GS): ``log α = (z + g) / τ``, then :func:`sinkhorn_caps`: every column
  sums to 1 (each UE fully associated) and every row to at most its cap (at most ``cap_m`` UEs
  per transmitter, [AttSKGS]'s load limit).

Shapes:
    ``logits`` ``(..., M, K)`` float → association ``(..., M, K)`` float, columns summing to 1.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from agents.nets.common import check_float

#: Association heads of :func:`relaxed_association`.
HEADS: tuple[str, ...] = ("softmax", "gs", "stgs", "skgs")


def gumbel_noise(like: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Standard Gumbel noise ``-log(-log u)`` of ``like``'s shape, dtype and device."""
    uniform = torch.rand(like.shape, generator=generator, dtype=like.dtype, device=like.device)
    tiny = torch.finfo(like.dtype).tiny
    return -torch.log(-torch.log(uniform.clamp(min=tiny, max=1.0 - 1e-7)))


def straight_through(soft: Tensor, dim: int = -2) -> Tensor:
    """One-hot of ``argmax`` along ``dim`` in the forward pass, ``soft``'s gradient backward.

    >>> y = torch.tensor([[0.2, 0.7], [0.8, 0.3]], requires_grad=True)
    >>> straight_through(y).tolist()
    [[0.0, 1.0], [1.0, 0.0]]
    """
    index = soft.argmax(dim=dim, keepdim=True)
    hard = torch.zeros_like(soft).scatter_(dim, index, 1.0)
    return hard - soft.detach() + soft


def sinkhorn_caps(log_alpha: Tensor, caps: Tensor | float, iterations: int = 20) -> Tensor:
    """Sinkhorn–Knopp with capacities: columns sum to 1, rows to at most ``caps``.

    Alternates, in the log domain, (1) normalising every column (UE) to sum 1 and (2) scaling
    down every row (transmitter) whose sum exceeds its cap to exactly the cap (rows below their
    cap are left alone). With ``Σ_m cap_m ≥ K`` the iteration converges to a matrix meeting both
    (ends with a row step, so the caps hold exactly and the column sums to the iteration's
    tolerance). Differentiable (every step is smooth in ``log_alpha``).

    :param log_alpha: ``(..., M, K)`` float log-weights.
    :param caps: per-row capacities ``(..., M)`` (or a float for every row), > 0.
    :param iterations: rounds of (column, row) normalisation, ≥ 1.
    :return: ``(..., M, K)`` nonnegative.
    :raises ValueError: ``iterations < 1`` or a cap ≤ 0.
    """
    check_float("log_alpha", log_alpha)
    if iterations < 1:
        raise ValueError(f"iterations must be >= 1, got {iterations}")
    cap = torch.as_tensor(caps, dtype=log_alpha.dtype, device=log_alpha.device)
    if bool((cap <= 0).any()):
        raise ValueError(f"caps must be > 0, got {caps}")
    log_cap = torch.log(cap).expand(log_alpha.shape[:-1]).unsqueeze(-1)  # (..., M, 1)
    log_weights = log_alpha
    for _ in range(iterations):
        log_weights = log_weights - torch.logsumexp(log_weights, dim=-2, keepdim=True)
        excess = torch.logsumexp(log_weights, dim=-1, keepdim=True) - log_cap
        log_weights = log_weights - excess.clamp_min(0.0)
    return torch.exp(log_weights)


def relaxed_association(
    logits: Tensor,
    head: str,
    temperature: float,
    *,
    generator: torch.Generator | None = None,
    caps: Tensor | float | None = None,
    sinkhorn_iterations: int = 20,
) -> Tensor:
    """The relaxed association of ``head`` (module docstring) at temperature ``temperature``.

    :param logits: ``(..., M, K)`` link logits.
    :param head: one of :data:`HEADS`.
    :param temperature: τ > 0.
    :param generator: source of the Gumbel noise (``gs``, ``stgs``, ``skgs``).
    :param caps: per-transmitter capacities for ``skgs`` (``None``: ``K / M`` each, a balanced
        load).
    :param sinkhorn_iterations: rounds of :func:`sinkhorn_caps`.
    :return: ``(..., M, K)`` association in ``[0, 1]``.
    :raises ValueError: unknown head or temperature ≤ 0.
    """
    if head not in HEADS:
        raise ValueError(f"head must be one of {', '.join(HEADS)}, got {head!r}")
    if not temperature > 0.0 or not math.isfinite(temperature):
        raise ValueError(f"temperature must be a positive number, got {temperature!r}")
    check_float("logits", logits)
    if head == "softmax":
        return torch.softmax(logits / temperature, dim=-2)
    perturbed = (logits + gumbel_noise(logits, generator)) / temperature
    if head == "skgs":
        num_tx, num_ues = logits.shape[-2:]
        return sinkhorn_caps(
            perturbed, num_ues / num_tx if caps is None else caps, sinkhorn_iterations
        )
    soft = torch.softmax(perturbed, dim=-2)
    return straight_through(soft) if head == "stgs" else soft
