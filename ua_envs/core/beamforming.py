"""Downlink beamformers (docs/model.md §2): MRT, ZF, RZF, WMMSE and the fully-connected ZF baseline.

The papers' forms: :func:`mrt` is equal-power unit-norm MRT for unique association and the
[EGAT] per-AP MRT for joint transmission; :func:`rzf` with ``"joint"`` is the partial RZF of
Björnson & Sanguinetti (2020) with one common power scale. The earlier forms stay available
under their own names: :func:`mrt_proportional` (channel-proportional MRT) and
:func:`rzf_restricted` (restricted joint RZF with per-AP normalisation).

Every function is batched over arbitrary leading dims, device-agnostic (works on the device of
``channels``) and free of Python loops over batch elements or transmitters. Layout as in
:mod:`ua_envs.core.signal`:

===============  ===================  =======  ==================================
name             shape                dtype    unit
===============  ===================  =======  ==================================
``channels``     ``(..., M, K, N)``   complex  sqrt(W): ``|h|²`` is a power gain
``association``  ``(..., M, K)``      bool or  ``a[m, k] = 1``: m serves k
                                      float
``tx_power``     ``(..., M)``         float    W (a scalar is broadcast to all M)
``noise_power``  ``(..., K)``         float    W, > 0 (a scalar is broadcast to all K)
``weights``      ``(..., K)``         float    –, ≥ 0 (``None``: all ones)
returned beams   ``(..., M, K, N)``   complex  sqrt(W), same dtype as ``channels``
===============  ===================  =======  ==================================

The batch dims of the inputs broadcast against each other. The returned beams already carry
the association mask (``v[m, k] = 0`` where ``a[m, k] = 0``) and are meant to be evaluated with
the same association, e.g. ``sum_rate(channels, beams, association, noise_power)``.

``transmission`` selects the precoder structure and is never inferred from the association:

* ``"unique"``: each transmitter m precodes for its own served set ``U_m = {k : a[m, k] > 0}``
  (multi-cell). Variable-size served sets are batched by masking: with ``H̃ = H_m diag(a_m)``
  the transmitter's Gram matrix is ``H̃^H H̃ + ρ_m diag(a_m) + diag(1 - a_m)``, block diagonal
  (served block = the true regularised Gram, unserved block = identity), so the unserved columns
  of ``H̃ Gram^{-1}`` are exactly zero.
* ``"joint"``: cell-free joint transmission on the stacked channels. ZF, :func:`rzf_restricted`
  and WMMSE restrict each UE's channel to the APs that serve it (``ĥ_k = D_k h_k``) and end with
  per-AP power normalisation; :func:`rzf` is the partial RZF (each UE's precoder is solved on
  the full channels of the UEs that share a serving AP with it) with unit-norm beams and one
  common power scale, like :func:`fc_zf`.

Per-transmitter power, unique association: MRT, ZF, RZF and WMMSE all follow one convention,
``Σ_{k∈U_m} ||v_{m,k}||² = P_m`` (the served beam powers of BS m sum to its budget; WMMSE may
use less, see :func:`wmmse`). MRT splits it equally, ZF/RZF scale the cell's precoder matrix
as a whole (Frobenius).

Numerics (choices where the spec is silent):

* ZF and RZF run in the input precision. Each transmitter's (unique) or the whole stacked
  (joint) channel matrix is divided by its largest modulus (a detached scalar, so ``|h|²`` can
  neither underflow nor overflow) and the Gram matrix by ``s²``, the mean squared norm of the
  non-zero served channels. With a binary association the precoder only changes by a common
  factor per power group, which the power scaling removes: the result is the textbook one, with
  matrices well scaled for float32. With a fractional association the unserved block of the
  unique-transmission Gram is ``s_m² diag(1 - a_m)`` (relative to the channel scale, so the
  relaxation is scale-invariant and interpolates between the served and unserved cases).
* ZF is a solve on the Gram matrix with a tiny relative diagonal loading ``ε = max(10·eps,
  1e-12)`` (``eps`` of the real dtype: 1.2e-6 in float32, 1e-12 in float64) instead of an exact
  inverse, and RZF's loading is floored at the same ``ε``: a zero channel or two identical
  channels give finite beams, and on generic channels the residual intra-cell interference of ZF
  is ``O(ε / λ_min)`` relative to the signal (below 1e-9 in float64 in the tests). Should a
  float32 solve still meet an exactly zero pivot, that batch element is re-solved with a loading
  of 1e-3 of the mean diagonal (never an exception, never NaN).
* Every per-transmitter power scaling goes through :func:`~ua_envs.core.signal.project_power`,
  which squares complex64 beams in float64; complex128 beams are peak-normalised first. A
  transmitter whose beams are all below the smallest normal float sends nothing. The common
  scale of joint RZF and FC-ZF acts on unit-norm (RZF) or normalised-frame (FC-ZF) beams, which
  are of order one.
* WMMSE runs internally in float64/complex128 (headroom for the small eigenvalues of ``A_m``
  and for beams that WMMSE drives towards zero) and in the noise-normalised frame ``h / σ``;
  the result is cast back to the dtype of ``channels``. On Apple ``mps`` devices, which have no
  float64, it stays in the input dtype.
* :func:`mrt_gram` / :func:`mrt_gains` are MRT (either ``transmission``) factored into an
  association-free precompute and a cheap per-association step (array-generic, also on numpy):
  the simulators' fast path.
* Only MRT, ZF, RZF and FC-ZF are differentiable (autograd through the solve); WMMSE is an
  iterative optimiser with discrete stopping decisions, returns detached beams and treats the
  association as the binary served set ``{a > 0}``.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

from ua_envs.core.arrays import Array, namespace
from ua_envs.core.signal import effective_gains, project_power
from ua_envs.core.validation import (
    as_real,
    check_broadcastable,
    check_choice,
    check_finite,
    check_float_range,
    check_int_range,
    check_nonnegative,
    check_positive,
    check_shape,
    real_dtype,
)

__all__ = [
    "fc_zf",
    "mrt",
    "mrt_gains",
    "mrt_gram",
    "mrt_proportional",
    "rzf",
    "rzf_restricted",
    "wmmse",
    "wmmse_history",
    "zf",
]

TRANSMISSIONS = ("unique", "joint")
#: Fixed number of bisection steps on the WMMSE multiplier μ (never a tolerance-only loop):
#: 60 halvings of [0, μ_max] reach float64 resolution.
BISECTION_STEPS = 60
#: Cap on sqrt(loading) relative to the channel peak (RZF at SNR below -200 dB is MRT anyway).
_MAX_LOADING = 1e10


# --------------------------------------------------------------------------------------------
# Input handling
# --------------------------------------------------------------------------------------------


def _real_dtype(tensor: Tensor) -> torch.dtype:
    return real_dtype(tensor.dtype)


def _zf_loading(real_dtype: torch.dtype) -> float:
    """Relative diagonal loading that keeps ZF's Gram solve finite on singular channels."""
    return max(10.0 * torch.finfo(real_dtype).eps, 1e-12)


def _check_channels(channels: Any) -> None:
    if not isinstance(channels, Tensor):
        raise ValueError(
            f"channels must be a complex torch.Tensor of shape (..., M, K, N), "
            f"got {type(channels).__name__}"
        )
    if not channels.is_complex():
        raise ValueError(f"channels must be a complex tensor, got dtype {channels.dtype}")
    if channels.dim() < 3:
        raise ValueError(f"channels must have shape (..., M, K, N), got {tuple(channels.shape)}")


