"""agents.sb3_vec.SB3VecEnv: SB3's VecEnv conventions over our native vector envs, and the SB3
trainers (agents.sb3.train_sb3) that train on it."""

from __future__ import annotations

import csv
import itertools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode

pytest.importorskip("stable_baselines3")
pytest.importorskip("sb3_contrib")

from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.utils import get_action_masks, is_masking_supported
from stable_baselines3 import PPO

import ua_envs  # noqa: F401  (registers the ids)
from agents.entries import TrainJob
from agents.sb3 import evaluate_sb3, load_sb3, read_curve, train_sb3
from agents.sb3_vec import SB3VecEnv

IDS = ["CellFreeAssoc-v0", "MultiCellAssoc-v0", "FronthaulAssoc-v0", "SlottedArrivalAssoc-v0"]
SMALL = {"n_steps": 8, "batch_size": 8, "n_epochs": 1, "device": "cpu"}


def legal_actions(space: gym.Space[Any], masks: np.ndarray, rng: np.random.Generator) -> Any:
    """A batch of uniformly random actions legal under sb3-contrib flat ``masks`` (n, size)."""
    n = masks.shape[0]
    if isinstance(space, spaces.Discrete):
        return np.array([rng.choice(np.flatnonzero(row)) for row in masks], dtype=np.int64)
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).reshape(-1)
        bounds = np.concatenate([[0], np.cumsum(nvec)])
        return np.array(
            [
                [rng.choice(np.flatnonzero(row[a:b])) for a, b in itertools.pairwise(bounds)]
                for row in masks
            ],
            dtype=np.int64,
        )
    assert isinstance(space, spaces.MultiBinary)
    pairs = masks.reshape(n, -1, 2)  # (bit off legal, bit on legal)
    draw = rng.random(pairs.shape[:2]) < 0.5
    return np.where(pairs[..., 1] & (draw | ~pairs[..., 0]), 1, 0).astype(np.float32)


def check_vec_step(venv: SB3VecEnv, obs: Any, rewards: Any, dones: Any, infos: Any) -> None:
    """SB3's VecEnv return conventions (SB3 has no VecEnv checker)."""
    n = venv.num_envs
    assert isinstance(obs, dict) and set(obs) == set(venv.observation_space.spaces)
    for key, space in venv.observation_space.spaces.items():
        assert obs[key].shape == (n, *space.shape) and obs[key].dtype == space.dtype, key
        assert all(space.contains(row) for row in obs[key]), key
    assert rewards.shape == (n,) and rewards.dtype == np.float32
    assert dones.shape == (n,) and dones.dtype == bool
    assert isinstance(infos, list) and len(infos) == n
    for row, info in enumerate(infos):
        assert ("terminal_observation" in info) == bool(dones[row])
        if dones[row]:
            assert venv.observation_space.contains(info["terminal_observation"])
            assert isinstance(info["TimeLimit.truncated"], bool)


@pytest.mark.parametrize("env_id", IDS)
def test_adapter_equals_the_vector_env(env_id: str) -> None:
    """Same seed and actions: the adapter's obs/rewards/dones are the vector env's, and each
    ended row's terminal_observation is the vector env's final_obs row."""
    n, rng = 4, np.random.default_rng(0)
    raw = gym.make_vec(env_id, num_envs=n)
    venv = SB3VecEnv(gym.make_vec(env_id, num_envs=n))
    raw_obs, _ = raw.reset(seed=5)
    assert venv.seed(5) == [5, 6, 7, 8]
    obs = venv.reset()
    for key in obs:
        np.testing.assert_array_equal(obs[key], raw_obs[key].numpy())
    ended = 0
    for _ in range(45):
        masks = venv.action_masks()
        np.testing.assert_array_equal(masks, raw.action_masks().numpy())
        actions = legal_actions(venv.action_space, masks, rng)
        raw_actions = actions.astype(np.int64)
        raw_obs, reward, terminated, truncated, info = raw.step(raw_actions)
        obs, rewards, dones, infos = venv.step(actions)
        check_vec_step(venv, obs, rewards, dones, infos)
        np.testing.assert_array_equal(rewards, reward.numpy().astype(np.float32))
        np.testing.assert_array_equal(dones, (terminated | truncated).numpy())
        for key in obs:
            np.testing.assert_array_equal(obs[key], raw_obs[key].numpy())
        for row in np.flatnonzero(dones):
            ended += 1
            for key, value in infos[row]["terminal_observation"].items():
                np.testing.assert_array_equal(value, info["final_obs"][key][row].numpy())
            expected = bool(truncated[row]) and not bool(terminated[row])
            assert infos[row]["TimeLimit.truncated"] == expected
    assert ended > 0  # autoreset happened in every family within 45 steps


