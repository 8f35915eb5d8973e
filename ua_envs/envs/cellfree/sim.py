"""Batch-first simulator of ``CellFreeAssoc-v0``: sequential support-set construction (SPEC §4.2).

Every step adds one (AP, UE) link to the support (the association of a user-centric cell-free
network with joint transmission) or stops with the END token. The action mask enforces the
discrete constraints exactly: each AP serves at most ``max_ues_per_ap`` UEs, each UE is served by
at most ``max_aps_per_ue`` APs, and no link is chosen twice. All tensors are batch first; the
Gymnasium env (``env.py``) runs this simulator at batch size 1 and the vector env (``vector.py``)
at batch size ``num_envs``.

Action encoding (transmitter-major, the bipartite graph's edge order): ``a = m·K + k`` adds the
link (AP m, UE k), ``a = M·K`` is END.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from ua_envs.core import beamforming
from ua_envs.core.channels import SCENARIOS, ChannelSample
from ua_envs.core.channels.common import check_bool
from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, channel_features
from ua_envs.core.signal import rates as signal_rates
from ua_envs.core.units import dbm_to_watt, noise_power_watt
from ua_envs.core.validation import (
    as_tensor,
    check_choice,
    check_finite,
    check_float_range,
    check_int_range,
    check_positive,
)
from ua_envs.envs.base import check_association, config_from_kwargs

__all__ = [
    "BEAMFORMERS",
    "CHANNEL_OBS_BOUND",
    "GAIN_DB_RANGE",
    "INVALID_ACTIONS",
    "REWARD_MODES",
    "CellFreeConfig",
    "CellFreeSimulator",
    "CellFreeState",
    "make_config",
]

#: Beamformers of the terminal / delta reward (all with joint transmission).
BEAMFORMERS = ("mrt", "rzf", "wmmse")
#: ``reward_mode`` values.
REWARD_MODES = ("terminal", "delta")
#: ``invalid_action`` values.
INVALID_ACTIONS = ("terminate", "raise", "ignore")
#: Channel scenarios this env draws from (SPEC §3.3).
CELLFREE_SCENARIOS = ("cellfree_umi",)


@dataclass(frozen=True)
class CellFreeConfig:
    """Parameters of ``CellFreeAssoc-v0``; the registered kwargs map 1:1 to these fields.

    :param num_bs: ``M`` access points, ``>= 1``.
    :param num_antennas: ``N`` antennas per AP, ``>= 1``.
    :param num_ues: ``K`` single-antenna UEs, ``>= 1``.
    :param tx_power_dbm: per-AP power [dBm] (default 200 mW).
    :param area_m: side of the wrap-around square [m].
    :param height_difference_m: AP–UE height difference [m] (3-D distance).
    :param bandwidth_hz: system bandwidth [Hz]; sets the noise power.
    :param noise_figure_db: UE noise figure [dB].
    :param shadowing_std_db: shadow fading standard deviation [dB].
    :param correlated_shadowing: correlate shadowing over UEs (cell-free book model).
    :param decorrelation_distance_m: shadowing decorrelation distance [m] (if correlated).
    :param scenario: channel generator name; only ``"cellfree_umi"`` (SPEC §3.3).
    :param beamforming: ``"mrt"``, ``"rzf"`` (default) or ``"wmmse"``, joint transmission.
    :param max_ues_per_ap: cap on the UEs an AP serves, ``>= 1``.
    :param max_aps_per_ue: cap on the APs serving a UE, ``>= 1``.
    :param require_coverage: END is legal only once every UE has a link (or no link is left).
    :param reward_mode: ``"terminal"`` (sum rate at the end) or ``"delta"`` (per-step gain).
    :param invalid_action: ``"terminate"``, ``"raise"`` or ``"ignore"``.
    :param wmmse_iterations: iteration cap of the WMMSE beamformer, ``>= 1``.
    :param wmmse_tol: WMMSE stopping tolerance on the change of ``Σ log ω``, ``> 0``.
    """

    num_bs: int = 8
    num_antennas: int = 2
    num_ues: int = 6
    tx_power_dbm: float = 23.0103
    area_m: float = 400.0
    height_difference_m: float = 10.0
    bandwidth_hz: float = 20e6
    noise_figure_db: float = 7.0
    shadowing_std_db: float = 4.0
    correlated_shadowing: bool = False
    decorrelation_distance_m: float = 9.0
    scenario: str = "cellfree_umi"
    beamforming: str = "rzf"
    max_ues_per_ap: int = 3
    max_aps_per_ue: int = 3
    require_coverage: bool = False
    reward_mode: str = "terminal"
    invalid_action: str = "terminate"
    wmmse_iterations: int = 100
    wmmse_tol: float = 1e-4

    def __post_init__(self) -> None:
        set_ = object.__setattr__  # frozen: store the normalised values
        set_(self, "num_bs", check_int_range("num_bs", self.num_bs, 1))
        set_(self, "num_antennas", check_int_range("num_antennas", self.num_antennas, 1))
        set_(self, "num_ues", check_int_range("num_ues", self.num_ues, 1))
        set_(self, "tx_power_dbm", check_float_range("tx_power_dbm", self.tx_power_dbm))
        set_(self, "area_m", check_float_range("area_m", self.area_m, 0.0, low_inclusive=False))
        set_(
            self,
            "height_difference_m",
            check_float_range("height_difference_m", self.height_difference_m, 0.0),
        )
        set_(
            self,
            "bandwidth_hz",
            check_float_range("bandwidth_hz", self.bandwidth_hz, 0.0, low_inclusive=False),
        )
        set_(
            self, "noise_figure_db", check_float_range("noise_figure_db", self.noise_figure_db, 0.0)
        )
        set_(
            self,
            "shadowing_std_db",
            check_float_range("shadowing_std_db", self.shadowing_std_db, 0.0),
        )
        check_bool("correlated_shadowing", self.correlated_shadowing)
        set_(
            self,
            "decorrelation_distance_m",
            check_float_range(
                "decorrelation_distance_m", self.decorrelation_distance_m, 0.0, low_inclusive=False
            ),
        )
        check_choice("scenario", self.scenario, CELLFREE_SCENARIOS)
        check_choice("beamforming", self.beamforming, BEAMFORMERS)
        set_(self, "max_ues_per_ap", check_int_range("max_ues_per_ap", self.max_ues_per_ap, 1))
        set_(self, "max_aps_per_ue", check_int_range("max_aps_per_ue", self.max_aps_per_ue, 1))
        check_bool("require_coverage", self.require_coverage)
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)
        check_choice("invalid_action", self.invalid_action, INVALID_ACTIONS)
        set_(
            self, "wmmse_iterations", check_int_range("wmmse_iterations", self.wmmse_iterations, 1)
        )
        set_(
            self,
            "wmmse_tol",
            check_float_range("wmmse_tol", self.wmmse_tol, 0.0, low_inclusive=False),
        )

    @property
    def num_links(self) -> int:
        """``M·K``: the link actions; the END action is ``M·K``."""
        return self.num_bs * self.num_ues

    @property
    def num_actions(self) -> int:
        """``M·K + 1``."""
        return self.num_bs * self.num_ues + 1

    def channel_kwargs(self) -> dict[str, Any]:
        """The kwargs of the scenario's channel generator."""
        return {
            "num_bs": self.num_bs,
            "num_antennas": self.num_antennas,
            "num_ues": self.num_ues,
            "area_m": self.area_m,
            "height_difference_m": self.height_difference_m,
            "bandwidth_hz": self.bandwidth_hz,
            "noise_figure_db": self.noise_figure_db,
            "tx_power_dbm": self.tx_power_dbm,
            "shadowing_std_db": self.shadowing_std_db,
            "correlated_shadowing": self.correlated_shadowing,
            "decorrelation_distance_m": self.decorrelation_distance_m,
        }


