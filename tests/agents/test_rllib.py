"""Ray RLlib adapter (agents/rllib.py): spaces, masks, PPO learning with 2 env runners.

The adapter tests need no Ray; the training tests need the extra ``ua-envs[rllib]`` and share
one local Ray session (starting Ray takes seconds). Budgets are tiny; each learning assertion
compares the greedy trained policy with the uniformly random legal policy on fixed held-out
instances, with a margin several times the seed-to-seed spread seen on a loaded 2-core machine.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

import ua_envs
from agents.rllib import (
    CURVE_FILE,
    MASK_KEY,
    OBS_KEY,
    SpaceAdapter,
    agent_module_id,
    check_rllib_env,
    evaluate_rllib,
    make_rllib_env,
    module_spaces,
    pettingzoo_modules,
    rllib_env_names,
)
from ua_envs.spaces import random_legal_action

ROOT = Path(__file__).resolve().parents[2]
#: Held-out instances of the learning checks (training seeds RLlib derives from seed 0 differ).
EVAL_SEEDS = list(range(10_000, 10_032))
#: PPO settings of the tiny runs: small networks, short batches, a larger step size.
TINY_PPO = {
    "num_env_runners": 2,
    "hidden_sizes": [64, 64],
    "train_batch_size_per_learner": 512,
    "minibatch_size": 128,
    "num_epochs": 8,
    "lr": 1e-3,
}


def test_importing_ua_envs_and_agents_does_not_import_ray() -> None:
    """Ray takes seconds to import: only training or loading an RLlib checkpoint may."""
    code = (
        "import sys, ua_envs, agents, agents.registry as r, agents.rllib\n"
        "r.load_builtin()\n"
        "assert r.trainer_entry('rllib_ppo', 'CellFreeAssoc-v0').name == 'rllib_ppo'\n"
        "print(sorted(m for m in sys.modules if m == 'ray' or m.startswith('ray.')))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_every_gymnasium_id_and_pettingzoo_module_is_an_rllib_env() -> None:
    assert rllib_env_names() == [*ua_envs.ENV_IDS, *pettingzoo_modules()]
    assert {"multicell_assoc_v0", "fronthaul_assoc_v0", "slotted_arrival_v0"} <= set(
        pettingzoo_modules()
    )
    with pytest.raises(ValueError, match=r"unknown name 'nope_v0'; valid: MultiCellAssoc-v0"):
        check_rllib_env("nope_v0")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("MultiCellAssoc-v0", {"default_policy": (False, spaces.MultiDiscrete)}),
        ("CellFreeAssoc-v0", {"default_policy": (True, spaces.Discrete)}),
        ("FronthaulAssoc-v0", {"default_policy": (False, spaces.MultiDiscrete)}),
        ("SlottedArrivalAssoc-v0", {"default_policy": (True, spaces.Discrete)}),
        ("multicell_assoc_v0", {"ue": (True, spaces.Discrete)}),
        ("fronthaul_assoc_v0", {"ap": (False, spaces.MultiDiscrete)}),
        ("slotted_arrival_v0", {"bs": (True, spaces.Discrete)}),
    ],
)
def test_modules_share_parameters_by_agent_type_and_mask_the_masked_envs(
    name: str, expected: dict[str, tuple[bool, type]]
) -> None:
    """One module per agent type; the observation RLlib gets lies in the module's space."""
    adapters = module_spaces(name)
    assert {m: (a.masked, type(a.rllib_action_space)) for m, a in adapters.items()} == expected
    env = make_rllib_env(name) if name in ua_envs.ENV_IDS else None
    if env is None:
        from agents.rllib import RLlibParallelEnv, _parallel_env

        parallel = RLlibParallelEnv(_parallel_env(name, {}))
        observations, _ = parallel.reset(seed=3)
        for agent, observation in observations.items():
            assert adapters[agent_module_id(agent)].rllib_observation_space.contains(observation)
        return
    observation, _ = env.reset(seed=3)
    assert env.observation_space.contains(observation)
    assert adapters["default_policy"].rllib_observation_space == env.observation_space