def _prepare(
    channels: Tensor,
    association: Any,
    tx_power: Any,
    noise_power: Any = None,
    weights: Any = None,
    *,
    validate: bool,
) -> tuple[Tensor, Tensor, Tensor, Tensor | None, Tensor | None]:
    """Convert, validate and broadcast the inputs to one batch shape.

    :return: ``(channels, association, tx_power, noise_power, weights)`` with shapes
        ``(*B, M, K, N)``, ``(*B, M, K)``, ``(*B, M)``, ``(*B, K)``, ``(*B, K)`` (the last two
        ``None`` when not given), association/power/noise/weights in the channels' real dtype.
    """
    if validate:
        _check_channels(channels)
    num_tx, num_ues, _ = channels.shape[-3:]
    real = _real_dtype(channels)
    device = channels.device
    association = as_real("association", association, real, device)
    tx_power = as_real("tx_power", tx_power, real, device)
    if tx_power.dim() == 0:
        tx_power = tx_power.expand(num_tx)
    noise = None
    if noise_power is not None:
        noise = as_real("noise_power", noise_power, real, device)
        if noise.dim() == 0:
            noise = noise.expand(num_ues)
    weight = None
    if weights is not None:
        weight = as_real("weights", weights, real, device)

    names = ["channels", "association", "tx_power"]
    tensors = [channels, association, tx_power]
    tails = [3, 2, 1]
    if noise is not None:
        names.append("noise_power")
        tensors.append(noise)
        tails.append(1)
    if weight is not None:
        names.append("weights")
        tensors.append(weight)
        tails.append(1)

    if validate:
        check_shape("association", association, (num_tx, num_ues))
        check_shape("tx_power", tx_power, (num_tx,))
        if noise is not None:
            check_shape("noise_power", noise, (num_ues,))
        if weight is not None:
            check_shape("weights", weight, (num_ues,))
        check_broadcastable(names, tensors, tails)
        check_finite("channels", channels)
        check_nonnegative("association", association)
        if bool((association > 1).any()):
            raise ValueError(
                f"association must be in [0, 1], got maximum {float(association.max()):.6g}"
            )
        check_nonnegative("tx_power", tx_power)
        if noise is not None:
            check_positive("noise_power", noise)
        if weight is not None:
            check_nonnegative("weights", weight)

    batch_shapes = [t.shape[: t.dim() - d] for t, d in zip(tensors, tails, strict=True)]
    if all(shape == batch_shapes[0] for shape in batch_shapes):
        # Already one batch shape (the simulators' case): skip the broadcasting bookkeeping,
        # whose Python overhead dominates at batch size 1.
        return channels, association, tx_power, noise, weight
    batch = torch.broadcast_shapes(*batch_shapes)
    channels = channels.expand(*batch, *channels.shape[-3:])
    association = association.expand(*batch, *association.shape[-2:])
    tx_power = tx_power.expand(*batch, tx_power.shape[-1])
    if noise is not None:
        noise = noise.expand(*batch, noise.shape[-1])
    if weight is not None:
        weight = weight.expand(*batch, weight.shape[-1])
    return channels, association, tx_power, noise, weight


def _check_transmission(transmission: Any) -> None:
    check_choice("transmission", transmission, TRANSMISSIONS)


def _safe_positive(x: Tensor) -> Tensor:
    """``x`` where positive, else 1 (keeps divisions finite; callers mask those entries)."""
    return torch.where(x > 0, x, torch.ones_like(x))


def _project(beams: Tensor, association: Tensor, tx_power: Tensor) -> Tensor:
    """:func:`~ua_envs.core.signal.project_power` made safe against under/overflow.

    complex64 beams need nothing more: ``project_power`` squares and sums them in float64, so
    beams of 1e-20 neither underflow to a zero power nor overflow the scale. complex128 beams
    are first divided by each transmitter's largest modulus (a detached positive scalar: the
    projection is invariant to it, so values and gradients are unchanged), so that beams of
    1e-160 (WMMSE can drive a stream there) keep their power; a transmitter whose largest beam
    entry is below the smallest normal float (e.g. 1e-308) sends nothing.
    """
    if beams.dtype != torch.complex64:  # project_power already works in float64 for these
        beams, _ = _peak_normalise(beams, (-2, -1))
    return project_power(beams, association, tx_power, validate=False)


def _add_diagonal(matrix: Tensor, diagonal: Tensor) -> Tensor:
    return matrix + torch.diag_embed(diagonal).to(matrix.dtype)


def _regular_solve(gram: Tensor, rhs: Tensor) -> Tensor:
    """``gram^{-1} rhs`` for a loaded Hermitian PSD ``gram`` that must never fail or give NaN.

    The loading keeps ``gram`` regular in exact arithmetic, but in float32 a loading of a few
    ulps can still meet an exactly zero pivot. Those batch elements (rare; the check costs one
    device sync) are re-solved with a loading of 1e-3 of the mean diagonal.
    """
    solution, info = torch.linalg.solve_ex(gram, rhs)
    # One isfinite over the real view (a complex isfinite costs several ops).
    values = torch.view_as_real(solution) if solution.is_complex() else solution
    bad = (info != 0) | ~torch.isfinite(values).flatten(start_dim=solution.dim() - 2).all(dim=-1)
    if bool(bad.any()):
        diagonal = torch.diagonal(gram, dim1=-2, dim2=-1).real
        loading = 1e-3 * _safe_positive(diagonal.abs().mean(dim=-1, keepdim=True))
        retry, _ = torch.linalg.solve_ex(_add_diagonal(gram, loading.expand_as(diagonal)), rhs)
        solution = torch.where(bad[..., None, None], torch.nan_to_num(retry), solution)
    return solution


# --------------------------------------------------------------------------------------------
# MRT
# --------------------------------------------------------------------------------------------


def _unit_directions(channels: Tensor) -> Tensor:
    """``h_{m,k} / ||h_{m,k}||`` per link, ``(..., M, K, N)``; zero for an all-zero channel.

    Each link is first divided by its largest ``|Re|``/``|Im|`` entry (detached, exact by
    homogeneity), so the norm lies in ``[1, sqrt(2N)]`` and can neither underflow nor overflow;
    a link whose largest entry is below the smallest normal float has no direction (zero).
    """
    scaled, _ = _peak_normalise(channels, (-1,))
    norm = torch.linalg.vector_norm(scaled, dim=-1, keepdim=True)
    # where() on both sides: a zero link divides by 1 and passes no gradient to its norm.
    return scaled / torch.where(norm > 0, norm, torch.ones_like(norm)).to(scaled.dtype)


