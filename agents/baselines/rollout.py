"""Rollout planner for ``SlottedArrivalAssoc-v0``: the headroom over ``argmax`` to hope for.

``rollout`` scores every legal action of the current slot by Monte-Carlo simulation and plays the
best one. For each of ``futures`` sampled futures, the simulator is branched from the current
state (users at each BS, their rates and remaining demands, the arriving user the observation
shows), the candidate action is played, and the episode continues with the max-SNR rule
(``argmax``) up to the horizon (or ``lookahead`` slots). The future users are drawn from the
model's own distributions (the env's config: arrivals Bernoulli(``arrival_prob``), SNR levels
plus bias, integer demands) by the planner's own generator, never from the env's pre-drawn
episode nor its generator: the planner is an honest online policy. The score of an action is the
mean over the futures of the summed rewards (the env's ``reward_mode``, undiscounted); the
futures are shared by the actions (common random numbers), which removes most of the noise from
the comparison. Ties go to the lower action index.

Determinism: the futures of a decision are drawn from a generator seeded with
``(seed, slot)``, so the action is a function of the planner's seed and the current state only
(the same in any episode that reaches that state).

Cost: one decision simulates ``(num_bs + 1) · futures`` branches for the remaining slots, in one
batch. Only slots with a choice (two or more legal actions) are planned; the others play their
single legal action.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from agents.entries import PolicyEntry, family_policies
from ua_envs.core.validation import check_int_range
from ua_envs.envs.base import state_to_torch
from ua_envs.envs.slotted.sim import SlottedSimulator, SlottedState

__all__ = ["POLICIES", "RolloutPolicy", "max_snr_actions", "plan_actions"]

SLOTTED_IDS = ("SlottedArrivalAssoc-v0",)
#: Futures per decision of the registered ``rollout`` policy (see ``docs/envs/slotted.md``
#: for its cost and the margin it measures).
DEFAULT_FUTURES = 32


def max_snr_actions(state: SlottedState) -> Tensor:
    """``(B,)`` int64: the legal BS with the best SNR to the arriving user (ties: the lower
    index), or the no-op ``num_bs`` where no BS is legal (the ``argmax`` baseline on a state)."""
    legal = state.mask[:, :-1]
    num_bs = legal.shape[1]
    snr = torch.where(legal, state.cur_snr_db, -torch.inf)
    return torch.where(legal.any(dim=1), snr.argmax(dim=1), num_bs)


def _branch_state(
    state: SlottedState, rows: Tensor, fresh: SlottedState, repeats: int
) -> SlottedState:
    """Rows ``rows`` of ``state``, each repeated ``repeats`` times, continuing with ``fresh``'s
    drawn future slots; the current slot keeps the observed arriving user."""
    seats = {
        name: getattr(state, name)[rows].repeat_interleave(repeats, dim=0)
        for name in (
            "slot",
            "cur_arrival",
            "cur_snr_db",
            "cur_rate",
            "cur_demand",
            "mask",
            "occupied",
            "users",
            "user_rate",
            "remaining",
        )
    }
    index = torch.arange(seats["slot"].shape[0], device=seats["slot"].device)
    slot = seats["slot"].clamp(max=fresh.arrivals.shape[1] - 1)
    arrivals = fresh.arrivals.clone()
    snr_db = fresh.new_snr_db.clone()
    rate = fresh.new_rate.clone()
    demand = fresh.new_demand.clone()
    arrivals[index, slot] = seats["cur_arrival"]
    snr_db[index, slot] = seats["cur_snr_db"]
    rate[index, slot] = seats["cur_rate"]
    demand[index, slot] = seats["cur_demand"]
    return dataclasses.replace(
        fresh,
        arrivals=arrivals,
        new_snr_db=snr_db,
        new_rate=rate,
        new_demand=demand,
        **seats,
    )


def plan_actions(
    sim: SlottedSimulator,
    state: SlottedState,
    *,
    futures: int,
    seed: int,
    lookahead: int | None = None,
) -> Tensor:
    """The rollout planner's actions ``(B,)`` int64 for a batched torch state.

    :param sim: a simulator of the env's config (its ``arrival_prob``, SNR levels, bias, demand
        range and ``reward_mode`` define the futures and the score).
    :param state: the env's current state (torch tensors, batch ``B``); only the present is
        read (seats, the arriving user, the mask, the slot index), never the drawn future.
    :param futures: futures per decision (>= 1).
    :param seed: the planner's seed; the futures of a row are drawn from ``(seed, slot)``.
    :param lookahead: slots simulated after the decision's slot (``None``: to the horizon).
    :return: ``(B,)`` int64 actions, legal in every row.
    """
    futures = check_int_range("futures", futures, 1)
    cfg = sim.config
    horizon = cfg.horizon
    depth = horizon if lookahead is None else check_int_range("lookahead", lookahead, 1)
    mask = state.mask.bool()
    actions = torch.where(mask[:, -1], cfg.num_bs, max_snr_actions(state))
    choice = mask.sum(dim=1) >= 2
    if not bool(choice.any()):
        return actions
    # Illegal branches are played as the no-op ("ignore") and scored -inf below.
    branch_sim = SlottedSimulator(
        dataclasses.replace(cfg, invalid_action="ignore"), device=state.slot.device
    )
    num_actions = cfg.num_bs + 1
    for row in torch.nonzero(choice).flatten().tolist():
        slot = int(state.slot[row])
        generator = torch.Generator(device=state.slot.device)
        generator.manual_seed(int(np.random.SeedSequence([seed, slot]).generate_state(1)[0]))
        fresh = branch_sim.reset(generator, {}, futures)
        # rows (action a, future n) = a * futures + n: every action sees the same futures.
        fresh = _repeat_rows(fresh, num_actions)
        rows = torch.full((num_actions,), row, device=state.slot.device)
        branch = _branch_state(state, rows, fresh, futures)
        action = torch.arange(num_actions, device=state.slot.device).repeat_interleave(futures)
        end = min(horizon, slot + depth)
        total = torch.zeros(num_actions * futures, dtype=torch.float64, device=action.device)
        for step in range(slot, end):
            if step > slot:
                action = max_snr_actions(branch)
            branch, reward, _ = branch_sim.step(branch, action, validate=False)
            total += reward.double()
        score = total.view(num_actions, futures).mean(dim=1)
        score = torch.where(mask[row], score, -torch.inf)
        actions[row] = int(score.argmax())
    return actions


def _repeat_rows(state: SlottedState, times: int) -> SlottedState:
    """``state`` with its batch tiled ``times`` times (row ``k · B + b`` = row ``b``)."""
    updates: dict[str, Any] = {}
    for f in dataclasses.fields(state):
        value = getattr(state, f.name)
        if isinstance(value, Tensor):
            updates[f.name] = value.repeat(times, *([1] * (value.dim() - 1)))
    return dataclasses.replace(state, **updates)


class RolloutPolicy:
    """The rollout planner (module docstring) behind the common Policy interface.

    :param futures: sampled futures per decision.
    :param seed: the planner's own seed (``None``: 0).
    :param lookahead: slots simulated per decision (``None``: to the horizon).
    """

    name = "rollout"

    def __init__(
        self, futures: int = DEFAULT_FUTURES, seed: int | None = None, lookahead: int | None = None
    ) -> None:
        self.futures = check_int_range("futures", futures, 1)
        self.seed = 0 if seed is None else check_int_range("seed", seed, 0)
        self.lookahead = None if lookahead is None else check_int_range("lookahead", lookahead, 1)
        self._sims: dict[Any, SlottedSimulator] = {}

    def _sim(self, env: Any) -> SlottedSimulator:
        sim = getattr(env, "sim", None)
        if not isinstance(sim, SlottedSimulator):
            raise ValueError(
                f"rollout plans on {', '.join(SLOTTED_IDS)} only: env has no slotted simulator "
                f"(got {type(env).__name__})"
            )
        return sim

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.int64:
        """The planned action for the single env ``env`` (required: its state is read).

        :raises ValueError: ``env`` is ``None`` or not a slotted env.
        """
        if env is None:
            raise ValueError("rollout needs the env: call act(observation, info, env=env)")
        base: Any = env.unwrapped
        sim = self._sim(base)
        state = state_to_torch(base.state)
        action = plan_actions(
            sim, state, futures=self.futures, seed=self.seed, lookahead=self.lookahead
        )
        return np.int64(int(action[0]))

    def act_batch(
        self, observation: dict[str, Tensor], mask: Tensor | None, *, env: Any = None
    ) -> Tensor:
        """``(B,)`` planned actions for the native vector env ``env`` (its ``state`` is read).

        :raises ValueError: ``env`` is ``None`` or not the slotted vector env.
        """
        if env is None:
            raise ValueError("rollout needs the vector env: act_batch(obs, mask, env=envs)")
        base = getattr(env, "unwrapped", env)
        sim = self._sim(base)
        return plan_actions(
            sim, base.state, futures=self.futures, seed=self.seed, lookahead=self.lookahead
        )


def make_rollout(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """``rollout`` for the slotted env (``checkpoint`` unused; ``seed`` seeds its futures)."""
    del env, checkpoint
    return RolloutPolicy(seed=seed)


#: This module's policies (collected by :func:`agents.registry.load_builtin` once listed in
#: its built-in modules).
POLICIES: tuple[PolicyEntry, ...] = family_policies(
    SLOTTED_IDS,
    (
        "rollout",
        make_rollout,
        f"Monte-Carlo planner: each legal action scored over {DEFAULT_FUTURES} sampled futures "
        "continued with argmax (headroom over argmax)",
    ),
)
