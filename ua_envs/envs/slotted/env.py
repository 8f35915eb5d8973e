"""``SlottedArrivalAssoc-v0``: associate users that arrive slot by slot (GROWS; docs/model.md
§3.4, §4.4).

## Description

A system-level model of user association over time from Randall et al., "Deep Reinforcement
Learning and Graph Neural Networks for Efficient Resource Allocation in 5G Networks" (GROWS).
``num_bs`` base stations (3; BS 0 has +3 dB on every SNR) each hold at most
``max_users_per_bs`` users (4). In every slot at most one user arrives (probability
``arrival_prob``) with an SNR to each BS drawn uniformly from {0, 5, 10, 15, 20} dB (+ bias)
and an integer demand uniform in ``[mean_demand − 3, mean_demand + 3]`` data units. The agent
associates the arriving user to one of the ``top_k`` best BSs (by SNR) that have a free seat. A
BS shares its resources equally: each of its users gets ``th_i = log2(1 + SNR_{i,n}) / |S_n|``
data units per slot until its demand is served, then leaves. A user with no candidate BS is
rejected.

One step = one slot, in this order: (1) the action associates the current slot's arriving
user (shown in the observation) or rejects it; (2) every user is served for the slot and the
reward is computed; (3) served users leave; (4) the next slot's arrival is revealed.

The whole episode (arrival bits, SNR levels, demands of all ``horizon`` slots) is drawn at
``reset`` from the env's generator, so ``reset(seed=s)`` fixes the episode whatever the actions.
The SNR and demand of every slot are drawn whether or not a user arrives, so changing
``arrival_prob`` changes only which slots have arrivals (common random numbers).

## Action Space

``Discrete(num_bs + 1)``: ``n < num_bs`` associates the arriving user to BS ``n``; ``num_bs``
is the no-op. The mask (``observation["action_mask"]``, ``env.action_masks()``): with an arrival,
the candidate BSs; the no-op only when no user arrives or no BS is a candidate, or always with
``allow_reject=True`` (a voluntary rejection). An action outside the mask follows
``invalid_action``: ``"terminate"`` (default; the episode ends, reward 0, the slot is not
played, ``info["invalid_action"] = True``; stepping on raises ``RuntimeError``: call
``reset()``), ``"raise"`` (``ValueError``) or ``"ignore"`` (played as the no-op, an arriving user
is then rejected; ``info["invalid_action"] = True``). A malformed action (not an integer, out of
``[0, num_bs]``) raises ``ValueError``.

## Observation Space

``Dict`` (keys in this order):

| key | shape | dtype | content |
|---|---|---|---|
| ``action_mask`` | ``(num_bs + 1,)`` | int8 | legal actions (above) |
| ``arrival`` | ``(1,)`` | float32 | 1 if a user arrives in the current slot |
| ``nodes`` | ``(num_bs, 6)`` | float32 | per BS (the BS graph's node features), below |

``nodes[n]`` = [users at n / ``max_users_per_bs``; mean over n's users of
``log(1 + rate_i/|S_n|)`` (each user's utility in the next slot if nobody joins, nats; 0 for an
empty BS); the new user's ``rate_n / max_rate`` (``max_rate`` = the largest rate any draw can
give, so in (0, 1]; 0 without arrival); the new user's demand / (``mean_demand`` +
``demand_spread``) (0 without arrival); 1 if n is a candidate; n's mean utility per slot so far
(the paper's BS state): the log-sum terms ``log(1 + th_i)`` of n's users summed over the slots
played this episode, divided by the number of slots played (nats/slot; 0 right after reset;
summed over n it is ``info["utility_per_slot"]``)]. A user's ``rate`` is
``rate_scale · log2(1 + SNR)`` data units per slot. Every observation lies in
``observation_space`` (upper bounds ``[1, log(1 + max_rate), 1, 1, 1, U · log(1 + max_rate /
U)]`` with ``U = max_users_per_bs``, lower bounds 0; float32 rounding at a bound is clipped to
it). ``ua_envs.graph.bs_graph`` turns it into a fully connected ``torch_geometric`` graph.

## Rewards

The slot's utility is the log-sum throughput ``u_t = Σ_n Σ_{i∈S_n} log(1 + th_i)`` [nats]
(natural log) over the users served in the slot (the new user included, those leaving after the
slot included); 0 when nobody is in the network. ``reward_mode`` picks the reward:

| ``reward_mode`` | reward of slot t | unit |
|---|---|---|
| ``"logsum"`` (default, the paper's) | ``u_t`` | nats |
| ``"user_mean"`` | ``u_t / N_t`` (0 when ``N_t = 0``) | nats per user |
| ``"served"`` | ``Σ_n Σ_{i∈S_n} min(th_i, d_i)`` | data units |

``N_t`` is the number of users served in the slot, ``d_i`` user i's remaining demand before it.

No penalty for rejections (they cost the utility the user would have brought);
``info["rejections"]`` counts them. Whatever the mode, ``info["utility"]`` is ``u_t`` and
``info["episode_utility"]`` their sum, and ``info["utility_per_slot"]`` is ``episode_utility``
divided by the slots played (at the end of an episode: episode utility / ``horizon``, the
quantity the paper's Table I reports as "mean utility").

## Starting State

An empty network; slot 0's arrival (if any) is shown.

## Episode End

Terminated only by an illegal action with ``invalid_action="terminate"``. Truncated after
``horizon`` slots (40 by default) by the env itself: the drawn episode has ``horizon`` slots, so
``gym.make(..., horizon=80)`` plays 80 (the id is registered without ``max_episode_steps``; a
``max_episode_steps`` passed to ``gym.make`` adds a ``TimeLimit`` that can only cut earlier). The
slot index is not observed, so the end is a truncation (bootstrap through it), not a
termination. Stepping after the end raises ``RuntimeError`` (call ``reset()``).

## Info

``utility`` (this slot's log-sum utility ``u_t``, the reward under ``reward_mode="logsum"``),
``episode_utility``, ``utility_per_slot`` (``episode_utility`` / slots played), ``rejections``
(forced + voluntary, this episode), ``declines`` (voluntary rejections, a subset), ``arrivals``
(users that arrived so far), ``arrived`` (a user arrived in the slot just played),
``active_users`` (after departures), ``departures``, ``users_per_bs`` ``(num_bs,)``,
``sum_rate`` (``Σ th_i`` of the slot, data units/slot), ``throughput``
``(num_bs, max_users_per_bs)`` per seat, ``invalid_action``.
``reset`` returns the same keys (zeros and False). There are no array channels: the slotted env
has no ``channels``/``tx_power``/``noise_power``; ``env.unwrapped.state`` (the batch-of-one
numpy :class:`~ua_envs.envs.slotted.sim.SlottedState`, read-only) holds every SNR (dB), rate and
remaining demand.

## Arguments

| kwarg | default | meaning |
|---|---|---|
| ``num_bs`` | 3 | base stations ``M`` |
| ``arrival_prob`` | 0.7 | arrival probability per slot, ``[0, 1]`` |
| ``mean_demand`` | 10 | mean demand ``D̄`` [data units], integer |
| ``demand_spread`` | 3 | demand uniform in ``[D̄ − spread, D̄ + spread]`` (``< D̄``) |
| ``max_users_per_bs`` | 4 | seats per BS ``U_max`` (≥ 1) |
| ``top_k`` | 3 | candidate BSs: the ``top_k`` best by SNR with a free seat |
| ``allow_reject`` | False | no-op legal (voluntary rejection) while candidates exist |
| ``snr_levels_db`` | (0, 5, 10, 15, 20) | SNR levels [dB], drawn uniformly per BS |
| ``bs_bias_db`` | None | per-BS SNR offset [dB]; None = +3 dB on BS 0 |
| ``horizon`` | 40 | slots per episode (drawn at reset; the env truncates after them) |
| ``invalid_action`` | "terminate" | "terminate", "raise" or "ignore" |
| ``preset`` | None | paper preset "grows" (docs/model.md §5b; explicit kwargs override it) |
| ``reward_mode`` | "logsum" | "logsum", "user_mean" or "served" (Rewards) |
| ``rate_scale`` | 1.0 | ``rate = rate_scale · log2(1 + SNR)`` [data units/slot], ``[1e-3, 1e3]`` |
| ``render_mode`` | None | None, "rgb_array" or "human" |

Unknown kwargs raise ``ValueError`` naming the valid ones. A given instance fixes the episode:
``reset(options={"instance": SlottedInstance(arrivals, snr_db, demand)})`` with ``arrivals``
``(T0,)`` (``T0 <= horizon``), ``snr_db`` ``(T0, num_bs)`` final SNRs (bias included, at most
``max(snr_levels_db) + max(bs_bias_db)``) and ``demand`` ``(T0,)`` (in ``(0, mean_demand +
demand_spread]``); slots after ``T0`` have no arrivals. Any other option key is a ``ValueError``.

## Version History

* v0: initial version (the episode length follows ``horizon``: the registration's fixed
  ``max_episode_steps=40`` cut ``horizon > 40`` episodes at 40; instances come in as
  ``options={"instance": SlottedInstance(...)}``).

## Example

>>> import math
>>> import gymnasium as gym
>>> import ua_envs
>>> from ua_envs.envs.slotted import SlottedInstance
>>> env = gym.make("SlottedArrivalAssoc-v0")
>>> obs, info = env.reset(seed=0)
>>> obs["nodes"].shape, obs["action_mask"].shape
((3, 6), (4,))

A scripted episode: slot 0's user has SNR 3 (4.77 dB, rate 2) to BS 0 and demand 4, slot 1's
has rate 4 to BS 0 and demand 2.

>>> instance = SlottedInstance(arrivals=[1, 1], demand=[4, 2],
...     snr_db=[[10 * math.log10(3), 0, 0], [10 * math.log10(15), 0, 0]])
>>> obs, info = env.reset(seed=0, options={"instance": instance})
>>> obs, reward, terminated, truncated, info = env.step(0)  # th = 2/1, log(1 + 2)
>>> round(reward, 4), info["active_users"]
(1.0986, 1)
>>> obs, reward, terminated, truncated, info = env.step(0)  # th = 2/2 and 4/2: log 2 + log 3
>>> round(reward, 4), info["departures"], info["active_users"]
(1.7918, 1, 1)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from ua_envs.envs.base import check_scalar_action
from ua_envs.envs.single import SimEnv
from ua_envs.envs.slotted.sim import (
    NODE_FEATURES,
    SlottedConfig,
    SlottedSimulator,
    SlottedState,
    make_config,
)
from ua_envs.envs.slotted.viewer import SlottedRendering

__all__ = ["SlottedArrivalAssocEnv", "single_spaces"]

ObsType = dict[str, np.ndarray]


def single_spaces(config: SlottedConfig) -> tuple[spaces.Space[Any], spaces.Discrete]:
    """The single-env ``(observation_space, action_space)`` of a configuration."""
    m = config.num_bs
    high = SlottedSimulator(config).node_high.numpy()
    high = np.broadcast_to(high, (m, NODE_FEATURES)).astype(np.float32)
    observation_space = spaces.Dict(
        {
            "action_mask": spaces.Box(0, 1, (m + 1,), dtype=np.int8),
            "arrival": spaces.Box(0.0, 1.0, (1,), dtype=np.float32),
            "nodes": spaces.Box(
                np.zeros((m, NODE_FEATURES), dtype=np.float32), high, dtype=np.float32
            ),
        }
    )
    return observation_space, spaces.Discrete(m + 1)


class SlottedArrivalAssocEnv(SlottedRendering, SimEnv[SlottedState]):
    """Gymnasium env of the GROWS slotted arrival process; see the module docstring.

    Keyword arguments are the fields of :class:`~ua_envs.envs.slotted.sim.SlottedConfig` (same
    names and defaults, validated there) plus ``render_mode``. The env steps the simulator's
    code on a numpy copy of its batch-of-one state (the step is array-generic); the episode is
    drawn with torch, from a fresh generator seeded from ``np_random`` at every reset.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (gymnasium declares an instance attribute)
        "render_modes": ["rgb_array", "human"],
        "render_fps": 4,
    }
    simulator_class = SlottedSimulator
    make_config = staticmethod(make_config)
    config: SlottedConfig
    sim: SlottedSimulator

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        super().__init__(render_mode=render_mode, **kwargs)
        self._history: list[tuple[float, np.ndarray]] = []  # (utility, users per BS) per slot

    # ---- SimEnv hooks ------------------------------------------------------------------------

    single_spaces = staticmethod(single_spaces)

    def _batch_action(self, action: Any) -> Any:
        m = self.config.num_bs
        index = check_scalar_action(action, m + 1, meaning=f" (BS index or {m} = no-op)")
        batched = np.array([index], dtype=np.int64)
        return batched if self.runner.numpy_state else torch.from_numpy(batched).to(self.device)

    def _done(self, state: SlottedState) -> bool:
        return bool(state.done[0]) or int(state.slot[0]) >= self.config.horizon

    def _reset_info(self) -> dict[str, Any]:
        return self.runner.info()

    def _on_reset(self) -> None:
        self._history = []

    def _on_step(self, reward: float) -> None:
        self._history.append((reward, self.runner.field("users")))

    # ---- Gymnasium API -----------------------------------------------------------------------

    def _truncated(self, state: SlottedState) -> bool:
        return int(state.slot[0]) >= self.config.horizon

    # ---- the instance ------------------------------------------------------------------------

    @property
    def state(self) -> SlottedState:
        """The current batch-of-one state (see ``SlottedState``): numpy arrays on the CPU (the
        default ``device``; the simulator's ``step``/``observe`` run on it, e.g. to branch an
        episode), torch tensors on another device. Treat it as read-only."""
        return self.runner.require_state()

    @property
    def simulator(self) -> SlottedSimulator:
        """The env's simulator (batch size 1), the same object as ``sim``."""
        return self.sim

    @property
    def new_user_snr_db(self) -> np.ndarray:
        """SNR [dB] ``(num_bs,)`` of the current slot's user to each BS (if one arrives)."""
        return self.runner.field("cur_snr_db")