def mrt(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    *,
    transmission: str = "unique",
    validate: bool = True,
) -> Tensor:
    """Maximum-ratio transmission, docs/model.md §2.

    * ``"unique"`` (the default; multi-cell, [GS-GNN]/[AttSKGS]): unit-norm beams with an equal
      share of the transmitter's power per served UE,
      ``v_{m,k} = sqrt(P_m / |U_m|) · h_{m,k} / ||h_{m,k}||``. Computed as the power projection
      of :func:`ua_envs.core.signal.project_power` applied to the unit-norm directions
      ``ĥ_{m,k} = h_{m,k} / ||h_{m,k}||``, i.e.
      ``v_{m,k} = a[m,k] sqrt(P_m / Σ_j a[m,j] ||ĥ_{m,j}||²) ĥ_{m,k}``: exact for a 0/1
      association (``Σ_j a[m,j] = |U_m|``) and differentiable in a fractional one. A served UE
      with an all-zero channel has no direction and takes no share of the power.
    * ``"joint"`` (cell-free, [EGAT] eq. 36–37): ``v_{m,k} ∝ a[m,k] h_{m,k}`` with each AP
      normalised to exactly ``P_m`` (:func:`mrt_proportional`): a UE's beam power at AP m is
      proportional to its channel power there.

    Both give ``Σ_k a[m,k] ||v_{m,k}||² = P_m`` for every transmitter that serves someone (with
    a non-zero channel); a transmitter serving nobody sends nothing. Differentiable.

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-transmitter power [W], ≥ 0.
    :param transmission: ``"unique"`` or ``"joint"`` (never inferred).
    :param validate: check shapes and values (hot loops that built their inputs pass False).
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``.
    :raises ValueError: unknown ``transmission``, non-complex or non-finite channels, mismatched
        shapes, association outside [0, 1], negative power.

    >>> import torch
    >>> h = torch.tensor([[[3.0 + 0j, 0j], [0j, 1.0 + 0j]]])  # M=1, K=2, N=2
    >>> mrt(h, torch.ones(1, 2), torch.tensor([8.0]))  # 4 W per UE along h_k / ||h_k||
    tensor([[[2.+0.j, 0.+0.j],
             [0.+0.j, 2.+0.j]]])
    """
    _check_transmission(transmission)
    channels, association, tx_power, _, _ = _prepare(
        channels, association, tx_power, validate=validate
    )
    if transmission == "joint":
        return _project(channels, association, tx_power)
    return _project(_unit_directions(channels), association, tx_power)


def mrt_proportional(
    channels: Tensor, association: Tensor, tx_power: Tensor, *, validate: bool = True
) -> Tensor:
    """Channel-proportional MRT: ``V_m = H_m`` on the served set, then each transmitter's beams
    scaled to exactly ``P_m`` (docs/model.md §1 projection).

    ``v_{m,k} = a[m,k] sqrt(P_m / Σ_j a[m,j] ||h_{m,j}||²) h_{m,k}``: the strongest UE of a cell
    takes most of the power. This is the [EGAT] joint-transmission MRT
    (``mrt(..., transmission="joint")`` is this function) and, for a unique association, the
    form the multi-cell envs used before issue #12 (``beamforming="mrt_proportional"``).
    Differentiable.

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-transmitter power [W], ≥ 0.
    :param validate: check shapes and values (hot loops that built their inputs pass False).
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``;
        ``Σ_k a[m,k] ||v_{m,k}||² = P_m`` for every transmitter that serves someone.
    :raises ValueError: non-complex or non-finite channels, mismatched shapes, association
        outside [0, 1], negative power.

    >>> import torch
    >>> h = torch.tensor([[[3.0 + 0j, 4.0 + 0j]]])  # M=1, K=1, N=2, ||h||² = 25
    >>> mrt_proportional(h, torch.ones(1, 1), torch.tensor([100.0]))  # scale sqrt(100 / 25) = 2
    tensor([[[6.+0.j, 8.+0.j]]])
    """
    channels, association, tx_power, _, _ = _prepare(
        channels, association, tx_power, validate=validate
    )
    return _project(channels, association, tx_power)


def mrt_gram(
    channels: Tensor, *, transmission: str = "unique", validate: bool = True
) -> tuple[Tensor, Tensor]:
    """The association-free part of :func:`mrt`: per-transmitter Gram factors and beam powers.

    MRT beams are fixed directions ``d_{m,k}`` power-projected per transmitter, so the effective
    gains of *any* association follow from two precomputed arrays (:func:`mrt_gains`), without
    forming beams. A simulator computes them once per instance (batched, at reset) and then
    scores associations with a handful of elementwise ops, which also run on numpy at batch
    size 1.

    * ``"unique"``: ``d_{m,k} = h_{m,k} / ||h_{m,k}||`` (equal-power MRT); ``gram[m,k,l] =
      h_{m,k}^H d_{m,l}`` [sqrt(W)] and ``power[m,k] = ||d_{m,k}||²`` = 1 (0 for a zero
      channel, and for a link weaker than ~1e-38 of its transmitter's strongest entry in
      float32), so ``Σ_j a[m,j] power[m,j] = |U_m|`` exactly.
    * ``"joint"``: ``d_{m,k} = h_{m,k} / ρ_m`` (:func:`mrt_proportional`), with ``ρ_m`` the
      transmitter's largest ``|Re|``/``|Im|`` entry (a positive scalar, so that neither array
      under- or overflows for channels of any scale): ``gram[m,k,l] = h_{m,k}^H h_{m,l} / ρ_m``,
      ``power[m,k] = ||h_{m,k}||² / ρ_m²``.

    Powers are summed in float64 (tiny channels keep their power) and returned in the real dtype
    of ``channels``.

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param transmission: ``"unique"`` or ``"joint"``, as for :func:`mrt`.
    :param validate: check the channels (type, shape, finiteness).
    :return: ``gram`` ``(..., M, K, L)`` complex and ``power`` ``(..., M, K)`` real; zeros for an
        all-zero transmitter.
    :raises ValueError: unknown ``transmission``, non-complex or non-finite channels.
    """
    _check_transmission(transmission)
    if validate:
        _check_channels(channels)
        check_finite("channels", channels)
    normalised, _ = _peak_normalise(channels, (-2, -1))  # h / ρ_m
    gram = torch.einsum("...mkn,...mln->...mkl", channels.conj(), normalised)
    parts = torch.view_as_real(normalised)
    real = parts.dtype
    wide = torch.float64 if real == torch.float32 else real
    power = torch.linalg.vector_norm(parts, dim=(-2, -1), dtype=wide).square()  # ||h||² / ρ²
    if transmission == "joint":
        return gram, power.to(real)
    # Unit directions from the joint factors: h^H h_l / ||h_l|| = (h^H h_l / ρ) / ||h_l / ρ||
    # (one division instead of a second pass over the channels: the simulators' reset path).
    norm = power.sqrt().to(real)
    usable = norm > 0  # a link below ~1e-38 of the transmitter's peak counts as a zero channel
    gram = gram / torch.where(usable, norm, torch.ones_like(norm)).unsqueeze(-2).to(gram.dtype)
    return gram * usable.unsqueeze(-2).to(gram.dtype), usable.to(real)


def mrt_gains(gram: Array, power: Array, association: Array, tx_power: Array) -> Array:
    """Effective gains ``G[k, l]`` of MRT for ``association``, from :func:`mrt_gram`.

    Array-generic (torch tensors or numpy arrays, as in :mod:`ua_envs.core.arrays`). With the
    directions ``d`` of :func:`mrt_gram` and ``v_{m,l} = a[m,l] sqrt(P_m / u_m) d_{m,l}``,
    ``u_m = Σ_j a[m,j] power[m,j]`` (what :func:`mrt` returns for the same ``transmission``),
    ``G[k, l] = Σ_m a[m,l]² sqrt(P_m / u_m) · gram[m,k,l]``. Feed it to
    :func:`~ua_envs.core.signal.sinr_from_gains`; equal to
    ``effective_gains(channels, mrt(channels, a, P, transmission=t), a)`` up to rounding when
    ``gram, power = mrt_gram(channels, transmission=t)``, for unique, joint and fractional
    associations. A transmitter that serves nobody (or only zero channels) sends nothing.

    :param gram: ``(..., M, K, L)`` complex (from :func:`mrt_gram`).
    :param power: ``(..., M, K)`` real (from :func:`mrt_gram`).
    :param association: ``(..., M, K)`` real in [0, 1], ``power``'s dtype.
    :param tx_power: ``(..., M)`` [W], ``power``'s dtype.
    :return: ``(..., K, L)`` complex effective gains [sqrt(W)].

    No validation (a hot-path step; its inputs come from :func:`mrt_gram` and the caller's
    checked association).
    """
    used = (association * power).sum(-1)  # (..., M)
    active = used > 0
    scale = namespace(used).sqrt(tx_power / namespace(used).where(active, used, 1.0)) * active
    weight = association * association * scale[..., None]  # (..., M, L)
    return (gram * weight[..., None, :]).sum(-3)


