"""Integer association helpers: one-hot maps, loads, overload dropping, capacitated assignment.

Associations follow the core layout ``(..., M, K)`` (transmitter-major); index vectors are
``(..., K)`` integers in ``[0, M)`` (UE k → transmitter ``indices[k]``).
"""

from __future__ import annotations

import itertools

import numpy as np
import scipy.optimize
import torch
from torch import Tensor

from ua_envs.core.arrays import Array
from ua_envs.core.validation import as_tensor, check_finite, check_int_range


def one_hot(
    indices: Tensor, num_bs: int, *, dtype: torch.dtype = torch.float32, validate: bool = True
) -> Tensor:
    """Association matrix from per-UE transmitter indices.

    :param indices: ``(..., K)`` integer tensor with entries in ``[0, num_bs)``.
    :param num_bs: number of transmitters M.
    :param validate: check dtype and range (callers that validated the action pass False).
    :return: ``(..., M, K)`` tensor of ``dtype`` with ``a[m, k] = 1`` iff ``indices[k] == m``.
    :raises ValueError: non-integer indices or an index outside ``[0, num_bs)``.

    >>> one_hot(torch.tensor([1, 0, 1]), 2)
    tensor([[0., 1., 0.],
            [1., 0., 1.]])
    """
    if not validate:
        return torch.nn.functional.one_hot(indices, num_bs).movedim(-1, -2).to(dtype)
    num_bs = check_int_range("num_bs", num_bs, 1)
    indices = as_tensor("indices", indices)
    if indices.dtype.is_floating_point or indices.dtype.is_complex or indices.dtype == torch.bool:
        raise ValueError(f"indices must be an integer tensor, got dtype {indices.dtype}")
    if indices.numel() and (int(indices.min()) < 0 or int(indices.max()) >= num_bs):
        raise ValueError(
            f"indices must lie in [0, {num_bs - 1}], got range "
            f"[{int(indices.min())}, {int(indices.max())}]"
        )
    return torch.nn.functional.one_hot(indices.long(), num_bs).movedim(-1, -2).to(dtype)


def loads(association: Tensor) -> Tensor:
    """Number (or fractional mass) of UEs each transmitter serves: ``(..., M, K) → (..., M)``.

    :raises ValueError: fewer than 2 dims, or a value that is not a tensor / array.
    """
    association = as_tensor("association", association)
    if association.dim() < 2:
        raise ValueError(f"association must have shape (..., M, K), got {tuple(association.shape)}")
    return association.to(
        torch.float32 if association.dtype == torch.bool else association.dtype
    ).sum(dim=-1)


def strength_ranks(gains: Tensor) -> Tensor:
    """Rank of every UE at every transmitter by gain: 0 = strongest; ties: lower UE index first.

    The association-free half of :func:`drop_overload` (a simulator computes it once per
    instance; :func:`keep_strongest` then applies any association).

    :param gains: ``(..., M, K)`` real ranking score, e.g. ``||h_{m,k}||²`` or its dB value.
    :return: ``(..., M, K)`` int64, a permutation of ``0 .. K-1`` per transmitter.
    :raises ValueError: NaN or infinite gains.

    >>> strength_ranks(torch.tensor([[3.0, 1.0, 3.0]])).tolist()
    [[0, 2, 1]]
    """
    check_finite("gains", gains.float())
    order = torch.argsort(gains, dim=-1, descending=True, stable=True)
    ranks = torch.empty_like(order)
    ranks.scatter_(-1, order, torch.arange(gains.shape[-1], device=order.device).expand_as(order))
    return ranks


def keep_strongest(association: Array, ranks: Array, load_limit: int) -> tuple[Array, Array]:
    """Keep, at each transmitter, its ``load_limit`` best-ranked served UEs (array-generic).

    Works on torch tensors and numpy arrays alike (:mod:`ua_envs.core.arrays`). A served UE is
    kept iff fewer than ``load_limit`` UEs that the transmitter also serves rank before it.

    :param association: ``(..., M, K)`` binary (bool or 0/1).
    :param ranks: ``(..., M, K)`` from :func:`strength_ranks`.
    :param load_limit: maximum UEs per transmitter, ≥ 0.
    :return: ``(kept, dropped)``: ``kept`` ``(..., M, K)`` bool; ``dropped`` ``(..., K)`` bool,
        True for UEs that lost a link.

    No validation (a hot-path step; :func:`drop_overload` is the checked entry point).
    """
    served = association > 0
    # before[..., m, k, j]: UE j ranks before UE k at transmitter m.
    before = ranks[..., None, :] < ranks[..., :, None]
    ahead = (before & served[..., None, :]).sum(-1)  # (..., M, K)
    kept = served & (ahead < load_limit)
    return kept, (served & ~kept).any(-2)


