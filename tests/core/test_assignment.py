"""Integer association helpers."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from ua_envs.core import assignment


def test_one_hot_and_loads() -> None:
    a = assignment.one_hot(torch.tensor([[2, 0, 2, 2]]), 3)
    assert a.shape == (1, 3, 4)
    assert assignment.loads(a).tolist() == [[1.0, 0.0, 3.0]]
    with pytest.raises(ValueError, match="indices"):
        assignment.one_hot(torch.tensor([0, 3]), 3)
    with pytest.raises(ValueError, match="indices"):
        assignment.one_hot(torch.tensor([0.0, 1.0]), 3)


def test_drop_overload_drops_weakest_first() -> None:
    """BS0 serves UEs 0..3 with gains (5, 1, 3, 2) and limit 2: UEs 1 (gain 1) and 3 (gain 2)
    are dropped. BS1 serves UE 4 only, within its limit."""
    a = torch.tensor([[1, 1, 1, 1, 0], [0, 0, 0, 0, 1]], dtype=torch.bool)
    g = torch.tensor([[5.0, 1.0, 3.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0, 1.0]])
    served, dropped = assignment.drop_overload(a, g, 2)
    assert served.dtype == torch.bool
    assert served.int().tolist() == [[1, 0, 1, 0, 0], [0, 0, 0, 0, 1]]
    assert dropped.tolist() == [False, True, False, True, False]
    assert (assignment.loads(served) <= 2).all()


def test_drop_overload_batched_matches_single() -> None:
    gen = torch.Generator().manual_seed(0)
    idx = torch.randint(0, 3, (32, 9), generator=gen)
    a = assignment.one_hot(idx, 3)
    g = torch.rand(32, 3, 9, generator=gen)
    served, dropped = assignment.drop_overload(a, g, 2)
    for i in range(32):
        s_i, d_i = assignment.drop_overload(a[i], g[i], 2)
        assert torch.equal(served[i], s_i) and torch.equal(dropped[i], d_i)
    assert (assignment.loads(served) <= 2).all()


def test_capacitated_assignment_is_optimal_by_brute_force() -> None:
    rng = np.random.default_rng(0)
    for _ in range(20):
        scores = rng.normal(size=(3, 6))
        best = max(
            sum(scores[m, k] for k, m in enumerate(choice))
            for choice in itertools.product(range(3), repeat=6)
            if max(np.bincount(choice, minlength=3)) <= 2
        )
        idx = assignment.capacitated_assignment(torch.as_tensor(scores), 2).numpy()
        assert np.bincount(idx, minlength=3).max() <= 2
        assert scores[idx, np.arange(6)].sum() == pytest.approx(best)


def test_capacitated_assignment_infeasible_raises() -> None:
    with pytest.raises(ValueError, match="limit"):
        assignment.capacitated_assignment(np.zeros((2, 5)), 2)


def test_enumerate_associations() -> None:
    all_ = assignment.enumerate_associations(3, 4)
    assert all_.shape == (81, 4)
    assert len({tuple(r) for r in all_.tolist()}) == 81
    limited = assignment.enumerate_associations(2, 4, load_limit=2)
    assert limited.shape == (6, 4)  # C(4, 2): exactly two UEs on each BS
    with pytest.raises(ValueError, match="num_bs"):
        assignment.enumerate_associations(4, 12)


def test_loads_accepts_arrays_and_rejects_vectors() -> None:
    assert assignment.loads(np.array([[1.0, 0.0], [0.0, 1.0]])).tolist() == [1.0, 1.0]
    with pytest.raises(ValueError, match="association"):
        assignment.loads(torch.ones(3))


def test_strength_ranks_ties_and_keep_strongest_on_numpy() -> None:
    """Ranks: strongest first, equal gains by UE index. keep_strongest gives drop_overload's
    answer on torch and on numpy (the single env's backend)."""
    ranks = assignment.strength_ranks(torch.tensor([[2.0, 5.0, 2.0, 1.0]]))
    assert ranks.tolist() == [[1, 0, 2, 3]]
    gen = torch.Generator().manual_seed(1)
    idx = torch.randint(0, 3, (64, 9), generator=gen)
    a = assignment.one_hot(idx, 3)
    g = torch.randint(0, 4, (64, 3, 9), generator=gen).float()  # many ties
    served, dropped = assignment.drop_overload(a, g, 2)
    ranks = assignment.strength_ranks(g)
    kept_t, dropped_t = assignment.keep_strongest(a, ranks, 2)
    kept_n, dropped_n = assignment.keep_strongest(a.numpy(), ranks.numpy(), 2)
    assert torch.equal(kept_t, served.bool()) and torch.equal(dropped_t, dropped)
    np.testing.assert_array_equal(kept_n, served.bool().numpy())
    np.testing.assert_array_equal(dropped_n, dropped.numpy())
    for i in range(64):  # brute force: kept = the 2 best (gain, then lower index) per BS
        for m in range(3):
            users = [k for k in range(9) if idx[i, k] == m]
            best = sorted(users, key=lambda k: (-float(g[i, m, k]), k))[:2]
            assert sorted(np.flatnonzero(kept_n[i, m]).tolist()) == sorted(best)
