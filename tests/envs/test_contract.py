"""Every env family fills in one simulator contract (``ua_envs.envs.contract``).

Adding a fifth family means adding it to :data:`FAMILIES`; every check below then runs on it.
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.contract import ChannelInstance, DecisionSimulator, Outcome, Simulator
from ua_envs.envs.parallel_base import SimParallelEnv
from ua_envs.envs.single import SimEnv


@dataclass(frozen=True)
class Family:
    name: str
    env_id: str
    simulator: str  # "module:Class"
    parallel: str | None  # PettingZoo module in ua_envs.multiagent
    decision: bool
    #: an illegal-free action for the single env's first step
    first_action: Any


FAMILIES = [
    Family(
        "multicell",
        "MultiCellAssoc-v0",
        "ua_envs.envs.multicell.sim:MultiCellSimulator",
        "multicell_assoc_v0",
        True,
        lambda env: np.zeros(env.unwrapped.config.num_ues, dtype=np.int64),
    ),
    Family(
        "cellfree",
        "CellFreeAssoc-v0",
        "ua_envs.envs.cellfree.sim:CellFreeSimulator",
        None,
        True,
        lambda env: np.int64(env.unwrapped.config.num_actions - 1),  # END
    ),
    Family(
        "fronthaul",
        "FronthaulAssoc-v0",
        "ua_envs.envs.fronthaul.sim:FronthaulSimulator",
        "fronthaul_assoc_v0",
        True,
        lambda env: np.ones(env.action_space.shape, dtype=np.int8),
    ),
    Family(
        "slotted",
        "SlottedArrivalAssoc-v0",
        "ua_envs.envs.slotted.sim:SlottedSimulator",
        "slotted_arrival_v0",
        False,
        lambda env: np.int64(env.unwrapped.config.num_bs),  # the no-op
    ),
]
IDS = [family.name for family in FAMILIES]


def _load(path: str) -> Any:
    module, name = path.split(":")
    return getattr(importlib.import_module(module), name)


def _instance(family: Family, env: gym.Env) -> Any:
    """A small hand-made instance of the family's ``instance_type``."""
    sim_cls = _load(family.simulator)
    config = env.unwrapped.config
    if sim_cls.instance_type is ChannelInstance:
        m, k, n = config.num_bs, config.num_ues, config.num_antennas
        rng = np.random.default_rng(0)
        channels = (rng.normal(size=(m, k, n)) + 1j * rng.normal(size=(m, k, n))) * 1e-5
        return ChannelInstance(
            channels=channels.astype(np.complex64),
            tx_power=np.full(m, 0.5),
            noise_power=np.full(k, 1e-12),
        )
    m = config.num_bs
    return sim_cls.instance_type(
        arrivals=[True, False, True],
        snr_db=[[10.0] * m, [0.0] * m, [20.0] * m],
        demand=[5.0, 1.0, 7.0],
    )


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_simulator_implements_the_contract(family: Family) -> None:
    sim_cls = _load(family.simulator)
    base = DecisionSimulator if family.decision else Simulator
    assert issubclass(sim_cls, base)
    assert not inspect.isabstract(sim_cls)
    assert "instance" in sim_cls.option_keys
    for method in ("reset", "step", "observe", "action_mask", "info"):
        assert callable(getattr(sim_cls, method))
    reset = inspect.signature(sim_cls.reset)
    assert list(reset.parameters)[:4] == ["self", "generator", "options", "batch_size"]
    if family.decision:
        evaluate = inspect.signature(sim_cls.evaluate)
        params = list(evaluate.parameters.values())
        assert [p.name for p in params] == ["self", "state", "association", "beams"]
        assert params[3].kind is inspect.Parameter.KEYWORD_ONLY and params[3].default is None


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_adapters_are_the_shared_bases(family: Family) -> None:
    env = gym.make(family.env_id)
    assert isinstance(env.unwrapped, SimEnv)
    if family.parallel is not None:
        module = importlib.import_module(f"ua_envs.multiagent.{family.parallel}")
        assert isinstance(module.parallel_env(), SimParallelEnv)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_unknown_reset_option_is_a_value_error_naming_the_valid_ones(family: Family) -> None:
    env = gym.make(family.env_id)
    with pytest.raises(ValueError, match=r"valid: .*'instance'"):
        env.reset(seed=0, options={"instanse": 1})
    vec = gym.make_vec(family.env_id, num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match=r"valid: .*'instance'"):
        vec.reset(seed=0, options={"channels": 1})
    if family.parallel is not None:
        module = importlib.import_module(f"ua_envs.multiagent.{family.parallel}")
        with pytest.raises(ValueError, match=r"valid: .*'instance'"):
            module.parallel_env().reset(seed=0, options={"typo": 1})


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_instance_option_plays_the_given_instance(family: Family) -> None:
    env = gym.make(family.env_id)
    instance = _instance(family, env)
    obs_a, _ = env.reset(seed=0, options={"instance": instance})
    obs_b, _ = env.reset(seed=99, options={"instance": instance})
    for key in obs_a:  # the instance, not the seed, decides the episode
        np.testing.assert_array_equal(obs_a[key], obs_b[key])
    if isinstance(instance, ChannelInstance):
        np.testing.assert_array_equal(env.unwrapped.channels, instance.channels)
    with pytest.raises(ValueError, match="instance"):
        env.reset(options={"instance": object()})
    vec = gym.make_vec(family.env_id, num_envs=3, vectorization_mode="vector_entry_point")
    obs, _ = vec.reset(seed=0, options={"instance": instance})
    for key, value in obs_a.items():
        for row in range(3):
            np.testing.assert_array_equal(obs[key][row].numpy(), value)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_step_after_the_end_raises_runtime_error(family: Family) -> None:
    kwargs = {"horizon": 2} if family.name == "slotted" else {}
    env = gym.make(family.env_id, **kwargs).unwrapped  # no TimeLimit: the env's own end
    env.reset(seed=0)
    ended = False
    for _ in range(100):
        *_, terminated, truncated, _ = env.step(family.first_action(env))
        if terminated or truncated:
            ended = True
            break
    assert ended
    with pytest.raises(RuntimeError, match="reset"):
        env.step(family.first_action(env))


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.decision], ids=lambda f: f.name)
def test_evaluate_returns_one_outcome_everywhere(family: Family) -> None:
    env = gym.make(family.env_id)
    env.reset(seed=0)
    config = env.unwrapped.config
    m, k = config.num_bs, config.num_ues
    association = torch.full((m, k), 0.5, requires_grad=True)
    single = env.unwrapped.evaluate(association)
    vec = gym.make_vec(family.env_id, num_envs=3, vectorization_mode="vector_entry_point")
    vec.reset(seed=0)
    batched = vec.unwrapped.evaluate(torch.full((3, m, k), 0.5))
    for outcome, batch in ((single, 1), (batched, 3)):
        assert isinstance(outcome, Outcome)
        assert outcome.reward.shape == (batch,)
        assert outcome.rates.shape == (batch, k)
        assert outcome.association.shape == (batch, m, k)
        assert all(value.shape[0] == batch for value in outcome.metrics.values())
        assert bool(torch.isfinite(outcome.reward).all())
    # Sub-env 0 of the vector env reset with seed 0 is the single env's instance.
    torch.testing.assert_close(batched.reward[:1], single.reward.detach())
    single.reward.sum().backward()  # differentiable in a fractional association
    assert association.grad is not None


@pytest.mark.parametrize("family", [f for f in FAMILIES if f.parallel], ids=lambda f: f.name)
def test_pettingzoo_rejects_unknown_agents(family: Family) -> None:
    module = importlib.import_module(f"ua_envs.multiagent.{family.parallel}")
    env = module.parallel_env()
    env.reset(seed=0)
    actions = {agent: env.action_space(agent).sample() for agent in env.agents}
    actions["intruder_99"] = 0
    with pytest.raises(ValueError, match=r"intruder_99.*live agents"):
        env.step(actions)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_graph_views_exist_in_single_and_batched_form(family: Family) -> None:
    from ua_envs.graph import GRAPH_BUILDERS, observation_graph, observation_graph_batch

    assert family.name in GRAPH_BUILDERS
    env = gym.make(family.env_id)
    obs, _ = env.reset(seed=0)
    single = observation_graph(family.env_id, obs)
    vec = gym.make_vec(family.env_id, num_envs=2, vectorization_mode="vector_entry_point")
    batch = observation_graph_batch(family.env_id, vec.reset(seed=0)[0])
    first = batch.get_example(0)
    for key, value in single.to_dict().items():
        if isinstance(value, torch.Tensor):
            torch.testing.assert_close(first.to_dict()[key], value)