def drop_overload(association: Tensor, gains: Tensor, load_limit: int) -> tuple[Tensor, Tensor]:
    """Drop, at each overloaded transmitter, its weakest-gain UEs until its load fits.

    A UE dropped by its (only) serving transmitter is unserved: it gets rate 0 downstream.
    :func:`strength_ranks` followed by :func:`keep_strongest`.

    :param association: ``(..., M, K)`` binary (bool or 0/1 float).
    :param gains: ``(..., M, K)`` real ranking score, e.g. ``||h_{m,k}||²`` or its dB value; the
        lowest-scored served UEs of an overloaded transmitter are dropped first (ties: higher
        UE index first, so the result is deterministic).
    :param load_limit: maximum UEs per transmitter, ≥ 0.
    :return: ``(served, dropped)``: ``served`` ``(..., M, K)`` same dtype as ``association``;
        ``dropped`` ``(..., K)`` bool, True for UEs that lost a link.

    >>> a = torch.tensor([[1., 1., 1.], [0., 0., 0.]])
    >>> g = torch.tensor([[3., 1., 2.], [1., 1., 1.]])
    >>> served, dropped = drop_overload(a, g, 2)
    >>> served[0].tolist(), dropped.tolist()
    ([1.0, 0.0, 1.0], [False, True, False])
    """
    load_limit = check_int_range("load_limit", load_limit, 0)
    if association.shape != gains.shape:
        raise ValueError(
            f"gains must have the association's shape {tuple(association.shape)}, "
            f"got {tuple(gains.shape)}"
        )
    kept, dropped = keep_strongest(association, strength_ranks(gains), load_limit)
    return kept.to(association.dtype), dropped


def capacitated_assignment(scores: Tensor | np.ndarray, limit: int) -> Tensor:
    """Exact max-score integer association with at most ``limit`` UEs per transmitter.

    Solves ``max Σ_k scores[indices[k], k]`` subject to each transmitter serving ≤ ``limit``
    UEs, by ``scipy.optimize.linear_sum_assignment`` on a ``K × (M·limit)`` matrix in which each
    transmitter's column is repeated ``limit`` times.

    :param scores: ``(M, K)`` real scores (one instance; loop over a batch outside).
    :param limit: per-transmitter cap, with ``M · limit ≥ K``.
    :return: ``(K,)`` long tensor of transmitter indices.
    :raises ValueError: ``M · limit < K`` (no feasible assignment), non-finite scores.

    >>> capacitated_assignment(torch.tensor([[5., 4., 1.], [0., 3., 2.]]), 2).tolist()
    [0, 0, 1]
    """
    scores_np = np.asarray(
        scores.detach().cpu().numpy() if isinstance(scores, Tensor) else scores, dtype=np.float64
    )
    if scores_np.ndim != 2:
        raise ValueError(f"scores must have shape (M, K), got {scores_np.shape}")
    if not np.isfinite(scores_np).all():
        raise ValueError("scores must be finite")
    num_bs, num_ues = scores_np.shape
    limit = check_int_range("limit", limit, 1)
    if num_bs * limit < num_ues:
        raise ValueError(
            f"limit must satisfy num_bs * limit >= num_ues ({num_bs} * {limit} < {num_ues}): "
            "no feasible assignment"
        )
    cost = -np.repeat(scores_np.T, limit, axis=1)  # (K, M·limit), column j ↔ BS j // limit
    rows, cols = scipy.optimize.linear_sum_assignment(cost)
    indices = np.empty(num_ues, dtype=np.int64)
    indices[rows] = cols // limit
    device = scores.device if isinstance(scores, Tensor) else None
    return torch.as_tensor(indices, device=device)


def enumerate_associations(
    num_bs: int, num_ues: int, load_limit: int | None = None, *, device: torch.device | str = "cpu"
) -> Tensor:
    """Every unique association (index vector) of ``num_ues`` UEs to ``num_bs`` transmitters.

    :param load_limit: keep only those with at most ``load_limit`` UEs per transmitter.
    :return: ``(A, K)`` long tensor, ``A = M**K`` without a limit, in lexicographic order.
    :raises ValueError: more than 2**20 candidates (use a smaller instance).

    >>> enumerate_associations(2, 2).tolist()
    [[0, 0], [0, 1], [1, 0], [1, 1]]
    """
    num_bs = check_int_range("num_bs", num_bs, 1)
    num_ues = check_int_range("num_ues", num_ues, 1)
    if num_bs**num_ues > 2**20:
        raise ValueError(
            f"num_bs ** num_ues must be <= 2**20 for enumeration, got {num_bs}**{num_ues}"
        )
    grid = torch.tensor(
        list(itertools.product(range(num_bs), repeat=num_ues)), dtype=torch.long, device=device
    )
    if load_limit is not None:
        load_limit = check_int_range("load_limit", load_limit, 0)
        counts = torch.nn.functional.one_hot(grid, num_bs).sum(dim=-2)  # (A, M)
        grid = grid[(counts <= load_limit).all(dim=-1)]
    return grid
