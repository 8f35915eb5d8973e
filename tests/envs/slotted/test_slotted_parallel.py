"""PettingZoo slotted_arrival_v0: determinism, the joint accept rule (PettingZoo's API tests:
tests/envs/test_pettingzoo_api.py)."""

from __future__ import annotations

import math

import gymnasium as gym
import numpy as np
import pytest
from pettingzoo import AECEnv, ParallelEnv
from pettingzoo.utils.wrappers import OrderEnforcingWrapper

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.parallel_base import SimParallelEnv
from ua_envs.envs.slotted import SlottedInstance
from ua_envs.multiagent import slotted_arrival_v0

R2, R3, R4 = 10 * math.log10(3), 10 * math.log10(7), 10 * math.log10(15)


def _episode(seed: int, **kwargs: object) -> list:
    env = slotted_arrival_v0.parallel_env(**kwargs)
    obs, _ = env.reset(seed=seed)
    rng = np.random.default_rng(0)
    out = []
    while env.agents:
        actions = {a: int(rng.choice(np.flatnonzero(obs[a]["action_mask"]))) for a in env.agents}
        obs, rewards, terms, truncs, _ = env.step(actions)
        out.append((rewards, terms, truncs, {a: o["observation"].tolist() for a, o in obs.items()}))
    return out


def test_seeded_multi_step_determinism_and_truncation() -> None:
    first, again, other = _episode(4), _episode(4), _episode(5)
    assert first == again and first != other
    assert len(first) == 40 and all(first[-1][2].values())


def test_same_episode_as_the_single_env_when_all_accept_the_best() -> None:
    """Everyone accepting = the argmax association; the episode equals the single env's."""
    penv = slotted_arrival_v0.parallel_env(arrival_prob=1.0)
    env = gym.make("SlottedArrivalAssoc-v0", arrival_prob=1.0)
    pobs, _ = penv.reset(seed=9)
    obs, _ = env.reset(seed=9)
    for _ in range(40):
        np.testing.assert_array_equal(penv.state()[:-1], obs["nodes"].reshape(-1))
        actions = {a: int(pobs[a]["action_mask"][1]) for a in penv.agents}
        pobs, rewards, *_ = penv.step(actions)
        legal = obs["action_mask"][:3].astype(bool)
        best = int(np.argmax(np.where(legal, obs["nodes"][:, 2], -np.inf))) if legal.any() else 3
        obs, reward, *_ = env.step(best)
        assert rewards["bs_0"] == reward


def test_joint_rule_best_accepting_candidate_and_fallbacks() -> None:
    instance = SlottedInstance([1, 1], snr_db=[[R2, R4, R3], [R2, R4, R3]], demand=[20, 20])
    env = slotted_arrival_v0.parallel_env(mean_demand=20)  # demands up to 23
    env.reset(seed=0, options={"instance": instance})
    # BS 0 and 2 accept; BS 2 has the better SNR (rate 3 > 2) and gets the user.
    _, rewards, _, _, infos = env.step({"bs_0": 1, "bs_1": 0, "bs_2": 1})
    assert infos["bs_0"]["users_per_bs"].tolist() == [0, 0, 1]
    assert rewards["bs_1"] == pytest.approx(math.log(1 + 3))
    # Nobody accepts and allow_reject=False: the best-SNR candidate (BS 1, rate 4) takes it.
    _, _, _, _, infos = env.step({"bs_0": 0, "bs_1": 0, "bs_2": 0})
    assert infos["bs_0"]["users_per_bs"].tolist() == [0, 1, 1]
    assert infos["bs_0"]["rejections"] == 0

    rejecting = slotted_arrival_v0.parallel_env(allow_reject=True, mean_demand=20)
    rejecting.reset(seed=0, options={"instance": instance})
    _, _, _, _, infos = rejecting.step({"bs_0": 0, "bs_1": 0, "bs_2": 0})
    assert infos["bs_0"]["rejections"] == 1 and infos["bs_0"]["declines"] == 1


def test_illegal_accept_and_malformed_actions() -> None:
    instance = SlottedInstance(arrivals=[0, 1], snr_db=[[0, 0, 0], [0, 0, 0]], demand=[5, 5])
    env = slotted_arrival_v0.parallel_env()
    obs, _ = env.reset(seed=0, options={"instance": instance})
    assert obs["bs_0"]["action_mask"].tolist() == [1, 0]  # no arrival: only decline
    _, rewards, terms, _, infos = env.step({"bs_0": 1, "bs_1": 0, "bs_2": 0})
    assert all(terms.values()) and rewards["bs_0"] == 0.0 and infos["bs_0"]["invalid_action"]
    assert env.agents == []

    env.reset(seed=0)
    with pytest.raises(ValueError, match="bs_1"):
        env.step({"bs_0": 0, "bs_1": 2, "bs_2": 0})
    with pytest.raises(ValueError, match="bs_2"):
        env.step({"bs_0": 0, "bs_1": 0})
    raising = slotted_arrival_v0.parallel_env(invalid_action="raise")
    raising.reset(seed=0, options={"instance": instance})
    with pytest.raises(ValueError, match="not legal"):
        raising.step({"bs_0": 1, "bs_1": 0, "bs_2": 0})