def make_config(kwargs: dict[str, Any]) -> CellFreeConfig:
    """A :class:`CellFreeConfig` from env kwargs; unknown names raise ``ValueError``."""
    return config_from_kwargs(CellFreeConfig, kwargs, "CellFreeAssoc")


@dataclass(frozen=True)
class CellFreeState:
    """Batched state; every tensor field has the batch ``B`` as its first dim."""

    channels: Tensor  # (B, M, K, N) complex64 [sqrt(W)]
    tx_power: Tensor  # (B, M) float32 [W]
    noise_power: Tensor  # (B, K) float32 [W]
    bs_positions: Tensor  # (B, M, 2) float32 [m]
    ue_positions: Tensor  # (B, K, 2) float32 [m]
    channel_features: Tensor  # (B, M, K, 2N) float32: [Re, Im] of h / σ_k (observation)
    gain_db: Tensor  # (B, M, K) float32 [dB]: 10 log10(||h||² / σ_k²) (observation)
    support: Tensor  # (B, M, K) bool: chosen links
    ap_load: Tensor  # (B, M) int64: UEs served by each AP
    ue_degree: Tensor  # (B, K) int64: APs serving each UE
    action_mask: Tensor  # (B, M·K + 1) bool: legal actions of this state
    done: Tensor  # (B,) bool: the episode has ended (only END legal)
    invalid: Tensor  # (B,) bool: the last action was illegal
    sum_rate: Tensor  # (B,) float64 [bit/s/Hz]: of the last evaluated support (see rates)
    rates: Tensor  # (B, K) float32 [bit/s/Hz]: of the last evaluated support