def test_time_limit_truncation_is_reported() -> None:
    """SlottedArrivalAssoc-v0 ends by its 40-slot limit: every row, TimeLimit.truncated."""
    venv = SB3VecEnv(gym.make_vec("SlottedArrivalAssoc-v0", num_envs=3))
    venv.seed(0)
    venv.reset()
    rng = np.random.default_rng(1)
    for slot in range(1, 41):
        actions = legal_actions(venv.action_space, venv.action_masks(), rng)
        _, _, dones, infos = venv.step(actions)
        assert dones.all() == (slot == 40)
    assert all(info["TimeLimit.truncated"] and info["episode"]["l"] == 40 for info in infos)


def test_episode_statistics_sum_the_rewards() -> None:
    """info["episode"] = return and length of the ended episode (what SB3's Monitor writes)."""
    venv = SB3VecEnv(gym.make_vec("CellFreeAssoc-v0", num_envs=3))
    venv.seed(2)
    venv.reset()
    rng = np.random.default_rng(2)
    totals, lengths, checked = np.zeros(3), np.zeros(3, dtype=int), 0
    for _ in range(80):
        actions = legal_actions(venv.action_space, venv.action_masks(), rng)
        _, rewards, dones, infos = venv.step(actions)
        totals += rewards
        lengths += 1
        for row in np.flatnonzero(dones):
            assert infos[row]["episode"]["r"] == pytest.approx(totals[row], rel=1e-6)
            assert infos[row]["episode"]["l"] == lengths[row]
            totals[row], lengths[row], checked = 0.0, 0, checked + 1
    assert checked >= 3


def test_masks_reach_sb3_contrib() -> None:
    """sb3-contrib's own helpers see the masks: (n, size) bool, the vector env's."""
    raw = gym.make_vec("MultiCellAssoc-v0", num_envs=3)
    venv = SB3VecEnv(gym.make_vec("MultiCellAssoc-v0", num_envs=3))
    raw.reset(seed=0)
    venv.seed(0)
    venv.reset()
    assert is_masking_supported(venv)
    masks = get_action_masks(venv)
    assert masks.dtype == bool and masks.shape == (3, 16)
    np.testing.assert_array_equal(masks, raw.action_masks().numpy())
    rows = venv.env_method("action_masks", indices=[2])
    np.testing.assert_array_equal(rows[0], masks[2])


def test_maskable_ppo_never_takes_a_masked_action() -> None:
    """CellFreeAssoc-v0 with invalid_action="raise" (a masked action raises in the env), and a
    spy that checks every action SB3 sends against the masks of the observation it saw."""
    venv = SB3VecEnv(gym.make_vec("CellFreeAssoc-v0", num_envs=8, invalid_action="raise"))
    seen = {"steps": 0}
    step_async = venv.step_async

    def spy(actions: np.ndarray) -> None:
        masks = venv.action_masks()
        assert masks[np.arange(8), actions].all()
        seen["steps"] += 1
        step_async(actions)

    venv.step_async = spy  # type: ignore[method-assign]
    model = MaskablePPO("MultiInputPolicy", venv, seed=0, **SMALL)
    model.learn(256)
    assert seen["steps"] == 32


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("algorithm", [PPO, MaskablePPO])
def test_ppo_and_maskable_ppo_learn_on_the_adapter(env_id: str, algorithm: Any) -> None:
    """Discrete (masked), MultiDiscrete, MultiBinary and the slotted env (40-slot episodes:
    long enough for some to end)."""
    steps = 192 if env_id == "SlottedArrivalAssoc-v0" else 64
    venv = SB3VecEnv(gym.make_vec(env_id, num_envs=4))
    model = algorithm("MultiInputPolicy", venv, seed=0, **SMALL)
    model.learn(steps)
    assert model.num_timesteps == steps
    assert model.observation_space == venv.venv.single_observation_space
    assert all(torch.isfinite(p).all() for p in model.policy.parameters())
    assert len(model.ep_info_buffer) > 0  # the adapter's "episode" infos feed ep_rew_mean


def _parameters(model: Any) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in model.policy.state_dict().items()}


