"""Batch-first simulator of the GROWS slotted arrival process (docs/model.md §3.4, §4.4).

A system-level model with discrete SNR levels and no array channels. ``num_bs`` base stations
each hold at most ``max_users_per_bs`` users. Time is slotted; in each slot at most one user
arrives (Bernoulli(``arrival_prob``)), with an SNR to every BS drawn i.i.d. from
``snr_levels_db`` (plus the BS's bias ``bs_bias_db``: BS 0 is +3 dB by default) and an integer
demand uniform in ``[mean_demand - demand_spread, mean_demand + demand_spread]`` data units.

Order of events in one slot ``t`` (one :meth:`SlottedSimulator.step`):

1. **associate** — the action places slot ``t``'s arriving user (the one the observation
   showed) at a candidate BS, or rejects it (no candidate, or a voluntary decline when
   ``allow_reject``);
2. **serve** — every user ``i`` at BS ``n`` (the new one included) gets
   ``th_i = log2(1 + SNR_{i,n}) / |S_n|`` data units (equal resource share); its remaining
   demand decreases by ``th_i``; the slot's reward is ``sum_n sum_{i in S_n} log(1 + th_i)``
   (natural log) over the users served in the slot;
3. **depart** — users whose remaining demand is ``<= 1e-4`` (0 up to float32 rounding) leave;
4. **reveal** — the slot index becomes ``t + 1`` and slot ``t + 1``'s arrival (if any) is shown
   in the observation with the new action mask.

Randomness. The whole episode is drawn at :meth:`SlottedSimulator.reset` from the env's one
``torch.Generator``: ``horizon`` arrival bits, each slot's SNR levels to every BS and demand
(drawn for every slot, arrival or not, so the SNR/demand draws do not depend on
``arrival_prob``: common random numbers across arrival rates). ``reset(seed)`` therefore fixes
the episode and :meth:`~SlottedSimulator.step` draws nothing, which keeps the native vector env's
autoreset the only draw. The adapters truncate the episode after ``horizon`` slots (the
simulator itself reads a padding slot without arrival past the horizon).

Candidates (the action mask) for an arrival: the ``top_k`` BSs with the best SNR to the user
among those with a free seat (ties broken towards the lower BS index). The no-op (action
``num_bs``) is legal when no user arrives, when no BS is a candidate, or always when
``allow_reject``. A user that arrives and is not associated is a rejection: both the forced
ones (no candidate) and the voluntary declines count in ``rejections`` (the user is unserved
either way); ``declines`` counts the voluntary ones separately.

A given instance: ``reset(options={"instance": SlottedInstance(...)})`` replaces the draws by
fixed arrivals, SNRs and demands (the same for every row of the batch); any other option key is
a ``ValueError`` naming the valid ones.

Bounds. Every observation lies in the declared space: ``nodes`` is clipped to
:attr:`SlottedSimulator.node_high` (which only removes the float32 rounding of values that equal
the bound, e.g. ``1.0000001``), and an instance must stay within the config's ranges
(``snr_db <= max(snr_levels_db) + max(bs_bias_db)``, ``0 < demand <= mean_demand +
demand_spread``). ``max_rate`` is positive and finite for every accepted config: the dB fields are
bounded to ``[-100, 100]`` dB and, where ``1 + SNR`` rounds to 1 (a best SNR below about
-156 dB), it is computed as ``log1p(SNR) / ln 2`` (>= 1.4e-20); such links carry a rate that
rounds to 0 (no service), which is finite.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor

from ua_envs.core import arrays
from ua_envs.core.arrays import Array, arange, namespace
from ua_envs.core.validation import (
    as_tensor,
    check_choice,
    check_finite,
    check_float_range,
    check_int_range,
    check_positive,
)
from ua_envs.envs.base import config_from_kwargs
from ua_envs.envs.contract import Simulator
from ua_envs.presets import check_preset

#: Remaining demand at or below this [data units] counts as served: absorbs the float32
#: rounding of demands (up to 1e2) minus sums of ``th`` (a few ulp of 1e1, i.e. ~1e-5).
DEMAND_TOLERANCE = 1e-4

INVALID_ACTION_MODES = ("terminate", "raise", "ignore")
#: The per-slot rewards ``reward_mode`` selects (module docstring, "Rewards").
REWARD_MODES = ("logsum", "user_mean", "served")
#: Accepted range of ``rate_scale`` and ``demand_scale`` (unitless factors).
SCALE_LIMITS = (1e-3, 1e3)
#: Features per BS in the observation's ``nodes`` (columns documented in :meth:`observe`).
NODE_FEATURES = 6
#: Accepted range [dB] of ``snr_levels_db`` and ``bs_bias_db`` entries: wide enough for any
#: physical link, narrow enough that ``log2(1 + 10^(dB/10))`` of their sum stays finite.
SNR_DB_LIMITS = (-100.0, 100.0)


@dataclass(frozen=True)
class SlottedConfig:
    """Parameters of the slotted arrival process; the registered kwargs map 1:1 to these fields.

    :param num_bs: number of base stations ``M`` (>= 1).
    :param arrival_prob: probability that a user arrives in a slot, in ``[0, 1]``.
    :param mean_demand: mean demand ``D̄`` [data units] (integer); demands are uniform integers
        in ``[mean_demand - demand_spread, mean_demand + demand_spread]``.
    :param demand_spread: half-width of the demand range (integer, ``0 <= spread < mean_demand``).
    :param max_users_per_bs: seats per BS ``U_max`` (>= 1).
    :param top_k: candidate BSs per arrival: the ``top_k`` best by SNR among those with a free
        seat (``1 <= top_k``; values above ``num_bs`` mean every BS with a free seat).
    :param allow_reject: whether the no-op (voluntary rejection) is legal when candidates exist.
    :param snr_levels_db: the SNR levels [dB] a new user has to a BS, drawn uniformly (before
        bias); each in ``[-100, 100]`` dB.
    :param bs_bias_db: per-BS SNR offset [dB] ``(num_bs,)``, each in ``[-100, 100]`` dB;
        ``None``: +3 dB on BS 0, 0 elsewhere.
    :param horizon: number of slots drawn at reset (episode length; later slots have no arrivals).
    :param invalid_action: "terminate" (episode ends, reward 0), "raise" or "ignore" (no-op).
    :param preset: the paper preset :func:`make_config` applied (:mod:`ua_envs.presets`),
        or ``None``; building the dataclass directly only checks and records the name.
    :param reward_mode: the per-slot reward, one of :data:`REWARD_MODES`: ``"logsum"`` (the
        paper's log-sum utility), ``"user_mean"`` (its mean over the users served in the slot)
        or ``"served"`` (data delivered in the slot) (module docstring, "Rewards").
    :param rate_scale: data units per slot a user alone at a BS gets per bit/s/Hz of
        ``log2(1 + SNR)``: ``rate = rate_scale * log2(1 + SNR)``; in ``[1e-3, 1e3]``.
    """

    num_bs: int = 3
    arrival_prob: float = 0.7
    mean_demand: int = 10
    demand_spread: int = 3
    max_users_per_bs: int = 4
    top_k: int = 3
    allow_reject: bool = False
    snr_levels_db: tuple[float, ...] = (0.0, 5.0, 10.0, 15.0, 20.0)
    bs_bias_db: tuple[float, ...] | None = None
    horizon: int = 40
    invalid_action: str = "terminate"
    preset: str | None = None
    reward_mode: str = "logsum"
    rate_scale: float = 1.0

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen dataclass: normalise the fields in place
        set_(self, "num_bs", check_int_range("num_bs", self.num_bs, 1))
        set_(self, "arrival_prob", check_float_range("arrival_prob", self.arrival_prob, 0.0, 1.0))
        set_(self, "mean_demand", check_int_range("mean_demand", self.mean_demand, 1))
        set_(
            self,
            "demand_spread",
            check_int_range("demand_spread", self.demand_spread, 0, self.mean_demand - 1),
        )
        set_(
            self, "max_users_per_bs", check_int_range("max_users_per_bs", self.max_users_per_bs, 1)
        )
        set_(self, "top_k", check_int_range("top_k", self.top_k, 1))
        if not isinstance(self.allow_reject, bool):
            raise ValueError(f"allow_reject must be a bool, got {self.allow_reject!r}")
        levels = _float_tuple("snr_levels_db", self.snr_levels_db, SNR_DB_LIMITS)
        if len(levels) == 0:
            raise ValueError("snr_levels_db must hold at least one level, got ()")
        set_(self, "snr_levels_db", levels)
        if self.bs_bias_db is None:
            bias = (3.0,) + (0.0,) * (self.num_bs - 1)
        else:
            bias = _float_tuple("bs_bias_db", self.bs_bias_db, SNR_DB_LIMITS)
            if len(bias) != self.num_bs:
                raise ValueError(
                    f"bs_bias_db must have num_bs={self.num_bs} entries, got {len(bias)}"
                )
        set_(self, "bs_bias_db", bias)
        set_(self, "horizon", check_int_range("horizon", self.horizon, 1))
        check_choice("invalid_action", self.invalid_action, INVALID_ACTION_MODES)
        check_preset("SlottedArrivalAssoc", self.preset)
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)
        set_(self, "rate_scale", check_float_range("rate_scale", self.rate_scale, *SCALE_LIMITS))

    @property
    def num_actions(self) -> int:
        """``num_bs + 1``: one action per BS plus the no-op."""
        return self.num_bs + 1

    @property
    def max_snr_db(self) -> float:
        """Largest SNR [dB] any draw can produce: ``max(snr_levels_db) + max(bs_bias_db)``."""
        bias = self.bs_bias_db if self.bs_bias_db is not None else (0.0,)
        return max(self.snr_levels_db) + max(bias)

    @property
    def max_rate(self) -> float:
        """Largest single-user rate ``rate_scale * log2(1 + SNR)`` [data units/slot] any draw
        can produce.

        Positive and finite for every valid config (dB fields in ``[-100, 100]``): where
        ``1 + SNR`` rounds to 1 in float64 it is ``rate_scale * log1p(SNR) / ln 2``
        (``>= 1.4e-23``).
        """
        snr = 10.0 ** (self.max_snr_db / 10.0)
        return self.rate_scale * (math.log2(1.0 + snr) or math.log1p(snr) / math.log(2.0))

    @property
    def max_demand(self) -> int:
        """Largest demand a draw can produce [data units]."""
        return self.mean_demand + self.demand_spread


def make_config(kwargs: Mapping[str, Any]) -> SlottedConfig:
    """A :class:`SlottedConfig` from env kwargs; unknown names raise ``ValueError``."""
    return config_from_kwargs(SlottedConfig, kwargs, "SlottedArrivalAssoc")


def check_episode_steps(name: str, value: int | None, horizon: int) -> int:
    """An adapter's episode length: ``value`` in ``[1, horizon]``, ``None``: ``horizon``.

    :raises ValueError: not an integer, < 1, or above ``horizon`` (the drawn episode's slots;
        the message says to raise ``horizon`` instead).
    """
    if value is None:
        return horizon
    steps = check_int_range(name, value, 1)
    if steps > horizon:
        raise ValueError(
            f"{name}={steps} exceeds horizon={horizon}, the slots an episode has; "
            f"pass horizon={steps} for longer episodes"
        )
    return steps


def _float_tuple(name: str, value: Any, limits: tuple[float, float]) -> tuple[float, ...]:
    try:
        items = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a sequence of real numbers, got {value!r}") from None
    if not all(math.isfinite(v) for v in items):
        raise ValueError(f"{name} must be finite, got {items!r}")
    low, high = limits
    if not all(low <= v <= high for v in items):
        raise ValueError(f"{name} entries must lie in [{low:g}, {high:g}] dB, got {items!r}")
    return items


@dataclass(frozen=True)
class SlottedInstance:
    """A given episode (replaces the random draws of one reset): played by
    ``reset(options={"instance": SlottedInstance(...)})``, the same for every row of the batch.

    :param arrivals: ``(T0,)`` whether a user arrives in slot ``t`` (``1 <= T0 <= horizon``;
        slots after ``T0`` have no arrivals).
    :param snr_db: ``(T0, num_bs)`` SNR [dB] of slot ``t``'s user to each BS, bias INCLUDED
        (the instance states final SNRs; ``bs_bias_db`` is not added again); finite and at most
        the config's ``max_snr_db`` (so that the observation stays in its space).
    :param demand: ``(T0,)`` demand [data units] of slot ``t``'s user, in
        ``(0, mean_demand + demand_spread]`` where a user arrives (unused without an arrival).
    """

    arrivals: Sequence[bool] | Tensor
    snr_db: Sequence[Sequence[float]] | Tensor
    demand: Sequence[float] | Tensor


@dataclass
class SlottedState:
    """Batched state; every array has the batch ``B`` first (``M`` BSs, ``U`` seats per BS,
    ``T`` = horizon). Torch tensors as drawn by :meth:`SlottedSimulator.reset`; the single env
    keeps a numpy copy (:func:`~ua_envs.envs.base.state_to_numpy`) that the same step code
    runs on."""

    slot: Array  # (B,) int64, index t of the slot whose arrival the observation shows
    arrivals: Array  # (B, T + 1) bool, user arrives in slot t (last column: padding, False)
    new_snr_db: Array  # (B, T + 1, M) float32, slot t's user SNR to each BS incl. bias [dB]
    new_rate: Array  # (B, T + 1, M) float32, log2(1 + SNR) of that user [data units/slot]
    new_demand: Array  # (B, T + 1) float32, demand of slot t's user [data units]
    cur_arrival: Array  # (B,) bool, arrivals[:, slot] (cached for observe/step)
    cur_snr_db: Array  # (B, M) float32, new_snr_db[:, slot]
    cur_rate: Array  # (B, M) float32, new_rate[:, slot]
    cur_demand: Array  # (B,) float32, new_demand[:, slot]
    mask: Array  # (B, M + 1) bool, legal actions for the current slot
    occupied: Array  # (B, M, U) bool, seat s of BS n holds a user
    users: Array  # (B, M) int64, users at each BS (= occupied.sum(-1), cached)
    user_rate: Array  # (B, M, U) float32, log2(1 + SNR) of the seated user (0 if empty)
    remaining: Array  # (B, M, U) float32, remaining demand [data units] (0 if empty)
    throughput: Array  # (B, M, U) float32, th of each seat in the last served slot
    utility: Array  # (B,) float32, log-sum utility of the last slot (the "logsum" reward)
    episode_utility: Array  # (B,) float32, sum of the slots' log-sum utilities this episode
    bs_utility: Array  # (B, M) float32, each BS's share of episode_utility (its users' terms)
    arrived: Array  # (B,) bool, a user arrived in the last played slot
    arrivals_count: Array  # (B,) int64, arrivals so far this episode (played slots)
    rejections: Array  # (B,) int64, arriving users not associated (forced + voluntary)
    declines: Array  # (B,) int64, voluntary rejections (no-op while a candidate existed)
    departures: Array  # (B,) int64, users that left after the last slot
    invalid_action: Array  # (B,) bool, the last action was outside the mask
    done: Array  # (B,) bool, terminated (illegal action under invalid_action="terminate")


class SlottedSimulator(Simulator[SlottedState]):
    """Batch-first simulator of the slotted arrival process (see the module docstring).

    The step is array-generic (:mod:`ua_envs.core.arrays`): the single env runs it on a numpy
    copy of its batch-of-one state. Single envs draw every unseeded reset from a fresh generator
    seeded from their ``np_random`` (no chunks: an episode is drawn whole, once per reset).

    :param config: the process parameters.
    :param batch_size: default number of parallel episodes ``B`` drawn by :meth:`reset`.
    :param device: torch device of every state tensor.
    """

    instance_type = SlottedInstance
    array_generic = True
    chunked_resets = False

    def __init__(
        self, config: SlottedConfig, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        self.config: SlottedConfig = config
        self.batch_size = check_int_range("batch_size", batch_size, 1)
        self.device = torch.device(device)
        m = config.num_bs
        self._levels_db = torch.tensor(config.snr_levels_db, dtype=torch.float32, device=device)
        self._bias_db = torch.tensor(config.bs_bias_db, dtype=torch.float32, device=device)
        self._bs_index = torch.arange(m, device=self.device)
        self._rate_scale = config.max_rate
        self._demand_scale = float(config.max_demand)
        u_max = config.max_users_per_bs
        # A BS's slot utility sum_i log(1 + r_i/k) over k users is at most k log(1 + max_rate/k),
        # which grows with k: U_max log(1 + max_rate/U_max) bounds it and its per-slot mean.
        self._node_high = torch.tensor(
            [
                1.0,
                math.log1p(config.max_rate),
                1.0,
                1.0,
                1.0,
                u_max * math.log1p(config.max_rate / u_max),
            ],
            dtype=torch.float32,
        )
        self._max_snr_db = config.max_snr_db
        # observe()'s scale factors (the same Python floats as ``1.0 / x`` at every call)
        self._inv_seats = 1.0 / config.max_users_per_bs
        self._inv_rate = 1.0 / self._rate_scale
        self._inv_demand = 1.0 / self._demand_scale
        self._use_topk = config.top_k < m
        # Lookup tables (numpy copies for the single env's fast path, torch per device):
        # row a of ``onehot`` is action a as a (M,) BS indicator (the no-op row is all False);
        # entry k of ``share`` is max(k, 1) as float32 (a BS with k users divides its rate by k).
        onehot = np.zeros((m + 1, m), dtype=bool)
        onehot[np.arange(m), np.arange(m)] = True
        share = np.maximum(np.arange(config.max_users_per_bs + 2), 1).astype(np.float32)
        high = self._node_high.numpy()
        self._np_tables = {"onehot": onehot, "share": share, "high": high}
        self._torch_tables: dict[torch.device, dict[str, Tensor]] = {}

    def _tables(self, like: Array) -> dict[str, Array]:
        """The lookup tables on the backend (and device) of ``like``."""
        if isinstance(like, np.ndarray):
            return self._np_tables
        device = like.device
        if device not in self._torch_tables:
            self._torch_tables[device] = {
                k: torch.as_tensor(v, device=device) for k, v in self._np_tables.items()
            }
        return self._torch_tables[device]

    # ------------------------------------------------------------------ reset
    def _reset(self, generator: torch.Generator, options: dict[str, Any], b: int) -> SlottedState:
        """Draw ``batch_size`` (default: the simulator's) fresh episodes.

        Draw order (fixed, part of the reproducibility contract): arrival uniforms ``(B, T)``,
        SNR level indices ``(B, T, M)``, demands ``(B, T)``.

        :param options: ``{"instance": SlottedInstance}`` plays that episode instead of drawing.
        :raises ValueError: an unknown option key, or an instance of the wrong type, shape or
            range (the message names the field).
        """
        cfg = self.config
        t, m, dev = cfg.horizon, cfg.num_bs, self.device
        instance = options.get("instance")
        if instance is not None:
            arrivals, snr_db, demand = self._instance_tensors(instance)
            arrivals = arrivals.expand(b, t).clone()
            snr_db = snr_db.expand(b, t, m).clone()
            demand = demand.expand(b, t).clone()
        else:
            u = torch.rand((b, t), generator=generator, device=dev)
            arrivals = u < cfg.arrival_prob
            idx = torch.randint(
                0, len(cfg.snr_levels_db), (b, t, m), generator=generator, device=dev
            )
            snr_db = self._levels_db[idx] + self._bias_db
            lo, hi = cfg.mean_demand - cfg.demand_spread, cfg.mean_demand + cfg.demand_spread
            demand = torch.randint(lo, hi + 1, (b, t), generator=generator, device=dev).float()
        # One padding slot after the horizon: no arrival, so slot indices >= T read "nothing".
        arrivals = torch.cat([arrivals, arrivals.new_zeros(b, 1)], dim=1)
        snr_db = torch.cat([snr_db, snr_db.new_zeros(b, 1, m)], dim=1)
        demand = torch.cat([demand, demand.new_zeros(b, 1)], dim=1)
        # float64 for the rate so that e.g. SNR = 3 gives exactly 2 data units after rounding.
        rate = torch.log2(1.0 + torch.pow(10.0, snr_db.double() / 10.0))
        if cfg.rate_scale != 1.0:
            rate = rate * cfg.rate_scale
        rate = rate.float()
        u_max = cfg.max_users_per_bs
        zeros_seats = torch.zeros((b, m, u_max), dtype=torch.float32, device=dev)
        zeros_f = torch.zeros(b, dtype=torch.float32, device=dev)
        zeros_i = torch.zeros(b, dtype=torch.long, device=dev)
        occupied = torch.zeros((b, m, u_max), dtype=torch.bool, device=dev)
        cur_arrival = arrivals[:, 0].clone()
        cur_snr = snr_db[:, 0].clone()
        state = SlottedState(
            slot=zeros_i.clone(),
            arrivals=arrivals,
            new_snr_db=snr_db,
            new_rate=rate,
            new_demand=demand,
            cur_arrival=cur_arrival,
            cur_snr_db=cur_snr,
            cur_rate=rate[:, 0].clone(),
            cur_demand=demand[:, 0].clone(),
            mask=self._mask(occupied.sum(-1), cur_arrival, cur_snr),
            occupied=occupied,
            users=occupied.sum(-1),
            user_rate=zeros_seats.clone(),
            remaining=zeros_seats.clone(),
            throughput=zeros_seats,
            utility=zeros_f.clone(),
            episode_utility=zeros_f,
            bs_utility=torch.zeros((b, m), dtype=torch.float32, device=dev),
            arrived=torch.zeros(b, dtype=torch.bool, device=dev),
            arrivals_count=zeros_i.clone(),
            rejections=zeros_i.clone(),
            declines=zeros_i.clone(),
            departures=zeros_i,
            invalid_action=torch.zeros(b, dtype=torch.bool, device=dev),
            done=torch.zeros(b, dtype=torch.bool, device=dev),
        )
        return state

    def _instance_tensors(self, instance: SlottedInstance) -> tuple[Tensor, Tensor, Tensor]:
        """``(arrivals (T,), snr_db (T, M), demand (T,))`` of a checked instance, padded to T."""
        cfg, dev = self.config, self.device
        arrivals = as_tensor("instance.arrivals", instance.arrivals, device=dev)
        snr_db = as_tensor("instance.snr_db", instance.snr_db, dtype=torch.float32, device=dev)
        demand = as_tensor("instance.demand", instance.demand, dtype=torch.float32, device=dev)
        t0 = arrivals.shape[0] if arrivals.dim() == 1 else -1
        if arrivals.dim() != 1 or not 1 <= t0 <= cfg.horizon:
            raise ValueError(
                f"instance.arrivals must have shape (T0,) with 1 <= T0 <= horizon={cfg.horizon}, "
                f"got {tuple(arrivals.shape)}"
            )
        if tuple(snr_db.shape) != (t0, cfg.num_bs):
            raise ValueError(
                f"instance.snr_db must have shape ({t0}, {cfg.num_bs}), got {tuple(snr_db.shape)}"
            )
        if tuple(demand.shape) != (t0,):
            raise ValueError(f"instance.demand must have shape ({t0},), got {tuple(demand.shape)}")
        check_finite("instance.snr_db", snr_db)
        if bool((snr_db > self._max_snr_db).any()):
            raise ValueError(
                f"instance.snr_db must be <= max(snr_levels_db) + max(bs_bias_db) = "
                f"{self._max_snr_db:g} dB (the observation's bound), got {snr_db.max().item():g}"
            )
        arrivals = arrivals.bool()
        check_positive("instance.demand", demand[arrivals])
        arriving = demand[arrivals]
        if bool((arriving > cfg.max_demand).any()):
            raise ValueError(
                f"instance.demand must be <= mean_demand + demand_spread = {cfg.max_demand} "
                f"(the observation's bound) where a user arrives, got {arriving.max().item():g}"
            )
        pad = cfg.horizon - t0
        arrivals = torch.cat([arrivals, arrivals.new_zeros(pad)])
        snr_db = torch.cat([snr_db, snr_db.new_zeros(pad, cfg.num_bs)])
        demand = torch.cat([demand, demand.new_zeros(pad)])
        return arrivals, snr_db, demand

    # ------------------------------------------------------------------ step
    def _mask(self, count: Array, arrival: Array, snr_db: Array) -> Array:
        """Legal actions ``(B, M + 1)`` bool from seat counts ``(B, M)``, arrival ``(B,)``, SNR."""
        xp = namespace(count)
        free = count < self.config.max_users_per_bs
        cand = free & arrival[:, None]
        if self._use_topk:
            score = xp.where(free, snr_db, -math.inf)
            # stable descending order: equal SNRs rank the lower BS index first.
            order: Array
            if xp is np:
                order = np.argsort(-score, axis=1, kind="stable")
            else:
                order = torch.sort(score, dim=1, descending=True, stable=True).indices
            rank = xp.argsort(order, axis=1)  # inverse permutation: rank of each BS
            cand = cand & (rank < self.config.top_k)
        noop = ~cand.any(axis=1)
        if self.config.allow_reject:
            noop = noop | True
        return xp.concatenate([cand, noop[:, None]], axis=1)

    def step_checked(self, state: SlottedState, action: Array) -> tuple[SlottedState, Array, Array]:
        """:meth:`step` without re-validating ``action`` (the single env checked it)."""
        return self.step(state, action, validate=False)

    def step(
        self, state: SlottedState, action: Array, *, validate: bool = True
    ) -> tuple[SlottedState, Array, Array]:
        """Play the current slot with ``action`` ``(B,)`` int (see the module's order of events).

        Works on torch states (from :meth:`reset`) and on numpy states
        (:func:`~ua_envs.envs.base.state_to_numpy`, the single env's fast path); ``action``
        must be of the same kind.

        :param validate: check the action's shape, dtype and range (the single env checks its
            scalar action itself and passes False).
        :returns: ``(state, reward (B,) float32, terminated (B,) bool)``; ``terminated`` is True
            only for an illegal action under ``invalid_action="terminate"`` (the slot is then not
            played: the state is kept, marked ``done``, and the reward is 0). ``done`` is sticky;
            the adapters refuse to step a done state (``RuntimeError``) and the vector env resets
            it in the same step, so the simulator itself does not check it.
        :raises ValueError: malformed action; an illegal action under ``"raise"``.
        """
        cfg = self.config
        m = cfg.num_bs
        xp = namespace(state.slot)
        b = state.slot.shape[0]
        if validate:
            action = self._check_action(action, b, xp)
        rows = arange(b, like=state.slot)
        legal = state.mask[rows, action]
        invalid = ~legal
        any_invalid = bool(invalid.any())
        if any_invalid:
            if cfg.invalid_action == "raise":
                row = int(xp.nonzero(invalid)[0][0]) if xp is np else int(invalid.nonzero()[0, 0])
                legal_actions = [int(i) for i in xp.nonzero(state.mask[row])[0]]
                raise ValueError(
                    f"action {int(action[row])} is not legal in row {row}: legal actions are "
                    f"{legal_actions} (candidate BSs; {m} = no-op)"
                )
            action = xp.where(invalid, m, action)
        arrival = state.cur_arrival
        tables = self._tables(state.slot)
        # 1. associate: the arriving user takes the first free seat of the chosen BS. A legal
        # BS action implies an arrival (without one only the no-op is legal).
        onehot = tables["onehot"][action]  # (B, M)
        free = ~state.occupied
        seat = free & (free.cumsum(-1) == 1) & onehot[:, :, None]  # (B, M, U)
        occupied = state.occupied | seat
        user_rate = xp.where(seat, state.cur_rate[:, :, None], state.user_rate)
        remaining = xp.where(seat, state.cur_demand[:, None, None], state.remaining)
        rejected = arrival & (action == m)  # an arrival not associated (no-op)
        declines = state.declines
        if cfg.allow_reject or any_invalid:
            # (otherwise a legal no-op with an arrival means no candidate: not a decline)
            declines = declines + (rejected & state.mask[:, :m].any(axis=1))
        # 2. serve: equal share of the BS's resources (empty seats have rate 0).
        count = state.users + onehot
        throughput = user_rate / tables["share"][count][:, :, None]
        terms = xp.log1p(throughput)  # (B, M, U), 0 on empty seats
        utility = terms.sum(axis=(1, 2))
        reward = self._reward(utility, count, throughput, remaining)
        remaining = remaining - throughput
        # 3. depart: served users leave after the slot.
        stay = occupied & (remaining > DEMAND_TOLERANCE)
        users = stay.sum(axis=-1)
        departures = (count - users).sum(axis=1)
        user_rate = user_rate * stay
        remaining = remaining * stay
        # 4. reveal the next slot (slots past the horizon read the padding column: no arrival).
        slot = state.slot + 1
        nxt = _clip_max(slot, cfg.horizon)
        cur_arrival = state.arrivals[rows, nxt]
        cur_snr = state.new_snr_db[rows, nxt]
        new_state = SlottedState(
            slot=slot,
            arrivals=state.arrivals,
            new_snr_db=state.new_snr_db,
            new_rate=state.new_rate,
            new_demand=state.new_demand,
            cur_arrival=cur_arrival,
            cur_snr_db=cur_snr,
            cur_rate=state.new_rate[rows, nxt],
            cur_demand=state.new_demand[rows, nxt],
            mask=self._mask(users, cur_arrival, cur_snr),
            occupied=stay,
            users=users,
            user_rate=user_rate,
            remaining=remaining,
            throughput=throughput,
            utility=utility,
            episode_utility=state.episode_utility + utility,
            bs_utility=state.bs_utility + terms.sum(axis=-1),
            arrived=arrival,
            arrivals_count=state.arrivals_count + arrival,
            rejections=state.rejections + rejected,
            declines=declines,
            departures=departures,
            invalid_action=invalid,
            done=state.done,
        )
        terminated = invalid & False
        if any_invalid and cfg.invalid_action == "terminate":
            # the illegal slot is not played: keep the old state of those rows, reward 0.
            kept = dataclasses.replace(state, invalid_action=invalid, done=state.done | invalid)
            new_state = _where_rows(invalid, kept, new_state)
            reward = xp.where(invalid, 0.0, reward)
            terminated = invalid
        return new_state, reward, terminated

    def _reward(self, utility: Array, count: Array, throughput: Array, remaining: Array) -> Array:
        """The slot's reward ``(B,)`` float32 under ``reward_mode`` (module docstring, "Rewards").

        :param utility: ``(B,)`` the slot's log-sum utility [nats].
        :param count: ``(B, M)`` users served at each BS in the slot (the new one included).
        :param throughput: ``(B, M, U)`` each seat's ``th`` in the slot [data units].
        :param remaining: ``(B, M, U)`` each seat's remaining demand before the slot [data units].
        """
        mode = self.config.reward_mode
        if mode == "logsum":
            return utility
        xp = namespace(utility)
        if mode == "user_mean":
            # a slot without users has reward 0 (0 / 1, not 0 / 0).
            return utility / _as_float32(_clip_min(count.sum(axis=1), 1))
        # "served": a user cannot receive more than it still wants.
        return xp.minimum(throughput, remaining).sum(axis=(1, 2))

    def _check_action(self, action: Any, b: int, xp: Any) -> Array:
        """``action`` as int64 after checking its kind, shape, dtype and range (``ValueError``).

        The numpy branch (the single env's path, batch of one) keeps to scalar checks: at
        ``B = 1`` numpy's per-call overhead, not the arithmetic, is the cost.
        """
        m = self.config.num_bs
        kind = Tensor if xp is torch else np.ndarray
        if not isinstance(action, kind):
            raise ValueError(
                f"action must be a {kind.__name__} for this state, got {type(action).__name__}"
            )
        if tuple(action.shape) != (b,):
            raise ValueError(f"action must have shape ({b},), got {tuple(action.shape)}")
        meaning = f"(BS index or {m} = no-op)"
        if isinstance(action, np.ndarray):
            if action.dtype.kind not in "iu":
                raise ValueError(f"action must hold integers, got dtype {action.dtype}")
            if action.dtype != np.int64:
                action = action.astype(np.int64)
            low, high = (int(action[0]),) * 2 if b == 1 else (int(action.min()), int(action.max()))
            if low < 0 or high > m:
                bad = low if low < 0 else high
                raise ValueError(f"action must be in [0, {m}] {meaning}, got {bad}")
            return action
        if "int" not in str(action.dtype):
            raise ValueError(f"action must hold integers, got dtype {action.dtype}")
        action = action.long()
        out_of_range = (action < 0) | (action > m)
        if bool(out_of_range.any()):
            bad = int(action[out_of_range][0])
            raise ValueError(f"action must be in [0, {m}] {meaning}, got {bad}")
        return action

    # ------------------------------------------------------------------ views
    def observe(self, state: SlottedState) -> dict[str, Array]:
        """Batched observation (docs/model.md §4.4), fresh arrays (torch or numpy, like the state).

        - ``nodes`` ``(B, M, 6)`` float32, per BS: users/U_max; mean over its users of
          ``log(1 + rate_i/|S_n|)`` (what each would get next slot if nobody joins; 0
          when empty); new user's ``rate/max_rate`` (0 without arrival); new user's
          ``demand/max_demand`` (0 without arrival); candidate 0/1; the BS's mean utility per
          slot so far, ``bs_utility / max(slot, 1)`` [nats/slot] (its users' log-sum terms
          summed over the played slots; 0 after reset). Clipped to :attr:`node_high` (float32
          rounding at the bound, e.g. ``1.0000001``, becomes the bound), so it always lies in
          ``[0, node_high]``.
        - ``arrival`` ``(B, 1)`` float32 0/1.
        - ``action_mask`` ``(B, M + 1)`` int8.
        """
        m = self.config.num_bs
        tables = self._tables(state.slot)
        share = tables["share"][state.users]  # (B, M) max(users, 1)
        xp: Any
        nodes: Array
        if isinstance(state.slot, np.ndarray):
            xp = np
            arr = state.cur_arrival.astype(np.float32)
            nodes = np.empty((*state.users.shape, NODE_FEATURES), dtype=np.float32)
            mask = state.mask.astype(np.int8)
        else:
            xp = torch
            arr = state.cur_arrival.float()
            nodes = torch.empty(
                (*state.users.shape, NODE_FEATURES), dtype=torch.float32, device=arr.device
            )
            mask = state.mask.to(torch.int8)
        nodes[:, :, 0] = state.users * self._inv_seats
        nodes[:, :, 1] = xp.log1p(state.user_rate / share[:, :, None]).sum(axis=-1) / share
        nodes[:, :, 2] = state.cur_rate * (arr[:, None] * self._inv_rate)
        nodes[:, :, 3] = (state.cur_demand * arr * self._inv_demand)[:, None]
        nodes[:, :, 4] = mask[:, :m]
        nodes[:, :, 5] = state.bs_utility / slots_played(state)[:, None]
        # The features are >= 0 by construction; clip the float32 rounding at the upper bound.
        if xp is np:
            np.minimum(nodes, tables["high"], out=nodes)
        else:
            nodes.clamp_(max=tables["high"])
        return {"action_mask": mask, "arrival": arr[:, None], "nodes": nodes}

    def action_mask(self, state: SlottedState) -> Array:
        """Legal actions ``(B, M + 1)`` bool of the current slot (a copy)."""
        return state.mask.copy() if isinstance(state.mask, np.ndarray) else state.mask.clone()

    def info(self, state: SlottedState, *, copy: bool = True) -> dict[str, Array]:
        """Batched info after the last step (zeros/False right after reset).

        ``utility`` (B,) float32 last slot's log-sum utility (the reward under
        ``reward_mode="logsum"``); ``episode_utility`` (B,) their sum; ``utility_per_slot`` (B,)
        float32 ``episode_utility / max(slots played, 1)``; ``rejections``,
        ``declines``, ``arrivals`` (B,) int64 episode counts; ``arrived`` (B,) bool (a user
        arrived in the last played slot); ``active_users`` (B,) int64 after departures;
        ``departures`` (B,) int64; ``users_per_bs`` (B, M) int64; ``sum_rate`` (B,) float32 sum of
        ``th`` over users served in the last slot [data units/slot]; ``throughput`` (B, M, U)
        float32 per seat; ``invalid_action`` (B,) bool. Fresh arrays (no aliasing of the state);
        ``copy=False``: views of the state where an entry is a state field.
        """
        users = state.users

        views = {
            "utility": state.utility,
            "episode_utility": state.episode_utility,
            "utility_per_slot": state.episode_utility / slots_played(state),
            "rejections": state.rejections,
            "declines": state.declines,
            "arrivals": state.arrivals_count,
            "arrived": state.arrived,
            "active_users": users.sum(axis=-1),
            "departures": state.departures,
            "users_per_bs": users,
            "sum_rate": state.throughput.sum(axis=(1, 2)),
            "throughput": state.throughput,
            "invalid_action": state.invalid_action,
        }
        return arrays.copy_values(views, copy)

    # ------------------------------------------------------------------ helpers for agents
    def snr_feature(self, snr_db: Tensor) -> Tensor:
        """The observation's SNR feature ``rate_scale * log2(1 + 10^(snr_db/10)) / max_rate``."""
        rate = torch.log2(1.0 + torch.pow(10.0, snr_db.double() / 10.0)) * self.config.rate_scale
        return rate.float() / self._rate_scale

    @property
    def node_high(self) -> Tensor:
        """Upper bounds ``(NODE_FEATURES,)`` of the ``nodes`` features (lower bounds are 0)."""
        return self._node_high.clone()


def _clip_max(x: Array, high: float) -> Array:
    return np.minimum(x, high) if isinstance(x, np.ndarray) else x.clamp(max=high)


def _clip_min(x: Array, low: float) -> Array:
    return np.maximum(x, low) if isinstance(x, np.ndarray) else x.clamp(min=low)


def _as_float32(x: Array) -> Array:
    return x.astype(np.float32) if isinstance(x, np.ndarray) else x.float()


def slots_played(state: SlottedState) -> Array:
    """``(B,)`` float32 slots played this episode, at least 1 (the divisor of the per-slot
    means: ``utility_per_slot`` and the observation's mean BS utility, 0 right after reset)."""
    return _as_float32(_clip_min(state.slot, 1))


def _where_rows(rows: Array, a: SlottedState, b: SlottedState) -> SlottedState:
    """Per row: ``a`` where ``rows`` (bool ``(B,)``) else ``b``."""
    xp = namespace(rows)
    updates: dict[str, Any] = {}
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, (Tensor, np.ndarray)):
            updates[f.name] = xp.where(rows.reshape(-1, *([1] * (x.ndim - 1))), x, y)
    return dataclasses.replace(b, **updates)