# --------------------------------------------------------------------------------------------
# ZF / RZF
# --------------------------------------------------------------------------------------------


def _peak_normalise(tensor: Tensor, dims: tuple[int, ...]) -> tuple[Tensor, Tensor]:
    """Divide ``tensor`` by its largest entry over ``dims`` (a detached scalar per slice).

    :return: ``(scaled, inverse)``; ``inverse`` (``dims`` kept as size 1) is ``1 / peak``, or 0
        where the peak is below the smallest normal float (the slice is treated as zero, since
        its reciprocal would overflow).
    """
    # max(|Re|, |Im|) is within √2 of the modulus and avoids a complex abs (a sqrt per entry).
    axes = sorted(d % tensor.dim() for d in dims)
    if tensor.is_complex():
        peak = torch.view_as_real(tensor.detach()).abs().amax(dim=(*axes, -1))
    else:
        peak = tensor.detach().abs().amax(dim=axes)
    for axis in axes:
        peak = peak.unsqueeze(axis)
    usable = peak >= torch.finfo(peak.dtype).tiny
    inverse = torch.where(usable, 1.0 / torch.where(usable, peak, torch.ones_like(peak)), 0.0)
    return tensor * inverse.to(tensor.dtype), inverse


def _scaled_loading(absolute: Tensor, inverse: Tensor, scale2: Tensor) -> Tensor:
    """``absolute / (peak² · scale2)`` without overflow, capped at ``_MAX_LOADING² / scale2``.

    A loading that large means an SNR below -200 dB: the solve is then MRT to working
    precision, and the cap keeps the Gram matrix finite.
    """
    loading = torch.clamp(torch.sqrt(absolute) * inverse, max=_MAX_LOADING).square() / scale2
    # All-zero channels (inverse = 0): any positive loading keeps the solve regular; H̃ = 0.
    return torch.where(inverse > 0, loading, torch.ones_like(loading))


def _unique_regularised(
    channels: Tensor, association: Tensor, absolute: Tensor, relative: Tensor
) -> Tensor:
    """Per-transmitter ``H̃ (H̃^H H̃ + ρ_m diag(a) + s_m² diag(1-a))^{-1}``, ``(..., M, K, N)``.

    Unscaled (the caller projects the power). Computed on ``H̃ / s_m``.

    ``ρ_m = absolute_m + relative_m · s_m²`` (both ``(..., M)``), where ``s_m²`` is the mean
    squared norm of the non-zero served channels: ``absolute`` is a loading in W/W (RZF's
    ``Σσ²/P``), ``relative`` one relative to the Gram's diagonal (ZF's safety loading).
    """
    weighted = channels * association.unsqueeze(-1)  # H̃ rows, (..., M, K, N)
    # Peak first (detached, exact by homogeneity), so |h|² can neither underflow nor overflow.
    scaled, inverse = _peak_normalise(weighted, (-2, -1))
    col_power = scaled.real.square().add(scaled.imag.square()).sum(dim=-1)  # (..., M, K)
    served = (col_power > 0).to(col_power.dtype).sum(dim=-1)
    # Not detached: with a fractional association the identity block diag(1 - a) is taken
    # relative to s_m², so s_m is part of the (scale-invariant) relaxation, not just conditioning.
    scale2 = _safe_positive(col_power.sum(dim=-1) / _safe_positive(served))  # (..., M), ≥ 1/K
    normalised = scaled / torch.sqrt(scale2)[..., None, None].to(scaled.dtype)
    gram = torch.einsum("...mkn,...mln->...mkl", normalised.conj(), normalised)
    rho = _scaled_loading(absolute, inverse[..., 0, 0], scale2) + relative  # normalised frame
    rho = torch.clamp(rho, min=_zf_loading(rho.dtype))  # RZF below the ZF safety loading is ZF
    diagonal = rho.unsqueeze(-1) * association + (1.0 - association)
    gram = _add_diagonal(gram, diagonal)
    # Row k of the result is Σ_j Gram^{-1}[j, k] H̃_j, i.e. (Gram^T)^{-1} H̃.
    return _regular_solve(gram.transpose(-2, -1), normalised)


def _joint_regularised(
    channels: Tensor, association: Tensor, absolute: Tensor, relative: Tensor
) -> Tensor:
    """Stacked ``Ĥ (Ĥ^H Ĥ + λ I_K)^{-1}`` with ``ĥ_k = D_k h_k``, unscaled, ``(..., M, K, N)``.

    ``λ = absolute + relative · s²`` where ``s²`` is the mean squared norm of the non-zero ĥ_k
    (``absolute``, ``relative``: ``(...)``). The result only changes by a common factor with
    ``s``, so the normalisation is detached.
    """
    num_tx, num_ues, num_antennas = channels.shape[-3:]
    weighted = channels * association.unsqueeze(-1)
    scaled, inverse = _peak_normalise(weighted, (-3, -2, -1))
    col_power = scaled.real.square().add(scaled.imag.square()).sum(dim=(-3, -1))  # (..., K)
    served = (col_power > 0).to(col_power.dtype).sum(dim=-1)
    scale2 = _safe_positive((col_power.sum(dim=-1) / _safe_positive(served)).detach())
    normalised = scaled / torch.sqrt(scale2)[..., None, None, None].to(scaled.dtype)
    gram = torch.einsum("...mkn,...mln->...kl", normalised.conj(), normalised)
    lam = _scaled_loading(absolute, inverse[..., 0, 0, 0], scale2) + relative
    lam = torch.clamp(lam, min=_zf_loading(lam.dtype))
    gram = _add_diagonal(gram, lam.unsqueeze(-1).expand(*lam.shape, num_ues))
    stacked = normalised.movedim(-3, -2).reshape(
        *normalised.shape[:-3], num_ues, num_tx * num_antennas
    )
    solved = _regular_solve(gram.transpose(-2, -1), stacked)
    return solved.reshape(*solved.shape[:-1], num_tx, num_antennas).movedim(-2, -3)


def _common_scale(beams: Tensor, association: Tensor, tx_power: Tensor) -> Tensor:
    """``beams`` times ONE factor per instance so that the most loaded AP uses exactly its
    ``P_m`` (load ``Σ_k a[m,k] ||v_{m,k}||² / P_m``) and every other AP at most its own.

    A common factor keeps the interference suppression that per-AP rescaling would undo. If an
    AP with ``P_m = 0`` would have to transmit, the only feasible factor is 0 (all silent).
    """
    beam_power = beams.real.square().add(beams.imag.square()).sum(dim=-1)  # (..., M, K)
    ap_power = (association.to(beam_power.dtype) * beam_power).sum(dim=-1)  # (..., M)
    load = torch.where(
        tx_power > 0,
        ap_power / _safe_positive(tx_power),
        torch.where(
            ap_power > 0, torch.full_like(ap_power, float("inf")), torch.zeros_like(ap_power)
        ),
    )
    worst = load.amax(dim=-1)  # (...)
    usable = (worst > 0) & torch.isfinite(worst)
    scale = torch.where(
        usable,
        torch.rsqrt(torch.where(usable, worst, torch.ones_like(worst))),
        torch.zeros_like(worst),
    )
    return beams * scale[..., None, None, None].to(beams.dtype)


