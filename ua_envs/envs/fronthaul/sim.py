"""Batch-first simulator of ``FronthaulAssoc-v0`` (SPEC §3.2, §4.3; [EGAT]).

One decision per instance: a binary AP–UE association ``x`` ``(B, M, K)``. The simulator builds
the beams of the configured beamformer restricted to ``x`` (joint transmission, per-AP power
normalised, [EGAT] eq. 36–37 for MRT), optionally applies the fronthaul scaling heuristic,
evaluates the rates, the fronthaul loads ``load_m = Σ_k x_mk · bandwidth · log2(1 + SINR_k)``
[bit/s] and the reward ([EGAT] eq. 32)::

    lagrangian: Σ_k w_k log2(1 + SINR_k) − Σ_m μ_m (load_m − C_m) / bandwidth
    penalty:    Σ_k w_k log2(1 + SINR_k) − Σ_m μ_m max(0, load_m − C_m) / bandwidth

(loads and capacities in bit/s, so the second term is in bit/s/Hz like the first).

Everything is batched over ``B`` independent instances; the Gymnasium env is ``B = 1`` and the
vector env ``B = num_envs``. Physics comes from :mod:`ua_envs.core` only.

Fronthaul scaling heuristic (``enforce_fronthaul="scale"``, [EGAT] §V-A), vectorised over the
batch: each round, every overloaded AP picks the weakest UE it serves (smallest ``‖h_mk‖²``)
among those whose rate is still above :data:`RATE_FLOOR`, and that UE's whole beam (its stacked
beam at every AP, so its rate and with it every serving AP's load falls) is scaled by
:data:`SCALE_FACTOR` in amplitude (power × 0.81); a UE picked by several APs is scaled once per
round. At most :data:`MAX_SCALE_ROUNDS` rounds. If an AP is still overloaded after them (rare;
only when C_m is tiny), the UEs it serves are switched off (beam scale 0) round by round until
every AP is within capacity, which takes at most K more rounds, so the result is always
feasible. The association is unchanged (``info["association"]`` is what was served); the
per-UE amplitude factors are ``info["beam_scale"]``, so the reported rates can be recomputed
as ``rates(channels, beams · beam_scale, association, noise_power)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ua_envs.core.beamforming import fc_zf, mrt, rzf, wmmse, zf
from ua_envs.core.channels import SCENARIOS, make_channels, rayleigh_channels
from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, channel_features
from ua_envs.core.signal import fronthaul_load, rates
from ua_envs.core.validation import (
    check_choice,
    check_float_range,
    check_int_range,
)
from ua_envs.envs.base import check_association, config_from_kwargs

__all__ = [
    "BEAMFORMERS",
    "CHANNEL_OBS_BOUND",
    "ENFORCE_MODES",
    "FRONTHAUL_SCENARIOS",
    "GAIN_DB_RANGE",
    "MAX_OBS_VALUE",
    "MAX_SCALE_ROUNDS",
    "RATE_FLOOR",
    "REWARD_MODES",
    "SCALE_FACTOR",
    "Evaluation",
    "FronthaulConfig",
    "FronthaulSimulator",
    "FronthaulState",
    "make_config",
    "parse_association",
    "per_ap_values",
]

#: Beamformers the env evaluates an association with (SPEC §2, joint transmission).
BEAMFORMERS = ("mrt", "zf", "rzf", "wmmse", "fc_zf")
#: ``reward_mode`` values.
REWARD_MODES = ("lagrangian", "penalty")
#: ``enforce_fronthaul`` values.
ENFORCE_MODES = (None, "scale")
#: Channel generators that make sense for a cell-free fronthaul instance.
FRONTHAUL_SCENARIOS = ("cellfree_3slope", "cellfree_umi")
#: Upper bound of ``capacity_mbps`` [Mbit/s] and ``weights`` (finite observation bounds).
MAX_OBS_VALUE = 1e6
#: Amplitude factor applied per round by the fronthaul scaling heuristic (power × 0.81).
SCALE_FACTOR = 0.9
#: Maximum number of scaling rounds before the switch-off fallback (module docstring).
MAX_SCALE_ROUNDS = 300
#: A UE whose rate is at or below this [bit/s/Hz] is no longer picked by the scaling heuristic:
#: it forwards at most 10 kbit/s at 10 MHz, so scaling it further cannot relieve an AP.
RATE_FLOOR = 1e-3

# Generator kwargs the env sets itself (so they cannot also come through ``channel_kwargs``).
_RESERVED_CHANNEL_KWARGS = (
    "num_bs",
    "num_antennas",
    "num_ues",
    "tx_power_dbm",
    "bandwidth_hz",
    "dtype",
)


def per_ap_values(
    name: str,
    value: Any,
    count: int,
    *,
    positive: bool,
    what: str = "AP",
    high: float | None = None,
) -> tuple[float, ...]:
    """A scalar or a length-``count`` sequence as a tuple of ``count`` finite floats.

    :param name: argument name for error messages (e.g. ``"capacity_mbps"``).
    :param value: a real number, or a 1-D sequence / array / tensor of ``count`` reals.
    :param count: ``M`` (one per AP) or ``K`` (one per UE).
    :param positive: ``True``: every entry must be ``> 0``; ``False``: ``>= 0``.
    :param what: what one entry belongs to, for messages (``"AP"`` or ``"UE"``).
    :param high: optional inclusive upper bound.
    :raises ValueError: wrong length or shape, NaN/inf, a value out of range, not a number.
    """
    if isinstance(value, Tensor):
        value = value.detach().cpu().numpy()
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number or a sequence of {count}, got {value!r}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a real number or a sequence of {count} reals (one per {what}), "
            f"got {value!r}"
        ) from None
    if array.ndim == 0:
        array = np.full(count, float(array))
    if array.shape != (count,):
        raise ValueError(
            f"{name} must be a scalar or have length {count} (one per {what}), "
            f"got shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite, got {array.tolist()}")
    if positive and np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got {array.tolist()}")
    if not positive and np.any(array < 0):
        raise ValueError(f"{name} must be >= 0, got {array.tolist()}")
    if high is not None and np.any(array > high):
        raise ValueError(f"{name} must be <= {high:g}, got {array.tolist()}")
    return tuple(float(v) for v in array)


@dataclass(frozen=True)
class FronthaulConfig:
    """Configuration of ``FronthaulAssoc-v0``; the fields are the registered kwargs, 1:1.

    Defaults are [EGAT]'s Table I (SPEC §3.2): 8 APs × 2 antennas, 4 UEs, 30 dBm, 10 MHz,
    60 Mbit/s fronthaul per AP. ``capacity_mbps`` and ``multipliers`` accept a scalar (same for
    every AP) or one value per AP; ``weights`` one value per UE. After validation they are
    stored as tuples of floats of length M (or K).

    :param num_bs: ``M >= 1`` access points.
    :param num_antennas: ``N >= 1`` antennas per AP.
    :param num_ues: ``K >= 1`` single-antenna UEs.
    :param scenario: channel generator, ``"cellfree_3slope"`` (default) or ``"cellfree_umi"``.
    :param tx_power_dbm: per-AP transmit power [dBm].
    :param bandwidth_hz: system bandwidth [Hz], ``> 0``; loads are ``bandwidth · rate``.
    :param channel_kwargs: further generator kwargs (e.g. ``{"decorrelation_distance_m":
        500.0}`` for [EGAT]'s 0.5 km, ``"noise_power_dbm"``, ``"area_m"``,
        ``"shadowing_std_db"``); ``None`` for the generator's defaults.
    :param capacity_mbps: fronthaul capacity ``C_m`` [Mbit/s], in ``(0, 1e6]``.
    :param multipliers: Lagrange multipliers ``μ_m >= 0`` (default 1.0).
    :param weights: UE weights ``w_k`` in ``[0, 1e6]``; ``None`` for all ones.
    :param reward_mode: ``"lagrangian"`` (default, [EGAT] eq. 32) or ``"penalty"``.
    :param enforce_fronthaul: ``None`` (default: loads are only reported) or ``"scale"``.
    :param beamforming: ``"mrt"`` (default), ``"zf"``, ``"rzf"``, ``"wmmse"`` or ``"fc_zf"``.
    :param horizon: decisions per episode, ``>= 1`` (default 1).
    """

    num_bs: int = 8
    num_antennas: int = 2
    num_ues: int = 4
    scenario: str = "cellfree_3slope"
    tx_power_dbm: float = 30.0
    bandwidth_hz: float = 10e6
    channel_kwargs: Mapping[str, Any] | None = None
    capacity_mbps: float | Sequence[float] = 60.0
    multipliers: float | Sequence[float] = 1.0
    weights: Sequence[float] | None = None
    reward_mode: str = "lagrangian"
    enforce_fronthaul: str | None = None
    beamforming: str = "mrt"
    horizon: int = 1

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalised values are written once, here
        set_(self, "num_bs", check_int_range("num_bs", self.num_bs, 1))
        set_(self, "num_antennas", check_int_range("num_antennas", self.num_antennas, 1))
        set_(self, "num_ues", check_int_range("num_ues", self.num_ues, 1))
        check_choice("scenario", self.scenario, FRONTHAUL_SCENARIOS)
        set_(self, "tx_power_dbm", check_float_range("tx_power_dbm", self.tx_power_dbm))
        set_(
            self,
            "bandwidth_hz",
            check_float_range("bandwidth_hz", self.bandwidth_hz, 0.0, low_inclusive=False),
        )
        set_(self, "channel_kwargs", self._checked_channel_kwargs())
        set_(
            self,
            "capacity_mbps",
            per_ap_values(
                "capacity_mbps",
                self.capacity_mbps,
                self.num_bs,
                positive=True,
                high=MAX_OBS_VALUE,
            ),
        )
        set_(
            self,
            "multipliers",
            per_ap_values("multipliers", self.multipliers, self.num_bs, positive=False),
        )
        weights = 1.0 if self.weights is None else self.weights
        set_(
            self,
            "weights",
            per_ap_values(
                "weights", weights, self.num_ues, positive=False, what="UE", high=MAX_OBS_VALUE
            ),
        )
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)
        check_choice("enforce_fronthaul", self.enforce_fronthaul, ENFORCE_MODES)
        check_choice("beamforming", self.beamforming, BEAMFORMERS)
        if self.beamforming == "fc_zf" and self.num_ues > self.num_bs * self.num_antennas:
            raise ValueError(
                f"beamforming='fc_zf' needs num_ues <= num_bs * num_antennas, got "
                f"num_ues={self.num_ues}, num_bs * num_antennas={self.num_bs * self.num_antennas}"
            )
        set_(self, "horizon", check_int_range("horizon", self.horizon, 1))
        # One throw-away draw (its own generator, not the global RNG) validates the values of
        # the generator kwargs now rather than at the first reset.
        make_channels(self.scenario, torch.Generator().manual_seed(0), 1, **self.generator_kwargs)

    def _checked_channel_kwargs(self) -> dict[str, Any]:
        kwargs = dict(self.channel_kwargs or {})
        allowed = set(inspect.signature(SCENARIOS[self.scenario]).parameters) - {
            "generator",
            "batch_size",
            *_RESERVED_CHANNEL_KWARGS,
        }
        for key in kwargs:
            if key in _RESERVED_CHANNEL_KWARGS:
                raise ValueError(
                    f"channel_kwargs: {key!r} is an env kwarg of its own; pass {key}=... directly"
                )
            if key not in allowed:
                raise ValueError(
                    f"channel_kwargs: unknown {self.scenario} kwarg {key!r}; "
                    f"allowed: {sorted(allowed)}"
                )
        return kwargs

    @property
    def area_m(self) -> float:
        """Side of the square deployment [m]: ``channel_kwargs["area_m"]`` or the default."""
        kwargs = dict(self.channel_kwargs or {})
        if "area_m" in kwargs:
            return float(kwargs["area_m"])
        parameter = inspect.signature(SCENARIOS[self.scenario]).parameters["area_m"]
        return float(parameter.default)

    @property
    def generator_kwargs(self) -> dict[str, Any]:
        """The kwargs passed to the channel generator (scenario defaults for the rest)."""
        return {
            "num_bs": self.num_bs,
            "num_antennas": self.num_antennas,
            "num_ues": self.num_ues,
            "tx_power_dbm": self.tx_power_dbm,
            "bandwidth_hz": self.bandwidth_hz,
            **dict(self.channel_kwargs or {}),
        }


def make_config(kwargs: Mapping[str, Any]) -> FronthaulConfig:
    """A :class:`FronthaulConfig` from env kwargs; unknown names raise ``ValueError``."""
    return config_from_kwargs(FronthaulConfig, kwargs, "FronthaulAssoc")


@dataclass
class FronthaulState:
    """Batched state; every tensor field has the batch ``B`` as its first dim."""

    channels: Tensor  # (B, M, K, N) complex64 [sqrt(W)]: the instance the next action decides on
    served_channels: Tensor  # (B, M, K, N) complex64: the instance of the last decision
    future_channels: Tensor  # (B, H-1, M, K, N) complex64: the episode's later fading draws
    large_scale_gain_db: Tensor  # (B, M, K) float32 [dB]: 10 log10 β (path loss + shadowing)
    tx_power: Tensor  # (B, M) float32 [W]
    noise_power: Tensor  # (B, K) float32 [W]
    bs_positions: Tensor  # (B, M, 2) float32 [m]
    ue_positions: Tensor  # (B, K, 2) float32 [m]
    multipliers: Tensor  # (B, M) float32: μ_m of this episode
    step_count: Tensor  # (B,) int64: decisions taken in this episode
    association: Tensor  # (B, M, K) bool: last decision as served (all False before one)
    beam_scale: Tensor  # (B, K) float32: amplitude factor of the fronthaul scaling (1 = none)
    rates: Tensor  # (B, K) float32 [bit/s/Hz] of the last decision
    load_bps: Tensor  # (B, M) float32 [bit/s] fronthaul load of the last decision
    wsr: Tensor  # (B,) float32 [bit/s/Hz] weighted sum rate of the last decision
    reward: Tensor  # (B,) float32 reward of the last decision


class Evaluation(NamedTuple):
    """What an association yields on a batch of instances (:meth:`FronthaulSimulator.evaluate`).

    ``beams`` ``(B, M, K, N)`` complex (after the scaling heuristic, if any), ``rates`` ``(B, K)``
    [bit/s/Hz], ``load_bps`` ``(B, M)`` [bit/s], ``wsr`` ``(B,)`` [bit/s/Hz], ``beam_scale``
    ``(B, K)`` amplitude factors, ``reward`` ``(B,)`` (SPEC §4.3).
    """

    beams: Tensor
    rates: Tensor
    load_bps: Tensor
    wsr: Tensor
    beam_scale: Tensor
    reward: Tensor


def parse_association(action: Any, batch_size: int, num_bs: int, num_ues: int) -> Tensor:
    """Validate a batched binary action and return it as a bool ``(B, M, K)`` tensor.

    :param action: ``(B, M*K)`` (row-major over m: index ``m*K + k``) or ``(B, M, K)``; bool,
        integer or float entries that are exactly 0 or 1.
    :raises ValueError: wrong shape, non-numeric dtype, NaN, an entry other than 0 or 1.
    """
    if not isinstance(action, Tensor):
        try:
            action = torch.as_tensor(np.asarray(action))
        except (TypeError, ValueError, RuntimeError):
            raise ValueError(
                f"action must be an array of 0/1 of shape ({batch_size}, {num_bs * num_ues}), "
                f"got {action!r}"
            ) from None
    shape = tuple(action.shape)
    flat = (batch_size, num_bs * num_ues)
    if shape not in (flat, (batch_size, num_bs, num_ues)):
        raise ValueError(
            f"action must have shape {flat} (row-major over APs: index m*K + k) or "
            f"{(batch_size, num_bs, num_ues)}, got {shape}"
        )
    if action.dtype == torch.bool:
        return action.reshape(batch_size, num_bs, num_ues)
    if action.is_complex():
        raise ValueError(f"action must be bool, integer or float 0/1, got dtype {action.dtype}")
    bad = (action != 0) & (action != 1)
    if bool(bad.any()):
        values = torch.unique(action[bad]).tolist()[:5]
        raise ValueError(f"action entries must be 0 or 1 (MultiBinary), got values {values}")
    return (action != 0).reshape(batch_size, num_bs, num_ues)


class FronthaulSimulator:
    """Batched simulator of ``FronthaulAssoc-v0`` (see the module docstring).

    :param config: the env's :class:`FronthaulConfig`.
    :param batch_size: default number of instances ``B`` drawn by :meth:`reset`.
    :param device: torch device of every tensor (the reset generator must live there).
    """

    def __init__(
        self, config: FronthaulConfig, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        self.config = config
        self.batch_size = check_int_range("batch_size", batch_size, 1)
        self.device = torch.device(device)
        self.num_bs = config.num_bs
        self.num_ues = config.num_ues
        self.num_antennas = config.num_antennas
        self.bandwidth_hz = float(config.bandwidth_hz)
        f32 = torch.float32
        self.capacity_bps = torch.tensor(config.capacity_mbps, dtype=f32, device=self.device) * 1e6
        self.weights = torch.tensor(config.weights, dtype=f32, device=self.device)  # (K,)
        #: μ used by episodes started from now on, ``(M,)``; set by ``reset(options=...)``.
        self.multipliers = torch.tensor(config.multipliers, dtype=f32, device=self.device)

    # ------------------------------------------------------------------ multipliers / options

    def parse_multipliers(self, value: Any) -> Tensor:
        """``value`` (scalar or length M, ``>= 0``) as a float32 ``(M,)`` tensor on the device."""
        values = per_ap_values("multipliers", value, self.num_bs, positive=False)
        return torch.tensor(values, dtype=torch.float32, device=self.device)

    def set_multipliers(
        self, value: Any, state: FronthaulState | None = None
    ) -> FronthaulState | None:
        """Use ``value`` for every episode from now on (and for ``state``'s rows, if given).

        :return: ``state`` with its multipliers replaced (``None`` if no state was given).
        """
        self.multipliers = self.parse_multipliers(value)
        if state is None:
            return None
        new = self.multipliers.expand_as(state.multipliers).clone()
        return replace(state, multipliers=new)

    def apply_options(self, options: Mapping[str, Any] | None) -> None:
        """Apply reset options: ``{"multipliers": ...}``; other keys are ignored (Gymnasium and
        PettingZoo pass options through wrappers and test with arbitrary keys)."""
        if not options:
            return
        if not isinstance(options, Mapping):
            raise ValueError(f"options must be a dict or None, got {options!r}")
        if "multipliers" in options:
            self.multipliers = self.parse_multipliers(options["multipliers"])

    # ------------------------------------------------------------------ reset / step

    def reset(
        self,
        generator: torch.Generator,
        options: Mapping[str, Any] | None = None,
        batch_size: int | None = None,
    ) -> FronthaulState:
        """Draw ``batch_size`` (default: the simulator's) fresh episodes.

        Draws, in this order, from ``generator`` only: the channel sample (positions, shadowing,
        first small-scale fading) and, for ``horizon > 1``, the Rayleigh fading of the later
        decisions (positions and large-scale gains are kept for the whole episode).

        :param generator: the env's single random source; on the simulator's device.
        :param options: ``{"multipliers": scalar or (M,)}`` sets μ for this and later episodes.
        """
        self.apply_options(options)
        batch = (
            self.batch_size if batch_size is None else check_int_range("batch_size", batch_size, 1)
        )
        cfg = self.config
        sample = make_channels(cfg.scenario, generator, batch, **cfg.generator_kwargs)
        later = cfg.horizon - 1
        if later > 0:
            gains = sample.large_scale_gain_db.unsqueeze(1).expand(-1, later, -1, -1)
            future = rayleigh_channels(generator, gains, cfg.num_antennas)
        else:
            future = sample.channels.new_zeros((batch, 0, *sample.channels.shape[1:]))
        f32 = torch.float32
        dev = self.device
        num_bs, num_ues = cfg.num_bs, cfg.num_ues
        return FronthaulState(
            channels=sample.channels,
            served_channels=sample.channels,
            future_channels=future,
            large_scale_gain_db=sample.large_scale_gain_db.to(f32),
            tx_power=sample.tx_power.to(f32),
            noise_power=sample.noise_power.to(f32),
            bs_positions=sample.bs_positions.to(f32),
            ue_positions=sample.ue_positions.to(f32),
            multipliers=self.multipliers.expand(batch, num_bs).clone(),
            step_count=torch.zeros(batch, dtype=torch.long, device=dev),
            association=torch.zeros(batch, num_bs, num_ues, dtype=torch.bool, device=dev),
            beam_scale=torch.ones(batch, num_ues, dtype=f32, device=dev),
            rates=torch.zeros(batch, num_ues, dtype=f32, device=dev),
            load_bps=torch.zeros(batch, num_bs, dtype=f32, device=dev),
            wsr=torch.zeros(batch, dtype=f32, device=dev),
            reward=torch.zeros(batch, dtype=f32, device=dev),
        )

    def parse_action(self, action: Any, batch_size: int) -> Tensor:
        """Validate a batched action; bool ``(B, M, K)`` (see :func:`parse_association`)."""
        parsed = parse_association(action, batch_size, self.num_bs, self.num_ues)
        return parsed.to(self.device)

    def step(self, state: FronthaulState, action: Tensor) -> tuple[FronthaulState, Tensor, Tensor]:
        """Serve the association ``action`` (bool ``(B, M, K)`` or ``(B, M*K)``).

        :return: ``(state, reward (B,) float32, terminated (B,) bool)``; an episode ends after
            ``horizon`` decisions. For ``horizon > 1`` the next decision's fading is swapped in
            (rows that ended keep the instance they decided on).
        """
        batch = state.channels.shape[0]
        association = action.reshape(batch, self.num_bs, self.num_ues).to(torch.bool)
        with torch.no_grad():
            result = self.evaluate(state, association)
        count = state.step_count + 1
        terminated = count >= self.config.horizon
        channels = state.channels
        if self.config.horizon > 1:
            index = (count - 1).clamp(max=self.config.horizon - 2)
            upcoming = state.future_channels[torch.arange(batch, device=self.device), index]
            channels = torch.where(terminated[:, None, None, None], state.channels, upcoming)
        new_state = replace(
            state,
            channels=channels,
            served_channels=state.channels,
            step_count=count,
            association=association,
            beam_scale=result.beam_scale,
            rates=result.rates,
            load_bps=result.load_bps,
            wsr=result.wsr,
            reward=result.reward,
        )
        return new_state, result.reward, terminated

    # ------------------------------------------------------------------ physics

    def beams(self, state: FronthaulState, association: Tensor) -> Tensor:
        """Beams of the configured beamformer for ``association`` on ``state.channels``.

        Joint transmission restricted to the association, per-AP power normalised (``"mrt"``:
        [EGAT] eq. 36–37; ``"zf"``/``"rzf"``: partial (R)ZF; ``"wmmse"``: joint WMMSE). For
        ``"fc_zf"`` the centralised ZF of every AP to every UE with one common scale (SPEC §2),
        then masked to the association without renormalisation (equal to the paper's FC-ZF for
        the all-ones association).

        :param association: ``(B, M, K)`` bool or float in [0, 1].
        :return: ``(B, M, K, N)`` complex beams, zero outside the association.
        """
        h = state.channels
        a = association.to(h.real.dtype)
        method = self.config.beamforming
        if method == "mrt":
            return mrt(h, a, state.tx_power, validate=False)
        if method == "zf":
            return zf(h, a, state.tx_power, state.noise_power, "joint", validate=False)
        if method == "rzf":
            return rzf(h, a, state.tx_power, state.noise_power, "joint", validate=False)
        if method == "wmmse":
            weights = self.weights.expand(h.shape[0], -1)
            return wmmse(
                h,
                a,
                state.tx_power,
                state.noise_power,
                weights,
                transmission="joint",
                validate=False,
            )
        return fc_zf(h, state.tx_power, validate=False) * a.unsqueeze(-1).to(h.dtype)

    def _rates_and_load(
        self, state: FronthaulState, beams: Tensor, association: Tensor, scale: Tensor | None
    ) -> tuple[Tensor, Tensor]:
        if scale is not None:
            beams = beams * scale.to(beams.dtype)[:, None, :, None]
        per_ue = rates(state.channels, beams, association, state.noise_power, validate=False)
        return per_ue, fronthaul_load(association, per_ue, self.bandwidth_hz, validate=False)

    def fronthaul_scaling(
        self, state: FronthaulState, beams: Tensor, association: Tensor
    ) -> Tensor:
        """Per-UE amplitude factors ``(B, K)`` of the scaling heuristic (module docstring).

        :param beams: ``(B, M, K, N)`` beams of :meth:`beams` for ``association``.
        :param association: ``(B, M, K)`` float 0/1.
        :return: ``(B, K)`` float32 factors in [0, 1] with every AP within capacity.
        """
        batch = beams.shape[0]
        scale = torch.ones(batch, self.num_ues, dtype=torch.float32, device=beams.device)
        served = association > 0
        strength = state.channels.real.square() + state.channels.imag.square()
        strength = strength.sum(dim=-1).masked_fill(~served, math.inf)  # (B, M, K)
        capacity = self.capacity_bps
        for _ in range(MAX_SCALE_ROUNDS):
            per_ue, load = self._rates_and_load(state, beams, association, scale)
            over = load > capacity  # (B, M)
            if not bool(over.any()):
                return scale
            candidate = served & (per_ue > RATE_FLOOR).unsqueeze(1)
            key = torch.where(candidate, strength, torch.full_like(strength, math.inf))
            weakest = key.argmin(dim=-1)  # (B, M)
            pick = over & candidate.any(dim=-1)
            hit = torch.zeros(batch, self.num_ues, dtype=torch.bool, device=beams.device)
            hit.scatter_reduce_(1, weakest, pick, reduce="amax")
            scale = torch.where(hit, scale * SCALE_FACTOR, scale)
        # Fallback: switch off every UE an overloaded AP still serves; each round silences at
        # least one UE with a positive rate, so at most K rounds reach feasibility.
        for _ in range(self.num_ues + 1):
            per_ue, load = self._rates_and_load(state, beams, association, scale)
            over = load > capacity
            if not bool(over.any()):
                break
            kill = (served & over.unsqueeze(-1)).any(dim=1)  # (B, K)
            scale = torch.where(kill, torch.zeros_like(scale), scale)
        return scale

    def evaluate(
        self,
        state: FronthaulState,
        association: Tensor,
        *,
        enforce_fronthaul: str | None = "config",
    ) -> Evaluation:
        """Beams, rates, loads, weighted sum rate and reward of ``association`` on ``state``.

        The same computation :meth:`step` uses (baselines call it to test associations). With
        the MRT, ZF or RZF beamformers, no enforcement and a float association it is
        differentiable with respect to the association (relaxed decisions for L2O training).

        :param association: ``(B, M, K)`` bool or float in [0, 1].
        :param enforce_fronthaul: ``"config"`` (default): the config's ``enforce_fronthaul``;
            ``None`` or ``"scale"`` override it.
        :raises ValueError: a wrong shape or batch, NaN/inf, an entry outside ``[0, 1]``.
        """
        association = check_association(
            "association",
            association,
            state.channels.shape[0],
            self.num_bs,
            self.num_ues,
            device=self.device,
        )
        enforce = (
            self.config.enforce_fronthaul if enforce_fronthaul == "config" else enforce_fronthaul
        )
        check_choice("enforce_fronthaul", enforce, ENFORCE_MODES)
        h = state.channels
        assoc = association.to(h.real.dtype)
        beams = self.beams(state, assoc)
        scale = None
        if enforce == "scale":
            with torch.no_grad():
                scale = self.fronthaul_scaling(state, beams, assoc)
            beams = beams * scale.to(beams.dtype)[:, None, :, None]
        per_ue, load = self._rates_and_load(state, beams, assoc, None)
        wsr = (self.weights * per_ue).sum(dim=-1)
        excess = (load - self.capacity_bps) / self.bandwidth_hz  # (B, M) bit/s/Hz
        if self.config.reward_mode == "penalty":
            excess = excess.clamp_min(0.0)
        reward = wsr - (state.multipliers * excess).sum(dim=-1)
        if scale is None:
            scale = torch.ones_like(per_ue)
        return Evaluation(beams, per_ue, load, wsr, scale.to(per_ue.dtype), reward)

    def local_rewards(self, state: FronthaulState) -> Tensor:
        """Per-AP rewards of the last decision ``(B, M)`` (PettingZoo ``reward="local"``).

        ``Σ_k x_mk w_k log2(1 + SINR_k) − μ_m max(0, load_m − C_m) / bandwidth``: the weighted
        rate AP m serves minus its own fronthaul violation [bit/s/Hz].
        """
        served_rate = (
            state.association.to(state.rates.dtype) * (self.weights * state.rates).unsqueeze(1)
        ).sum(dim=-1)
        violation = (state.load_bps - self.capacity_bps).clamp_min(0.0) / self.bandwidth_hz
        return served_rate - state.multipliers * violation

    # ------------------------------------------------------------------ observation / info

    def observe(self, state: FronthaulState) -> dict[str, Tensor]:
        """Batched observation (fresh tensors).

        * ``channel`` ``(B, M, K, 2N)`` float32: ``[Re(h/σ_k), Im(h/σ_k)]`` (noise-normalised).
        * ``gain_db`` ``(B, M, K)`` float32: ``10 log10(‖h_mk‖² / σ_k²)`` [dB], clipped to
          :data:`GAIN_DB_RANGE`.
        * ``capacity_mbps`` ``(B, M)`` float32 [Mbit/s].
        * ``weights`` ``(B, K)`` float32.
        """
        channel, gain_db, _ = channel_features(state.channels, state.noise_power)
        batch = channel.shape[0]
        return {
            "channel": channel,
            "gain_db": gain_db,
            "capacity_mbps": (self.capacity_bps * 1e-6).expand(batch, -1).clone(),
            "weights": self.weights.expand(batch, -1).clone(),
        }

    def action_mask(self, state: FronthaulState) -> Tensor | None:
        """Every association is legal: no mask."""
        del state
        return None

    def info(self, state: FronthaulState) -> dict[str, Tensor]:
        """Batched info of the last decision (zeros before the first one).

        ``wsr`` ``(B,)`` = ``Σ_k w_k rate_k``; ``sum_rate`` ``(B,)`` = ``Σ_k rate_k`` (unit
        weights); ``rates`` ``(B, K)`` [bit/s/Hz]; ``association`` ``(B, M, K)`` bool (as
        served); ``fronthaul_load_mbps`` ``(B, M)``; ``fronthaul_violation`` ``(B, M)`` =
        ``max(0, load − C)`` [Mbit/s]; ``feasible`` ``(B,)`` bool (every AP within capacity);
        ``aps_per_ue`` ``(B, K)`` int64; ``beam_scale`` ``(B, K)``; ``multipliers`` ``(B, M)``.
        """
        load = state.load_bps
        return {
            "wsr": state.wsr,
            "sum_rate": state.rates.sum(dim=-1),
            "rates": state.rates,
            "association": state.association,
            "fronthaul_load_mbps": load * 1e-6,
            "fronthaul_violation": (load - self.capacity_bps).clamp_min(0.0) * 1e-6,
            "feasible": (load <= self.capacity_bps).all(dim=-1),
            "aps_per_ue": state.association.sum(dim=1),
            "beam_scale": state.beam_scale,
            "multipliers": state.multipliers,
        }
