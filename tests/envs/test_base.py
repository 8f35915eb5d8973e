"""The shared adapter pieces: seeding rule, row merging, BatchedVectorEnv autoreset/truncation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
from gymnasium import spaces
from gymnasium.utils import seeding

from ua_envs.envs.base import (
    BatchedVectorEnv,
    check_association,
    check_scalar_action,
    merge_rows,
    select_rows,
    sub_env_generator,
    to_numpy,
    torch_generator,
)
from ua_envs.envs.contract import Simulator


@dataclass
class ToyState:
    value: torch.Tensor  # (B,) float: drawn at reset
    steps: torch.Tensor  # (B,) long: steps taken
    goal: torch.Tensor  # (B,) long: terminate after this many steps
    label: str = "toy"


class ToySim(Simulator[ToyState]):
    """Reward = value each step; terminates after ``goal`` steps (1..3, drawn at reset)."""

    instance_type = ToyState

    def _reset(self, generator, options, n) -> ToyState:
        value = torch.rand(n, generator=generator, device=generator.device)
        goal = torch.randint(1, 4, (n,), generator=generator, device=generator.device)
        return ToyState(value, torch.zeros(n, dtype=torch.long), goal)

    def step(self, state: ToyState, action: torch.Tensor):
        steps = state.steps + 1
        new = ToyState(state.value, steps, state.goal)
        return new, state.value * (1 + action.float()), steps >= state.goal

    def observe(self, state: ToyState) -> dict[str, torch.Tensor]:
        return {"value": state.value[:, None].clone(), "steps": state.steps[:, None].float()}

    def info(self, state: ToyState, *, copy: bool = True) -> dict[str, torch.Tensor]:
        return {"steps": state.steps.clone() if copy else state.steps}


class ToyVectorEnv(BatchedVectorEnv[ToyState]):
    """A family filled in through the generic constructor of :class:`BatchedVectorEnv`."""

    simulator_class = ToySim

    @staticmethod
    def make_config(kwargs: Any) -> None:
        return None

    @staticmethod
    def single_spaces(config: Any) -> tuple[spaces.Space, spaces.Space]:
        observation = spaces.Dict(
            {
                "value": spaces.Box(0, 1, (1,), np.float32),
                "steps": spaces.Box(0, 10, (1,), np.float32),
            }
        )
        return observation, spaces.Discrete(2)


def test_seeded_vector_reset_equals_single_env_draws() -> None:
    env = ToyVectorEnv(5)
    obs, _ = env.reset(seed=10)
    for i in range(5):
        np_random, _ = seeding.np_random(10 + i)
        single = ToySim(None).reset(torch_generator(np_random, "cpu"))
        assert obs["value"][i, 0] == single.value[0]
        assert env.state.goal[i] == single.goal[0]
    again, _ = ToyVectorEnv(5).reset(seed=10)
    assert torch.equal(again["value"], obs["value"])
    other, _ = ToyVectorEnv(5).reset(seed=11)
    assert not torch.equal(other["value"], obs["value"])


def test_sub_env_generator_matches_single_env_rule() -> None:
    g = sub_env_generator(7, 3, "cpu")
    np_random, _ = seeding.np_random(10)
    h = torch_generator(np_random, "cpu")
    assert torch.equal(torch.rand(4, generator=g), torch.rand(4, generator=h))


def test_same_step_autoreset_reports_final_observation() -> None:
    env = ToyVectorEnv(64)
    env.reset(seed=0)
    goals = env.state.goal.clone()
    values = env.state.value.clone()
    obs, reward, terminated, truncated, infos = env.step(torch.zeros(64, dtype=torch.long))
    torch.testing.assert_close(reward, values)
    ended = goals == 1
    assert torch.equal(terminated, ended)
    assert not truncated.any()
    assert torch.equal(infos["_final"], ended)
    # Rows that ended show the ending observation in final_obs and a fresh episode in obs.
    assert torch.equal(infos["final_obs"]["steps"][ended, 0], torch.ones(int(ended.sum())))
    assert torch.equal(obs["steps"][ended, 0], torch.zeros(int(ended.sum())))
    assert torch.equal(obs["steps"][~ended, 0], torch.ones(int((~ended).sum())))


def _play(env: ToyVectorEnv, steps: int) -> list[torch.Tensor]:
    return [env.step(torch.zeros(env.num_envs, dtype=torch.long))[0]["value"] for _ in range(steps)]


def test_autoreset_pool_draws_ahead_and_reproduces(monkeypatch: pytest.MonkeyPatch) -> None:
    env = ToyVectorEnv(16)
    draws: list[int] = []
    reset = env.sim.reset

    def counting_reset(generator, options=None, batch_size=None):  # type: ignore[no-untyped-def]
        draws.append(batch_size)
        return reset(generator, options, batch_size)

    monkeypatch.setattr(env.sim, "reset", counting_reset)
    env.reset(seed=3)
    first = _play(env, 12)
    # One draw of 256 serves the first autoresets (a goal of 1-3 steps ends ~8 rows a step).
    assert draws[:16] == [1] * 16  # the seeded reset: one draw per sub-env (single-env rule)
    assert draws[16:] == [env.autoreset_pool] == [256]
    # reset(seed=...) empties the pool: the same seed replays the same episodes, as in a new env.
    env.reset(seed=3)
    assert all(torch.equal(a, b) for a, b in zip(_play(env, 12), first, strict=True))
    fresh = ToyVectorEnv(16)
    fresh.reset(seed=3)
    assert all(torch.equal(a, b) for a, b in zip(_play(fresh, 12), first, strict=True))
    other = ToyVectorEnv(16)
    other.reset(seed=4)
    assert not all(torch.equal(a, b) for a, b in zip(_play(other, 12), first, strict=True))


def test_autoreset_pool_of_one_draws_exactly_the_ended_rows() -> None:
    env = ToyVectorEnv(16)
    env.autoreset_pool = 1
    env.reset(seed=5)
    generator_copy = torch.Generator().set_state(env._generator.get_state())
    ended = env.state.goal == 1
    obs, *_ = env.step(torch.zeros(16, dtype=torch.long))
    expected = ToySim(None).reset(generator_copy, None, int(ended.sum()))
    assert torch.equal(obs["value"][ended, 0], expected.value)


def test_truncation_by_max_episode_steps() -> None:
    env = ToyVectorEnv(8, max_episode_steps=2)
    env.reset(seed=1)
    env.state.goal.fill_(100)  # never terminates by itself
    _, _, term, trunc, _ = env.step(torch.zeros(8, dtype=torch.long))
    assert not term.any() and not trunc.any()
    obs, _, term, trunc, infos = env.step(torch.zeros(8, dtype=torch.long))
    assert infos["_final"].all()
    assert trunc.all() and not term.any()
    assert torch.equal(obs["steps"], torch.zeros(8, 1))
    with pytest.raises(ValueError, match="max_episode_steps"):
        ToyVectorEnv(2, max_episode_steps=0)
    with pytest.raises(ValueError, match="num_envs"):
        ToyVectorEnv(0)


def test_merge_and_select_rows() -> None:
    state = ToyState(torch.arange(4.0), torch.zeros(4, dtype=torch.long), torch.ones(4).long())
    fresh = ToyState(torch.tensor([10.0, 11.0]), torch.full((2,), 5), torch.full((2,), 7))
    rows = torch.tensor([False, True, False, True])
    merged = merge_rows(state, fresh, rows)
    assert merged.value.tolist() == [0.0, 10.0, 2.0, 11.0]
    assert merged.goal.tolist() == [1, 7, 1, 7]
    assert state.value.tolist() == [0.0, 1.0, 2.0, 3.0]  # input untouched
    assert select_rows(merged, rows).value.tolist() == [10.0, 11.0]
    assert merged.label == "toy"


def test_to_numpy_returns_fresh_copies() -> None:
    tensors = {"x": torch.zeros(2, 3)}
    out = to_numpy(tensors, 1)
    out["x"][0] = 5.0
    assert tensors["x"].sum() == 0


def test_merge_every_row_takes_fresh_state() -> None:
    state = ToyState(torch.arange(3.0), torch.zeros(3, dtype=torch.long), torch.ones(3).long())
    fresh = ToyState(torch.tensor([7.0, 8.0, 9.0]), torch.full((3,), 2), torch.full((3,), 3))
    merged = merge_rows(state, fresh, torch.ones(3, dtype=torch.bool))
    assert merged.value.tolist() == [7.0, 8.0, 9.0]
    assert merged.steps.tolist() == [2, 2, 2]
    assert state.value.tolist() == [0.0, 1.0, 2.0]


@pytest.mark.parametrize(
    "action", [np.int64(2), 2, np.array(2), np.array([2]), torch.tensor(2), torch.tensor([2])]
)
def test_check_scalar_action_accepts_integer_scalars(action: object) -> None:
    assert check_scalar_action(action, 3) == 2


@pytest.mark.parametrize(
    "action",
    [
        None,
        1.7,
        1.0,
        True,
        np.bool_(True),
        -1,
        3,
        "1",
        np.array([1, 2]),
        np.array([[1]]),
        np.array(1.0),
        torch.tensor(1.0),
    ],
)
def test_check_scalar_action_rejects_the_rest(action: object) -> None:
    with pytest.raises(ValueError, match=r"action of a0 must .*\[0, 2\] \(meaning\)"):
        check_scalar_action(action, 3, name="action of a0", meaning=" (meaning)")


def test_check_association_shapes_values_and_broadcast() -> None:
    """(B, M, K), (1, M, K) and (M, K) are accepted (the last two broadcast to B); bool is kept;
    NaN, values outside [0, 1], a wrong shape or batch are ValueErrors naming the argument."""
    ones = torch.ones(2, 3)
    assert check_association("assoc", ones, 4, 2, 3).shape == (4, 2, 3)
    assert check_association("assoc", ones[None].bool(), 4, 2, 3).dtype == torch.bool
    assert check_association("assoc", np.full((4, 2, 3), 0.5), 4, 2, 3).shape == (4, 2, 3)
    for bad, match in [
        (torch.full((2, 3), float("nan")), "assoc"),
        (torch.full((2, 3), -5.0), r"assoc entries must lie in \[0, 1\]"),
        (torch.full((2, 3), 5), r"assoc entries must lie in \[0, 1\]"),
        (torch.ones(3, 2), "assoc must have shape"),
        (torch.ones(2, 2, 3), "assoc has batch 2"),
        (torch.ones(2, 3, dtype=torch.complex64), "assoc must be real"),
        ("x", "assoc"),
    ]:
        with pytest.raises(ValueError, match=match):
            check_association("assoc", bad, 4, 2, 3)


def test_split_rows_gives_batch_of_one_views() -> None:
    from ua_envs.envs.base import split_rows

    state = ToyState(torch.arange(3.0), torch.zeros(3, dtype=torch.long), torch.ones(3).long())
    rows = split_rows(state)
    assert [row.value.tolist() for row in rows] == [[0.0], [1.0], [2.0]]
    assert all(row.label == "toy" and row.goal.shape == (1,) for row in rows)
    assert rows[1].value.data_ptr() == state.value[1:].data_ptr()  # a view, not a copy