def _partial_rzf(
    channels: Tensor, association: Tensor, tx_power: Tensor, noise_power: Tensor
) -> Tensor:
    """P-RZF (Björnson & Sanguinetti 2020) with unit-norm beams and one common power scale.

    For UE k: ``w_k = D_k H_{P_k} (H_{P_k}^H D_k H_{P_k} + λ I)^{-1} e_k``, batched over k as one
    ``K × K`` solve per UE: ``Gram_k = diag(p_k) H^H D_k² H diag(p_k) + diag(λ p_k + 1 - p_k)``
    with ``D_k = diag(a[:, k]) ⊗ I_N`` and membership ``p_{k,l} = 1 - Π_m (1 - a[m,k] a[m,l])``
    (1 iff l shares a serving AP with k, for a 0/1 association). The block of the UEs outside
    ``P_k`` is the identity and decoupled, so the solution is zero there: exactly the formula on
    ``H_{P_k}``. Computed on the instance's channels divided by their largest entry and by ``s``,
    the root mean squared norm of the non-zero stacked channels, with ``λ`` scaled alike: for a
    0/1 association ``w_k`` only changes by a positive factor with ``s``, which the unit-norm
    step removes. ``s`` is not detached: with a fractional membership the identity block
    ``diag(1 - p_k)`` is taken relative to ``s²``, so the relaxation stays scale-invariant.
    """
    real = _real_dtype(channels)
    num_ues = channels.shape[-2]
    lam_w = noise_power.sum(dim=-1) / _safe_positive(tx_power.sum(dim=-1))  # K·mean σ² / Σ P
    scaled, inverse = _peak_normalise(channels, (-3, -2, -1))
    col_power = scaled.real.square().add(scaled.imag.square()).sum(dim=(-3, -1))  # (..., K)
    nonzero = (col_power > 0).to(col_power.dtype).sum(dim=-1)
    scale2 = _safe_positive(col_power.sum(dim=-1) / _safe_positive(nonzero))
    normalised = scaled / torch.sqrt(scale2)[..., None, None, None].to(scaled.dtype)
    lam = _scaled_loading(lam_w, inverse[..., 0, 0, 0], scale2)
    lam = torch.clamp(lam, min=_zf_loading(real))
    # Per-AP Gram h_{m,i}^H h_{m,j}, then UE k's restricted Gram Σ_m a[m,k]² h_{m,i}^H h_{m,j}.
    # (matmuls rather than einsum: this runs at every step of the cell-free env)
    per_ap = torch.matmul(normalised.conj(), normalised.transpose(-2, -1))  # (..., M, K, K)
    weights = association.square().to(per_ap.dtype).transpose(-2, -1)  # (..., K, M)
    restricted = torch.matmul(weights, per_ap.flatten(-2)).unflatten(-1, (num_ues, num_ues))
    pair = association.unsqueeze(-1) * association.unsqueeze(-2)  # (..., M, K, L)
    member = 1.0 - torch.prod(1.0 - pair, dim=-3)  # (..., K, L)
    gram = restricted * (member.unsqueeze(-1) * member.unsqueeze(-2)).to(restricted.dtype)
    gram = _add_diagonal(gram, lam[..., None, None] * member + (1.0 - member))
    eye = torch.eye(num_ues, dtype=gram.dtype, device=gram.device)
    rhs = eye.unsqueeze(-1).expand(*gram.shape[:-1], 1)  # e_k for UE k's system
    solved = _regular_solve(gram, rhs)[..., 0]  # (..., K, L): (Gram_k^{-1})[l, k]
    coefficients = member.to(solved.dtype) * solved
    combined = torch.matmul(coefficients.unsqueeze(-3), normalised)  # (..., M, K, N)
    raw = combined * association.unsqueeze(-1).to(combined.dtype)  # D_k
    norm = torch.linalg.vector_norm(raw, dim=(-3, -1), keepdim=True)  # (..., 1, K, 1)
    unit = raw / torch.where(norm > 0, norm, torch.ones_like(norm)).to(raw.dtype)
    return _common_scale(unit, association, tx_power)


def _linear_precoder(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    noise_power: Tensor,
    *,
    transmission: str,
    zero_forcing: bool,
) -> Tensor:
    real = _real_dtype(channels)
    eps = _zf_loading(real)
    num_antennas = channels.shape[-1]
    if transmission == "unique":
        # RZF: ρ_m = |U_m| · mean_{k∈U_m} σ_k² / P_m = Σ_k a[m,k] σ_k² / P_m.
        rzf_reg = (association * noise_power.unsqueeze(-2)).sum(dim=-1) / _safe_positive(tx_power)
        if zero_forcing:
            # ZF needs |U_m| ≤ N; a transmitter serving more falls back to RZF.
            count = (association > 0).sum(dim=-1)
            fallback = count > num_antennas
            absolute = torch.where(fallback, rzf_reg, torch.zeros_like(rzf_reg))
            relative = torch.where(
                fallback, torch.zeros_like(rzf_reg), torch.full_like(rzf_reg, eps)
            )
        else:
            absolute, relative = rzf_reg, torch.zeros_like(rzf_reg)
        raw = _unique_regularised(channels, association, absolute, relative)
    else:
        # λ = K · mean_k σ_k² / Σ_m P_m.
        lam = noise_power.sum(dim=-1) / _safe_positive(tx_power.sum(dim=-1))
        if zero_forcing:
            # Ĥ must have full column rank. Two structural rank deficiencies are detected: more
            # served UEs than antennas of the serving APs, or more than N UEs served by one AP
            # alone (e.g. a unique association used with joint transmission). Others are left to
            # the loading, which then gives the finite minimum-norm (pinv) solution.
            links = association > 0
            served_ues = links.any(dim=-2).sum(dim=-1)
            active_antennas = num_antennas * links.any(dim=-1).sum(dim=-1)
            alone = links & (links.sum(dim=-2, keepdim=True) == 1)  # (..., M, K)
            fallback = (served_ues > active_antennas) | (
                alone.sum(dim=-1).amax(dim=-1) > num_antennas
            )
            absolute = torch.where(fallback, lam, torch.zeros_like(lam))
            relative = torch.where(fallback, torch.zeros_like(lam), torch.full_like(lam, eps))
        else:
            absolute, relative = lam, torch.zeros_like(lam)
        raw = _joint_regularised(channels, association, absolute, relative)
    # Per-transmitter scaling to exactly P_m; also applies v_k ← D_k w_k for joint transmission.
    return _project(raw, association, tx_power)


