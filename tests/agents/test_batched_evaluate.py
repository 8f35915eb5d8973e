"""Batched policies (``act_batch``) and evaluate()'s batched path on the native vector envs.

The batched path must reproduce the single-env path: same episodes (episode j = seed + j),
returns, lengths, truncation flags and info metrics (names and aggregation).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import agents.episodes as episodes_module
import agents.evaluate as evaluate_module
from agents.baselines.cellfree import GreedyPolicy, greedy_links, greedy_priorities
from agents.baselines.fronthaul import NearestAPsPolicy
from agents.baselines.multicell import ArgmaxPolicy as MultiCellArgmax
from agents.baselines.slotted import ArgmaxPolicy as SlottedArgmax
from agents.evaluate import Results, evaluate
from agents.policy import BatchPolicy, Policy, RandomPolicy
from agents.registry import make_policy

EPISODES = 200
#: Does not divide EPISODES: three batches of 64 and one of 8.
BATCH = 64


def assert_same_results(single: Results, batched: Results) -> None:
    """The batched run reproduces the single one (float tolerance on the values)."""
    assert (batched.policy, batched.env_id, batched.seed, batched.episodes) == (
        single.policy,
        single.env_id,
        single.seed,
        single.episodes,
    )
    assert batched.max_episode_steps == single.max_episode_steps
    np.testing.assert_allclose(batched.returns, single.returns, rtol=1e-5, atol=1e-9)
    np.testing.assert_array_equal(batched.lengths, single.lengths)
    np.testing.assert_array_equal(batched.truncated_flags, single.truncated_flags)
    assert list(batched.metrics) == list(single.metrics)
    for name, values in single.metrics.items():
        np.testing.assert_allclose(batched.metrics[name], values, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("env_id", "policy"),
    [
        ("MultiCellAssoc-v0", "argmax"),
        ("SlottedArrivalAssoc-v0", "argmax"),
        ("CellFreeAssoc-v0", "greedy"),
        ("FronthaulAssoc-v0", "nearest_aps"),
    ],
)
def test_batched_equals_single(env_id: str, policy: str) -> None:
    single = evaluate(policy, env_id, EPISODES, 7, batched=False)
    batched = evaluate(policy, env_id, EPISODES, 7, batched=True, batch_size=BATCH)
    assert_same_results(single, batched)
    assert len(single.metrics) >= 3  # the envs' info entries were compared, not nothing


def test_pc_wmmse_batched_drop_loop_equals_single_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """pc_wmmse reads the instance (``env=``): its batched drop loop over the vector env's rows
    (rows finishing at different iterations) gives the single env's associations."""
    kwargs = {"capacity_mbps": 40.0}  # tight: several drop rounds, differing between rows
    single = evaluate("pc_wmmse", "FronthaulAssoc-v0", 40, 3, kwargs, batched=False)

    def no_single(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the single path ran")

    monkeypatch.setattr(episodes_module, "_run_single", no_single)
    batched = evaluate("pc_wmmse", "FronthaulAssoc-v0", 40, 3, kwargs, batched=True, batch_size=16)
    assert_same_results(single, batched)
    assert np.ptp(single.metrics["aps_per_ue"]) > 0  # instances did differ


class EarlyEndGreedy(GreedyPolicy):
    """Greedy links, then END once the support has ``b`` links, ``b`` in 1..K read from the
    instance (the UE with the strongest link to AP 0, plus one): episodes of 2..K+1 steps."""

    def act(self, observation: Any, info: Any = None, *, env: Any = None) -> Any:
        batch = {key: torch.as_tensor(np.asarray(v))[None] for key, v in observation.items()}
        return np.int64(int(self.act_batch(batch, None)[0]))

    def act_batch(self, observation: dict[str, torch.Tensor], mask: Any) -> torch.Tensor:
        greedy = super().act_batch(observation, mask)
        links = observation["support"].flatten(1).sum(dim=1)
        budget = observation["gain_db"][:, 0, :].argmax(dim=1) + 1
        end = observation["action_mask"].shape[1] - 1
        return torch.where(links >= budget, torch.full_like(greedy, end), greedy)


def test_rows_that_end_at_different_steps_are_counted_until_their_end() -> None:
    """With SAME_STEP autoreset a finished row starts a new episode at once; the batched path
    must stop counting it there (returns, lengths and final metrics of its own episode)."""
    policy = EarlyEndGreedy(3, 3, name="early_end")
    single = evaluate(policy, "CellFreeAssoc-v0", 60, 5, batched=False)
    batched = evaluate(policy, "CellFreeAssoc-v0", 60, 5, batch_size=16)
    assert_same_results(single, batched)
    assert len(set(single.lengths.tolist())) >= 4  # 2..7 steps: rows really end apart


@pytest.mark.parametrize("aggregate", ["mean", "sum"])
def test_batched_aggregates_multi_step_metrics_like_single(aggregate: str) -> None:
    single = evaluate(
        "argmax", "SlottedArrivalAssoc-v0", 30, 11, aggregate=aggregate, batched=False
    )
    batched = evaluate(
        "argmax", "SlottedArrivalAssoc-v0", 30, 11, aggregate=aggregate, batch_size=7
    )
    assert_same_results(single, batched)
    # "utility" is per slot: its sum over the 40 slots is not its mean.
    assert single.aggregate == batched.aggregate == aggregate


def test_truncation_flags_and_explicit_metrics_match() -> None:
    """A time limit shorter than the slotted horizon cuts every episode at 10 slots."""
    kwargs = {"max_episode_steps": 10}
    names = ["rejections", "utility"]
    single = evaluate(
        "argmax", "SlottedArrivalAssoc-v0", 12, 0, kwargs, metrics=names, batched=False
    )
    batched = evaluate("argmax", "SlottedArrivalAssoc-v0", 12, 0, kwargs, metrics=names)
    assert_same_results(single, batched)
    assert batched.truncated_flags.all() and (batched.lengths == 10).all()
    assert sorted(batched.metrics) == names


def test_auto_mode_takes_the_batched_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_single(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the single path ran")

    monkeypatch.setattr(episodes_module, "_run_single", no_single)
    result = evaluate("argmax", "MultiCellAssoc-v0", 5, 0)
    assert result.episodes == 5 and result.returns.shape == (5,)


def test_auto_mode_falls_back_to_single() -> None:
    """Policies without act_batch, env instances and single-only kwargs run the single env."""

    class ActOnly:
        def act(self, observation: Any, info: Any = None, *, env: Any = None) -> Any:
            return observation["gain_db"].argmax(axis=0)

    result = evaluate(ActOnly(), "MultiCellAssoc-v0", 4, 0)
    reference = evaluate("argmax", "MultiCellAssoc-v0", 4, 0, batched=False)
    np.testing.assert_allclose(result.returns, reference.returns, rtol=1e-6)
    env = gym.make("MultiCellAssoc-v0")
    try:
        on_instance = evaluate("argmax", env, 4, 0)
    finally:
        env.close()
    np.testing.assert_array_equal(on_instance.returns, reference.returns)
    kept = evaluate("argmax", "MultiCellAssoc-v0", 4, 0, {"disable_env_checker": True})
    np.testing.assert_array_equal(kept.returns, reference.returns)


def test_batched_true_refuses_what_it_cannot_run() -> None:
    class ActOnly:
        def act(self, observation: Any, info: Any = None, *, env: Any = None) -> Any:
            return np.zeros(8, dtype=np.int64)

    with pytest.raises(ValueError, match=r"batched=True cannot run 'ActOnly'.*no act_batch"):
        evaluate(ActOnly(), "MultiCellAssoc-v0", 3, 0, batched=True)
    # A random policy of a space act_batch does not draw (Box) opts out of the batched path.
    box = RandomPolicy(gym.spaces.Box(0.0, 1.0, (2,)))
    assert not box.supports_batch and RandomPolicy(gym.spaces.Discrete(2)).supports_batch
    with pytest.raises(ValueError, match="supports_batch is False"):
        evaluate(box, "MultiCellAssoc-v0", 3, 0, batched=True)
    env = gym.make("MultiCellAssoc-v0")
    try:
        with pytest.raises(ValueError, match="env instance"):
            evaluate("argmax", env, 3, 0, batched=True)
    finally:
        env.close()
    with pytest.raises(ValueError, match=r"disable_env_checker.*single env only"):
        evaluate("argmax", "MultiCellAssoc-v0", 3, 0, {"disable_env_checker": True}, batched=True)

    class BatchOnly:
        def act_batch(self, observation: Any, mask: Any) -> torch.Tensor:
            return observation["gain_db"].argmax(dim=1)

    with pytest.raises(ValueError, match=r"'BatchOnly' has no act .*batched=False was asked"):
        evaluate(BatchOnly(), "MultiCellAssoc-v0", 3, 0, batched=False)
    assert evaluate(BatchOnly(), "MultiCellAssoc-v0", 3, 0).episodes == 3
    with pytest.raises(ValueError, match="batched must be None, True or False, got 'yes'"):
        evaluate("argmax", "MultiCellAssoc-v0", 3, 0, batched="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="batch_size"):
        evaluate("argmax", "MultiCellAssoc-v0", 3, 0, batch_size=0)


def test_a_factory_that_changes_its_env_keeps_the_single_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A policy built by changing its env's config (a user factory switching the beamformer)
    would be scored differently by a fresh vector env: auto mode keeps the single env."""
    import copy

    def mutating_factory(spec: str, env: gym.Env, seed: int | None = None) -> Any:
        env.unwrapped.config = copy.copy(env.unwrapped.config)  # type: ignore[attr-defined]
        return MultiCellArgmax()

    monkeypatch.setattr(evaluate_module, "make_policy", mutating_factory)
    with pytest.raises(ValueError, match="changed the env's config"):
        evaluate("argmax", "MultiCellAssoc-v0", 3, 0, batched=True)

    def no_batched(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the batched path ran")

    monkeypatch.setattr(episodes_module, "_run_batched", no_batched)
    assert evaluate("argmax", "MultiCellAssoc-v0", 3, 0).episodes == 3


def test_batched_random_is_reproducible_and_legal() -> None:
    """Random's numbers differ from the single path's, but a seed reproduces them, and the
    masked draw never plays an illegal link (invalid_action stays 0)."""
    first = evaluate("random", "CellFreeAssoc-v0", 20, 3, batched=True, batch_size=8)
    again = evaluate("random", "CellFreeAssoc-v0", 20, 3, batched=True, batch_size=8)
    other = evaluate("random", "CellFreeAssoc-v0", 20, 4, batched=True, batch_size=8)
    np.testing.assert_array_equal(first.returns, again.returns)
    assert not np.array_equal(first.lengths, other.lengths)
    assert first.metrics["invalid_action"].max() == 0.0


def _vector(env_id: str, count: int) -> Any:
    envs = gym.make_vec(env_id, count, vectorization_mode="vector_entry_point")
    observation, _ = envs.reset(seed=0)
    return envs, observation


@pytest.mark.parametrize(
    ("env_id", "policy", "shape", "dtype"),
    [
        ("MultiCellAssoc-v0", MultiCellArgmax(), (5, 8), torch.int64),
        ("SlottedArrivalAssoc-v0", SlottedArgmax(), (5,), torch.int64),
        ("CellFreeAssoc-v0", GreedyPolicy(3, 3), (5,), torch.int64),
        ("FronthaulAssoc-v0", NearestAPsPolicy(), (5, 32), torch.int8),
    ],
)
def test_act_batch_shapes_and_rows_equal_act(
    env_id: str, policy: Any, shape: tuple[int, ...], dtype: torch.dtype
) -> None:
    """(B, ...) actions the vector env steps, row b equal to act() on row b's observation."""
    assert isinstance(policy, BatchPolicy) and isinstance(policy, Policy)
    envs, observation = _vector(env_id, 5)
    try:
        actions = policy.act_batch(observation, envs.action_masks())
        assert tuple(actions.shape) == shape and actions.dtype == dtype
        for row in range(5):
            single = {k: v[row].numpy() for k, v in observation.items()}
            np.testing.assert_array_equal(policy.act(single), actions[row].numpy())
        envs.step(actions)
    finally:
        envs.close()


@pytest.mark.parametrize(
    ("env_id", "shape", "dtype"),
    [
        ("MultiCellAssoc-v0", (6, 8), torch.int64),
        ("SlottedArrivalAssoc-v0", (6,), torch.int64),
        ("CellFreeAssoc-v0", (6,), torch.int64),
        ("FronthaulAssoc-v0", (6, 32), torch.int8),
    ],
)
def test_random_act_batch_shapes_and_legality(
    env_id: str, shape: tuple[int, ...], dtype: torch.dtype
) -> None:
    envs, observation = _vector(env_id, 6)
    single = gym.make(env_id)
    try:
        policy = make_policy("random", single, seed=0)
        assert isinstance(policy, RandomPolicy) and policy.supports_batch
        mask = envs.action_masks()
        actions = policy.act_batch(observation, mask)
        assert tuple(actions.shape) == shape and actions.dtype == dtype
        if len(shape) == 1:  # Discrete: the drawn action is legal in its row
            assert bool(mask.gather(1, actions[:, None]).all())
        envs.step(actions)
    finally:
        envs.close()
        single.close()


def test_random_act_batch_masks_multidiscrete_and_refuses_empty_rows() -> None:
    policy = RandomPolicy(gym.spaces.MultiDiscrete([3, 3]), seed=1)
    obs = {"x": torch.zeros(50, 1)}
    mask = torch.tensor([[False, True, False, True, False, True]]).expand(50, 6)
    actions = policy.act_batch(obs, mask)
    assert (actions[:, 0] == 1).all()
    assert set(actions[:, 1].tolist()) == {0, 2}  # 50 draws: both legal values appear
    discrete = RandomPolicy(gym.spaces.Discrete(3), seed=1)
    empty = torch.tensor([[True, False, False], [False, False, False]])
    with pytest.raises(ValueError, match="mask allows no action in row 1"):
        discrete.act_batch({"x": torch.zeros(2, 1)}, empty)


def test_greedy_priorities_follow_greedy_links() -> None:
    """Batched plans equal the reference greedy_links row by row (ties and full APs included)."""
    generator = torch.Generator().manual_seed(0)
    gains = torch.randint(0, 4, (40, 5, 4), generator=generator).to(torch.float32)  # many ties
    for caps in [(1, 1), (2, 2), (1, 3), (4, 2)]:
        priority = greedy_priorities(gains, *caps)
        for row in range(gains.shape[0]):
            plan = greedy_links(gains[row].numpy(), *caps)
            order = torch.argsort(priority[row])[: len(plan)].tolist()
            assert order == plan
            assert int((priority[row] < 20).sum()) == len(plan)
