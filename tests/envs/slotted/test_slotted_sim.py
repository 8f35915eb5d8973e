"""Slotted simulator: hand-computed instances, masks, draws, validation, numpy/torch agreement,
observation bounds, finite arithmetic at extreme dB settings."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ua_envs.envs.base import state_to_numpy
from ua_envs.envs.slotted.sim import (
    SlottedConfig,
    SlottedInstance,
    SlottedSimulator,
)

# SNRs whose rate log2(1 + SNR) is an integer: 0 dB -> 1, 10log10(3) -> 2, 10log10(7) -> 3,
# 10log10(15) -> 4 data units per slot.
R1, R2, R3, R4 = 0.0, 10 * math.log10(3), 10 * math.log10(7), 10 * math.log10(15)


def _play(config: SlottedConfig, instance: SlottedInstance, actions: list[int], backend: str):
    sim = SlottedSimulator(config)
    state = sim.reset(torch.Generator().manual_seed(0), {"instance": instance})
    if backend == "numpy":
        state = state_to_numpy(state)
    masks, rewards, infos = [sim.action_mask(state)[0].tolist()], [], []
    for a in actions:
        action = np.array([a]) if backend == "numpy" else torch.tensor([a])
        state, reward, terminated = sim.step(state, action)
        assert not bool(terminated[0])
        rewards.append(float(reward[0]))
        infos.append({k: np.asarray(v[0]).tolist() for k, v in sim.info(state).items()})
        masks.append(sim.action_mask(state)[0].tolist())
    return masks, rewards, infos


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_three_slots_capacity_rejection_by_hand(backend: str) -> None:
    """2 BSs with one seat each (max_users_per_bs=1), three arrivals.

    Order per slot: associate -> serve -> depart -> reveal next arrival.

    slot 0: A (rates [2, 1], demand 5) -> BS 0.  th_A = 2, remaining 3.    r0 = log 3
    slot 1: B (rates [4, 3], demand 7); BS 0 is full, so the mask is [0, 1, 0]: B -> BS 1.
            th_A = 2 -> remaining 1; th_B = 3 -> remaining 4.              r1 = log 3 + log 4
    slot 2: C (rates [4, 4], demand 3); both BSs full: only the no-op is legal, C is rejected.
            th_A = 2 -> remaining -1: A leaves; th_B = 3 -> remaining 1.   r2 = log 3 + log 4
    """
    config = SlottedConfig(num_bs=2, max_users_per_bs=1, top_k=2)
    instance = SlottedInstance(
        arrivals=[1, 1, 1], snr_db=[[R2, R1], [R4, R3], [R4, R4]], demand=[5, 7, 3]
    )
    masks, rewards, infos = _play(config, instance, [0, 1, 2], backend)
    assert masks[0] == [True, True, False]
    assert masks[1] == [False, True, False]
    assert masks[2] == [False, False, True]
    assert masks[3] == [False, False, True]  # slot 3: no arrival (instance ended)
    expected = [math.log(3), math.log(3) + math.log(4), math.log(3) + math.log(4)]
    assert rewards == pytest.approx(expected, rel=1e-6)
    assert infos[0]["throughput"] == [[2.0], [0.0]]
    assert infos[1]["throughput"] == [[2.0], [3.0]]
    assert infos[2]["throughput"] == [[2.0], [3.0]]
    assert [i["departures"] for i in infos] == [0, 0, 1]
    assert [i["rejections"] for i in infos] == [0, 0, 1]
    assert [i["declines"] for i in infos] == [0, 0, 0]
    assert [i["active_users"] for i in infos] == [1, 2, 1]
    assert [i["users_per_bs"] for i in infos] == [[1, 0], [1, 1], [0, 1]]
    assert [i["arrived"] for i in infos] == [True, True, True]
    assert [i["arrivals"] for i in infos] == [1, 2, 3]
    assert infos[2]["episode_utility"] == pytest.approx(sum(expected), rel=1e-6)
    assert infos[2]["sum_rate"] == pytest.approx(5.0)


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_three_slots_sharing_and_top_k_by_hand(backend: str) -> None:
    """2 BSs x 2 seats, top_k = 1: the single candidate is the best-SNR BS with a free seat.

    slot 0: A (rates [2, 1], demand 5): candidate BS 0 only -> BS 0.
            th_A = 2/1 = 2 -> remaining 3.                                   r0 = log 3
    slot 1: B (rates [4, 1], demand 3) -> BS 0, which now shares among 2 users.
            th_A = 2/2 = 1 -> remaining 2; th_B = 4/2 = 2 -> remaining 1.    r1 = log 2 + log 3
    slot 2: C (rates [3, 1], demand 4): BS 0 is full, candidate BS 1.
            BS 0: th_A = 1 -> remaining 1; th_B = 2 -> remaining -1: B leaves.
            BS 1: th_C = 1 -> remaining 3.                                   r2 = 2 log 2 + log 3
    """
    config = SlottedConfig(num_bs=2, max_users_per_bs=2, top_k=1)
    instance = SlottedInstance(
        arrivals=[1, 1, 1], snr_db=[[R2, R1], [R4, R1], [R3, R1]], demand=[5, 3, 4]
    )
    masks, rewards, infos = _play(config, instance, [0, 0, 1], backend)
    assert masks[:3] == [[True, False, False], [True, False, False], [False, True, False]]
    expected = [math.log(3), math.log(2) + math.log(3), 2 * math.log(2) + math.log(3)]
    assert rewards == pytest.approx(expected, rel=1e-6)
    assert infos[1]["throughput"] == [[1.0, 2.0], [0.0, 0.0]]
    assert infos[2]["throughput"] == [[1.0, 2.0], [1.0, 0.0]]
    assert [i["departures"] for i in infos] == [0, 0, 1]
    assert [i["active_users"] for i in infos] == [1, 2, 2]
    assert [i["rejections"] for i in infos] == [0, 0, 0]


def test_observation_features_by_hand() -> None:
    """After slots 0-1 of the sharing instance BS 0 holds A (rate 2) and B (rate 4) and slot 2
    shows C (rates [3, 1], demand 4). max_rate = log2(1 + 10^2.3) (20 dB + 3 dB bias),
    max_demand = 10 + 3 = 13.

    nodes[0] = [2/2 seats, mean(log(1 + 2/2), log(1 + 4/2)), 3/max_rate, 4/13, not a candidate,
    mean utility per slot so far (log(1 + 2) in slot 0, log(1 + 1) + log(1 + 2) in slot 1) / 2]
    nodes[1] = [0, 0 (empty), 1/max_rate, 4/13, candidate (the only free BS, top_k = 1), 0]
    """
    config = SlottedConfig(num_bs=2, max_users_per_bs=2, top_k=1, mean_demand=10)
    instance = SlottedInstance(
        arrivals=[1, 1, 1], snr_db=[[R2, R1], [R4, R1], [R3, R1]], demand=[5, 3, 4]
    )
    sim = SlottedSimulator(config)
    state = sim.reset(torch.Generator(), {"instance": instance})
    for a in (0, 0):
        state, _, _ = sim.step(state, torch.tensor([a]))
    obs = sim.observe(state)
    max_rate = math.log2(1 + 10 ** (23 / 10))  # 20 dB level + 3 dB bias
    assert config.max_rate == pytest.approx(max_rate)
    expected = [
        [
            1.0,
            (math.log(2) + math.log(3)) / 2,
            3 / max_rate,
            4 / 13,
            0.0,
            (2 * math.log(3) + math.log(2)) / 2,
        ],
        [0.0, 0.0, 1 / max_rate, 4 / 13, 1.0, 0.0],
    ]
    np.testing.assert_allclose(obs["nodes"][0].numpy(), expected, rtol=1e-6)
    assert obs["arrival"].tolist() == [[1.0]]
    assert obs["action_mask"].dtype == torch.int8
    assert obs["action_mask"][0].tolist() == [0, 1, 0]


def test_random_draws_follow_the_spec() -> None:
    """Arrival rate p, SNR levels + bias (BS 0: +3 dB), integer demands in [D-3, D+3]."""
    config = SlottedConfig(arrival_prob=0.7, mean_demand=10)
    sim = SlottedSimulator(config)
    state = sim.reset(torch.Generator().manual_seed(1), batch_size=2000)
    arrivals = state.arrivals[:, :40].float()
    assert arrivals.mean().item() == pytest.approx(0.7, abs=0.01)
    assert not bool(state.arrivals[:, 40].any())  # padding slot after the horizon
    snr = state.new_snr_db[:, :40]
    assert sorted(torch.unique(snr[..., 0]).tolist()) == [3.0, 8.0, 13.0, 18.0, 23.0]
    assert sorted(torch.unique(snr[..., 1]).tolist()) == [0.0, 5.0, 10.0, 15.0, 20.0]
    demand = state.new_demand[:, :40]
    assert sorted(torch.unique(demand).tolist()) == [7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0]
    rate = state.new_rate[:, :40]
    assert torch.allclose(rate, torch.log2(1 + 10 ** (snr / 10)))


def test_common_random_numbers_across_arrival_prob() -> None:
    """The SNR and demand draws do not depend on arrival_prob (same seed, same users)."""
    states = [
        SlottedSimulator(SlottedConfig(arrival_prob=p)).reset(torch.Generator().manual_seed(3))
        for p in (0.3, 1.0)
    ]
    assert torch.equal(states[0].new_snr_db, states[1].new_snr_db)
    assert torch.equal(states[0].new_demand, states[1].new_demand)
    assert bool(states[1].arrivals[:, :40].all())


def test_top_k_candidates_rank_by_snr_among_free_bss() -> None:
    """top_k = 2 of 3: the two best SNRs among BSs with a free seat; ties to the lower index."""
    config = SlottedConfig(num_bs=3, max_users_per_bs=1, top_k=2, bs_bias_db=(0, 0, 0))
    instance = SlottedInstance(
        arrivals=[1, 1, 1], snr_db=[[5, 10, 10], [20, 0, 15], [5, 5, 5]], demand=[13, 13, 13]
    )
    sim = SlottedSimulator(config)
    state = sim.reset(torch.Generator(), {"instance": instance})
    assert sim.action_mask(state)[0].tolist() == [False, True, True, False]  # 10, 10 > 5
    state, _, _ = sim.step(state, torch.tensor([1]))
    assert sim.action_mask(state)[0].tolist() == [True, False, True, False]  # BS 1 full
    state, _, _ = sim.step(state, torch.tensor([0]))
    assert sim.action_mask(state)[0].tolist() == [False, False, True, False]  # only BS 2 free


def test_allow_reject_declines_count_as_rejections() -> None:
    config = SlottedConfig(num_bs=2, allow_reject=True)
    instance = SlottedInstance(arrivals=[1, 0], snr_db=[[R2, R2], [0, 0]], demand=[5, 5])
    sim = SlottedSimulator(config)
    state = sim.reset(torch.Generator(), {"instance": instance})
    assert sim.action_mask(state)[0].tolist() == [True, True, True]
    state, reward, _ = sim.step(state, torch.tensor([2]))  # decline the user
    info = sim.info(state)
    assert info["rejections"].item() == 1 and info["declines"].item() == 1
    assert reward.item() == 0.0 and info["active_users"].item() == 0


def test_invalid_action_modes() -> None:
    instance = SlottedInstance(arrivals=[1], snr_db=[[R2, R2]], demand=[5])
    base = SlottedConfig(num_bs=2)
    sim = SlottedSimulator(base)
    start = sim.reset(torch.Generator(), {"instance": instance})
    state, reward, terminated = sim.step(start, torch.tensor([2]))  # no-op is masked
    assert terminated.tolist() == [True] and reward.tolist() == [0.0]
    assert state.slot.tolist() == [0] and state.invalid_action.tolist() == [True]

    raising = SlottedSimulator(SlottedConfig(num_bs=2, invalid_action="raise"))
    with pytest.raises(ValueError, match="action 2 is not legal"):
        raising.step(raising.reset(torch.Generator(), {"instance": instance}), torch.tensor([2]))

    ignoring = SlottedSimulator(SlottedConfig(num_bs=2, invalid_action="ignore"))
    state = ignoring.reset(torch.Generator(), {"instance": instance})
    state, reward, terminated = ignoring.step(state, torch.tensor([2]))
    assert terminated.tolist() == [False] and state.slot.tolist() == [1]
    assert state.rejections.tolist() == [1] and state.invalid_action.tolist() == [True]


def test_batched_terminate_keeps_other_rows() -> None:
    """An illegal action in one row ends only that row; the other row plays its slot."""
    instance = SlottedInstance(arrivals=[1], snr_db=[[R2, R2]], demand=[5])
    sim = SlottedSimulator(SlottedConfig(num_bs=2))
    state = sim.reset(torch.Generator(), {"instance": instance}, batch_size=2)
    state, reward, terminated = sim.step(state, torch.tensor([0, 2]))
    assert terminated.tolist() == [False, True]
    assert reward[0].item() == pytest.approx(math.log(3)) and reward[1].item() == 0.0
    assert state.slot.tolist() == [1, 0] and state.users.tolist() == [[1, 0], [0, 0]]


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"arrival_prob": 1.5}, "arrival_prob"),
        ({"arrival_prob": -0.1}, "arrival_prob"),
        ({"arrival_prob": float("nan")}, "arrival_prob"),
        ({"max_users_per_bs": 0}, "max_users_per_bs"),
        ({"max_users_per_bs": 2.5}, "max_users_per_bs"),
        ({"num_bs": 0}, "num_bs"),
        ({"mean_demand": 2}, "demand_spread"),
        ({"mean_demand": 0}, "mean_demand"),
        ({"top_k": 0}, "top_k"),
        ({"allow_reject": "yes"}, "allow_reject"),
        ({"snr_levels_db": ()}, "snr_levels_db"),
        ({"bs_bias_db": (1.0, 2.0)}, "bs_bias_db"),
        ({"horizon": 0}, "horizon"),
        ({"invalid_action": "explode"}, "invalid_action"),
    ],
)
def test_bad_config_raises_value_error_naming_the_argument(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        SlottedConfig(**kwargs)


@pytest.mark.parametrize(
    ("action", "match"),
    [
        (torch.tensor([4]), r"action must be in \[0, 3\]"),
        (torch.tensor([-1]), r"action must be in \[0, 3\]"),
        (torch.tensor([1.0]), "integers"),
        (torch.tensor([True]), "integers"),
        (torch.tensor([0, 1]), "shape"),
        (np.array([1]), "Tensor"),
    ],
)
def test_malformed_actions_raise(action: object, match: str) -> None:
    sim = SlottedSimulator(SlottedConfig())
    state = sim.reset(torch.Generator().manual_seed(0))
    with pytest.raises(ValueError, match=match):
        sim.step(state, action)


def test_bad_instances_raise() -> None:
    sim = SlottedSimulator(SlottedConfig(num_bs=2))
    g = torch.Generator()
    with pytest.raises(ValueError, match=r"instance\.snr_db"):
        sim.reset(g, {"instance": SlottedInstance([1], [[1, 2, 3]], [2])})
    with pytest.raises(ValueError, match=r"instance\.demand"):
        sim.reset(g, {"instance": SlottedInstance([1], [[1, 2]], [0])})
    with pytest.raises(ValueError, match="horizon"):
        sim.reset(g, {"instance": SlottedInstance([1] * 41, [[0, 0]] * 41, [1] * 41)})
    # beyond the config's ranges the observation would leave its space
    with pytest.raises(ValueError, match=r"instance\.snr_db must be <= .* 23 dB"):
        sim.reset(g, {"instance": SlottedInstance([1], [[23.5, 0]], [5])})
    with pytest.raises(ValueError, match=r"instance\.demand must be <= .* 13"):
        sim.reset(g, {"instance": SlottedInstance([1], [[0, 0]], [14])})
    sim.reset(g, {"instance": SlottedInstance([1, 0], [[23, -80], [0, 0]], [13, 99])})  # bounds


def test_reset_options_are_the_typed_instance_only() -> None:
    """One way in: options={"instance": SlottedInstance}; the old "scenario" key, dicts and typos
    are ValueErrors naming the valid key."""
    sim = SlottedSimulator(SlottedConfig(num_bs=2))
    g = torch.Generator()
    fields = {"arrivals": [1], "snr_db": [[1, 2]], "demand": [2]}
    with pytest.raises(ValueError, match=r"unknown reset option.*'scenario'.*valid: 'instance'"):
        sim.reset(g, {"scenario": SlottedInstance(**fields)})
    with pytest.raises(ValueError, match="must be a SlottedInstance, got dict"):
        sim.reset(g, {"instance": fields})
    with pytest.raises(ValueError, match="options must be a dict"):
        sim.reset(g, [("instance", None)])  # type: ignore[arg-type]
    assert SlottedSimulator.instance_type is SlottedInstance
    assert SlottedSimulator.array_generic and not SlottedSimulator.chunked_resets


def test_numpy_and_torch_steps_agree_on_random_episodes() -> None:
    """The single env's numpy path runs the same code: identical episodes (4 configs)."""
    for seed, kwargs in enumerate(
        [{}, {"top_k": 2}, {"allow_reject": True, "arrival_prob": 1.0}, {"max_users_per_bs": 1}]
    ):
        sim = SlottedSimulator(SlottedConfig(**kwargs))
        state_t = sim.reset(torch.Generator().manual_seed(seed))
        state_n = state_to_numpy(state_t)
        rng = np.random.default_rng(seed)
        for _ in range(45):
            action = int(rng.choice(np.flatnonzero(state_n.mask[0])))
            state_n, r_n, _ = sim.step(state_n, np.array([action]))
            state_t, r_t, _ = sim.step(state_t, torch.tensor([action]))
            assert float(r_n[0]) == pytest.approx(float(r_t[0]), rel=1e-6, abs=1e-6)
            for key, value in sim.observe(state_t).items():
                np.testing.assert_allclose(sim.observe(state_n)[key], value.numpy(), rtol=1e-6)
            for key, value in sim.info(state_t).items():
                np.testing.assert_allclose(sim.info(state_n)[key], value.numpy(), rtol=1e-6)


