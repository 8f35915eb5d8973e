"""Policy interface: masked RandomPolicy, observation_mask, sample_action, the SB3 adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import tiny_envs
from gymnasium import spaces
from tiny_envs import TINY_ID, TinyBanditEnv

from agents.evaluate import evaluate
from agents.policy import Policy, RandomPolicy, observation_mask, sample_action
from agents.registry import make_policy, trainer_entry
from agents.sb3 import SB3Policy, _sb3_mask

assert tiny_envs  # imported for its registrations


def test_random_policy_never_picks_a_masked_action() -> None:
    """Over many random masks (rows with at least one legal action), every pick is legal."""
    rng = np.random.default_rng(0)
    policy = RandomPolicy(spaces.Discrete(6), seed=0)
    picks = np.zeros(6, dtype=int)
    for _ in range(2000):
        mask = rng.random(6) < 0.4
        mask[rng.integers(6)] = True
        action = int(policy.act({"action_mask": mask.astype(np.int8)}))
        assert mask[action]
        picks[action] += 1
    assert (picks > 0).all()  # every action is reachable


def test_random_policy_multidiscrete_mask_in_sb3_layout() -> None:
    space = spaces.MultiDiscrete([3, 2, 4])
    mask = np.array([0, 1, 0, 1, 0, 0, 0, 1, 1], dtype=bool)  # legal: {1}, {0}, {2, 3}
    policy = RandomPolicy(space, seed=1)
    seen = set()
    for _ in range(200):
        action = policy.act({"action_mask": mask})
        assert space.contains(action)
        assert action[0] == 1 and action[1] == 0 and action[2] in (2, 3)
        seen.add(int(action[2]))
    assert seen == {2, 3}


def test_random_policy_reads_the_mask_from_the_env() -> None:
    env = TinyBanditEnv(num_actions=5)
    env.reset(seed=0)
    policy = RandomPolicy(env.action_space, seed=0)
    for _ in range(50):
        assert env.action_masks()[int(policy.act(np.zeros(1), env=env))]


def test_random_policy_is_reproducible_and_reset_reseeds() -> None:
    space = spaces.Discrete(10)
    a = RandomPolicy(space, seed=3)
    first = [int(a.act(None)) for _ in range(20)]
    a.reset(3)
    assert [int(a.act(None)) for _ in range(20)] == first
    assert [int(RandomPolicy(space, seed=4).act(None)) for _ in range(20)] != first


def test_random_policy_multibinary_probability() -> None:
    policy = RandomPolicy(spaces.MultiBinary(1000), seed=0, probability=0.2)
    bits = policy.act(None)
    assert bits.dtype == np.int8 and 0.15 < bits.mean() < 0.25
    with pytest.raises(ValueError, match="probability"):
        RandomPolicy(spaces.MultiBinary(3), probability=1.5)


def test_observation_mask_sources() -> None:
    assert observation_mask({"x": np.zeros(1)}) is None
    assert observation_mask(np.zeros(3)) is None
    np.testing.assert_array_equal(
        observation_mask({"action_mask": np.array([0, 1], np.int8)}), [False, True]
    )
    env = TinyBanditEnv()
    env.reset(seed=0)
    np.testing.assert_array_equal(observation_mask(np.zeros(1), env), env.action_masks())


def test_sample_action_rejects_empty_masks_and_unknown_spaces() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="mask allows no action"):
        sample_action(spaces.Discrete(3), rng, np.zeros(3, dtype=bool))
    with pytest.raises(ValueError, match="dimension 1"):
        sample_action(spaces.MultiDiscrete([2, 2]), rng, np.array([1, 0, 0, 0], dtype=bool))
    with pytest.raises(ValueError, match="space must be Discrete"):
        sample_action(spaces.Box(-np.inf, np.inf, (2,)), rng)  # no uniform law on R^2
    box = sample_action(spaces.Box(0, 1, (2,)), rng)  # a bounded Box: uniform in its bounds
    assert box.shape == (2,) and np.all((box >= 0) & (box <= 1))
    assert sample_action(spaces.Discrete(3, start=5), rng, np.array([0, 0, 1], bool)) == 7


def test_policies_satisfy_the_protocol() -> None:
    assert isinstance(RandomPolicy(spaces.Discrete(2)), Policy)
    assert isinstance(tiny_envs.FirstLegalPolicy(), Policy)


# --- stable-baselines3 adapter --------------------------------------------------------------


def test_sb3_mask_layout() -> None:
    space = spaces.MultiDiscrete([2, 3])
    flat = np.array([1, 0, 1, 1, 0], dtype=bool)
    np.testing.assert_array_equal(_sb3_mask(flat, space), flat)
    square = np.array([[1, 0, 0], [1, 1, 0]], dtype=bool)  # (d, max(nvec)) layout
    np.testing.assert_array_equal(_sb3_mask(square, space), flat)


def test_tiny_ppo_acts_validly_and_loads_from_a_checkpoint(tmp_path) -> None:
    from stable_baselines3 import PPO

    env = gym.make(TINY_ID, reward="action", horizon=2, strict=False)  # PPO ignores masks
    model = PPO("MultiInputPolicy", env, n_steps=16, batch_size=16, n_epochs=1, seed=0)
    model.learn(total_timesteps=16)
    policy = SB3Policy(model)
    observation, _ = env.reset(seed=0)
    action = policy.act(observation, env=env)
    assert env.action_space.contains(action)

    path = tmp_path / "ppo_tiny.zip"
    model.save(str(path))
    loaded = make_policy(f"ppo:{path}", env, seed=0)
    assert isinstance(loaded, SB3Policy)
    assert int(loaded.act(observation, env=env)) == int(action)  # deterministic greedy
    with pytest.raises(ValueError, match="needs a checkpoint"):
        make_policy("ppo", env)
    with pytest.raises(ValueError, match="does not exist"):
        make_policy(f"ppo:{tmp_path / 'missing.zip'}", env)
    other = gym.make("CartPole-v1")
    with pytest.raises(ValueError, match="observation space"):
        make_policy(f"ppo:{path}", other)


def test_maskable_ppo_gets_the_mask(tmp_path) -> None:
    """MaskablePPO through the adapter never picks a masked action (the env raises if it did),
    and evaluate() runs it end to end from a checkpoint written by the registered trainer."""
    kwargs = {"reward": "action", "horizon": 3, "num_actions": 5}
    out = trainer_entry("maskable_ppo", TINY_ID).trainer(
        TINY_ID,
        episodes=6,
        seed=0,
        out=str(tmp_path / "mppo"),
        env_kwargs=kwargs,
        quiet=True,
        n_steps=16,
        batch_size=16,
        n_epochs=1,
    )
    assert out.endswith("mppo.zip")
    results = evaluate(f"maskable_ppo:{out}", TINY_ID, 30, 0, kwargs)
    assert results.returns.shape == (30,)
    assert (results.lengths == 3).all()  # no masked action raised, every episode finished


class _StubMaskable:
    """Records what SB3Policy passes to a MaskablePPO-like ``predict``."""

    def __init__(self, space: spaces.Space) -> None:
        self.action_space = space
        self.masks: list[np.ndarray] = []

    def predict(
        self, observation, state=None, episode_start=None, deterministic=False, action_masks=None
    ):
        self.masks.append(action_masks)
        return np.array(np.flatnonzero(action_masks)[-1]), None


def test_sb3_policy_passes_the_observation_mask_to_maskable_models() -> None:
    env = TinyBanditEnv(num_actions=6)
    observation, _ = env.reset(seed=4)
    stub = _StubMaskable(env.action_space)
    action = SB3Policy(stub).act(observation, env=env)
    np.testing.assert_array_equal(stub.masks[0], observation["action_mask"].astype(bool))
    assert isinstance(action, np.int64) and observation["action_mask"][action] == 1
    with pytest.raises(ValueError, match="stable-baselines3 model"):
        SB3Policy(object())
