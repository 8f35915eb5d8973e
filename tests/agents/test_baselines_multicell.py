"""Multicell baselines: exhaustive search is optimal, the others respect their definitions."""

from __future__ import annotations

import itertools
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from agents.baselines.multicell import (
    ArgmaxPolicy,
    DualDecompositionPolicy,
    ExhaustivePolicy,
    improve_by_moves,
    neighbour_actions,
    rate_proxy,
)
from agents.registry import make_policy, policy_names
from ua_envs.envs.base import select_rows

IDS = ("MultiCellAssoc-v0", "MultiCellAssocBalanced-v0")


def make(env_id: str, **kwargs: Any) -> Any:
    """``gym.make`` typed loosely (the tests use the env's extra attributes)."""
    return gym.make(env_id, **kwargs)


NAMES = ("random", "argmax", "exhaustive", "exhaustive_feasible", "random_balanced",
         "dual_decomposition", "capacitated_assignment")  # fmt: skip


@pytest.mark.parametrize("env_id", IDS)
def test_all_baselines_registered(env_id: str) -> None:
    assert set(NAMES) <= set(policy_names(env_id))


@pytest.mark.parametrize(
    ("env_id", "kwargs"),
    [
        ("MultiCellAssoc-v0", {"num_ues": 5}),
        ("MultiCellAssocBalanced-v0", {"num_ues": 6, "num_antennas": 2}),
        ("MultiCellAssoc-v0", {"num_ues": 4, "num_bs": 3, "load_limit": 1, "overload": "penalty"}),
    ],
)
def test_exhaustive_matches_brute_force_loop(env_id: str, kwargs: dict[str, Any]) -> None:
    """A plain loop over every action (one env step each) finds nothing better."""
    env = make(env_id, **kwargs)
    policy = make_policy("exhaustive", env)
    num_bs, num_ues = env.action_space.nvec[0], len(env.action_space.nvec)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        choice = policy.act(obs, env=env)
        _, best, *_ = env.step(choice)
        brute: list[float] = []
        for action in itertools.product(range(num_bs), repeat=num_ues):
            env.reset(seed=seed)
            brute.append(float(env.step(np.array(action))[1]))
        assert best == pytest.approx(max(brute), rel=1e-5)
        assert best >= max(brute) - 1e-5


@pytest.mark.parametrize("env_id", IDS)
def test_exhaustive_beats_every_baseline_on_every_instance(env_id: str) -> None:
    env = make(env_id)
    policies = {name: make_policy(name, env, seed=0) for name in NAMES}
    for seed in range(15):
        rewards: dict[str, float] = {}
        for name, policy in policies.items():
            obs, _ = env.reset(seed=seed)
            rewards[name] = float(env.step(policy.act(obs, env=env))[1])
        for name, reward in rewards.items():
            assert rewards["exhaustive"] >= reward - 1e-5, (seed, name, rewards)


def test_exhaustive_feasible_is_the_best_load_feasible_action() -> None:
    """Only the C(6, 3) = 20 balanced actions are searched; it beats the other feasible
    baselines on every instance."""
    env = make("MultiCellAssocBalanced-v0", num_ues=6, num_antennas=3)
    policy = ExhaustivePolicy(env, feasible_only=True)
    assert policy.candidates.shape[0] == 20
    others = [
        make_policy(name, env, seed=0) for name in ("random_balanced", "capacitated_assignment")
    ]
    for seed in range(8):
        obs, _ = env.reset(seed=seed)
        _, best, _, _, info = env.step(policy.act(obs, env=env))
        assert not info["violation"]
        for other in others:
            obs, _ = env.reset(seed=seed)
            assert best >= env.step(other.act(obs, env=env))[1] - 1e-5


def test_exhaustive_rejects_large_instances() -> None:
    with pytest.raises(ValueError, match="num_ues"):
        make_policy("exhaustive", make("MultiCellAssoc-v0", num_ues=11))
    with pytest.raises(ValueError, match="num_bs"):
        make_policy("exhaustive", make("MultiCellAssoc-v0", num_bs=4, num_ues=4))
    with pytest.raises(ValueError, match="env"):
        ExhaustivePolicy(make("MultiCellAssoc-v0")).act({})


def test_argmax_picks_max_received_power() -> None:
    """UE 0: BS 1 has 3 dB less gain but 10 dB more power → BS 1; UE 1: BS 0."""
    obs = {
        "gain_db": np.array([[0.0, 5.0], [-3.0, -20.0]], np.float32),
        "tx_power_dbm": np.array([30.0, 40.0], np.float32),
    }
    assert ArgmaxPolicy().act(obs).tolist() == [1, 0]