def test_rewards_finite_and_nonnegative_under_load() -> None:
    sim = SlottedSimulator(SlottedConfig(arrival_prob=1.0, mean_demand=14))
    state = sim.reset(torch.Generator().manual_seed(0), batch_size=256)
    for _ in range(40):
        mask = state.mask
        action = torch.where(mask[:, :3].any(1), mask[:, :3].float().argmax(1), 3)
        state, reward, _ = sim.step(state, action)
        assert bool(torch.isfinite(reward).all()) and bool((reward >= 0).all())
    assert int(state.users.max()) <= 4


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"snr_levels_db": (4000.0,)}, "snr_levels_db"),
        ({"snr_levels_db": (0.0, -101.0)}, "snr_levels_db"),
        ({"bs_bias_db": (200.0, 0.0, 0.0)}, "bs_bias_db"),
        ({"bs_bias_db": (0.0, -1e3, 0.0)}, "bs_bias_db"),
    ],
)
def test_db_fields_are_bounded(kwargs: dict, name: str) -> None:
    """dB fields outside [-100, 100] are a ValueError naming the field (not an OverflowError in
    max_rate); the extremes are accepted and keep max_rate finite: log2(1 + 10^20) ≈ 66.4."""
    with pytest.raises(ValueError, match=name):
        SlottedConfig(**kwargs)
    config = SlottedConfig(snr_levels_db=(-100.0, 100.0), bs_bias_db=(100.0, -100.0, 0.0))
    assert config.max_rate == pytest.approx(math.log2(1.0 + 1e20))


