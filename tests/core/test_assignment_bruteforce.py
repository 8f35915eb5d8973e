"""``capacitated_assignment`` against brute force, with spare capacity (``M · limit > K``).

``tests/core/test_assignment.py`` only checks instances where ``M · limit == K`` (every seat
filled). Here the seats outnumber the UEs, the cap can exceed K, scores can be negative or tied,
and the answer is compared with the best of every load-feasible association.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from ua_envs.core import assignment


def brute_force_best(scores: np.ndarray, limit: int) -> float:
    """``max Σ_k scores[m_k, k]`` over every association with at most ``limit`` UEs per BS."""
    num_bs, num_ues = scores.shape
    return max(
        float(scores[list(choice), np.arange(num_ues)].sum())
        for choice in itertools.product(range(num_bs), repeat=num_ues)
        if np.bincount(choice, minlength=num_bs).max() <= limit
    )


def check_optimal(scores: np.ndarray, limit: int) -> None:
    num_bs, num_ues = scores.shape
    idx = assignment.capacitated_assignment(torch.as_tensor(scores), limit)
    assert idx.dtype == torch.long and tuple(idx.shape) == (num_ues,)
    indices = idx.numpy()
    assert ((indices >= 0) & (indices < num_bs)).all()
    assert np.bincount(indices, minlength=num_bs).max() <= limit
    total = float(scores[indices, np.arange(num_ues)].sum())
    assert total == pytest.approx(brute_force_best(scores, limit), abs=1e-9)


# (M, K, limit) with M * limit > K: 1, 2, ... spare seats, a cap above K, one BS with room.
SPARE_SHAPES = [(2, 3, 2), (3, 4, 2), (3, 5, 2), (2, 5, 4), (4, 5, 2), (3, 4, 3), (2, 3, 5)]


@pytest.mark.parametrize(("num_bs", "num_ues", "limit"), SPARE_SHAPES)
def test_spare_capacity_matches_brute_force(num_bs: int, num_ues: int, limit: int) -> None:
    rng = np.random.default_rng(1000 * num_bs + 10 * num_ues + limit)
    for _ in range(15):
        check_optimal(rng.normal(size=(num_bs, num_ues)), limit)


@pytest.mark.parametrize(("num_bs", "num_ues", "limit"), SPARE_SHAPES[:4])
def test_spare_capacity_with_ties_and_positive_scores(
    num_bs: int, num_ues: int, limit: int
) -> None:
    """Rate-like scores (>= 0) with many exact ties (integers 0..3)."""
    rng = np.random.default_rng(7 + num_ues)
    for _ in range(15):
        check_optimal(rng.integers(0, 4, size=(num_bs, num_ues)).astype(float), limit)


def test_unconstrained_cap_is_the_per_ue_argmax() -> None:
    """With limit >= K the cap never binds: every UE takes its best BS."""
    rng = np.random.default_rng(3)
    for _ in range(20):
        scores = rng.normal(size=(3, 5))
        idx = assignment.capacitated_assignment(scores, 5).numpy()
        np.testing.assert_array_equal(idx, scores.argmax(axis=0))


def test_cap_binds_with_spare_seats() -> None:
    """BS 0 is everyone's best, but holds only 2 of the 3 UEs; BS 1 and BS 2 have 4 seats for
    the last one. The two UEs with the largest advantage at BS 0 stay there."""
    scores = np.array(
        [
            [10.0, 9.0, 8.0],
            [1.0, 5.0, 7.5],
            [0.0, 0.0, 0.0],
        ]
    )
    idx = assignment.capacitated_assignment(scores, 2).tolist()
    assert idx == [0, 0, 1]  # 10 + 9 + 7.5 = 26.5 beats 10 + 5 + 8 = 23 and 1 + 9 + 8 = 18
    check_optimal(scores, 2)


def test_enumerate_associations_with_limit_is_the_feasible_set() -> None:
    """The brute-force helper of the library enumerates exactly the load-feasible associations
    (spare capacity: 3 BSs × 2 seats for 4 UEs)."""
    got = {tuple(r) for r in assignment.enumerate_associations(3, 4, load_limit=2).tolist()}
    want = {
        c for c in itertools.product(range(3), repeat=4) if np.bincount(c, minlength=3).max() <= 2
    }
    assert got == want
    assert len(got) == 54  # 81 minus 3·(C(4,3)·2 + 1) = 81 - 27