def zf(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    noise_power: Tensor,
    transmission: str = "unique",
    *,
    validate: bool = True,
) -> Tensor:
    """Zero-forcing beams, each transmitter scaled to exactly ``P_m`` (docs/model.md §2): the
    served beam powers of transmitter m sum to ``P_m``.

    * ``"unique"``: ``V_m = H_m (H_m^H H_m)^{-1}`` on the served set ``U_m`` of each transmitter.
      ZF needs ``|U_m| ≤ N``; a transmitter with more served UEs (counted as ``a[m,k] > 0``)
      falls back to RZF (see :func:`rzf`) — documented behaviour, not an error.
    * ``"joint"``: ``W = Ĥ (Ĥ^H Ĥ)^{-1}`` on the stacked channels restricted to the serving APs
      (``ĥ_k = D_k h_k``), ``v_k ← D_k w_k``, then per-AP normalisation to ``P_m``
      (:func:`rzf_restricted` with ``λ → 0``; the per-AP normalisation re-introduces some
      interference, unlike :func:`fc_zf`'s common scale).
      Where ``Ĥ`` is structurally rank-deficient — more served UEs than antennas of the
      serving APs, or more than N UEs served by one AP alone — it falls back to
      :func:`rzf_restricted`.

    The inverse is a solve with a tiny relative diagonal loading (module docstring), so zero or
    identical channels give finite beams; on generic channels with ``|U_m| ≤ N`` the intra-cell
    interference ``h_{m,k}^H v_{m,l}`` (k ≠ l in ``U_m``) is zero to ~1e-10 relative in float64.
    Differentiable (except at the fallback switch).

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-transmitter power [W], ≥ 0.
    :param noise_power: ``(..., K)`` noise power [W], > 0 (used only by the RZF fallback).
    :param transmission: ``"unique"`` or ``"joint"`` (never inferred).
    :param validate: check shapes and values (hot loops that built their inputs pass False).
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``; ``Σ_k a[m,k]||v_{m,k}||² = P_m``
        for every transmitter that serves someone with a non-zero channel, zero otherwise.
    :raises ValueError: unknown ``transmission``, bad shapes or values.
    """
    _check_transmission(transmission)
    channels, association, tx_power, noise, _ = _prepare(
        channels, association, tx_power, noise_power, validate=validate
    )
    assert noise is not None
    return _linear_precoder(
        channels, association, tx_power, noise, transmission=transmission, zero_forcing=True
    )


def rzf(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    noise_power: Tensor,
    transmission: str = "unique",
    *,
    validate: bool = True,
) -> Tensor:
    """Regularised zero-forcing beams (docs/model.md §2).

    * ``"unique"``: ``V_m = H_m (H_m^H H_m + (|U_m| σ̄_m² / P_m) I)^{-1}`` with ``σ̄_m²`` the mean
      noise power of the served UEs (for a fractional association ``|U_m| σ̄_m² = Σ_k a[m,k] σ_k²``),
      each transmitter's beams scaled together to exactly ``P_m`` (Frobenius): the served beam
      powers of transmitter m sum to ``P_m``.
    * ``"joint"``: the field's partial RZF (P-RZF; Björnson & Sanguinetti, "Scalable cell-free
      massive MIMO systems", IEEE TCOM 2020; [SupportSet]'s Greedy+P-RZF). For UE k, ``P_k`` are
      the UEs that share at least one serving AP with k (k included), ``H_{P_k}`` their full
      stacked channels (``MN × |P_k|``) and ``D_k`` the selector of the antennas of k's serving
      APs: ``w_k = [D_k H_{P_k} (H_{P_k}^H D_k H_{P_k} + λ I)^{-1}]_{:, k}``,
      ``λ = K · mean_k σ_k² / Σ_m P_m``. Each ``w_k`` is unit norm (equal power per UE), then ONE
      common factor scales all beams so that the most loaded AP (largest
      ``Σ_k a[m,k] ||v_{m,k}||² / P_m``) uses exactly its ``P_m`` and every other AP at most its
      own: per-AP rescaling would undo the interference suppression. A UE with no serving AP
      gets a zero beam and an AP serving nobody sends nothing; if an AP with ``P_m = 0`` would
      have to transmit, every AP is silent. For a fractional association ``D_k = diag(a[:, k])
      ⊗ I_N`` and the membership of l in ``P_k`` is ``1 - Π_m (1 - a[m,k] a[m,l])`` (both exact
      for 0/1). The earlier restricted form with per-AP normalisation is :func:`rzf_restricted`.

    Differentiable with respect to channels, (fractional) association, power and noise (the
    joint common scale is a maximum over APs: differentiable wherever one AP is the most loaded).

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-transmitter power [W], ≥ 0.
    :param noise_power: ``(..., K)`` noise power [W], > 0.
    :param transmission: ``"unique"`` or ``"joint"`` (never inferred).
    :param validate: check shapes and values (hot loops that built their inputs pass False).
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``.
    :raises ValueError: unknown ``transmission``, bad shapes or values.
    """
    _check_transmission(transmission)
    channels, association, tx_power, noise, _ = _prepare(
        channels, association, tx_power, noise_power, validate=validate
    )
    assert noise is not None
    if transmission == "joint":
        return _partial_rzf(channels, association, tx_power, noise)
    return _linear_precoder(
        channels, association, tx_power, noise, transmission="unique", zero_forcing=False
    )


def rzf_restricted(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    noise_power: Tensor,
    *,
    validate: bool = True,
) -> Tensor:
    """Restricted joint RZF with per-AP normalisation (the cell-free ``"rzf"`` before issue #12).

    ``ĥ_k = D_k h_k`` (the stacked channel restricted to k's serving APs),
    ``Ĥ = [ĥ_1 … ĥ_K]``, ``W = Ĥ (Ĥ^H Ĥ + λ I_K)^{-1}``, ``λ = K · mean_k σ_k² / Σ_m P_m``,
    ``v_k ← D_k w_k``, then each AP's beams scaled to exactly ``P_m`` (an AP serving nobody sends
    nothing). Unlike the partial RZF of :func:`rzf` (``"joint"``), every UE's channel is
    restricted to its *own* serving APs, so interference towards UEs served elsewhere is not
    suppressed, and the per-AP rescaling partly undoes what is. Kept for comparison
    (``beamforming="rzf_restricted"``). Differentiable.

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-AP power [W], ≥ 0.
    :param noise_power: ``(..., K)`` noise power [W], > 0.
    :param validate: check shapes and values (hot loops that built their inputs pass False).
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``; ``Σ_k a[m,k] ||v_{m,k}||² = P_m``
        for every AP that serves someone with a non-zero channel.
    :raises ValueError: bad shapes or values.
    """
    channels, association, tx_power, noise, _ = _prepare(
        channels, association, tx_power, noise_power, validate=validate
    )
    assert noise is not None
    return _linear_precoder(
        channels, association, tx_power, noise, transmission="joint", zero_forcing=False
    )


def fc_zf(channels: Tensor, tx_power: Tensor, *, validate: bool = True) -> Tensor:
    """Fully-connected ZF ([EGAT] baseline): every AP serves every UE, one common power scale.

    ``W = H (H^H H)^{-1}`` on the full stacked channel ``H`` (``MN × K``, needs ``K ≤ MN``),
    then ONE common factor so that the most loaded AP (largest ``Σ_k ||w_{m,k}||² / P_m``) uses
    exactly its ``P_m`` and every other AP at most its own; a common factor keeps the zero
    interference that per-AP normalisation would destroy. Evaluate with an all-ones association.
    Same loading safety as :func:`zf`. If an AP with ``P_m = 0`` would have to transmit, the only
    feasible common factor is 0 and every AP is silent.

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param tx_power: ``(..., M)`` per-AP power [W], ≥ 0.
    :param validate: check shapes and values.
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``.
    :raises ValueError: ``K > M·N``, bad shapes or values.
    """
    if validate:
        _check_channels(channels)
    num_tx, num_ues, num_antennas = channels.shape[-3:]
    if num_ues > num_tx * num_antennas:
        raise ValueError(
            f"channels: FC-ZF needs K <= M*N, got K={num_ues}, M*N={num_tx * num_antennas}"
        )
    ones = torch.ones(num_tx, num_ues, dtype=_real_dtype(channels), device=channels.device)
    channels, association, tx_power, _, _ = _prepare(channels, ones, tx_power, validate=validate)
    eps = _zf_loading(_real_dtype(channels))
    zeros = torch.zeros(channels.shape[:-3], dtype=tx_power.dtype, device=channels.device)
    raw = _joint_regularised(channels, association, zeros, zeros + eps)
    return _common_scale(raw, association, tx_power)