def test_rate_proxy_hand_computed() -> None:
    """gain 0 dB at 30 dBm: SNR 1 → log2(2) = 1; gain 10 dB at 20 dBm: SNR 1 → 1."""
    obs = {
        "gain_db": np.array([[0.0], [10.0]], np.float32),
        "tx_power_dbm": np.array([30.0, 20.0], np.float32),
    }
    assert rate_proxy(obs)[:, 0].tolist() == pytest.approx([1.0, 1.0])


@pytest.mark.parametrize("name", ["random_balanced", "capacitated_assignment"])
def test_balanced_policies_never_overload(name: str) -> None:
    env = make("MultiCellAssocBalanced-v0", num_bs=3, num_ues=10)
    policy = make_policy(name, env, seed=1)
    for seed in range(10):
        obs, _ = env.reset(seed=seed)
        action = policy.act(obs, env=env)
        assert np.bincount(action, minlength=3).max() <= 4
        assert not env.step(action)[4]["violation"]


def test_capacitated_assignment_is_the_best_capped_score() -> None:
    env = make("MultiCellAssocBalanced-v0", num_ues=6, num_antennas=3)
    policy = make_policy("capacitated_assignment", env)
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        scores = rate_proxy(obs)
        total = scores[policy.act(obs), np.arange(6)].sum()
        best = max(
            scores[list(a), np.arange(6)].sum()
            for a in itertools.product(range(2), repeat=6)
            if max(np.bincount(a, minlength=2)) <= 3
        )
        assert total == pytest.approx(best)


def test_dual_decomposition_balances_loads() -> None:
    """One BS much stronger for everyone: argmax puts all 8 UEs there, the dual step spreads
    them (the log-utility optimum with equal rate shares), and every step is deterministic."""
    rng = np.random.default_rng(0)
    gain = np.stack([rng.uniform(20, 30, 8), rng.uniform(0, 10, 8)]).astype(np.float32)
    obs = {"gain_db": gain, "tx_power_dbm": np.array([30.0, 30.0], np.float32)}
    assert np.bincount(ArgmaxPolicy().act(obs), minlength=2).tolist() == [8, 0]
    action = DualDecompositionPolicy().act(obs)
    loads = np.bincount(action, minlength=2)
    assert 0 < loads[1] < 8
    assert action.tolist() == DualDecompositionPolicy().act(obs).tolist()
    with pytest.raises(ValueError, match="iterations"):
        DualDecompositionPolicy(iterations=0)


def test_random_balanced_is_reproducible() -> None:
    env = make("MultiCellAssocBalanced-v0")
    obs, _ = env.reset(seed=0)
    first = make_policy("random_balanced", env, seed=3)
    second = make_policy("random_balanced", env, seed=3)
    assert [first.act(obs).tolist() for _ in range(3)] == [
        second.act(obs).tolist() for _ in range(3)
    ]


def test_neighbour_actions_hand_listed() -> None:
    action = torch.tensor([[0, 2, 1]])  # M = 3, K = 3
    moves = [[1, 2, 1], [2, 2, 1], [0, 0, 1], [0, 1, 1], [0, 2, 2], [0, 2, 0]]
    assert neighbour_actions(action, 3, None)[0].tolist() == moves
    swaps = [[2, 0, 1], [1, 2, 0], [0, 1, 2]]  # UEs (0, 1), (0, 2), (1, 2) exchange BSs
    assert neighbour_actions(action, 3, 1)[0].tolist() == moves + swaps


@pytest.mark.parametrize(("env_id", "limit"), [("MultiCellAssoc-v0", None), (IDS[1], 4)])
def test_local_search_climbs_to_a_local_optimum(env_id: str, limit: int | None) -> None:
    """From a (load-feasible) start, enough rounds end where no neighbour within the limit
    scores higher, the reward never falls, and the limit is never broken."""
    envs = gym.make_vec(env_id, num_envs=5, vectorization_mode="vector_entry_point")
    envs.reset(seed=3)
    base = envs.unwrapped
    start = torch.tensor([[0, 1] * 4] * 5)  # 4 UEs per BS: feasible under the limit 4
    reward = base.sim.outcome(base.state, start)[-1]
    one = improve_by_moves(base.sim, base.state, start, limit=limit, passes=1)
    done = improve_by_moves(base.sim, base.state, start, limit=limit, passes=50)
    after_one = base.sim.outcome(base.state, one)[-1]
    final = base.sim.outcome(base.state, done)[-1]
    assert bool((after_one >= reward).all()) and bool((final >= after_one).all())
    assert bool((final > reward).any())  # the start is not optimal everywhere
    for row in range(5):
        for neighbour in neighbour_actions(done[row : row + 1], 2, limit)[0]:
            if limit is not None and int(torch.bincount(neighbour, minlength=2).max()) > limit:
                continue
            state = select_rows(base.state, torch.tensor([row]))
            assert float(base.sim.outcome(state, neighbour[None])[-1]) <= float(final[row])
        if limit is not None:
            assert int(torch.bincount(done[row], minlength=2).max()) <= limit
    envs.close()