class CellFreeSimulator:
    """Batched dynamics of ``CellFreeAssoc-v0`` (see the module docstring and ``env.py``).

    :param config: the env parameters.
    :param batch_size: default number of parallel episodes ``B`` drawn by :meth:`reset`.
    :param device: torch device of every state tensor.
    """

    def __init__(
        self, config: CellFreeConfig, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        if not isinstance(config, CellFreeConfig):
            raise ValueError(f"config must be a CellFreeConfig, got {type(config).__name__}")
        self.config = config
        self.batch_size = check_int_range("batch_size", batch_size, 1)
        self.device = torch.device(device)
        self._end = config.num_links
        # float64 rewards so that delta rewards telescope exactly (MPS has no float64).
        self.reward_dtype = torch.float32 if self.device.type == "mps" else torch.float64

    # ---------------------------------------------------------------------------------------
    # reset
    # ---------------------------------------------------------------------------------------

    def reset(
        self,
        generator: torch.Generator,
        options: dict[str, Any] | None = None,
        batch_size: int | None = None,
    ) -> CellFreeState:
        """Draw ``batch_size`` (default: the simulator's) fresh instances with an empty support.

        :param generator: the env's single random source (on ``self.device``).
        :param options: ``None``, or a dict with a fixed instance instead of a random draw:
            ``"channels"`` ``(M, K, N)`` or ``(B, M, K, N)`` complex [sqrt(W)], optional
            ``"tx_power"`` ``(M,)`` / ``(B, M)`` [W] and ``"noise_power"`` ``(K,)`` / ``(B, K)``
            [W] (default: the config's), optional ``"bs_positions"`` ``(M, 2)`` and
            ``"ue_positions"`` ``(K, 2)`` [m] (only drawn; default zeros).
        :return: the initial state.
        """
        size = self.batch_size
        if batch_size is not None:
            size = check_int_range("batch_size", batch_size, 1)
        if options:
            sample = self._instance_from_options(options, size)
        else:
            sample = SCENARIOS[self.config.scenario](
                generator, size, **self.config.channel_kwargs()
            )
        return self._initial_state(sample)

    def _instance_from_options(self, options: dict[str, Any], size: int) -> ChannelSample:
        cfg = self.config
        unknown = set(options) - {
            "channels",
            "tx_power",
            "noise_power",
            "bs_positions",
            "ue_positions",
        }
        if unknown:
            raise ValueError(
                f"options has unknown keys {sorted(unknown)}; allowed: channels, tx_power, "
                "noise_power, bs_positions, ue_positions"
            )
        if "channels" not in options:
            raise ValueError("options must contain 'channels' (M, K, N) complex")
        shape = (cfg.num_bs, cfg.num_ues, cfg.num_antennas)

        def batched(name: str, value: Any, tail: tuple[int, ...], dtype: torch.dtype) -> Tensor:
            tensor = as_tensor(name, value, device=self.device)
            if tensor.dim() == len(tail):
                tensor = tensor.unsqueeze(0)
            if tuple(tensor.shape[1:]) != tail or tensor.shape[0] not in (1, size):
                raise ValueError(
                    f"options[{name!r}] must have shape {tail} or {(size, *tail)}, "
                    f"got {tuple(tensor.shape)}"
                )
            return tensor.to(dtype).expand(size, *tail).clone()

        channels = as_tensor("channels", options["channels"], device=self.device)
        if not channels.is_complex():
            raise ValueError(f"options['channels'] must be complex, got dtype {channels.dtype}")
        channels = batched("channels", channels, shape, torch.complex64)
        check_finite("options['channels']", channels)
        tx = options.get("tx_power", dbm_to_watt(cfg.tx_power_dbm))
        tx_power = batched(
            "tx_power",
            torch.as_tensor(tx).expand(cfg.num_bs) if _scalar(tx) else tx,
            (cfg.num_bs,),
            torch.float32,
        )
        check_positive("options['tx_power']", tx_power)
        noise = options.get("noise_power", noise_power_watt(cfg.bandwidth_hz, cfg.noise_figure_db))
        noise_power = batched(
            "noise_power",
            torch.as_tensor(noise).expand(cfg.num_ues) if _scalar(noise) else noise,
            (cfg.num_ues,),
            torch.float32,
        )
        check_positive("options['noise_power']", noise_power)
        bs_positions = batched(
            "bs_positions",
            options.get("bs_positions", torch.zeros(cfg.num_bs, 2)),
            (cfg.num_bs, 2),
            torch.float32,
        )
        ue_positions = batched(
            "ue_positions",
            options.get("ue_positions", torch.zeros(cfg.num_ues, 2)),
            (cfg.num_ues, 2),
            torch.float32,
        )
        power = channels.real.square() + channels.imag.square()
        gain_db = 10.0 * torch.log10(power.mean(dim=-1).clamp_min(1e-30))
        return ChannelSample(
            channels=channels,
            tx_power=tx_power,
            noise_power=noise_power,
            bs_positions=bs_positions,
            ue_positions=ue_positions,
            distances_m=torch.zeros(size, cfg.num_bs, cfg.num_ues, device=self.device),
            large_scale_gain_db=gain_db,
            area_m=cfg.area_m,
            bandwidth_hz=cfg.bandwidth_hz,
        )

    def _initial_state(self, sample: ChannelSample) -> CellFreeState:
        cfg = self.config
        size = sample.batch_size
        dev = self.device
        channels = sample.channels.to(dev)
        noise_power = sample.noise_power.to(dev, torch.float32)
        features, gain_db, _ = channel_features(channels, noise_power)
        support = torch.zeros(size, cfg.num_bs, cfg.num_ues, dtype=torch.bool, device=dev)
        ap_load = torch.zeros(size, cfg.num_bs, dtype=torch.long, device=dev)
        ue_degree = torch.zeros(size, cfg.num_ues, dtype=torch.long, device=dev)
        done = torch.zeros(size, dtype=torch.bool, device=dev)
        return CellFreeState(
            channels=channels,
            tx_power=sample.tx_power.to(dev, torch.float32),
            noise_power=noise_power,
            bs_positions=sample.bs_positions.to(dev, torch.float32),
            ue_positions=sample.ue_positions.to(dev, torch.float32),
            channel_features=features,
            gain_db=gain_db,
            support=support,
            ap_load=ap_load,
            ue_degree=ue_degree,
            action_mask=self._mask(self._open_links(support, ap_load, ue_degree), ue_degree, done),
            done=done,
            invalid=torch.zeros(size, dtype=torch.bool, device=dev),
            sum_rate=torch.zeros(size, dtype=self.reward_dtype, device=dev),
            rates=torch.zeros(size, cfg.num_ues, dtype=torch.float32, device=dev),
        )

    # ---------------------------------------------------------------------------------------
    # masks
    # ---------------------------------------------------------------------------------------

    def _open_links(self, support: Tensor, ap_load: Tensor, ue_degree: Tensor) -> Tensor:
        """``(B, M·K)`` bool: links that are free with both caps open (ignoring ``done``)."""
        cfg = self.config
        return (
            (ap_load < cfg.max_ues_per_ap)[:, :, None]
            & (ue_degree < cfg.max_aps_per_ue)[:, None, :]
            & ~support
        ).view(support.shape[0], cfg.num_links)

    def _mask(self, links: Tensor, ue_degree: Tensor, done: Tensor) -> Tensor:
        """``(B, M·K + 1)`` bool action mask from the open links (see :meth:`_open_links`).

        Rows that ended keep only END legal. END is always legal; with ``require_coverage`` only
        once every UE has a link or no link is left.
        """
        if self.config.require_coverage:
            end = done | (ue_degree > 0).all(dim=-1) | ~links.any(dim=-1)
        else:
            end = torch.ones_like(done)
        return torch.cat([links & ~done[:, None], end[:, None]], dim=-1)

    def action_mask(self, state: CellFreeState) -> Tensor:
        """``(B, M·K + 1)`` bool mask of the legal actions in ``state`` (a fresh tensor)."""
        return state.action_mask.clone()

    # ---------------------------------------------------------------------------------------
    # step
    # ---------------------------------------------------------------------------------------

    def check_action(self, action: Any, batch_size: int) -> Tensor:
        """Validate a batched action and return it as an ``int64`` ``(B,)`` tensor.

        :raises ValueError: wrong shape, non-integer dtype, or a value outside ``[0, M·K]``.
        """
        tensor = action if isinstance(action, Tensor) else as_tensor("action", action)
        if tensor.dtype == torch.bool or tensor.is_floating_point() or tensor.is_complex():
            raise ValueError(f"action must be an integer tensor, got dtype {tensor.dtype}")
        if tuple(tensor.shape) != (batch_size,):
            raise ValueError(f"action must have shape ({batch_size},), got {tuple(tensor.shape)}")
        tensor = tensor.to(device=self.device, dtype=torch.long)
        if bool(((tensor < 0) | (tensor > self._end)).any()):
            bad = tensor[(tensor < 0) | (tensor > self._end)][0]
            raise ValueError(
                f"action must be in [0, {self._end}] (M·K links, END = {self._end}), got {int(bad)}"
            )
        return tensor

    def explain_invalid(self, state: CellFreeState, action: Tensor, row: int) -> str:
        """Why ``action[row]`` is masked in ``state`` (the ``invalid_action="raise"`` message)."""
        cfg = self.config
        value = int(action[row])
        where = f" in sub-env {row}" if state.done.shape[0] > 1 else ""
        if bool(state.done[row]):
            return (
                f"action {value}{where} is invalid: the episode has ended, only END "
                f"({self._end}) is legal"
            )
        if value == self._end:
            uncovered = torch.nonzero(state.ue_degree[row] == 0).flatten().tolist()
            return (
                f"action {value} (END){where} is masked: require_coverage=True and UE(s) "
                f"{uncovered} have no serving AP while links are still feasible"
            )
        ap, ue = divmod(value, cfg.num_ues)
        reasons = []
        if bool(state.support[row, ap, ue]):
            reasons.append("already chosen")
        if int(state.ap_load[row, ap]) >= cfg.max_ues_per_ap:
            reasons.append(f"AP {ap} already serves max_ues_per_ap={cfg.max_ues_per_ap} UEs")
        if int(state.ue_degree[row, ue]) >= cfg.max_aps_per_ue:
            reasons.append(f"UE {ue} is already served by max_aps_per_ue={cfg.max_aps_per_ue} APs")
        return f"action {value} = link (AP {ap}, UE {ue}){where} is masked: " + "; ".join(reasons)

    def step(
        self, state: CellFreeState, action: Tensor, *, validate: bool = True
    ) -> tuple[CellFreeState, Tensor, Tensor]:
        """Apply one action per row.

        :param state: the current batched state.
        :param action: ``(B,)`` integer actions in ``[0, M·K]``.
        :param validate: check the action (callers that already did pass an int64 tensor and
            ``False``).
        :return: ``(state, reward (B,) float64, terminated (B,) bool)``; rows that had already
            ended stay terminated with reward 0 (only END is legal there).
        :raises ValueError: malformed action, or a masked action with ``invalid_action="raise"``.
        """
        cfg = self.config
        size = state.done.shape[0]
        if validate:
            action = self.check_action(action, size)
        legal = state.action_mask.gather(1, action.unsqueeze(-1)).squeeze(-1)
        invalid = ~legal
        if cfg.invalid_action == "raise" and bool(invalid.any()):
            row = int(torch.nonzero(invalid)[0, 0])
            raise ValueError(self.explain_invalid(state, action, row))
        is_end = action == self._end
        add = legal & ~is_end  # legal links (rows that ended have none)
        added = torch.zeros(size, self._end + 1, dtype=torch.bool, device=self.device)
        added.scatter_(1, action[:, None], add[:, None])
        added = added[:, : self._end].view(size, cfg.num_bs, cfg.num_ues)
        support = state.support | added
        ap_load = state.ap_load + added.sum(dim=-1)
        ue_degree = state.ue_degree + added.sum(dim=-2)
        links = self._open_links(support, ap_load, ue_degree)
        # A legal END or the last feasible link ends a running row (done rows have only END).
        finished = legal & ~state.done & (is_end | ~links.any(dim=-1))
        done = state.done | finished
        if cfg.invalid_action == "terminate":
            done = done | invalid
        mask = self._mask(links, ue_degree, done)

        reward = torch.zeros(size, dtype=self.reward_dtype, device=self.device)
        sum_rate, rates = state.sum_rate, state.rates
        # Rows whose reward needs a sum rate: the end (terminal) or every new link (delta).
        evaluate = finished if cfg.reward_mode == "terminal" else add
        if bool(evaluate.any()):
            rows = torch.nonzero(evaluate).flatten()
            new_rates = self.rates_of(
                state.channels[rows],
                support[rows],
                state.tx_power[rows],
                state.noise_power[rows],
            )
            new_sum = new_rates.to(self.reward_dtype).sum(dim=-1)
            reward[rows] = new_sum - sum_rate[rows]  # terminal mode: sum_rate is still 0
            sum_rate = sum_rate.index_copy(0, rows, new_sum)
            rates = rates.index_copy(0, rows, new_rates.to(rates.dtype))

        new_state = CellFreeState(
            channels=state.channels,
            tx_power=state.tx_power,
            noise_power=state.noise_power,
            bs_positions=state.bs_positions,
            ue_positions=state.ue_positions,
            channel_features=state.channel_features,
            gain_db=state.gain_db,
            support=support,
            ap_load=ap_load,
            ue_degree=ue_degree,
            action_mask=mask,
            done=done,
            invalid=invalid,
            sum_rate=sum_rate,
            rates=rates,
        )
        return new_state, reward, done

    def step_one(self, state: CellFreeState, action: int) -> tuple[CellFreeState, float, bool]:
        """:meth:`step` for a batch of one on the CPU, with Python scalars in and out.

        The same transition as ``step(state, torch.tensor([action]))`` (the tests replay both
        on the same episodes), written with numpy on views of the state's CPU tensors: at batch
        size 1 the ~40 small torch operations of the batched update cost more than the update
        itself. The Gymnasium env uses it on the CPU.

        :param state: a state with batch size 1 on the CPU.
        :param action: an integer in ``[0, M·K]`` (the caller validated its type).
        :return: ``(state, reward, terminated)``.
        :raises ValueError: a batch other than one on the CPU, an action out of range, or a masked
            action with ``invalid_action="raise"``.
        """
        cfg = self.config
        end = self._end
        if state.done.shape[0] != 1 or state.done.device.type != "cpu":
            raise ValueError("step_one needs a state with batch size 1 on the CPU; use step")
        if not 0 <= action <= end:
            raise ValueError(f"action must be in [0, {end}] (M·K links, END = {end}), got {action}")
        legal = bool(state.action_mask.numpy()[0, action])
        if not legal and cfg.invalid_action == "raise":
            raise ValueError(self.explain_invalid(state, torch.tensor([action]), 0))
        was_done = bool(state.done.numpy()[0])
        add = legal and action != end
        support, ap_load, ue_degree = state.support, state.ap_load, state.ue_degree
        if add:  # copy on write: state tensors are never modified in place
            support, ap_load, ue_degree = support.clone(), ap_load.clone(), ue_degree.clone()
            ap, ue = divmod(action, cfg.num_ues)
            support.numpy()[0, ap, ue] = True
            ap_load.numpy()[0, ap] += 1
            ue_degree.numpy()[0, ue] += 1
        degree = ue_degree.numpy()[0]
        links = (
            (ap_load.numpy()[0] < cfg.max_ues_per_ap)[:, None]
            & (degree < cfg.max_aps_per_ue)[None, :]
            & ~support.numpy()[0]
        ).reshape(-1)
        any_link = bool(links.any())
        finished = legal and not was_done and (action == end or not any_link)
        done = was_done or finished or (not legal and cfg.invalid_action == "terminate")
        mask = torch.empty(1, end + 1, dtype=torch.bool)
        row = mask.numpy()[0]
        row[:end] = links & (not done)
        if cfg.require_coverage:
            row[end] = done or bool((degree > 0).all()) or not any_link
        else:
            row[end] = True

        reward = 0.0
        sum_rate, rates = state.sum_rate, state.rates
        if finished if cfg.reward_mode == "terminal" else add:
            new_rates = self.rates_of(state.channels, support, state.tx_power, state.noise_power)
            new_sum = new_rates.to(self.reward_dtype).sum(dim=-1)
            # float64 subtraction, as in step (terminal mode: sum_rate is still 0).
            reward = float(new_sum[0]) - float(sum_rate[0])
            sum_rate, rates = new_sum, new_rates.to(rates.dtype)
        new_state = CellFreeState(
            channels=state.channels,
            tx_power=state.tx_power,
            noise_power=state.noise_power,
            bs_positions=state.bs_positions,
            ue_positions=state.ue_positions,
            channel_features=state.channel_features,
            gain_db=state.gain_db,
            support=support,
            ap_load=ap_load,
            ue_degree=ue_degree,
            action_mask=mask,
            done=torch.tensor([done]),
            invalid=torch.tensor([not legal]),
            sum_rate=sum_rate,
            rates=rates,
        )
        return new_state, reward, done

    # ---------------------------------------------------------------------------------------
    # evaluation (physics from ua_envs.core)
    # ---------------------------------------------------------------------------------------

    def beams_of(
        self,
        channels: Tensor,
        association: Tensor,
        tx_power: Tensor,
        noise_power: Tensor,
        beamforming_name: str | None = None,
    ) -> Tensor:
        """Joint-transmission beams ``(b, M, K, N)`` for ``association`` ``(b, M, K)``.

        :param beamforming_name: ``"mrt"``, ``"rzf"`` or ``"wmmse"``; ``None``: the config's.
        """
        name = self.config.beamforming if beamforming_name is None else beamforming_name
        check_choice("beamforming", name, BEAMFORMERS)
        assoc = association.to(tx_power.dtype)
        if name == "mrt":
            return beamforming.mrt(channels, assoc, tx_power, validate=False)
        if name == "rzf":
            return beamforming.rzf(
                channels, assoc, tx_power, noise_power, transmission="joint", validate=False
            )
        return beamforming.wmmse(
            channels,
            assoc,
            tx_power,
            noise_power,
            iterations=self.config.wmmse_iterations,
            tol=self.config.wmmse_tol,
            transmission="joint",
            validate=False,
        )

    def rates_of(
        self,
        channels: Tensor,
        association: Tensor,
        tx_power: Tensor,
        noise_power: Tensor,
        beamforming_name: str | None = None,
    ) -> Tensor:
        """Per-UE rates ``(b, K)`` [bit/s/Hz] of ``association`` with joint transmission.

        The empty support has rate 0 for every UE (no AP transmits). Differentiable in
        ``association`` for ``"mrt"`` and ``"rzf"``.
        """
        assoc = association.to(tx_power.dtype)
        beams = self.beams_of(channels, assoc, tx_power, noise_power, beamforming_name)
        return signal_rates(channels, beams, assoc, noise_power, validate=False)

    def evaluate(
        self,
        state: CellFreeState,
        association: Tensor | None = None,
        *,
        beamforming_name: str | None = None,
    ) -> Tensor:
        """Sum rate ``(B,)`` [bit/s/Hz] of ``association`` (default: the state's support).

        :param association: ``(B, M, K)`` bool or float in [0, 1]; a relaxed (fractional)
            association gives a differentiable sum rate with MRT or RZF.
        :param beamforming_name: ``None`` (the config's), ``"mrt"``, ``"rzf"`` or ``"wmmse"``.
        :raises ValueError: a wrong shape or batch, NaN/inf, an entry outside ``[0, 1]``.
        """
        if association is None:
            assoc = state.support
        else:
            cfg = self.config
            batch = state.channels.shape[0]
            assoc = check_association(
                "association", association, batch, cfg.num_bs, cfg.num_ues, device=self.device
            )
        return self.rates_of(
            state.channels, assoc, state.tx_power, state.noise_power, beamforming_name
        ).sum(dim=-1)

    # ---------------------------------------------------------------------------------------
    # observation / info
    # ---------------------------------------------------------------------------------------

    def observe(self, state: CellFreeState) -> dict[str, Tensor]:
        """Batched observation dict (fresh tensors, no aliasing of the state).

        ``channel`` ``(B, M, K, 2N)`` float32, ``gain_db`` ``(B, M, K)`` float32, ``support``
        ``(B, M, K)`` float32 0/1, ``ap_load`` ``(B, M)`` float32, ``ue_degree`` ``(B, K)``
        float32, ``action_mask`` ``(B, M·K + 1)`` int8.
        """
        return {
            "channel": state.channel_features.clone(),
            "gain_db": state.gain_db.clone(),
            "support": state.support.to(torch.float32),
            "ap_load": state.ap_load.to(torch.float32),
            "ue_degree": state.ue_degree.to(torch.float32),
            "action_mask": state.action_mask.to(torch.int8),
        }

    def info(self, state: CellFreeState) -> dict[str, Tensor]:
        """Batched info dict.

        ``sum_rate`` ``(B,)`` float64 and ``rates`` ``(B, K)`` float32 [bit/s/Hz]: of the support
        as evaluated for the reward (delta mode: the current support; terminal mode: the final
        support once the episode ends, zeros before). ``association`` ``(B, M, K)`` float32: the
        current support. ``invalid_action`` ``(B,)`` bool: the last action was masked.
        """
        return {
            "sum_rate": state.sum_rate.clone(),
            "rates": state.rates.clone(),
            "association": state.support.to(torch.float32),
            "invalid_action": state.invalid.clone(),
        }


def _scalar(value: Any) -> bool:
    return isinstance(value, (int, float)) or (isinstance(value, Tensor) and value.dim() == 0)