# --------------------------------------------------------------------------------------------
# WMMSE
# --------------------------------------------------------------------------------------------


def _bisect_multiplier(eigenvalues: Tensor, energy: Tensor, budget: Tensor) -> Tensor:
    """Smallest ``μ ≥ 0`` with ``p(μ) = Σ_r energy_r / (eigenvalues_r + μ)² ≤ budget``.

    :param eigenvalues: ``(..., G, R)`` ≥ 0 (floored > 0 by the caller).
    :param energy: ``(..., G, R)`` ≥ 0, squared projections of the right-hand sides.
    :param budget: ``(..., G)`` > 0 power of each group [W].
    :return: ``(..., G)`` μ; 0 when ``p(0)`` meets the budget, else the upper end of a
        fixed-step bisection on ``[0, sqrt(Σ energy / budget)]`` (always feasible, because
        ``p(μ) ≤ Σ energy / μ²``).
    """

    def power(mu: Tensor) -> Tensor:
        return (energy / (eigenvalues + mu.unsqueeze(-1)).square()).sum(dim=-1)

    zero = torch.zeros_like(budget)
    feasible = power(zero) <= budget
    low = zero
    high = torch.sqrt(energy.sum(dim=-1) / budget)
    for _ in range(BISECTION_STEPS):
        mid = 0.5 * (low + high)
        too_much = power(mid) > budget
        low = torch.where(too_much, mid, low)
        high = torch.where(too_much, high, mid)
    return torch.where(feasible, zero, high)


def _floor_eigenvalues(eigenvalues: Tensor) -> Tensor:
    # A_m can be singular (fewer weighted UEs than antennas); the right-hand side then lies in its
    # range, but round-off in the null directions would be amplified by 1/λ² at μ = 0.
    real = eigenvalues.dtype
    top = eigenvalues.amax(dim=-1, keepdim=True).clamp_min(0.0)
    floor = torch.clamp_min(1e-12 * top, torch.finfo(real).tiny)
    return torch.maximum(eigenvalues, floor)


def _mmse_statistics(
    channels_n: Tensor, beams: Tensor, served: Tensor, weights: Tensor
) -> tuple[Tensor, Tensor, Tensor]:
    """Steps 1–2 in the noise-normalised frame (σ = 1).

    :return: ``u`` ``(..., K)`` complex receive coefficients, ``ω`` ``(..., K)`` = 1 + SINR,
        weighted sum rate ``(...)`` [bit/s/Hz].
    """
    gains = effective_gains(channels_n, beams, served)  # (..., K, K)
    power = gains.real.square() + gains.imag.square()
    signal = torch.diagonal(power, dim1=-2, dim2=-1)
    off = 1.0 - torch.eye(power.shape[-1], dtype=power.dtype, device=power.device)
    interference = (power * off).sum(dim=-1)
    total = signal + interference + 1.0
    u = torch.diagonal(gains, dim1=-2, dim2=-1) / total
    # ω = 1 / (1 - conj(u) G_kk) = 1 + SINR, computed without the cancelling subtraction.
    omega = 1.0 + signal / (interference + 1.0)
    wsr = (weights * torch.log2(omega)).sum(dim=-1)
    return u, omega, wsr


def _wmmse_update_unique(
    channels_n: Tensor, served: Tensor, tx_power: Tensor, b_coef: Tensor, c_coef: Tensor
) -> Tensor:
    """Steps 3–5 with per-BS power: ``v_{m,k} = (A_m + μ_m I)^{-1} b_k h_{m,k}``, k ∈ U_m."""
    # A_m = Σ_j c_j h_{m,j} h_{m,j}^H over ALL UEs j (other cells' UEs included).
    weighted = channels_n * c_coef[..., None, :, None].to(channels_n.dtype)
    a_matrix = torch.einsum("...mjn,...mjp->...mnp", weighted, channels_n.conj())
    eigenvalues, vectors = torch.linalg.eigh(a_matrix)  # (..., M, N), (..., M, N, N)
    eigenvalues = _floor_eigenvalues(eigenvalues)
    rhs = channels_n * (served * 1.0).unsqueeze(-1).to(channels_n.dtype)
    rhs = rhs * b_coef[..., None, :, None]
    coeffs = torch.einsum("...mni,...mkn->...mki", vectors.conj(), rhs)  # E^H b
    energy = (coeffs.real.square() + coeffs.imag.square()).sum(dim=-2)  # (..., M, N)
    active = tx_power > 0
    mu = _bisect_multiplier(eigenvalues, energy, _safe_positive(tx_power))
    inverse = 1.0 / (eigenvalues + mu.unsqueeze(-1))  # (..., M, N)
    beams = torch.einsum("...mni,...mki->...mkn", vectors, coeffs * inverse.unsqueeze(-2))
    return beams * active[..., None, None]


def _wmmse_update_joint(
    channels_n: Tensor, served: Tensor, tx_power: Tensor, b_coef: Tensor, c_coef: Tensor
) -> Tensor:
    """Steps 3–5 on stacked channels restricted to each UE's serving APs, total power."""
    num_tx, num_ues, num_antennas = channels_n.shape[-3:]
    size = num_tx * num_antennas
    stacked = channels_n.movedim(-3, -2).reshape(*channels_n.shape[:-3], num_ues, size)
    a_matrix = torch.einsum(
        "...j,...jp,...jq->...pq", c_coef.to(stacked.dtype), stacked, stacked.conj()
    )
    # Antenna mask d_l of the APs serving stream l, (..., K, MN).
    mask = (
        served.transpose(-2, -1)
        .unsqueeze(-1)
        .expand(*served.shape[:-2], num_ues, num_tx, num_antennas)
    )
    mask = mask.reshape(*served.shape[:-2], num_ues, size)
    # D_l A D_l + (I - D_l): block diagonal, so the solve is zero outside the serving APs.
    restricted = a_matrix.unsqueeze(-3) * (mask.unsqueeze(-1) * mask.unsqueeze(-2)).to(
        a_matrix.dtype
    )
    restricted = _add_diagonal(restricted, 1.0 - mask)
    eigenvalues, vectors = torch.linalg.eigh(restricted)  # (..., K, MN), (..., K, MN, MN)
    eigenvalues = _floor_eigenvalues(eigenvalues)
    rhs = stacked * mask.to(stacked.dtype) * b_coef.unsqueeze(-1)
    coeffs = torch.einsum("...kpi,...kp->...ki", vectors.conj(), rhs)  # (..., K, MN)
    energy = coeffs.real.square() + coeffs.imag.square()
    # Total budget of the APs that serve someone.
    budget = (tx_power * (served > 0).any(dim=-1)).sum(dim=-1)  # (...)
    mu = _bisect_multiplier(
        eigenvalues.flatten(-2).unsqueeze(-2),
        energy.flatten(-2).unsqueeze(-2),
        _safe_positive(budget).unsqueeze(-1),
    ).squeeze(-1)
    inverse = 1.0 / (eigenvalues + mu[..., None, None])
    solved = torch.einsum("...kpi,...ki->...kp", vectors, coeffs * inverse) * mask.to(stacked.dtype)
    beams = solved.reshape(*solved.shape[:-1], num_tx, num_antennas).movedim(-2, -3)
    return beams * (budget > 0)[..., None, None, None]