def test_same_seed_same_parameters() -> None:
    """Two MaskablePPO runs with seed 3 end with identical weights; seed 4 differs."""

    def run(seed: int) -> dict[str, torch.Tensor]:
        venv = SB3VecEnv(gym.make_vec("CellFreeAssoc-v0", num_envs=4))
        model = MaskablePPO("MultiInputPolicy", venv, seed=seed, **SMALL)
        model.learn(64)
        return _parameters(model)

    first, second, other = run(3), run(3), run(4)
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert not all(torch.equal(first[k], other[k]) for k in first)


class _BoxVectorEnv(gym.vector.VectorEnv):
    """A 2-step vector env with a Box action: reward = -|action - target|, SAME_STEP reset."""

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP}  # noqa: RUF012

    def __init__(self, num_envs: int = 3) -> None:
        self.num_envs = num_envs
        self.single_observation_space = spaces.Box(-1, 1, (2,), np.float32)
        self.single_action_space = spaces.Box(-1, 1, (2,), np.float32)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, 3)
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, 3)
        self.target = torch.zeros(num_envs, 2)
        self.t = torch.zeros(num_envs, dtype=torch.long)
        self.received: list[np.ndarray] = []

    def reset(self, *, seed: int | None = None, options: Any = None) -> Any:
        self.target = torch.linspace(-0.5, 0.5, self.num_envs * 2).reshape(-1, 2)
        self.t.zero_()
        return self.target.clone(), {}

    def step(self, actions: Any) -> Any:
        self.received.append(np.asarray(actions))
        action = torch.as_tensor(actions)
        reward = -(action - self.target).abs().sum(1).double()
        self.t += 1
        terminated = self.t >= 2
        info: dict[str, Any] = {}
        if terminated.any():
            info["final_obs"] = self.target.clone() + 1.0 / 4
            self.t[terminated] = 0
        return self.target.clone(), reward, terminated, torch.zeros_like(terminated), info


def test_box_actions_and_box_observations() -> None:
    """A Box-action, Box-observation vector env: float32 actions, array observations."""
    raw = _BoxVectorEnv()
    venv = SB3VecEnv(raw)
    obs = venv.reset()
    assert isinstance(obs, np.ndarray) and obs.shape == (3, 2)
    _, _, dones, infos = venv.step(np.full((3, 2), 0.5))
    assert raw.received[-1].dtype == np.float32 and not dones.any() and infos == [{}] * 3
    _, _, dones, infos = venv.step(np.zeros((3, 2)))
    assert dones.all()
    np.testing.assert_allclose(infos[0]["terminal_observation"], [-0.25, -0.05], atol=1e-6)
    PPO("MlpPolicy", SB3VecEnv(_BoxVectorEnv()), seed=0, **SMALL).learn(48)


def test_bad_inputs_are_value_errors() -> None:
    with pytest.raises(ValueError, match="venv must be a gymnasium VectorEnv"):
        SB3VecEnv(gym.make("CellFreeAssoc-v0"))  # type: ignore[arg-type]
    sync = gym.make_vec("MultiCellAssoc-v0", num_envs=2, vectorization_mode="sync")
    with pytest.raises(ValueError, match="SAME_STEP"):
        SB3VecEnv(sync)
    venv = SB3VecEnv(gym.make_vec("CellFreeAssoc-v0", num_envs=2))
    venv.reset()
    with pytest.raises(ValueError, match=r"actions must have shape \(2,\)"):
        venv.step(np.zeros(3, dtype=np.int64))
    with pytest.raises(ValueError, match="must be integers"):
        venv.step(np.array([0.5, 1.0]))
    with pytest.raises(ValueError, match="every sub-env"):
        venv.set_attr("foo", 1, indices=[0])
    with pytest.raises(ValueError, match="info_keys must be a sequence"):
        SB3VecEnv(gym.make_vec("CellFreeAssoc-v0", num_envs=2), info_keys="sum_rate")


def test_info_keys_copy_the_decision_values() -> None:
    """info_keys rows: an ended MultiCell row carries its decision's sum_rate (= its reward)."""
    venv = SB3VecEnv(gym.make_vec("MultiCellAssoc-v0", num_envs=3), info_keys=["sum_rate"])
    obs = venv.reset()
    _, rewards, dones, infos = venv.step(obs["gain_db"].argmax(axis=1))
    assert dones.all()
    got = np.array([info["sum_rate"] for info in infos], dtype=np.float32)
    np.testing.assert_allclose(got, rewards, rtol=1e-6)