def test_multibinary_becomes_multidiscrete_and_masks_index_the_logits() -> None:
    """Hand-checked layouts: MultiBinary(3) ↔ MultiDiscrete([2, 2, 2]); mask positions."""
    box = spaces.Box(0.0, 1.0, (2,), np.float32)
    binary = SpaceAdapter(box, spaces.MultiBinary(3))
    assert binary.rllib_action_space == spaces.MultiDiscrete([2, 2, 2])
    np.testing.assert_array_equal(binary.action(np.array([1, 0, 1])), [1, 0, 1])
    assert binary.action(np.array([1, 0, 1])).dtype == np.int8
    # MultiDiscrete([2, 3]) logits: [d0=0, d0=1, d1=0, d1=1, d1=2].
    observation = spaces.Dict({"action_mask": spaces.MultiBinary(5), "x": box})
    multi = SpaceAdapter(observation, spaces.MultiDiscrete([2, 3]))
    mask = np.array([1, 1, 0, 1, 0], dtype=bool)
    np.testing.assert_array_equal(multi.action(np.array([0, 1]), mask), [0, 1])
    with pytest.raises(ValueError, match=r"action \[1, 2\] is illegal .*legal: \[0, 1, 3\]"):
        multi.action(np.array([1, 2]), mask)
    with pytest.raises(ValueError, match=r"does not fit action space Discrete\(4\)"):
        SpaceAdapter(observation, spaces.Discrete(4))
    with pytest.raises(ValueError, match="action space: RLlib's adapter serves Discrete"):
        SpaceAdapter(box, spaces.Tuple([spaces.Discrete(2)]))


def test_an_action_the_mask_forbids_never_reaches_the_env() -> None:
    env = make_rllib_env("CellFreeAssoc-v0")
    observation, _ = env.reset(seed=0)
    assert set(observation) == {MASK_KEY, OBS_KEY}
    assert observation[MASK_KEY].dtype == np.float32
    observation, *_ = env.step(np.int64(0))  # link (AP 0, UE 0): now taken
    assert observation[MASK_KEY][0] == 0.0
    with pytest.raises(
        ValueError, match=r"action 0 is illegal under the observation's action mask"
    ):
        env.step(np.int64(0))


def _random_returns(name: str, env_kwargs: dict[str, Any], seeds: list[int]) -> np.ndarray:
    """Returns of the uniformly random legal policy (the env's own masks), summed over agents."""
    rng = np.random.default_rng(0)
    returns = np.zeros(len(seeds))
    for index, seed in enumerate(seeds):
        if name in ua_envs.ENV_IDS:
            env = gym.make(name, **env_kwargs)
            observation, _ = env.reset(seed=seed)
            done = False
            while not done:
                mask = np.asarray(observation[MASK_KEY], dtype=bool)
                action = random_legal_action(env.action_space, rng, mask)
                observation, reward, terminated, truncated, _ = env.step(action)
                returns[index] += float(reward)
                done = terminated or truncated
            continue
        from agents.rllib import _parallel_env

        parallel = _parallel_env(name, env_kwargs)
        observations, _ = parallel.reset(seed=seed)
        while parallel.agents:
            actions = {
                agent: random_legal_action(
                    parallel.action_space(agent), rng, np.asarray(obs[MASK_KEY], dtype=bool)
                )
                for agent, obs in observations.items()
            }
            observations, rewards, *_ = parallel.step(actions)
            returns[index] += float(sum(rewards.values()))
    return returns


@pytest.fixture(scope="module")
def ray_session() -> Iterator[None]:
    """One local Ray for the training tests (2 logical CPUs: one per env runner)."""
    ray = pytest.importorskip("ray", reason="needs the extra ua-envs[rllib]")
    pytest.importorskip("ray.rllib")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


def _train(name: str, out: Path, steps: int, env_kwargs: dict[str, Any]) -> Path:
    """``ua-envs train rllib_ppo`` in this process (the Ray session of the fixture)."""
    from agents import cli

    hyper = {k: v for k, v in TINY_PPO.items() if k != "num_env_runners"}
    argv = [
        "train", "rllib_ppo", "--env", name, "--steps", str(steps), "--seed", "0",
        "--out", str(out), "--quiet",
        "--num-env-runners", str(TINY_PPO["num_env_runners"]),
        "--trainer-kwargs", *(f"{k}={json.dumps(v)}" for k, v in hyper.items()),
    ]  # fmt: skip
    if env_kwargs:
        argv += ["--env-kwargs", *(f"{k}={json.dumps(v)}" for k, v in env_kwargs.items())]
    assert cli.main(argv) == 0
    return out