def wmmse_history(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    noise_power: Tensor,
    weights: Tensor | None = None,
    iterations: int = 100,
    tol: float = 1e-4,
    transmission: str = "unique",
    *,
    validate: bool = True,
) -> tuple[Tensor, Tensor]:
    """:func:`wmmse` plus its weighted-sum-rate trace.

    :return: ``(beams, trace)``; ``trace`` is ``(..., L)`` [bit/s/Hz], real dtype of ``channels``:
        ``trace[..., 0]`` is the WSR of the MRT initialisation (:func:`mrt`), ``trace[..., t]``
        that of the t-th iterate (repeated once an element has stopped). For ``"joint"`` the
        trace is that of the total-power iterates, before the final per-AP normalisation.
    """
    _check_transmission(transmission)
    iterations = check_int_range("iterations", iterations, 0)
    tol = check_float_range("tol", tol, 0.0)
    channels, association, tx_power, noise, weight = _prepare(
        channels, association, tx_power, noise_power, weights, validate=validate
    )
    assert noise is not None
    out_dtype = channels.dtype
    work = channels.dtype if channels.device.type == "mps" else torch.complex128
    real = _real_dtype(torch.empty(0, dtype=work))
    h = channels.detach().to(work)
    served = (association.detach() > 0).to(real)
    power = tx_power.detach().to(real)
    sigma = torch.sqrt(noise.detach().to(real))
    w = torch.ones_like(sigma) if weight is None else weight.detach().to(real)
    h_n = h / sigma[..., None, :, None].to(work)  # noise-normalised frame, σ = 1

    update = _wmmse_update_unique if transmission == "unique" else _wmmse_update_joint
    # MRT initialisation (mrt() of the same transmission: equal-power unit-norm for "unique").
    start = h if transmission == "joint" else _unit_directions(h)
    beams = _project(start, served, power)
    running = torch.ones(h.shape[:-3], dtype=torch.bool, device=h.device)
    history: list[Tensor] = []
    previous_log: Tensor | None = None
    for _ in range(iterations):
        u, omega, wsr = _mmse_statistics(h_n, beams, served, w)
        history.append(wsr)
        log_omega = torch.log(omega).sum(dim=-1)
        if previous_log is not None:
            running = running & ((log_omega - previous_log).abs() >= tol)
            if not bool(running.any()):
                break
        previous_log = log_omega
        b_coef = w * omega * u  # w_k ω_k u_k, complex (..., K)
        c_coef = w * omega * (u.real.square() + u.imag.square())  # w_j ω_j |u_j|²
        new_beams = update(h_n, served, power, b_coef, c_coef)
        beams = torch.where(running[..., None, None, None], new_beams, beams)
    else:
        history.append(_mmse_statistics(h_n, beams, served, w)[2])
    if transmission == "joint":
        # Per-AP normalisation of the total-power solution (an approximation of per-AP WMMSE).
        beams = _project(beams, served, power)
    return beams.to(out_dtype), torch.stack(history, dim=-1).to(_real_dtype(channels))


def wmmse(
    channels: Tensor,
    association: Tensor,
    tx_power: Tensor,
    noise_power: Tensor,
    weights: Tensor | None = None,
    iterations: int = 100,
    tol: float = 1e-4,
    transmission: str = "unique",
    *,
    validate: bool = True,
) -> Tensor:
    """Weighted-MMSE beamforming (Shi, Razaviyayn, Luo, He 2011), docs/model.md §2.

    Initialised from :func:`mrt` with the same ``transmission`` (``"unique"``: equal power per
    served UE along ``h/||h||``; ``"joint"``: [EGAT] MRT); each iteration, in the
    noise-normalised frame:

    1. ``u_k = G[k,k] / (Σ_l |G[k,l]|² + σ_k²)``
    2. ``ω_k = 1 / (1 - conj(u_k) G[k,k]) = 1 + SINR_k``
    3. ``A_m = Σ_{all j} w_j ω_j |u_j|² h_{m,j} h_{m,j}^H`` (all UEs, other cells included)
    4. ``v_{m,k} = w_k ω_k u_k (A_m + μ_m I)^{-1} h_{m,k}`` for ``k ∈ U_m``
    5. ``μ_m = 0`` if that meets ``P_m``, else a fixed-step bisection (``BISECTION_STEPS`` = 60
       halvings of ``[0, μ_max]``, ``μ_max = sqrt(Σ ||E^H b||² / P_m)`` from the data, keeping the
       feasible end) so that ``Σ_{k∈U_m} ||v_{m,k}||² = P_m``. Solves use the eigendecomposition
       of ``A_m`` (floored at 1e-12 of its largest eigenvalue), so the bisection costs no solves.

    Stops per batch element when ``|Δ Σ_k log ω_k| < tol`` or after ``iterations`` updates;
    finished elements are frozen, so a batch gives the same beams as single calls. The weighted
    sum rate is non-decreasing across iterations (block-coordinate descent on the weighted MSE).
    With ``μ_m = 0`` (step 5) transmitter m uses *at most* ``P_m``: the per-BS constraint is an
    inequality in the WMMSE problem, and full power is not always optimal with inter-cell
    interference; in every other case it uses ``P_m`` exactly.

    ``"joint"``: the same iteration on stacked channels restricted to the serving APs
    (``(D_l A D_l + μ I)^{-1} D_l h_l`` per stream), with one total-power bisection over the
    budgets of the APs that serve someone, followed by per-AP normalisation to exactly ``P_m``
    (:func:`~ua_envs.core.signal.project_power`). This is an approximation of per-AP WMMSE: the
    final normalisation can lower the rate below the last iterate's.

    Computed in complex128 (cast back to the dtype of ``channels``), not differentiable; the
    association is treated as the binary served set ``{a[m,k] > 0}``.

    :param channels: ``(..., M, K, N)`` complex channels [sqrt(W)].
    :param association: ``(..., M, K)`` bool or float in [0, 1].
    :param tx_power: ``(..., M)`` per-transmitter power [W], ≥ 0.
    :param noise_power: ``(..., K)`` noise power [W], > 0.
    :param weights: ``(..., K)`` UE weights ≥ 0, ``None`` for all ones.
    :param iterations: maximum number of beam updates, ≥ 0 (0 returns MRT).
    :param tol: stopping threshold on the change of ``Σ_k ln ω_k``, ≥ 0.
    :param transmission: ``"unique"`` or ``"joint"`` (never inferred).
    :param validate: check shapes and values.
    :return: ``(..., M, K, N)`` beams, dtype of ``channels``.
    :raises ValueError: unknown ``transmission``, bad shapes or values, bad iterations/tol.
    """
    beams, _ = wmmse_history(
        channels,
        association,
        tx_power,
        noise_power,
        weights,
        iterations,
        tol,
        transmission,
        validate=validate,
    )
    return beams
