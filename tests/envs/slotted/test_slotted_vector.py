"""SlottedArrivalAssoc-v0 native vector env: seeding rule, autoreset, actions, shapes."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.slotted.vector import SlottedArrivalAssocVectorEnv

ENV_ID = "SlottedArrivalAssoc-v0"


def _make(n: int, **kwargs: object) -> gym.vector.VectorEnv:
    return gym.make_vec(ENV_ID, n, vectorization_mode="vector_entry_point", **kwargs)


def _first_legal(mask: torch.Tensor) -> torch.Tensor:
    return mask.bool().float().argmax(-1)  # first legal action per row


def test_make_vec_builds_the_native_env_with_the_time_limit() -> None:
    envs = _make(3, arrival_prob=1.0)
    assert isinstance(envs.unwrapped, SlottedArrivalAssocVectorEnv)
    assert envs.unwrapped.max_episode_steps == 40
    obs, _ = envs.reset(seed=0)
    assert obs["nodes"].shape == (3, 3, 6) and obs["action_mask"].dtype == torch.int8
    assert envs.single_action_space == gym.spaces.Discrete(4)


def test_seeded_vector_episodes_equal_single_env_episodes() -> None:
    """Sub-env i reset with seed s plays the episode of a single env reset with s + i, whole
    episode long (this also checks the single env's numpy path against the torch batch)."""
    n, seed = 4, 11
    envs = _make(n, mean_demand=14, top_k=2)
    singles = [gym.make(ENV_ID, mean_demand=14, top_k=2) for _ in range(n)]
    obs, _ = envs.reset(seed=seed)
    single_obs = [env.reset(seed=seed + i)[0] for i, env in enumerate(singles)]
    for t in range(40):
        for i in range(n):
            for key in ("nodes", "action_mask", "arrival"):
                np.testing.assert_allclose(obs[key][i].numpy(), single_obs[i][key], rtol=1e-6)
        actions = _first_legal(obs["action_mask"])
        obs, reward, terminated, truncated, infos = envs.step(actions)
        for i, env in enumerate(singles):
            o, r, te, tr, info = env.step(int(actions[i]))
            assert r == pytest.approx(float(reward[i]), rel=1e-6, abs=1e-6)
            assert (te, tr) == (bool(terminated[i]), bool(truncated[i]))
            assert info["rejections"] == int(infos["rejections"][i])
            single_obs[i] = o
        if t < 39:
            assert not bool(truncated.any())
    assert bool(truncated.all()) and not bool(terminated.any())


def test_same_step_autoreset_and_final_info() -> None:
    envs = _make(8, arrival_prob=1.0)
    obs, _ = envs.reset(seed=0)
    for _ in range(40):
        obs, _, _, truncated, infos = envs.step(_first_legal(obs["action_mask"]))
    assert bool(truncated.all())
    assert bool(infos["_final"].all())
    assert int(infos["final_info"]["arrivals"].min()) == 40  # the ended episodes' counters
    assert int(infos["arrivals"].max()) == 40  # step infos are the ending step's
    assert torch.equal(obs["nodes"][:, :, 0], torch.zeros(8, 3))  # new episodes: empty
    obs, _, _, truncated, infos = envs.step(_first_legal(obs["action_mask"]))
    assert not bool(truncated.any()) and int(infos["arrivals"].max()) == 1


def test_unseeded_resets_are_reproducible_after_a_seed() -> None:
    def episode_rewards() -> torch.Tensor:
        envs = _make(4)
        obs, _ = envs.reset(seed=3)
        total = torch.zeros(4)
        for _ in range(80):  # two episodes: the second is drawn at autoreset
            obs, reward, *_ = envs.step(_first_legal(obs["action_mask"]))
            total += reward
        return total

    assert torch.equal(episode_rewards(), episode_rewards())


@pytest.mark.parametrize(
    ("actions", "match"),
    [
        (np.array([0, 1.5]), "integers"),
        (torch.tensor([0, 4]), r"\[0, 3\]"),
        (torch.tensor([0, 1, 2]), "shape"),
        (np.array([True, False]), "integers"),
    ],
)
def test_malformed_actions_raise(actions: object, match: str) -> None:
    envs = _make(2)
    envs.reset(seed=0)
    with pytest.raises(ValueError, match=match):
        envs.step(actions)


def test_invalid_action_terminates_only_its_row() -> None:
    envs = _make(2, arrival_prob=1.0)
    obs, _ = envs.reset(seed=0)
    actions = _first_legal(obs["action_mask"])
    actions[1] = 3  # the no-op is masked: a user arrives and candidates exist
    _, reward, terminated, _, infos = envs.step(actions)
    assert terminated.tolist() == [False, True] and reward[1].item() == 0.0
    assert bool(infos["final_info"]["invalid_action"][1])


def test_numpy_actions_and_render_mode_checks() -> None:
    envs = _make(2)
    obs, _ = envs.reset(seed=0)
    envs.step(_first_legal(obs["action_mask"]).numpy())
    with pytest.raises(ValueError, match="render_mode"):
        SlottedArrivalAssocVectorEnv(2, render_mode="rgb_array")
    with pytest.raises(ValueError, match="num_envs"):
        SlottedArrivalAssocVectorEnv(0)


def test_unknown_kwargs_raise_value_error_naming_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"num_ues.*valid: num_bs"):
        SlottedArrivalAssocVectorEnv(2, num_ues=4)
    with pytest.raises(ValueError, match=r"num_ues.*valid: num_bs"):
        gym.make(ENV_ID, num_ues=4)


def test_info_tensors_are_fresh() -> None:
    """Edge: infos["users_per_bs"] was the simulator's own tensor: mutating it corrupted the
    env (seat counts, hence the next masks and rewards)."""

    def run(mutate: bool) -> list[torch.Tensor]:
        envs = _make(4, arrival_prob=1.0)
        obs, _ = envs.reset(seed=0)
        out = []
        for _ in range(6):
            obs, reward, _, _, infos = envs.step(_first_legal(obs["action_mask"]))
            if mutate:
                for value in infos.values():
                    if isinstance(value, torch.Tensor):
                        value.fill_(3 if value.dtype != torch.bool else True)
            out += [reward, obs["nodes"], obs["action_mask"]]
        return out

    for clean, mutated in zip(run(False), run(True), strict=True):
        assert torch.equal(clean, mutated)


def test_episode_length_follows_the_horizon() -> None:
    """Edge: the registration's max_episode_steps=40 cut horizon=80 episodes at 40."""
    envs = _make(2, arrival_prob=1.0, horizon=80)
    assert envs.unwrapped.max_episode_steps == 80
    obs, _ = envs.reset(seed=0)
    for t in range(80):
        obs, _, terminated, truncated, infos = envs.step(_first_legal(obs["action_mask"]))
        assert bool(truncated.all()) == (t == 79) and not bool(terminated.any())
    assert infos["final_info"]["arrivals"].tolist() == [80, 80]
    assert _make(2, horizon=80, max_episode_steps=30).unwrapped.max_episode_steps == 30
    with pytest.raises(ValueError, match="max_episode_steps=50 exceeds horizon=40"):
        _make(2, max_episode_steps=50)