@pytest.mark.parametrize("backend", ["torch", "numpy"])
def test_lowest_db_settings_are_finite_not_a_zero_division(backend: str) -> None:
    """Edge: every SNR at -200 dB made 1 + SNR round to 1, max_rate 0 and the simulator's
    ``1 / max_rate`` a ZeroDivisionError at construction (so at reset). Now max_rate is
    log1p(SNR) / ln 2 > 0 there, and whole episodes are finite (no service: rates round to 0)."""
    config = SlottedConfig(snr_levels_db=(-100.0,), bs_bias_db=(-100.0,) * 3, arrival_prob=1.0)
    assert 0.0 < config.max_rate == pytest.approx(1e-20 / math.log(2)) and math.isfinite(
        1.0 / config.max_rate
    )
    sim = SlottedSimulator(config)
    state = sim.reset(torch.Generator().manual_seed(0))
    if backend == "numpy":
        state = state_to_numpy(state)
    high = sim.node_high.numpy()
    for _ in range(40):
        obs = {k: np.asarray(v) for k, v in sim.observe(state).items()}
        assert np.isfinite(obs["nodes"]).all() and (obs["nodes"] <= high).all()
        action = int(np.flatnonzero(np.asarray(state.mask[0]))[0])
        act = np.array([action]) if backend == "numpy" else torch.tensor([action])
        state, reward, _ = sim.step(state, act)
        assert np.isfinite(np.asarray(reward)).all()
    assert math.isfinite(float(np.asarray(sim.snr_feature(torch.tensor([-200.0])))[0]))


def test_terminating_illegal_action_marks_the_state_done() -> None:
    """The state carries ``done`` (sticky) so that adapters can refuse to step on."""
    instance = SlottedInstance(arrivals=[1, 1], snr_db=[[R2, R2], [R2, R2]], demand=[5, 5])
    sim = SlottedSimulator(SlottedConfig(num_bs=2))
    state = sim.reset(torch.Generator(), {"instance": instance}, batch_size=2)
    assert state.done.tolist() == [False, False]
    state, _, terminated = sim.step(state, torch.tensor([0, 2]))
    assert terminated.tolist() == [False, True] and state.done.tolist() == [False, True]
    state, _, terminated = sim.step(state, torch.tensor([0, 2]))
    assert state.done.tolist() == [False, True]  # sticky
    ignoring = SlottedSimulator(SlottedConfig(num_bs=2, invalid_action="ignore"))
    state, _, _ = ignoring.step(
        ignoring.reset(torch.Generator(), {"instance": instance}), torch.tensor([2])
    )
    assert state.done.tolist() == [False] and state.invalid_action.tolist() == [True]