def test_evaluate_sb3_uses_held_out_first_episodes() -> None:
    """evaluate_sb3 scores the first episode of each sub-env, reproducibly."""
    venv = SB3VecEnv(gym.make_vec("MultiCellAssoc-v0", num_envs=5))
    model = PPO("MultiInputPolicy", venv, seed=0, **SMALL)
    first, again = evaluate_sb3(model, venv, 7), evaluate_sb3(model, venv, 7)
    assert first.shape == (5,) and np.array_equal(first, again)
    # A one-step env: the return is the reward of the greedy policy's only step.
    venv.seed(7)
    obs = venv.reset()
    actions, _ = model.predict(obs, deterministic=True)
    _, rewards, _, _ = venv.step(actions)
    np.testing.assert_allclose(first, rewards, rtol=1e-6)


# ----------------------------------------------------------------------------- trainers
def _job(tmp_path: Path, name: str, **fields: Any) -> TrainJob:
    base: dict[str, Any] = {
        "env_id": "CellFreeAssoc-v0",
        "episodes": None,
        "seed": 0,
        "out": str(tmp_path / name),
        "quiet": True,
        "hyperparameters": {"n_steps": 8, "batch_size": 16, "n_epochs": 1},
        "steps": 64,
        "num_envs": 4,
        "eval_every": 0,
    }
    base.update(fields)
    return TrainJob(**base)


def test_trainer_same_seed_same_saved_parameters(tmp_path: Path) -> None:
    """`ua-envs train maskable_ppo --seed 0` twice: identical checkpoints' weights; the CSV
    learning curve (one row per rollout) and its PNG are written next to the checkpoint."""
    first = train_sb3("maskable_ppo", _job(tmp_path, "a"))
    second = train_sb3("maskable_ppo", _job(tmp_path, "b"))
    a, b = load_sb3("maskable_ppo", first), load_sb3("maskable_ppo", second)
    assert a.num_timesteps == 64 and a.n_envs == 4
    pa, pb = _parameters(a), _parameters(b)
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    with open(tmp_path / "a.curve.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["step"]) for r in rows] == [32, 64]
    assert (tmp_path / "a.curve.png").stat().st_size > 0


def test_trainer_episode_budget(tmp_path: Path) -> None:
    """Without --steps, training stops once `episodes` episodes ended (MultiCell: one step
    each, so 6 episodes on 2 sub-envs are 3 vector steps)."""
    job = _job(tmp_path, "ep", env_id="MultiCellAssoc-v0", steps=None, episodes=6, num_envs=2)
    model = load_sb3("ppo", train_sb3("ppo", job))
    assert model.num_timesteps == 6


def test_trainer_eval_best_tensorboard_and_resume(tmp_path: Path) -> None:
    """Periodic evaluation keeps <stem>.best.zip, --tensorboard writes event files, --resume
    continues the step count and the learning curve."""
    job = _job(
        tmp_path,
        "run",
        eval_every=32,
        eval_episodes=3,
        tensorboard=str(tmp_path / "tb"),
    )
    path = train_sb3("maskable_ppo", job)
    assert load_sb3("maskable_ppo", str(tmp_path / "run.best.zip")).num_timesteps in (32, 64)
    assert len(list((tmp_path / "tb").rglob("events.out.tfevents.*"))) == 2  # curve + SB3's
    rows = read_curve(tmp_path / "run.curve.csv")
    assert [row["step"] for row in rows if row["eval_return"] is not None] == [32, 64]
    with pytest.raises(ValueError, match="already trained 64 steps"):
        train_sb3("maskable_ppo", _job(tmp_path, "more", resume=path, steps=64))
    resumed = train_sb3("maskable_ppo", _job(tmp_path, "more", resume=path, steps=96))
    model = load_sb3("maskable_ppo", resumed)
    assert model.num_timesteps == 96
    steps = [row["step"] for row in read_curve(tmp_path / "more.curve.csv")]
    assert steps == [32, 64, 96]


def test_trainer_refuses_bad_budgets_and_resume(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not both"):
        train_sb3("ppo", _job(tmp_path, "x", episodes=3))
    with pytest.raises(ValueError, match="steps must be an integer in"):
        train_sb3("ppo", _job(tmp_path, "x", steps=0))
    with pytest.raises(ValueError, match="num_envs must be an integer in"):
        train_sb3("ppo", _job(tmp_path, "x", num_envs=0))
    with pytest.raises(ValueError, match="does not exist"):
        train_sb3("ppo", _job(tmp_path, "x", resume=str(tmp_path / "missing.zip")))
    other = train_sb3("ppo", _job(tmp_path, "mc", env_id="MultiCellAssoc-v0"))
    with pytest.raises(ValueError, match=r"resume: checkpoint .* was trained with"):
        train_sb3("ppo", _job(tmp_path, "x", resume=other))