def _curve(path: Path) -> list[float]:
    with (path / CURVE_FILE).open() as handle:
        return [float(row["episode_return_mean"]) for row in csv.DictReader(handle)]


@pytest.mark.usefixtures("ray_session")
def test_ppo_on_multicell_assoc_v0_learns_with_one_shared_ue_module(tmp_path: Path) -> None:
    from agents.rllib import load_rllib_modules

    kwargs: dict[str, Any] = {}
    path = _train("multicell_assoc_v0", tmp_path / "ma", 2048, kwargs)
    modules, metadata = load_rllib_modules(str(path))
    assert set(modules) == {"ue"} and metadata["env"] == "multicell_assoc_v0"
    assert metadata["env_steps"] >= 2048
    curve = _curve(path)
    assert len(curve) == 4 and curve[-1] > curve[0]
    trained = evaluate_rllib(modules, "multicell_assoc_v0", EVAL_SEEDS, env_kwargs=kwargs)
    random = _random_returns("multicell_assoc_v0", kwargs, EVAL_SEEDS)
    assert trained.mean() > 1.3 * random.mean(), (trained.mean(), random.mean())


@pytest.mark.usefixtures("ray_session")
def test_masked_ppo_on_cellfree_learns_and_never_takes_a_masked_action(tmp_path: Path) -> None:
    from agents.registry import make_policy
    from agents.rllib import load_rllib_modules

    kwargs: dict[str, Any] = {"num_bs": 4, "num_ues": 3, "reward_mode": "delta"}
    path = _train("CellFreeAssoc-v0", tmp_path / "cf", 2048, kwargs)
    modules, _ = load_rllib_modules(str(path))
    # Sampling exploration actions from the masked distribution: the env wrapper raises on any
    # masked action (as it does in the env runners, where it would fail the run).
    evaluate_rllib(modules, "CellFreeAssoc-v0", EVAL_SEEDS, env_kwargs=kwargs, sample=True)
    trained = evaluate_rllib(modules, "CellFreeAssoc-v0", EVAL_SEEDS, env_kwargs=kwargs)
    random = _random_returns("CellFreeAssoc-v0", kwargs, EVAL_SEEDS)
    assert trained.mean() > 1.3 * random.mean(), (trained.mean(), random.mean())
    # rllib_ppo:DIR through the registry (what compare uses) plays the same greedy episodes.
    env = gym.make("CellFreeAssoc-v0", **kwargs)
    policy = make_policy(f"rllib_ppo:{path}", env)
    for seed, expected in zip(EVAL_SEEDS[:4], trained[:4], strict=True):
        observation, _ = env.reset(seed=seed)
        total, done = 0.0, False
        while not done:
            mask = observation[MASK_KEY].astype(bool)
            action = policy.act(observation, env=env)
            assert mask[action]
            observation, reward, terminated, truncated, _ = env.step(action)
            total += float(reward)
            done = terminated or truncated
        assert total == pytest.approx(expected)


def test_train_command_line_checks_rllib_names_and_options(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A PettingZoo module is an --env of rllib_ppo only; the Ray options of other trainers are
    refused; all before Ray starts (exit 2, one line)."""
    from agents import cli

    out = str(tmp_path / "x")
    assert cli.main(["train", "rllib_ppo", "--env", "nope_v0", "--out", out]) == 2
    assert "unknown name 'nope_v0'; valid: MultiCellAssoc-v0" in capsys.readouterr().err
    assert cli.main(["train", "ppo", "--env", "multicell_assoc_v0", "--out", out]) == 2
    assert "multicell_assoc_v0" in capsys.readouterr().err
    argv = ["train", "ppo", "--env", "MultiCellAssoc-v0", "--out", out, "--num-env-runners", "2"]
    assert cli.main(argv) == 2
    assert "does not support --num-env-runners" in capsys.readouterr().err
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "other.txt").write_text("x")
    argv = ["train", "rllib_ppo", "--env", "CellFreeAssoc-v0", "--out", str(tmp_path / "full")]
    assert cli.main(argv) == 2
    assert "holds no rllib_ppo checkpoint" in capsys.readouterr().err
