"""``SlottedArrivalAssoc-v0``: associate users that arrive slot by slot (GROWS, SPEC §3.4, §4.4).

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
played, ``info["invalid_action"] = True``), ``"raise"`` (``ValueError``) or ``"ignore"`` (played
as the no-op; an arriving user is then rejected). A malformed action (not an integer, out of
``[0, num_bs]``) raises ``ValueError``.

## Observation Space

``Dict`` (keys in this order):

| key | shape | dtype | content |
|---|---|---|---|
| ``action_mask`` | ``(num_bs + 1,)`` | int8 | legal actions (above) |
| ``arrival`` | ``(1,)`` | float32 | 1 if a user arrives in the current slot |
| ``nodes`` | ``(num_bs, 5)`` | float32 | per BS (the BS graph's node features), below |

``nodes[n]`` = [users at n / ``max_users_per_bs``; mean over n's users of
``log(1 + log2(1 + SNR_i)/|S_n|)`` (each user's utility in the next slot if nobody joins, nats; 0
for an empty BS); the new user's ``log2(1 + SNR_n) / max_rate`` (``max_rate`` = the largest rate
any draw can give, so in (0, 1]; 0 without arrival); the new user's demand / (``mean_demand`` +
``demand_spread``) (0 without arrival); 1 if n is a candidate]. ``ua_envs.graph.bs_graph`` turns it
into a fully connected ``torch_geometric`` graph.

## Rewards

The log-sum throughput of the slot, ``Σ_n Σ_{i∈S_n} log(1 + th_i)`` (natural log) over the users
served in the slot (the new user included, those leaving after the slot included); 0 when
nobody is in the network. No penalty for rejections (they cost the utility the user would have
brought); ``info["rejections"]`` counts them.

## Starting State

An empty network; slot 0's arrival (if any) is shown.

## Episode End

The env never ends an episode on its own except on an illegal action with
``invalid_action="terminate"``. Episodes are truncated after ``max_episode_steps = 40`` slots
(= ``horizon``) by the registration's ``TimeLimit``; slots after ``horizon`` have no arrivals.

## Info

``utility`` (this slot's reward), ``episode_utility``, ``rejections`` (forced + voluntary, this
episode), ``declines`` (voluntary rejections, a subset), ``arrivals`` (users that arrived so far),
``arrived`` (a user arrived in the slot just played), ``active_users`` (after departures),
``departures``, ``users_per_bs`` ``(num_bs,)``, ``sum_rate`` (``Σ th_i`` of the slot, data
units/slot), ``throughput`` ``(num_bs, max_users_per_bs)`` per seat, ``invalid_action``.
There are no array channels: the slotted env has no ``channels``/``tx_power``/``noise_power``;
``env.unwrapped.state`` holds every SNR (dB), rate and remaining demand.

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
| ``horizon`` | 40 | slots drawn at reset (arrivals stop after it) |
| ``invalid_action`` | "terminate" | "terminate", "raise" or "ignore" |
| ``render_mode`` | None | None, "rgb_array" or "human" |

A test-only generator fixes the episode: ``reset(options={"scenario": SlottedScenario(...)})``
(or a dict with keys ``arrivals`` ``(T0,)``, ``snr_db`` ``(T0, num_bs)`` with the bias included,
``demand`` ``(T0,)``).

## Version History

* v0: initial version.

## Example

>>> import math
>>> import gymnasium as gym
>>> import ua_envs
>>> env = gym.make("SlottedArrivalAssoc-v0")
>>> obs, info = env.reset(seed=0)
>>> obs["nodes"].shape, obs["action_mask"].shape
((3, 5), (4,))

A scripted episode: slot 0's user has SNR 3 (4.77 dB, rate 2) to BS 0 and demand 4, slot 1's
has rate 4 to BS 0 and demand 2.

>>> scenario = {"arrivals": [1, 1], "demand": [4, 2],
...             "snr_db": [[10 * math.log10(3), 0, 0], [10 * math.log10(15), 0, 0]]}
>>> obs, info = env.reset(seed=0, options={"scenario": scenario})
>>> obs, reward, terminated, truncated, info = env.step(0)  # th = 2/1, log(1 + 2)
>>> round(reward, 4), info["active_users"]
(1.0986, 1)
>>> obs, reward, terminated, truncated, info = env.step(0)  # th = 2/2 and 4/2: log 2 + log 3
>>> round(reward, 4), info["departures"], info["active_users"]
(1.7918, 1, 1)
"""

from __future__ import annotations

import warnings
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ua_envs.envs.base import check_scalar_action, state_to_numpy, torch_generator
from ua_envs.envs.slotted.sim import (
    SlottedConfig,
    SlottedSimulator,
    SlottedState,
)
from ua_envs.envs.slotted.viewer import SlottedRendering

ObsType = dict[str, np.ndarray]


def slotted_spaces(config: SlottedConfig) -> tuple[spaces.Space[Any], spaces.Discrete]:
    """The single-env ``(observation_space, action_space)`` of a configuration."""
    m = config.num_bs
    high = np.broadcast_to(SlottedSimulator(config).node_high.numpy(), (m, 5)).astype(np.float32)
    observation_space = spaces.Dict(
        {
            "action_mask": spaces.Box(0, 1, (m + 1,), dtype=np.int8),
            "arrival": spaces.Box(0.0, 1.0, (1,), dtype=np.float32),
            "nodes": spaces.Box(np.zeros((m, 5), dtype=np.float32), high, dtype=np.float32),
        }
    )
    return observation_space, spaces.Discrete(m + 1)


