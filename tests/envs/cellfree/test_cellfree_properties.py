"""Property tests (hypothesis) of the batched CellFree simulator's masks and constraints.

Over random sizes, caps, instances and masked random rollouts (several rows at once, with
episodes ending at different steps), after every step:

* the support never breaks ``max_ues_per_ap`` or ``max_aps_per_ue`` and the stored loads are
  the support's row / column sums;
* the mask never allows a chosen link;
* END is legal whenever no link is;
* the mask is exactly the one of the state after the update (an independent loop reference);
* rows that ended keep only END legal and never change again.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from cellfree_helpers import reference_mask
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ua_envs.envs.base import state_to_numpy
from ua_envs.envs.cellfree.sim import CellFreeConfig, CellFreeSimulator


@st.composite
def scenarios(draw: st.DrawFn) -> dict:
    return {
        "num_bs": draw(st.integers(1, 4)),
        "num_ues": draw(st.integers(1, 4)),
        "num_antennas": draw(st.integers(1, 2)),
        "max_ues_per_ap": draw(st.integers(1, 4)),
        "max_aps_per_ue": draw(st.integers(1, 4)),
        "require_coverage": draw(st.booleans()),
        "reward_mode": draw(st.sampled_from(["terminal", "delta"])),
        "beamforming": "mrt",  # cheap; the reward is not what this test checks
    }


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=scenarios(),
    seed=st.integers(0, 2**31 - 1),
    batch=st.integers(1, 4),
    end_probability=st.sampled_from([0.0, 0.1, 0.3]),
)
def test_masked_rollouts_respect_every_constraint(
    params: dict, seed: int, batch: int, end_probability: float
) -> None:
    config = CellFreeConfig(**params)
    sim = CellFreeSimulator(config, batch_size=batch)
    state = sim.reset(torch.Generator().manual_seed(seed))
    rng = np.random.default_rng(seed)
    num_links = config.num_links
    cap_ap, cap_ue = config.max_ues_per_ap, config.max_aps_per_ue
    done_before = np.zeros(batch, dtype=bool)
    support_before = state.support.numpy().copy()
    for _ in range(num_links + 2):
        mask = state.action_mask.numpy()
        actions = []
        for row in mask:
            links = np.flatnonzero(row[:num_links])
            if links.size == 0 or (row[-1] and rng.random() < end_probability):
                actions.append(num_links)
            else:
                actions.append(int(rng.choice(links)))
        state, reward, terminated = sim.step(state, torch.tensor(actions))
        assert not state.invalid.any()  # masked rollouts never take a masked action
        assert torch.isfinite(reward).all()

        support = state.support.numpy()
        done = state.done.numpy()
        mask = state.action_mask.numpy()
        np.testing.assert_array_equal(terminated.numpy(), done)
        assert (support.sum(axis=2) <= cap_ap).all(), "max_ues_per_ap broken"
        assert (support.sum(axis=1) <= cap_ue).all(), "max_aps_per_ue broken"
        np.testing.assert_array_equal(state.ap_load.numpy(), support.sum(axis=2))
        np.testing.assert_array_equal(state.ue_degree.numpy(), support.sum(axis=1))
        for b in range(batch):
            links = mask[b, :num_links]
            assert not (links & support[b].reshape(-1)).any(), "mask allows a chosen link"
            if not links.any():
                assert mask[b, -1], "END must be legal when no link is"
            expected = reference_mask(support[b], cap_ap, cap_ue, config.require_coverage, done[b])
            np.testing.assert_array_equal(mask[b], expected)
            if done_before[b]:  # ended rows never change and earn nothing
                np.testing.assert_array_equal(support[b], support_before[b])
                assert float(reward[b]) == 0.0
        assert (done >= done_before).all()
        done_before = done.copy()
        support_before = support.copy()
        if done.all():
            break
    # Every episode ends within M·K + 1 steps (each step adds a link or ends the row).
    assert done_before.all()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=scenarios(),
    invalid_action=st.sampled_from(["terminate", "raise", "ignore"]),
    seed=st.integers(0, 2**31 - 1),
    masked_probability=st.sampled_from([0.0, 0.2, 0.9]),
)
def test_numpy_step_equals_torch_step(
    params: dict, invalid_action: str, seed: int, masked_probability: float
) -> None:
    """The one array-generic step on the single env's numpy state is the batched torch
    transition: same states, rewards, ends, and the same ValueError for a masked action under
    "raise" — legal and masked actions, past the end and past the M·K + 1 step cap."""
    config = CellFreeConfig(**params, invalid_action=invalid_action)
    sim = CellFreeSimulator(config, batch_size=1)
    slow = sim.reset(torch.Generator().manual_seed(seed))
    fast = state_to_numpy(slow)
    rng = np.random.default_rng(seed)
    for _ in range(config.max_steps + 3):
        mask = fast.action_mask[0]
        masked = np.flatnonzero(~mask)
        if masked.size and rng.random() < masked_probability:
            action = int(rng.choice(masked))
        else:
            action = int(rng.choice(np.flatnonzero(mask)))
        try:
            slow_next, slow_reward, slow_done = sim.step(slow, torch.tensor([action]))
        except ValueError as err:
            with pytest.raises(ValueError) as fast_err:
                sim.step(fast, np.array([action]))
            assert str(fast_err.value) == str(err)
            return
        fast, fast_reward, fast_done = sim.step(fast, np.array([action]))
        slow = slow_next
        assert isinstance(fast_reward, np.ndarray) and isinstance(fast.support, np.ndarray)
        assert fast_reward.dtype == np.float64 and fast_done.dtype == np.bool_
        np.testing.assert_array_equal(fast_reward, slow_reward.numpy())
        np.testing.assert_array_equal(fast_done, slow_done.numpy())
        for field in dataclasses.fields(fast):
            expected = getattr(slow, field.name).numpy()
            actual = getattr(fast, field.name)
            assert actual.dtype == expected.dtype, field.name
            np.testing.assert_array_equal(actual, expected, err_msg=field.name)
        for key, value in sim.observe(fast).items():
            np.testing.assert_array_equal(value, sim.observe(slow)[key].numpy(), err_msg=key)
        # No break at the end: rows that ended are stepped too (only END legal there).
    assert bool(slow.done[0])  # every episode ends within M·K + 1 steps
