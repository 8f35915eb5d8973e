"""The ``capacitated_assignment`` baseline is the best load-feasible association for its own
objective (``Σ_k rate_proxy[m_k, k]``), also with spare capacity (``M · limit > K``).

``tests/agents/test_baselines_multicell.py`` checks it only where every seat is filled
(2 BSs × 3 seats for 6 UEs).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import ua_envs  # noqa: F401  (registers the ids)
from agents.baselines.multicell import rate_proxy
from agents.registry import make_policy
from ua_envs.core.assignment import enumerate_associations


def best_feasible_score(scores: np.ndarray, limit: int) -> float:
    """The best total over every load-feasible association (the library's brute-force
    enumeration, itself checked in ``tests/core/test_assignment_bruteforce.py``)."""
    num_bs, num_ues = scores.shape
    choices = enumerate_associations(num_bs, num_ues, load_limit=limit).numpy()  # (A, K)
    return float(scores[choices, np.arange(num_ues)].sum(axis=1).max())


@pytest.mark.parametrize(
    ("kwargs", "limit"),
    [
        ({"num_bs": 3, "num_ues": 5, "load_limit": 2}, 2),  # 6 seats, 5 UEs
        ({"num_bs": 2, "num_ues": 6, "num_antennas": 4}, 4),  # limit = N: 8 seats, 6 UEs
        ({"num_bs": 3, "num_ues": 4, "load_limit": 3}, 3),  # 9 seats, 4 UEs
    ],
)
def test_capacitated_baseline_is_best_feasible_with_spare_capacity(
    kwargs: dict[str, Any], limit: int
) -> None:
    env = gym.make("MultiCellAssocBalanced-v0", **kwargs)
    policy = make_policy("capacitated_assignment", env)
    num_bs, num_ues = kwargs["num_bs"], kwargs["num_ues"]
    for seed in range(6):
        obs, _ = env.reset(seed=seed)
        scores = rate_proxy(obs)
        action = np.asarray(policy.act(obs, env=env))
        assert action.shape == (num_ues,)
        assert np.bincount(action, minlength=num_bs).max() <= limit
        total = float(scores[action, np.arange(num_ues)].sum())
        assert total == pytest.approx(best_feasible_score(scores, limit), rel=1e-12)
        info = env.step(action)[4]
        assert not info["violation"]