class SlottedArrivalAssocEnv(SlottedRendering, gym.Env[ObsType, np.int64]):
    """Gymnasium env of the GROWS slotted arrival process; see the module docstring.

    Keyword arguments are the fields of :class:`~ua_envs.envs.slotted.sim.SlottedConfig` (same
    names and defaults, validated there) plus ``render_mode``. The env steps the simulator's
    code on a numpy copy of its batch-of-one state
    (:func:`~ua_envs.envs.base.state_to_numpy`); the episode is drawn with torch.
    """

    metadata: dict[str, Any] = {  # noqa: RUF012 (gymnasium declares an instance attribute)
        "render_modes": ["rgb_array", "human"],
        "render_fps": 4,
    }

    def __init__(
        self,
        num_bs: int = SlottedConfig.num_bs,
        arrival_prob: float = SlottedConfig.arrival_prob,
        mean_demand: int = SlottedConfig.mean_demand,
        demand_spread: int = SlottedConfig.demand_spread,
        max_users_per_bs: int = SlottedConfig.max_users_per_bs,
        top_k: int = SlottedConfig.top_k,
        allow_reject: bool = SlottedConfig.allow_reject,
        snr_levels_db: tuple[float, ...] = SlottedConfig.snr_levels_db,
        bs_bias_db: tuple[float, ...] | None = SlottedConfig.bs_bias_db,
        horizon: int = SlottedConfig.horizon,
        invalid_action: str = SlottedConfig.invalid_action,
        render_mode: str | None = None,
    ) -> None:
        self.config = SlottedConfig(
            num_bs=num_bs,
            arrival_prob=arrival_prob,
            mean_demand=mean_demand,
            demand_spread=demand_spread,
            max_users_per_bs=max_users_per_bs,
            top_k=top_k,
            allow_reject=allow_reject,
            snr_levels_db=snr_levels_db,
            bs_bias_db=bs_bias_db,
            horizon=horizon,
            invalid_action=invalid_action,
        )
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode must be None, 'rgb_array' or 'human', got {render_mode!r}"
            )
        self.render_mode = render_mode
        self.simulator = SlottedSimulator(self.config, batch_size=1, device="cpu")
        self.observation_space, self.action_space = slotted_spaces(self.config)
        self._state: SlottedState | None = None
        self._history: list[tuple[float, np.ndarray]] = []  # (utility, users per BS) per slot
        self._warned_horizon = False
        self._viewer: Any = None

    # ------------------------------------------------------------------ API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[ObsType, dict[str, Any]]:
        """Draw a new episode (all ``horizon`` slots) from the env's generator."""
        super().reset(seed=seed)
        generator = torch_generator(self.np_random, "cpu")
        self._state = state_to_numpy(self.simulator.reset(generator, options, batch_size=1))
        self._history = []
        if self.render_mode == "human":
            self.render()
        return self._observation(), self._info()

    def step(self, action: Any) -> tuple[ObsType, float, bool, bool, dict[str, Any]]:
        """Play one slot (associate → serve → depart → reveal the next arrival)."""
        state = self._require_state()
        a = self._check_action(action)
        if int(state.slot[0]) >= self.config.horizon and not self._warned_horizon:
            warnings.warn(
                f"stepping past horizon={self.config.horizon} slots: no more arrivals are drawn "
                "(pass a larger horizon with max_episode_steps)",
                stacklevel=2,
            )
            self._warned_horizon = True
        self._state, reward, terminated = self.simulator.step(
            state, np.array([a], dtype=np.int64), validate=False
        )
        self._history.append((float(reward[0]), self._state.users[0].copy()))
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward[0]), bool(terminated[0]), False, self._info()

    def action_masks(self) -> np.ndarray:
        """Legal actions ``(num_bs + 1,)`` bool of the current slot (sb3-contrib convention)."""
        return self._require_state().mask[0].copy()

    # ------------------------------------------------------------------ instance data
    @property
    def state(self) -> SlottedState:
        """The current batch-of-one state (numpy arrays; see ``SlottedState`` for fields)."""
        return self._require_state()

    @property
    def new_user_snr_db(self) -> np.ndarray:
        """SNR [dB] ``(num_bs,)`` of the current slot's user to each BS (if one arrives)."""
        return self._require_state().cur_snr_db[0].copy()

    # ------------------------------------------------------------------ helpers
    def _require_state(self) -> SlottedState:
        if self._state is None:
            raise RuntimeError("call reset() before step(), action_masks() or render()")
        return self._state

    def _check_action(self, action: Any) -> int:
        m = self.config.num_bs
        return check_scalar_action(action, m + 1, meaning=f" (BS index or {m} = no-op)")

    def _observation(self) -> ObsType:
        obs = self.simulator.observe(self._require_state())
        # fresh arrays computed by observe(); row 0 of each (no aliasing of state buffers)
        return {key: value[0] for key, value in obs.items()}

    def _info(self) -> dict[str, Any]:
        info = self.simulator.info(self._require_state())
        # batch of one: (1,) entries become Python scalars, larger ones fresh arrays
        return {k: v.item() if v.ndim == 1 else v[0].copy() for k, v in info.items()}
