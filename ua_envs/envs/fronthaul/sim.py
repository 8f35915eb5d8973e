"""Batch-first simulator of ``FronthaulAssoc-v0`` (docs/model.md §3.2, §4.3; [EGAT]).

One decision per instance: a binary AP–UE association ``x`` ``(B, M, K)``. The simulator builds
the beams of the configured beamformer restricted to ``x`` (joint transmission, per-AP power
normalised, [EGAT] eq. 36–37 for MRT), optionally applies the fronthaul scaling heuristic,
evaluates the rates, the fronthaul loads ``load_m = Σ_k x_mk · bandwidth · log2(1 + SINR_k)``
[bit/s] and the reward ([EGAT] eq. 32)::

    lagrangian: Σ_k w_k log2(1 + SINR_k) − Σ_m μ_m (load_m − C_m) / bandwidth
    penalty:    Σ_k w_k log2(1 + SINR_k) − Σ_m μ_m max(0, load_m − C_m) / bandwidth

(loads and capacities in bit/s, so the second term is in bit/s/Hz like the first).

``load_rate_unit="nat"`` computes the loads with the natural logarithm instead,
``load_m = Σ_k x_mk · bandwidth · ln(1 + SINR_k)`` = ln 2 × the bit load, as [EGAT] writes
``log(1 + SINR)`` without a base: the loads, the capacities they are compared with, the
violations, the second reward term, the scaling heuristic's overload test and every baseline's
feasibility are then in nat/s (nat/s/Hz for the reward term; the ``*_mbps`` names keep their
numbers, read as Mnat/s). The rates and the first reward term stay in bit/s/Hz.

Everything is batched over ``B`` independent instances; the Gymnasium env is ``B = 1`` and the
vector env ``B = num_envs``. Physics comes from :mod:`ua_envs.core` only, and one method
(:meth:`FronthaulSimulator.score`) computes it for :meth:`~FronthaulSimulator.step`,
:meth:`~FronthaulSimulator.evaluate` (the contract's differentiable
:class:`~ua_envs.envs.contract.Outcome`) and the baselines.

The reward parameters ``C_m``, ``w_k`` and ``μ_m`` belong to the simulator, not to the state:
``μ`` is the simulator's :attr:`~FronthaulSimulator.multipliers` (set by the config, by
``reset(options={"multipliers": ...})`` or :meth:`~FronthaulSimulator.set_multipliers`) and
applies to every decision from then on; ``state.multipliers`` records the ``μ`` the last
decision was scored with.

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

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar, NamedTuple

import numpy as np
import torch
from torch import Tensor

from ua_envs.core import arrays
from ua_envs.core.beamforming import fc_zf, mrt, rzf, rzf_restricted, wmmse, zf
from ua_envs.core.channels import rayleigh_channels
from ua_envs.core.channels.configs import MAX_BANDWIDTH_HZ, check_sizes
from ua_envs.core.channels.generators import ChannelGenerator, ScenarioBoundConfig
from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, channel_features
from ua_envs.core.signal import fronthaul_load, project_power, rates
from ua_envs.core.validation import check_choice, check_float_range, check_int_range
from ua_envs.envs.agent_beams import (
    AGENT_BEAMFORMING,
    AgentAction,
    check_agent_action,
    is_agent_mode,
)
from ua_envs.envs.base import config_from_kwargs, decision_inputs
from ua_envs.envs.contract import ChannelInstance, DecisionSimulator, Outcome
from ua_envs.envs.instances import channel_instance_sample
from ua_envs.presets import check_preset

__all__ = [
    "BEAMFORMERS",
    "CHANNEL_FIELDS",
    "CHANNEL_OBS_BOUND",
    "ENFORCE_MODES",
    "FRONTHAUL_SCENARIOS",
    "GAIN_DB_RANGE",
    "LOAD_RATE_UNITS",
    "MAX_MULTIPLIER",
    "MAX_OBS_VALUE",
    "MAX_SCALE_ROUNDS",
    "MIN_BANDWIDTH_HZ",
    "RATE_FLOOR",
    "REWARD_MODES",
    "SCALE_FACTOR",
    "Evaluation",
    "FronthaulConfig",
    "FronthaulSimulator",
    "FronthaulState",
    "check_binary_action",
    "make_config",
    "parse_association",
    "per_ap_values",
]

#: Beamformers the env evaluates an association with (docs/model.md §2, joint transmission).
BEAMFORMERS = ("mrt", "zf", "rzf", "rzf_restricted", "wmmse", "fc_zf")
#: ``reward_mode`` values.
REWARD_MODES = ("lagrangian", "penalty")
#: ``enforce_fronthaul`` values.
ENFORCE_MODES = (None, "scale")
#: ``load_rate_unit`` values and the factor ``rate [unit/s/Hz] = factor · rate [bit/s/Hz]``.
LOAD_RATE_UNITS = {"bit": 1.0, "nat": math.log(2.0)}
#: Registered channel generators of a fronthaul instance (any ``ChannelGenerator`` object too).
FRONTHAUL_SCENARIOS = ("cellfree_3slope", "cellfree_umi", "mmwave28")
#: Upper bound of ``capacity_mbps`` [Mbit/s] and ``weights`` (finite observation bounds).
MAX_OBS_VALUE = 1e6
#: Upper bound of a Lagrange multiplier ``μ_m``: at 1e6 the penalty of one bit/s/Hz of overload
#: already dwarfs any rate, and larger values overflow float32 rewards (3e38 · excess = inf).
MAX_MULTIPLIER = 1e6
#: Lower bound of ``bandwidth_hz`` [Hz]: the reward divides capacities of up to 1e12 bit/s by
#: it, so a smaller bandwidth overflows float32 (the generators' upper bound is 1e12 Hz).
MIN_BANDWIDTH_HZ = 1.0
#: Amplitude factor applied per round by the fronthaul scaling heuristic (power × 0.81).
SCALE_FACTOR = 0.9
#: Maximum number of scaling rounds before the switch-off fallback (module docstring).
MAX_SCALE_ROUNDS = 300
#: A UE whose rate is at or below this [bit/s/Hz] is no longer picked by the scaling heuristic:
#: it forwards at most 10 kbit/s at 10 MHz, so scaling it further cannot relieve an AP.
RATE_FLOOR = 1e-3

#: The config fields that parameterise the channel generator (sizes included): the union of
#: the registered generators' parameters (:mod:`ua_envs.core.channels.generators`).
CHANNEL_FIELDS = (
    "num_bs",
    "num_antennas",
    "num_ues",
    "tx_power_dbm",
    "bandwidth_hz",
    "area_m",
    "noise_power_dbm",
    "noise_figure_db",
    "shadowing_std_db",
    "shadowing_delta",
    "decorrelation_distance_m",
    "correlated_shadowing",
    "ap_height_m",
    "ue_height_m",
    "height_difference_m",
    "carrier_ghz",
    "num_paths",
    "angular_spread_deg",
    "outage",
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


def _user_bandwidth_hz(generator: ChannelGenerator) -> float:
    """The bandwidth of a user generator whose config has no ``bandwidth_hz``: the
    ``bandwidth_hz`` of one throw-away sample (own CPU generator, not the global RNG)."""
    sample = generator.sample(torch.Generator().manual_seed(0), 1)
    return float(sample.bandwidth_hz)


@dataclass(frozen=True)
class FronthaulConfig(ScenarioBoundConfig):
    """Configuration of ``FronthaulAssoc-v0``; the fields are the registered kwargs, 1:1.

    ``scenario`` is a registered channel generator (``"cellfree_3slope"``, the default, with
    [EGAT]'s Table I values: 8 APs × 2 antennas, 4 UEs, 30 dBm, 10 MHz; or ``"cellfree_umi"``,
    ``"mmwave28"``) or any :class:`~ua_envs.core.channels.ChannelGenerator`. The channel fields
    (:data:`CHANNEL_FIELDS`, ``num_bs`` … ``outage``) default to ``None``: the scenario's value,
    written once in its config (:mod:`ua_envs.core.channels.generators`, which also holds their
    physical bounds); a field the scenario does not take is a ``ValueError``. After
    construction they hold the values in force (fields the scenario does not have stay
    ``None``). ``bandwidth_hz`` also sets the loads ``bandwidth · rate``; a user generator whose
    config has no ``bandwidth_hz`` gets the ``bandwidth_hz`` of its samples.

    ``capacity_mbps`` and ``multipliers`` accept a scalar (same for every AP) or one value per
    AP; ``weights`` one value per UE. After validation they are stored as tuples of floats of
    length M (or K).

    :param capacity_mbps: fronthaul capacity ``C_m`` [Mbit/s], in ``(0, 1e6]`` (default 60).
    :param multipliers: Lagrange multipliers ``μ_m`` in ``[0, 1e6]`` (default 1.0).
    :param weights: UE weights ``w_k`` in ``[0, 1e6]``; ``None`` for all ones.
    :param reward_mode: ``"lagrangian"`` (default, [EGAT] eq. 32) or ``"penalty"``.
    :param enforce_fronthaul: ``None`` (default: loads are only reported) or ``"scale"``.
    :param beamforming: ``"mrt"`` (default), ``"zf"``, ``"rzf"`` (partial RZF),
        ``"rzf_restricted"``, ``"wmmse"`` or ``"fc_zf"`` (docs/model.md §2).
    :param horizon: decisions per episode, ``>= 1`` (default 1).
    :param load_rate_unit: the logarithm of the fronthaul load, ``"bit"`` (default: ``log2``,
        loads in bit/s) or ``"nat"`` (``ln``, loads in nat/s, [EGAT]'s reading); the reward's
        rate term stays in bit/s/Hz (module docstring).
    :param preset: the paper preset :func:`make_config` applied (:mod:`ua_envs.presets`), or
        ``None``; building the dataclass directly only checks and records the name.
    """

    num_bs: int = None  # type: ignore[assignment]  #: M access points (cellfree_3slope: 8)
    num_antennas: int = None  # type: ignore[assignment]  #: N antennas per AP (2)
    num_ues: int = None  # type: ignore[assignment]  #: K single-antenna UEs (4)
    scenario: str | ChannelGenerator = "cellfree_3slope"  #: channel generator (model.md §3)
    tx_power_dbm: float = None  # type: ignore[assignment]  #: per-AP power [dBm] (30)
    bandwidth_hz: float = None  # type: ignore[assignment]  #: bandwidth [Hz] (10e6)
    area_m: float = None  # type: ignore[assignment]  #: side of the square [m] (500)
    noise_power_dbm: float = None  # type: ignore[assignment]  #: noise per UE [dBm] (-85)
    noise_figure_db: float = None  # type: ignore[assignment]  #: UE noise figure [dB]
    shadowing_std_db: float = None  # type: ignore[assignment]  #: shadowing std [dB] (8)
    shadowing_delta: float = None  # type: ignore[assignment]  #: AP/UE shadowing split (0.5)
    decorrelation_distance_m: float = None  # type: ignore[assignment]  #: d_dc [m] (100)
    correlated_shadowing: bool = None  # type: ignore[assignment]  #: UMi: correlate shadowing
    ap_height_m: float = None  # type: ignore[assignment]  #: AP antenna height [m] (15)
    ue_height_m: float = None  # type: ignore[assignment]  #: UE antenna height [m] (1.65)
    height_difference_m: float = None  # type: ignore[assignment]  #: UMi AP–UE height [m]
    carrier_ghz: float = None  # type: ignore[assignment]  #: carrier [GHz] (1.9)
    num_paths: int = None  # type: ignore[assignment]  #: mmwave28: paths per link
    angular_spread_deg: float = None  # type: ignore[assignment]  #: mmwave28: rms spread [deg]
    outage: bool = None  # type: ignore[assignment]  #: mmwave28: Akdeniz outage state
    capacity_mbps: float | Sequence[float] = 60.0  #: C_m [Mbit/s], scalar or per AP
    multipliers: float | Sequence[float] = 1.0  #: μ_m in [0, 1e6], scalar or per AP
    weights: Sequence[float] | None = None  #: w_k in [0, 1e6] per UE (None: ones)
    reward_mode: str = "lagrangian"  #: "lagrangian" or "penalty"
    enforce_fronthaul: str | None = None  #: None or "scale"
    #: "mrt", "zf", "rzf", "rzf_restricted", "wmmse", "fc_zf" or "agent" (in the action)
    beamforming: str = "mrt"
    horizon: int = 1  #: decisions per episode
    load_rate_unit: str = "bit"  #: "bit" (log2) or "nat" (ln) in the fronthaul load
    preset: str | None = None  #: the paper preset make_config applied (ua_envs.presets)

    channel_fields: ClassVar[tuple[str, ...]] = CHANNEL_FIELDS

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: normalised values are written once, here
        super().__post_init__()
        generator = self.channel_generator
        sizes = check_sizes(self.num_bs, self.num_ues, self.num_antennas)
        for name, value in zip(("num_bs", "num_ues", "num_antennas"), sizes, strict=True):
            set_(self, name, value)
        bandwidth = self.bandwidth_hz
        if bandwidth is None:  # a user generator whose config has no bandwidth
            bandwidth = _user_bandwidth_hz(generator)
        set_(
            self,
            "bandwidth_hz",
            check_float_range("bandwidth_hz", bandwidth, MIN_BANDWIDTH_HZ, MAX_BANDWIDTH_HZ),
        )
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
            per_ap_values(
                "multipliers", self.multipliers, self.num_bs, positive=False, high=MAX_MULTIPLIER
            ),
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
        check_choice("beamforming", self.beamforming, (*BEAMFORMERS, AGENT_BEAMFORMING))
        if self.beamforming == "fc_zf" and self.num_ues > self.num_bs * self.num_antennas:
            raise ValueError(
                f"beamforming='fc_zf' needs num_ues <= num_bs * num_antennas, got "
                f"num_ues={self.num_ues}, num_bs * num_antennas={self.num_bs * self.num_antennas}"
            )
        set_(self, "horizon", check_int_range("horizon", self.horizon, 1))
        if not isinstance(self.load_rate_unit, str) or self.load_rate_unit not in LOAD_RATE_UNITS:
            raise ValueError(
                f"load_rate_unit must be 'bit' (log2, loads in bit/s) or 'nat' (ln, loads in "
                f"nat/s), got {self.load_rate_unit!r}"
            )
        check_preset("FronthaulAssoc", self.preset)


def make_config(kwargs: Mapping[str, Any]) -> FronthaulConfig:
    """A :class:`FronthaulConfig` from env kwargs; unknown names raise ``ValueError``."""
    return config_from_kwargs(FronthaulConfig, kwargs, "FronthaulAssoc")


@dataclass
class FronthaulState:
    """Batched state; every tensor field has the batch ``B`` as its first dim.

    Before the first decision of an episode the outcome fields (``association`` …
    ``multipliers``) are zeros (``beam_scale`` ones).
    """

    channels: Tensor  #: (B, M, K, N) complex64 [sqrt(W)]: the instance the next action decides on
    served_channels: Tensor  #: (B, M, K, N) complex64: the instance of the last decision
    future_channels: Tensor  #: (B, H-1, M, K, N) complex64: the episode's later channels
    large_scale_gain_db: Tensor  #: (B, M, K) float32 [dB]: 10 log10 β (path loss + shadowing)
    channel_obs: Tensor  #: (B, M, K, 2N) float32: [Re(h/σ_k), Im(h/σ_k)] of ``channels``
    gain_db: Tensor  #: (B, M, K) float32 [dB]: 10 log10(‖h_mk‖²/σ_k²) of ``channels``, clipped
    tx_power: Tensor  #: (B, M) float32 [W]
    noise_power: Tensor  #: (B, K) float32 [W]
    bs_positions: Tensor  #: (B, M, 2) float32 [m]
    ue_positions: Tensor  #: (B, K, 2) float32 [m]
    step_count: Tensor  #: (B,) int64: decisions taken in this episode
    association: Tensor  #: (B, M, K) bool: last decision as served (all False before one)
    beam_scale: Tensor  #: (B, K) float32: amplitude factor of the fronthaul scaling (1 = none)
    rates: Tensor  #: (B, K) float32 [bit/s/Hz] of the last decision
    load_bps: Tensor  #: (B, M) float32 [bit/s; nat/s if load_rate_unit="nat"] last loads
    wsr: Tensor  #: (B,) float32 [bit/s/Hz] weighted sum rate of the last decision
    reward: Tensor  #: (B,) float32 reward of the last decision
    multipliers: Tensor  #: (B, M) float32: μ the last decision was scored with


class Evaluation(NamedTuple):
    """The physics of an association on a batch of instances (:meth:`FronthaulSimulator.score`).

    ``beams`` ``(B, M, K, N)`` complex (after the scaling heuristic, if any), ``rates`` ``(B, K)``
    [bit/s/Hz], ``load_bps`` ``(B, M)`` [bit/s; nat/s with ``load_rate_unit="nat"``], ``wsr``
    ``(B,)`` [bit/s/Hz], ``beam_scale`` ``(B, K)`` amplitude factors, ``reward`` ``(B,)``
    (docs/model.md §4.3).
    """

    beams: Tensor
    rates: Tensor
    load_bps: Tensor
    wsr: Tensor
    beam_scale: Tensor
    reward: Tensor


def _binary(name: str, array: np.ndarray) -> np.ndarray:
    """``array != 0`` after checking it holds only 0/1 (bool, integer or float)."""
    kind = array.dtype.kind
    if kind == "b":
        return array
    if kind not in "iuf":
        raise ValueError(f"{name} must be bool, integer or float 0/1, got dtype {array.dtype}")
    bad = (array != 0) & (array != 1)
    if bad.any():
        values = np.unique(array[bad])[:5].tolist()
        raise ValueError(f"{name} entries must be 0 or 1 (MultiBinary), got values {values}")
    return array != 0


def check_binary_action(
    action: Any, shapes: Sequence[tuple[int, ...]], out_shape: tuple[int, ...], name: str
) -> np.ndarray:
    """A single (unbatched) 0/1 action as a bool numpy array of ``out_shape``.

    :param action: array-like or tensor of bool, integer or float entries that are 0 or 1.
    :param shapes: accepted shapes (the first is named in messages as the flat layout).
    :param name: what messages call it (``"action"``, ``"action of ap_0"``).
    :raises ValueError: another shape, a non-numeric dtype, NaN or an entry other than 0/1.
    """
    if isinstance(action, Tensor):
        action = action.detach().cpu().numpy()
    try:
        array = np.asarray(action)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of 0/1, got {action!r}") from None
    if array.shape not in shapes:
        accepted = " or ".join(str(shape) for shape in shapes)
        raise ValueError(f"{name} must have shape {accepted}, got {array.shape}")
    return _binary(name, array).reshape(out_shape)


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


class FronthaulSimulator(DecisionSimulator[FronthaulState]):
    """Batched simulator of ``FronthaulAssoc-v0`` (see the module docstring).

    :param config: the env's :class:`FronthaulConfig`.
    :param batch_size: default number of instances ``B`` drawn by :meth:`reset`.
    :param device: torch device of every tensor (the reset generator must live there).
    """

    #: ``reset`` options: ``"instance"`` (a :class:`~ua_envs.envs.contract.ChannelInstance`)
    #: and ``"multipliers"`` (μ for this and later episodes).
    option_keys = ("instance", "multipliers")
    instance_type = ChannelInstance

    def __init__(
        self, config: FronthaulConfig, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        super().__init__(config, batch_size, device)
        self.bandwidth_hz = float(config.bandwidth_hz)
        #: ``bandwidth_hz`` times the factor of ``load_rate_unit``: ``load = this · Σ x · rate``.
        self.load_scale_hz = self.bandwidth_hz * LOAD_RATE_UNITS[config.load_rate_unit]
        f32 = torch.float32
        self.capacity_bps = torch.tensor(config.capacity_mbps, dtype=f32, device=self.device) * 1e6
        self._capacity_mbps = self.capacity_bps * 1e-6  # (M,) the observation's capacities
        self.weights = torch.tensor(config.weights, dtype=f32, device=self.device)  # (K,)
        #: μ ``(M,)`` of every decision from now on (reward parameter, like ``C`` and ``w``).
        self.multipliers = torch.tensor(config.multipliers, dtype=f32, device=self.device)

    # ------------------------------------------------------------------ multipliers / options

    def parse_multipliers(self, value: Any) -> Tensor:
        """``value`` (scalar or length M, in ``[0, 1e6]``) as a float32 ``(M,)`` tensor."""
        values = per_ap_values(
            "multipliers", value, self.num_bs, positive=False, high=MAX_MULTIPLIER
        )
        return torch.tensor(values, dtype=torch.float32, device=self.device)

    def set_multipliers(self, value: Any) -> None:
        """Use μ = ``value`` (scalar or ``(M,)``, in ``[0, 1e6]``) for every decision from now
        on (states already drawn included: μ is read when a decision is scored)."""
        self.multipliers = self.parse_multipliers(value)

    def take_multipliers(self, options: Any, ignore: tuple[str, ...] = ()) -> Any:
        """Apply ``options["multipliers"]`` now and return the other options.

        For adapters whose resets draw from a chunk or replay the options at every autoreset
        (μ then stays what was set last, e.g. by :meth:`set_multipliers`). The keys are checked
        first (nothing is applied when one is unknown); anything but a mapping is returned
        unchanged (and rejected by :meth:`reset`).

        :param ignore: keys left to the caller (PettingZoo's probe key).
        :raises ValueError: an unknown key (naming the valid ones) or bad multipliers.
        """
        if not isinstance(options, Mapping) or "multipliers" not in options:
            return options
        self.check_options({key: value for key, value in options.items() if key not in ignore})
        if options["multipliers"] is not None:
            self.set_multipliers(options["multipliers"])
        rest = {key: value for key, value in options.items() if key != "multipliers"}
        return rest or None

    # ------------------------------------------------------------------ reset / step

    def _reset(
        self, generator: torch.Generator, options: dict[str, Any], batch: int
    ) -> FronthaulState:
        """Draw ``batch_size`` (default: the simulator's) fresh episodes.

        Draws, in this order, from ``generator`` only: the scenario's sample (positions,
        shadowing, first small-scale fading) and, for ``horizon > 1``, the Rayleigh fading of
        the later decisions on the episode's large-scale gains (positions and large-scale gains
        are kept for the whole episode).

        :param generator: the env's single random source; on the simulator's device.
        :param options: ``None`` or a dict with ``"instance"``: a
            :class:`~ua_envs.envs.contract.ChannelInstance` played instead of a draw (arrays
            with or without the batch dim; every decision of the episode is taken on it; the
            generator is unused) and/or ``"multipliers"``: μ (scalar or ``(M,)``) for this and
            later episodes.
        :raises ValueError: an unknown option key (the message lists the valid ones), a bad
            instance or bad multipliers.
        """
        if options.get("multipliers") is not None:
            self.set_multipliers(options["multipliers"])
        cfg = self.config
        later = cfg.horizon - 1
        instance = options.get("instance")
        if instance is not None:
            sample = channel_instance_sample(instance, batch, cfg, device=self.device)
            future = sample.channels.unsqueeze(1).expand(-1, later, -1, -1, -1).clone()
        else:
            sample = self.channel_generator.sample(generator, batch)
            if later > 0:
                gains = sample.large_scale_gain_db.unsqueeze(1).expand(-1, later, -1, -1)
                future = rayleigh_channels(generator, gains, cfg.num_antennas)
            else:
                future = sample.channels.new_zeros((batch, 0, *sample.channels.shape[1:]))
        f32 = torch.float32
        dev = self.device
        num_bs, num_ues = self.num_bs, self.num_ues
        channels = sample.channels.to(torch.complex64)
        noise_power = sample.noise_power.to(f32)
        channel_obs, gain_db, _ = channel_features(channels, noise_power)
        return FronthaulState(
            channels=channels,
            served_channels=channels,
            future_channels=future.to(torch.complex64),
            large_scale_gain_db=sample.large_scale_gain_db.to(f32),
            channel_obs=channel_obs,
            gain_db=gain_db,
            tx_power=sample.tx_power.to(f32),
            noise_power=noise_power,
            bs_positions=sample.bs_positions.to(f32),
            ue_positions=sample.ue_positions.to(f32),
            step_count=torch.zeros(batch, dtype=torch.long, device=dev),
            association=torch.zeros(batch, num_bs, num_ues, dtype=torch.bool, device=dev),
            beam_scale=torch.ones(batch, num_ues, dtype=f32, device=dev),
            rates=torch.zeros(batch, num_ues, dtype=f32, device=dev),
            load_bps=torch.zeros(batch, num_bs, dtype=f32, device=dev),
            wsr=torch.zeros(batch, dtype=f32, device=dev),
            reward=torch.zeros(batch, dtype=f32, device=dev),
            multipliers=torch.zeros(batch, num_bs, dtype=f32, device=dev),
        )

    def parse_action(self, action: Any, batch_size: int) -> Tensor:
        """Validate a batched action; bool ``(B, M, K)`` (see :func:`parse_association`)."""
        parsed = parse_association(action, batch_size, self.num_bs, self.num_ues)
        return parsed.to(self.device)

    def check_agent_action(self, action: Any, batch_size: int) -> AgentAction:
        """Validate a batched ``beamforming="agent"`` action (:mod:`ua_envs.envs.agent_beams`):
        ``{"association": (B, M*K) or (B, M, K) 0/1, "beams": (B, M, K, N, 2) real/imaginary
        parts}``.

        :return: the association as a bool ``(B, M, K)`` tensor (:meth:`parse_action`) and the
            unscaled beams as ``(B, M, K, N)`` complex64, both on the device.
        :raises ValueError: not such a dict, a bad association, beams of another shape or with
            NaN/inf.
        """
        return check_agent_action(
            action,
            self.parse_action,
            batch_size,
            self.num_bs,
            self.num_ues,
            self.num_antennas,
            device=self.device,
        )

    def step(self, state: FronthaulState, action: Any) -> tuple[FronthaulState, Tensor, Tensor]:
        """Serve the association ``action`` and score it with the simulator's μ.

        :param action: ``(B, M*K)`` or ``(B, M, K)`` 0/1 (bool, integer or float; validated by
            :func:`parse_association`, free for a bool tensor); with ``beamforming="agent"``
            the dict of :meth:`check_agent_action`, whose beams are masked to the association
            and projected to each AP's power (:func:`~ua_envs.core.signal.project_power`).
        :return: ``(state, reward (B,) float32, terminated (B,) bool)``; an episode ends after
            ``horizon`` decisions. For ``horizon > 1`` the next decision's channels are swapped
            in (rows that ended keep the instance they decided on).
        :raises ValueError: a malformed action.
        """
        batch = state.channels.shape[0]
        beams = None
        if is_agent_mode(self.config):
            association, raw_beams = self.check_agent_action(action, batch)
            beams = project_power(
                raw_beams, association.to(raw_beams.real.dtype), state.tx_power, validate=False
            )
        else:
            association = self.parse_action(action, batch)
        with torch.no_grad():
            result = self._score(
                state,
                association.to(state.channels.real.dtype),
                self.config.enforce_fronthaul,
                beams,
            )
        count = state.step_count + 1
        terminated = count >= self.config.horizon
        channels, channel_obs, gain_db = state.channels, state.channel_obs, state.gain_db
        if self.config.horizon > 1:
            index = (count - 1).clamp(max=self.config.horizon - 2)
            upcoming = state.future_channels[torch.arange(batch, device=self.device), index]
            channels = torch.where(terminated[:, None, None, None], state.channels, upcoming)
            channel_obs, gain_db, _ = channel_features(channels, state.noise_power)
        new_state = replace(
            state,
            channels=channels,
            served_channels=state.channels,
            channel_obs=channel_obs,
            gain_db=gain_db,
            step_count=count,
            association=association,
            beam_scale=result.beam_scale,
            rates=result.rates,
            load_bps=result.load_bps,
            wsr=result.wsr,
            reward=result.reward,
            multipliers=self.multipliers.expand(batch, -1).clone(),
        )
        return new_state, result.reward, terminated

    # ------------------------------------------------------------------ physics

    def beams(self, state: FronthaulState, association: Tensor) -> Tensor:
        """Beams of the configured beamformer for ``association`` on ``state.channels``.

        Joint transmission restricted to the association, per-AP power normalised (``"mrt"``:
        [EGAT] eq. 36–37; ``"zf"``/``"rzf_restricted"``: restricted (R)ZF; ``"wmmse"``: joint
        WMMSE). ``"rzf"`` is the partial RZF (Björnson & Sanguinetti 2020) with unit-norm beams
        and one common scale (the most loaded AP at exactly ``P_m``). For ``"fc_zf"`` the
        centralised ZF of every AP to every UE with one common scale (docs/model.md §2), then
        masked to the association without renormalisation (equal to the paper's FC-ZF for the
        all-ones association).

        :param association: ``(B, M, K)`` bool or float in [0, 1].
        :return: ``(B, M, K, N)`` complex beams, zero outside the association.
        """
        h = state.channels
        a = association.to(h.real.dtype)
        method = self.config.beamforming
        if method == AGENT_BEAMFORMING:
            raise ValueError(
                "beamforming='agent' has no beamformer of its own: give the beams (evaluate("
                "..., beams=...), score(..., beams=...), or the action's 'beams')"
            )
        if method == "mrt":
            return mrt(h, a, state.tx_power, transmission="joint", validate=False)
        if method == "zf":
            return zf(h, a, state.tx_power, state.noise_power, "joint", validate=False)
        if method == "rzf":
            return rzf(h, a, state.tx_power, state.noise_power, "joint", validate=False)
        if method == "rzf_restricted":
            return rzf_restricted(h, a, state.tx_power, state.noise_power, validate=False)
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
        return per_ue, fronthaul_load(association, per_ue, self.load_scale_hz, validate=False)

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

    def _score(
        self,
        state: FronthaulState,
        association: Tensor,
        enforce: str | None,
        beams: Tensor | None = None,
    ) -> Evaluation:
        """The physics of a validated float ``(B, M, K)`` association: the beams (``beams``
        if given, already projected), the scaling heuristic when ``enforce == "scale"``, the
        rates, loads and the reward with the simulator's μ."""
        if beams is None:
            beams = self.beams(state, association)
        scale = None
        if enforce == "scale":
            with torch.no_grad():
                scale = self.fronthaul_scaling(state, beams, association)
            beams = beams * scale.to(beams.dtype)[:, None, :, None]
        per_ue, load = self._rates_and_load(state, beams, association, None)
        wsr = (self.weights * per_ue).sum(dim=-1)
        excess = (load - self.capacity_bps) / self.bandwidth_hz  # (B, M) bit/s/Hz
        if self.config.reward_mode == "penalty":
            excess = excess.clamp_min(0.0)
        reward = wsr - (self.multipliers * excess).sum(dim=-1)
        if scale is None:
            scale = torch.ones_like(per_ue)
        return Evaluation(beams, per_ue, load, wsr, scale.to(per_ue.dtype), reward)

    def _prepare(
        self, state: FronthaulState, association: Any, beams: Any
    ) -> tuple[Tensor, Tensor | None]:
        """Validate (once) an association and optional beams; the float association and the
        beams projected to each AP's power budget (``None``: the configured beamformer)."""
        return decision_inputs(association, beams, channels=state.channels, tx_power=state.tx_power)

    def score(
        self,
        state: FronthaulState,
        association: Any,
        *,
        enforce_fronthaul: str | None,
        beams: Any = None,
    ) -> Evaluation:
        """The physics of ``association`` on ``state`` with a chosen enforcement: beams, rates,
        loads, weighted sum rate, beam scale and reward (the computation :meth:`step` and
        :meth:`evaluate` use; baselines call it with ``enforce_fronthaul=None`` to test
        associations under the plain beams). Differentiable like :meth:`evaluate`.

        :param association: ``(B, M, K)`` or ``(M, K)`` bool or float in ``[0, 1]``.
        :param enforce_fronthaul: ``None`` (loads only reported) or ``"scale"`` (the heuristic).
        :param beams: as in :meth:`evaluate`.
        :raises ValueError: a bad ``enforce_fronthaul``, association or beams.
        """
        check_choice("enforce_fronthaul", enforce_fronthaul, ENFORCE_MODES)
        assoc, projected = self._prepare(state, association, beams)
        return self._score(state, assoc, enforce_fronthaul, projected)

    def evaluate(self, state: FronthaulState, association: Any, *, beams: Any = None) -> Outcome:
        """The reward of ``association`` on the instances of ``state``, as :meth:`step` scores
        it (the config's ``enforce_fronthaul`` and ``reward_mode``, the simulator's μ).

        The hook for learning-to-optimize agents ([EGAT]): with MRT, ZF or RZF beams (or given
        ``beams``), no enforcement and a float association it is differentiable in the
        association and in ``beams``. The scaling heuristic, when on, runs without gradient
        (its factors are constants of the result).

        :param state: ``B`` instances (from :meth:`reset`, or an env's ``state``).
        :param association: ``(B, M, K)`` or ``(M, K)`` (broadcast), bool or real in
            ``[0, 1]`` (fractional = relaxed).
        :param beams: ``None``: the configured beamformer on ``association``; else ``(B, M,
            K, N)`` complex beams (e.g. a learned beamforming head), projected to each AP's
            power budget with :func:`ua_envs.core.signal.project_power` before scoring.
        :return: :class:`~ua_envs.envs.contract.Outcome`: ``reward`` ``(B,)`` (Lagrangian or
            penalty), ``rates`` ``(B, K)`` [bit/s/Hz] as served (after scaling),
            ``association`` ``(B, M, K)`` float (the input as scored; scaling never changes
            it) and ``metrics``: ``wsr`` and ``sum_rate`` ``(B,)``, ``fronthaul_load_mbps``
            and ``fronthaul_violation`` ``(B, M)`` [Mbit/s], ``feasible`` ``(B,)`` bool,
            ``beam_scale`` ``(B, K)``, ``aps_per_ue`` ``(B, K)`` (``Σ_m x_mk``, float).
        :raises ValueError: wrong shapes, NaN/inf, an association outside ``[0, 1]``.
        """
        assoc, projected = self._prepare(state, association, beams)
        result = self._score(state, assoc, self.config.enforce_fronthaul, projected)
        return Outcome(
            reward=result.reward,
            rates=result.rates,
            association=assoc,
            metrics={
                "wsr": result.wsr,
                "sum_rate": result.rates.sum(dim=-1),
                **self._load_metrics(result.load_bps),
                "beam_scale": result.beam_scale,
                "aps_per_ue": assoc.sum(dim=1),
            },
        )

    def _load_metrics(self, load_bps: Tensor) -> dict[str, Tensor]:
        """``fronthaul_load_mbps``, ``fronthaul_violation`` [Mbit/s] and ``feasible``."""
        return {
            "fronthaul_load_mbps": load_bps * 1e-6,
            "fronthaul_violation": (load_bps - self.capacity_bps).clamp_min(0.0) * 1e-6,
            "feasible": (load_bps <= self.capacity_bps).all(dim=-1),
        }

    def local_rewards(self, state: FronthaulState) -> Tensor:
        """Per-AP rewards of the last decision ``(B, M)`` (PettingZoo ``reward="local"``).

        ``Σ_k x_mk w_k log2(1 + SINR_k) − μ_m max(0, load_m − C_m) / bandwidth``: the weighted
        rate AP m serves minus its own fronthaul violation [bit/s/Hz], with the μ of the
        decision.
        """
        served_rate = (
            state.association.to(state.rates.dtype) * (self.weights * state.rates).unsqueeze(1)
        ).sum(dim=-1)
        violation = (state.load_bps - self.capacity_bps).clamp_min(0.0) / self.bandwidth_hz
        return served_rate - state.multipliers * violation

    # ------------------------------------------------------------------ observation / info

    def observe(self, state: FronthaulState, *, copy: bool = True) -> dict[str, Tensor]:
        """Batched observation (fresh tensors; ``copy=False``: views, for callers that copy).

        * ``channel`` ``(B, M, K, 2N)`` float32: ``[Re(h/σ_k), Im(h/σ_k)]`` (noise-normalised).
        * ``gain_db`` ``(B, M, K)`` float32: ``10 log10(‖h_mk‖² / σ_k²)`` [dB], clipped to
          :data:`GAIN_DB_RANGE`.
        * ``capacity_mbps`` ``(B, M)`` float32 [Mbit/s].
        * ``weights`` ``(B, K)`` float32.
        """
        batch = state.channel_obs.shape[0]
        observation = {
            "channel": state.channel_obs,
            "gain_db": state.gain_db,
            "capacity_mbps": self._capacity_mbps.expand(batch, -1),
            "weights": self.weights.expand(batch, -1),
        }
        if copy:
            return {key: value.clone() for key, value in observation.items()}
        return observation

    def action_mask(self, state: FronthaulState) -> Tensor | None:
        """Every association is legal: no mask."""
        del state
        return None

    def info(self, state: FronthaulState, *, copy: bool = True) -> dict[str, Tensor]:
        """Batched info of the last decision (zeros before the first one); fresh tensors.

        ``wsr`` ``(B,)`` = ``Σ_k w_k rate_k``; ``sum_rate`` ``(B,)`` = ``Σ_k rate_k`` (unit
        weights); ``rates`` ``(B, K)`` [bit/s/Hz]; ``association`` ``(B, M, K)`` bool (as
        served); ``fronthaul_load_mbps`` ``(B, M)``; ``fronthaul_violation`` ``(B, M)`` =
        ``max(0, load − C)`` [Mbit/s]; ``feasible`` ``(B,)`` bool (every AP within capacity);
        ``aps_per_ue`` ``(B, K)`` int64; ``beam_scale`` ``(B, K)``; ``multipliers`` ``(B, M)``
        (the μ of the decision).

        :param copy: fresh tensors (``False``: the state's fields as views, for callers that
            copy them anyway).
        """

        views = {
            "wsr": state.wsr,
            "sum_rate": state.rates.sum(dim=-1),
            "rates": state.rates,
            "association": state.association,
            **self._load_metrics(state.load_bps),
            "aps_per_ue": state.association.sum(dim=1),
            "beam_scale": state.beam_scale,
            "multipliers": state.multipliers,
        }
        return arrays.copy_values(views, copy)