def test_spaces_and_render() -> None:
    env = slotted_arrival_v0.parallel_env(render_mode="rgb_array")
    assert env.observation_space("bs_0") is env.observation_space("bs_0")
    assert env.action_space("bs_1").n == 2
    obs, _ = env.reset(seed=0)
    assert env.observation_space("bs_0").contains(obs["bs_0"])
    assert env.state().shape == (19,)  # 6 features x 3 BSs + arrival
    frame = env.render()
    assert frame.dtype == np.uint8 and frame.shape[2] == 3
    env.close()


def test_raw_env_is_the_unwrapped_aec_env() -> None:
    """PettingZoo's convention: raw_env() is the AEC env without the order-enforcing wrapper."""
    raw = slotted_arrival_v0.raw_env()
    assert isinstance(raw, AECEnv) and not isinstance(raw, ParallelEnv)
    assert not isinstance(raw, OrderEnforcingWrapper)
    assert isinstance(slotted_arrival_v0.env(), OrderEnforcingWrapper)
    raw.reset(seed=0)
    assert raw.agents == ["bs_0", "bs_1", "bs_2"]


@pytest.mark.parametrize("bad", [None, 1.5, True, np.array([0, 1])])
def test_malformed_agent_action_raises_naming_the_agent(bad: object) -> None:
    env = slotted_arrival_v0.parallel_env()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action of bs_1"):
        env.step({"bs_0": 0, "bs_1": bad, "bs_2": 0})


def test_the_env_is_a_sim_parallel_env_and_options_are_checked() -> None:
    env = slotted_arrival_v0.parallel_env()
    assert isinstance(env, SimParallelEnv)
    with pytest.raises(ValueError, match=r"unknown reset option.*'scenario'.*valid: 'instance'"):
        env.reset(seed=0, options={"scenario": None})


def test_unknown_agent_in_the_action_dict_raises_naming_the_valid_agents() -> None:
    """Edge: an action dict holding "intruder_99" was accepted (the extra key ignored)."""
    env = slotted_arrival_v0.parallel_env()
    env.reset(seed=0)
    actions = {"bs_0": 0, "bs_1": 0, "bs_2": 0, "intruder_99": 1}
    with pytest.raises(ValueError, match=r"intruder_99.*live agents: bs_0, bs_1, bs_2"):
        env.step(actions)


@pytest.mark.parametrize("mode", ["terminate", "ignore"])
def test_illegal_accept_reports_invalid_action_like_the_single_env(mode: str) -> None:
    """Edge: under "ignore" the PettingZoo env reported invalid_action=False where the single
    env reports True. An accept from a non-candidate is reported in both modes, as the single
    env reports its illegal action."""
    instance = SlottedInstance(arrivals=[0, 1], snr_db=[[0, 0, 0], [0, 0, 0]], demand=[5, 5])
    penv = slotted_arrival_v0.parallel_env(invalid_action=mode)
    penv.reset(seed=0, options={"instance": instance})
    _, _, terms, _, infos = penv.step({"bs_0": 1, "bs_1": 0, "bs_2": 0})  # no arrival
    single = gym.make("SlottedArrivalAssoc-v0", invalid_action=mode)
    single.reset(seed=0, options={"instance": instance})
    _, _, terminated, _, info = single.step(0)  # no arrival: BS 0 is illegal
    assert info["invalid_action"] is True
    assert all(i["invalid_action"] is True for i in infos.values())
    assert all(t == terminated for t in terms.values()) and terminated == (mode == "terminate")
    if mode == "ignore":  # the next, legal step is not invalid
        _, _, _, _, infos = penv.step({"bs_0": 0, "bs_1": 0, "bs_2": 0})
        assert not any(i["invalid_action"] for i in infos.values())


def test_stepping_after_the_end_raises() -> None:
    """After a terminating illegal accept, and after the truncation, step() raises."""
    instance = SlottedInstance(arrivals=[0, 1], snr_db=[[0, 0, 0], [0, 0, 0]], demand=[5, 5])
    env = slotted_arrival_v0.parallel_env()
    env.reset(seed=0, options={"instance": instance})
    env.step({"bs_0": 1, "bs_1": 0, "bs_2": 0})
    assert env.sim_state.done.tolist() == [True]
    with pytest.raises(RuntimeError, match="call reset"):
        env.step({"bs_0": 0, "bs_1": 0, "bs_2": 0})
    short = slotted_arrival_v0.parallel_env(horizon=2)
    short.reset(seed=0)
    for _ in range(2):
        *_, truncs, _ = short.step(dict.fromkeys(short.agents, 0))
    assert all(truncs.values()) and short.agents == []
    with pytest.raises(RuntimeError, match="call reset"):
        short.step({"bs_0": 0, "bs_1": 0, "bs_2": 0})


def test_max_cycles_defaults_to_the_horizon_and_cannot_exceed_it() -> None:
    assert len(_episode(0, horizon=60)) == 60
    assert len(_episode(0, horizon=60, max_cycles=25)) == 25
    with pytest.raises(ValueError, match="max_cycles=50 exceeds horizon=40"):
        slotted_arrival_v0.parallel_env(max_cycles=50)


def test_agent_infos_are_fresh_per_agent() -> None:
    env = slotted_arrival_v0.parallel_env(arrival_prob=1.0)
    obs, _ = env.reset(seed=0)
    _, _, _, _, infos = env.step({a: int(obs[a]["action_mask"][1]) for a in env.agents})
    before = infos["bs_1"]["throughput"].copy()
    infos["bs_0"]["throughput"][:] = 99
    np.testing.assert_array_equal(infos["bs_1"]["throughput"], before)
