"""Batch-first simulator of ``CellFreeAssoc-v0``: sequential support-set construction
(docs/model.md §4.2).

Every step adds one (AP, UE) link to the support (the association of a user-centric cell-free
network with joint transmission) or stops with the END token. The action mask enforces the
discrete constraints exactly: each AP serves at most ``max_ues_per_ap`` UEs, each UE is served by
at most ``max_aps_per_ue`` APs, and no link is chosen twice. An episode lasts at most
``M·K + 1`` steps: the step that reaches that cap ends it like END (the only way to reach it is
masked no-ops under ``invalid_action="ignore"``), so the terminal reward is always paid.

All arrays are batch first. The decision step is array-generic (:mod:`ua_envs.core.arrays`):
the vector env (``vector.py``) runs it on torch tensors (any device, batch ``num_envs``), the
Gymnasium env (``env.py``) on a numpy copy of its batch-of-one state; the physics of the reward
(beamforming, rates) runs in torch on views of the state (:func:`~ua_envs.envs.base.
state_to_torch`). :meth:`CellFreeSimulator.evaluate` is the differentiable reward of any
(fractional) association.

Action encoding (transmitter-major, the bipartite graph's edge order): ``a = m·K + k`` adds the
link (AP m, UE k), ``a = M·K`` is END.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from ua_envs.core import arrays, beamforming
from ua_envs.core.arrays import Array, arange, namespace, to_float32
from ua_envs.core.channels.common import ChannelSample, check_bool
from ua_envs.core.channels.generators import ChannelGenerator, ScenarioBoundConfig
from ua_envs.core.features import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, channel_features
from ua_envs.core.signal import rates as signal_rates
from ua_envs.core.validation import as_tensor, check_choice, check_float_range, check_int_range
from ua_envs.envs.base import config_from_kwargs, decision_inputs, state_to_torch
from ua_envs.envs.contract import DecisionSimulator, Outcome
from ua_envs.envs.instances import channel_instance_sample
from ua_envs.presets import check_preset

__all__ = [
    "BEAMFORMERS",
    "CHANNEL_FIELDS",
    "CHANNEL_OBS_BOUND",
    "GAIN_DB_RANGE",
    "INVALID_ACTIONS",
    "REWARD_MODES",
    "CellFreeConfig",
    "CellFreeSimulator",
    "CellFreeState",
    "make_config",
]

#: Beamformers of the terminal / delta reward (all with joint transmission; "rzf" is the partial
#: RZF with one common power scale, "rzf_restricted" the restricted form used before issue #12).
BEAMFORMERS = ("mrt", "rzf", "rzf_restricted", "wmmse")
#: ``reward_mode`` values.
REWARD_MODES = ("terminal", "delta")
#: ``invalid_action`` values.
INVALID_ACTIONS = ("terminate", "raise", "ignore")
#: The config fields that parameterise the channel generator (sizes included): the fields of
#: the default ``"cellfree_umi"`` scenario.
CHANNEL_FIELDS = (
    "num_bs",
    "num_antennas",
    "num_ues",
    "area_m",
    "height_difference_m",
    "bandwidth_hz",
    "noise_figure_db",
    "tx_power_dbm",
    "shadowing_std_db",
    "correlated_shadowing",
    "decorrelation_distance_m",
)


@dataclass(frozen=True)
class CellFreeConfig(ScenarioBoundConfig):
    """Parameters of ``CellFreeAssoc-v0``; the registered kwargs map 1:1 to these fields.

    ``scenario`` is a registered channel generator (``"cellfree_umi"``, the default,
    ``"cellfree_3slope"`` or ``"mmwave28"``) or any
    :class:`~ua_envs.core.channels.ChannelGenerator`. The channel fields (``num_bs`` …
    ``decorrelation_distance_m``) default to ``None``: the scenario's value, written once in its
    config (:mod:`ua_envs.core.channels.generators`, which also bounds them: e.g.
    ``tx_power_dbm`` in ``[-100, 100]``, ``shadowing_std_db`` in ``[0, 20]``); after
    construction they hold the values in force (fields the scenario does not have stay
    ``None``).

    :param num_bs: ``M`` access points (cellfree_umi: 8).
    :param num_antennas: ``N`` antennas per AP (2).
    :param num_ues: ``K`` single-antenna UEs (6).
    :param scenario: channel generator (docs/model.md §3).
    :param area_m: side of the wrap-around square [m] (400).
    :param height_difference_m: AP–UE height difference [m] (10; 3-D distance).
    :param bandwidth_hz: system bandwidth [Hz] (20e6); sets the noise power.
    :param noise_figure_db: UE noise figure [dB] (7).
    :param tx_power_dbm: per-AP power [dBm] (23.0103 = 200 mW).
    :param shadowing_std_db: shadow fading standard deviation [dB] (4).
    :param correlated_shadowing: correlate shadowing over UEs (cell-free book model; False).
    :param decorrelation_distance_m: shadowing decorrelation distance [m] (9; if correlated).
    :param beamforming: ``"mrt"``, ``"rzf"`` (default; partial RZF), ``"rzf_restricted"`` or
        ``"wmmse"``, joint transmission (docs/model.md §2).
    :param max_ues_per_ap: cap on the UEs an AP serves, ``>= 1``.
    :param max_aps_per_ue: cap on the APs serving a UE, ``>= 1``.
    :param require_coverage: END is legal only once every UE has a link (or no link is left).
    :param reward_mode: ``"terminal"`` (sum rate at the end) or ``"delta"`` (per-step gain).
    :param invalid_action: ``"terminate"``, ``"raise"`` or ``"ignore"``.
    :param wmmse_iterations: iteration cap of the WMMSE beamformer, ``>= 1``.
    :param wmmse_tol: WMMSE stopping tolerance on the change of ``Σ log ω``, ``> 0``.
    :param preset: the paper preset :func:`make_config` applied (:mod:`ua_envs.presets`),
        or ``None``; building the dataclass directly only checks and records the name.
    """

    num_bs: int = None  # type: ignore[assignment]
    num_antennas: int = None  # type: ignore[assignment]
    num_ues: int = None  # type: ignore[assignment]
    scenario: str | ChannelGenerator = "cellfree_umi"
    area_m: float = None  # type: ignore[assignment]
    height_difference_m: float = None  # type: ignore[assignment]
    bandwidth_hz: float = None  # type: ignore[assignment]
    noise_figure_db: float = None  # type: ignore[assignment]
    tx_power_dbm: float = None  # type: ignore[assignment]
    shadowing_std_db: float = None  # type: ignore[assignment]
    correlated_shadowing: bool = None  # type: ignore[assignment]
    decorrelation_distance_m: float = None  # type: ignore[assignment]
    beamforming: str = "rzf"
    max_ues_per_ap: int = 3
    max_aps_per_ue: int = 3
    require_coverage: bool = False
    reward_mode: str = "terminal"
    invalid_action: str = "terminate"
    wmmse_iterations: int = 100
    wmmse_tol: float = 1e-4
    preset: str | None = None

    channel_fields: ClassVar[tuple[str, ...]] = CHANNEL_FIELDS

    def __post_init__(self) -> None:
        super().__post_init__()
        set_ = object.__setattr__  # frozen: store the normalised values
        for name in ("num_bs", "num_antennas", "num_ues"):
            set_(self, name, int(getattr(self, name)))
        check_choice("beamforming", self.beamforming, BEAMFORMERS)
        set_(self, "max_ues_per_ap", check_int_range("max_ues_per_ap", self.max_ues_per_ap, 1))
        set_(self, "max_aps_per_ue", check_int_range("max_aps_per_ue", self.max_aps_per_ue, 1))
        check_bool("require_coverage", self.require_coverage)
        check_choice("reward_mode", self.reward_mode, REWARD_MODES)
        check_choice("invalid_action", self.invalid_action, INVALID_ACTIONS)
        set_(
            self,
            "wmmse_iterations",
            check_int_range("wmmse_iterations", self.wmmse_iterations, 1),
        )
        set_(
            self,
            "wmmse_tol",
            check_float_range("wmmse_tol", self.wmmse_tol, 0.0, low_inclusive=False),
        )
        check_preset("CellFreeAssoc", self.preset)

    @property
    def num_links(self) -> int:
        """``M·K``: the link actions; the END action is ``M·K``."""
        return self.num_bs * self.num_ues

    @property
    def num_actions(self) -> int:
        """``M·K + 1``."""
        return self.num_bs * self.num_ues + 1

    @property
    def max_steps(self) -> int:
        """``M·K + 1``: the step that reaches it ends the episode like END."""
        return self.num_bs * self.num_ues + 1


def make_config(kwargs: Mapping[str, Any]) -> CellFreeConfig:
    """A :class:`CellFreeConfig` from env kwargs; unknown names raise ``ValueError``."""
    return config_from_kwargs(CellFreeConfig, kwargs, "CellFreeAssoc")


@dataclass
class CellFreeState:
    """Batched state; every array has the batch ``B`` as its first dim.

    Torch tensors as built by the simulator; the single env steps a numpy copy of its
    batch-of-one state (:func:`~ua_envs.envs.base.state_to_numpy`) with the same code.
    """

    channels: Array  #: (B, M, K, N) complex64 [sqrt(W)]
    tx_power: Array  #: (B, M) float32 [W]
    noise_power: Array  #: (B, K) float32 [W]
    bs_positions: Array  #: (B, M, 2) float32 [m]
    ue_positions: Array  #: (B, K, 2) float32 [m]
    channel_features: Array  #: (B, M, K, 2N) float32: [Re, Im] of h / σ_k (observation)
    gain_db: Array  #: (B, M, K) float32 [dB]: 10 log10(||h||² / σ_k²) (observation)
    support: Array  #: (B, M, K) bool: chosen links
    ap_load: Array  #: (B, M) int64: UEs served by each AP
    ue_degree: Array  #: (B, K) int64: APs serving each UE
    action_mask: Array  #: (B, M·K + 1) bool: legal actions of this state
    done: Array  #: (B,) bool: the episode has ended (only END legal)
    invalid: Array  #: (B,) bool: the last action was illegal
    sum_rate: Array  #: (B,) float64 [bit/s/Hz]: of the last evaluated support (see rates)
    rates: Array  #: (B, K) float32 [bit/s/Hz]: of the last evaluated support
    steps: Array  #: (B,) int64: steps taken in the episode (the cap is M·K + 1)


class CellFreeSimulator(DecisionSimulator[CellFreeState]):
    """Batched dynamics of ``CellFreeAssoc-v0`` (see the module docstring and ``env.py``).

    :param config: the env parameters.
    :param batch_size: default number of parallel episodes ``B`` drawn by :meth:`reset`.
    :param device: torch device of every state tensor (the generator passed to :meth:`reset`
        must be on the same device).
    """

    #: The single env steps a numpy copy of its state (see :meth:`step`).
    array_generic = True

    def __init__(
        self, config: CellFreeConfig, batch_size: int = 1, device: torch.device | str = "cpu"
    ) -> None:
        if not isinstance(config, CellFreeConfig):
            raise ValueError(f"config must be a CellFreeConfig, got {type(config).__name__}")
        super().__init__(config, batch_size, device)
        self._end = config.num_links
        self._numpy_link_ids = np.arange(self._end)
        # float64 rewards so that delta rewards telescope exactly (MPS has no float64).
        self.reward_dtype = torch.float32 if self.device.type == "mps" else torch.float64

    # ---------------------------------------------------------------------------------------
    # reset
    # ---------------------------------------------------------------------------------------

    def _reset(
        self, generator: torch.Generator, options: dict[str, Any], size: int
    ) -> CellFreeState:
        """Draw ``batch_size`` (default: the simulator's) fresh instances with an empty support.

        :param generator: the env's single random source (on ``self.device``).
        :param options: ``None`` or ``{"instance": ChannelInstance}``: play that instance (its
            arrays with or without the batch dim; powers default to the config's, positions to
            zeros) instead of a draw; the generator is unused.
        :return: the initial state.
        :raises ValueError: an unknown option key (the message lists the valid ones), or a
            malformed instance.
        """
        if options.get("instance") is not None:
            sample = channel_instance_sample(
                options["instance"], size, self.config, device=self.device
            )
        else:
            sample = self.config.channel_generator.sample(generator, size)
        return self._initial_state(sample)

    def _initial_state(self, sample: ChannelSample) -> CellFreeState:
        size = sample.channels.shape[0]
        m, k = self.num_bs, self.num_ues
        dev = self.device
        channels = sample.channels.to(dev, torch.complex64)
        noise_power = sample.noise_power.to(dev, torch.float32)
        features, gain_db, _ = channel_features(channels, noise_power)
        support = torch.zeros(size, m, k, dtype=torch.bool, device=dev)
        ap_load = torch.zeros(size, m, dtype=torch.long, device=dev)
        ue_degree = torch.zeros(size, k, dtype=torch.long, device=dev)
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
            rates=torch.zeros(size, k, dtype=torch.float32, device=dev),
            steps=torch.zeros(size, dtype=torch.long, device=dev),
        )

    # ---------------------------------------------------------------------------------------
    # masks (array-generic)
    # ---------------------------------------------------------------------------------------

    def _open_links(self, support: Array, ap_load: Array, ue_degree: Array) -> Array:
        """``(B, M·K)`` bool: links that are free with both caps open (ignoring ``done``)."""
        cfg = self.config
        return (
            (ap_load < cfg.max_ues_per_ap)[:, :, None]
            & (ue_degree < cfg.max_aps_per_ue)[:, None, :]
            & ~support
        ).reshape(support.shape[0], self._end)

    def _mask(
        self, links: Array, ue_degree: Array, done: Array, any_link: Array | None = None
    ) -> Array:
        """``(B, M·K + 1)`` bool action mask from the open links (see :meth:`_open_links`).

        Rows that ended keep only END legal. END is always legal; with ``require_coverage`` only
        once every UE has a link or no link is left.

        :param any_link: ``links.any(-1)`` if the caller has it.
        """
        if self.config.require_coverage:
            if any_link is None:
                any_link = links.any(-1)
            end = done | (ue_degree > 0).all(-1) | ~any_link
        else:
            end = done | ~done  # all True, in the backend of done (no xp.ones_like call)
        return namespace(links).concatenate([links & ~done[:, None], end[:, None]], -1)

    def action_mask(self, state: CellFreeState) -> Array:
        """``(B, M·K + 1)`` bool mask of the legal actions in ``state`` (a fresh array)."""
        return arrays.copy(state.action_mask)

    # ---------------------------------------------------------------------------------------
    # step (array-generic)
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

    def explain_invalid(self, state: CellFreeState, action: Array, row: int) -> str:
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
            uncovered = np.flatnonzero(_numpy(state.ue_degree[row]) == 0).tolist()
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

    def step(self, state: CellFreeState, action: Any) -> tuple[CellFreeState, Array, Array]:
        """Apply one action per row (array-generic: torch, or the single env's numpy state).

        :param state: the current batched state.
        :param action: ``(B,)`` integer actions in ``[0, M·K]``; validated here for a torch
            state; a numpy state (the single env's) takes an ``int64`` array its adapter
            validated.
        :return: ``(state, reward (B,) float64, terminated (B,) bool)``; rows that had already
            ended stay terminated with reward 0 (only END is legal there). The step that
            reaches ``M·K + 1`` steps ends a running row like END.
        :raises ValueError: malformed action, or a masked action with ``invalid_action="raise"``.
        """
        cfg = self.config
        size = state.done.shape[0]
        if not isinstance(state.done, np.ndarray):
            action = self.check_action(action, size)
        end = self._end
        legal = state.action_mask[arange(size, like=action), action]
        invalid = ~legal
        if cfg.invalid_action == "raise" and bool(invalid.any()):
            row = int(np.flatnonzero(_numpy(invalid))[0])
            raise ValueError(self.explain_invalid(state, action, row))
        is_end = action == end
        add = legal & ~is_end  # legal links (rows that ended have none)
        chosen = self._link_ids(action)[None, :] == action[:, None]  # (B, M·K); END: none
        added = (chosen & add[:, None]).reshape(size, cfg.num_bs, cfg.num_ues)
        support = state.support | added
        ap_load = state.ap_load + added.sum(-1)
        ue_degree = state.ue_degree + added.sum(-2)
        links = self._open_links(support, ap_load, ue_degree)
        any_link = links.any(-1)
        steps = state.steps + 1
        # A legal END, the last feasible link, or the step cap ends a running row (done rows
        # have only END legal).
        finished = ~state.done & ((legal & (is_end | ~any_link)) | (steps >= cfg.max_steps))
        done = state.done | finished
        if cfg.invalid_action == "terminate":
            done = done | invalid
        mask = self._mask(links, ue_degree, done, any_link)

        reward = namespace(state.sum_rate).zeros_like(state.sum_rate)
        sum_rate, rates = state.sum_rate, state.rates
        # Rows whose reward needs a sum rate: the end (terminal) or every new link (delta).
        evaluate = finished if cfg.reward_mode == "terminal" else add
        if bool(evaluate.any()):
            reward, sum_rate, rates = self._score(state, support, evaluate, reward)

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
            steps=steps,
        )
        return new_state, reward, arrays.copy(done)

    def _link_ids(self, like: Array) -> Array:
        """``0 .. M·K - 1`` (int64) in ``like``'s backend and device (cached for numpy)."""
        if isinstance(like, np.ndarray):
            return self._numpy_link_ids
        return torch.arange(self._end, device=like.device)

    def _score(
        self, state: CellFreeState, support: Array, rows: Array, reward: Array
    ) -> tuple[Array, Array, Array]:
        """Reward, ``sum_rate`` and ``rates`` after scoring ``support`` on the rows ``rows``.

        The physics runs in torch (on views of a numpy state); the reward is the new sum rate
        minus the stored one (terminal mode: still 0), in float64.
        """
        if isinstance(support, np.ndarray):
            picked = np.flatnonzero(rows)
            scored = self.rates_of(
                torch.from_numpy(state.channels[picked]),
                torch.from_numpy(support[picked]),
                torch.from_numpy(state.tx_power[picked]),
                torch.from_numpy(state.noise_power[picked]),
            )
            scored_sum = scored.to(self.reward_dtype).sum(dim=-1).numpy()
            sum_rate, rates = state.sum_rate.copy(), state.rates.copy()
            reward[picked] = scored_sum - sum_rate[picked]  # reward: fresh zeros
            sum_rate[picked] = scored_sum
            rates[picked] = scored.numpy()
            return reward, sum_rate, rates
        index = torch.nonzero(rows).flatten()
        new_rates = self.rates_of(
            state.channels[index], support[index], state.tx_power[index], state.noise_power[index]
        )
        new_sum = new_rates.to(self.reward_dtype).sum(dim=-1)
        reward[index] = new_sum - state.sum_rate[index]  # reward: fresh zeros
        sum_rate = state.sum_rate.index_copy(0, index, new_sum)
        rates = state.rates.index_copy(0, index, new_rates.to(state.rates.dtype))
        return reward, sum_rate, rates

    # ---------------------------------------------------------------------------------------
    # physics (ua_envs.core, torch)
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

        :param beamforming_name: one of :data:`BEAMFORMERS`; ``None``: the config's.
        """
        name = self.config.beamforming if beamforming_name is None else beamforming_name
        check_choice("beamforming", name, BEAMFORMERS)
        assoc = association.to(tx_power.dtype)
        if name == "mrt":
            return beamforming.mrt(channels, assoc, tx_power, transmission="joint", validate=False)
        if name == "rzf":
            return beamforming.rzf(
                channels, assoc, tx_power, noise_power, transmission="joint", validate=False
            )
        if name == "rzf_restricted":
            return beamforming.rzf_restricted(
                channels, assoc, tx_power, noise_power, validate=False
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
        ``association`` for ``"mrt"``, ``"rzf"`` and ``"rzf_restricted"``. Not validated (see
        :meth:`evaluate`).

        :param beamforming_name: one of :data:`BEAMFORMERS`; ``None``: the config's.
        """
        assoc = association.to(tx_power.dtype)
        beams = self.beams_of(channels, assoc, tx_power, noise_power, beamforming_name)
        return signal_rates(channels, beams, assoc, noise_power, validate=False)

    def evaluate(self, state: CellFreeState, association: Any, *, beams: Any = None) -> Outcome:
        """Differentiable sum rate [bit/s/Hz] of ``association`` on the instances of ``state``.

        The hook of learning-to-optimize agents, e.g. mid-episode in terminal mode: gradients
        flow to a fractional ``association`` through MRT and both RZFs (WMMSE treats it as the
        served set ``{a > 0}``), and to ``beams``. The caps ``max_ues_per_ap`` /
        ``max_aps_per_ue`` are not applied (they are discrete); ``metrics`` report the loads to
        regularise instead.

        :param state: the instances (from :meth:`reset`, or an env's ``state``).
        :param association: ``(B, M, K)`` (or ``(M, K)``, broadcast) bool or real in ``[0, 1]``.
        :param beams: ``None``: the configured beamformer (joint transmission) on
            ``association``; else ``(B, M, K, N)`` (or ``(M, K, N)``) complex beams ṽ, rescaled
            to each AP's power budget with :func:`ua_envs.core.project_power`.
        :return: :class:`~ua_envs.envs.contract.Outcome`: ``reward`` = ``metrics["sum_rate"]``
            ``(B,)``, ``rates`` ``(B, K)``, ``association`` ``(B, M, K)`` (the input, as
            scored), ``metrics["ap_load"]`` ``(B, M)`` (Σ_k a_{m,k}) and
            ``metrics["ue_degree"]`` ``(B, K)`` (Σ_m a_{m,k}).
        :raises ValueError: wrong shapes, NaN/inf, an association outside ``[0, 1]``, beams
            that are not complex.
        """
        if isinstance(state.done, np.ndarray):
            state = state_to_torch(state)
        assoc, beams = decision_inputs(
            association, beams, channels=state.channels, tx_power=state.tx_power
        )
        if beams is None:
            beams = self.beams_of(state.channels, assoc, state.tx_power, state.noise_power)
        rates = signal_rates(state.channels, beams, assoc, state.noise_power, validate=False)
        sum_rate = rates.sum(-1)
        return Outcome(
            reward=sum_rate,
            rates=rates,
            association=assoc,
            metrics={"sum_rate": sum_rate, "ap_load": assoc.sum(-1), "ue_degree": assoc.sum(-2)},
        )

    def observe(self, state: CellFreeState) -> dict[str, Array]:
        """Batched observation dict (fresh arrays, torch or numpy like the state).

        ``channel`` ``(B, M, K, 2N)`` float32, ``gain_db`` ``(B, M, K)`` float32, ``support``
        ``(B, M, K)`` float32 0/1, ``ap_load`` ``(B, M)`` float32, ``ue_degree`` ``(B, K)``
        float32, ``action_mask`` ``(B, M·K + 1)`` int8.
        """
        return {
            "channel": arrays.copy(state.channel_features),
            "gain_db": arrays.copy(state.gain_db),
            "support": to_float32(state.support),
            "ap_load": to_float32(state.ap_load),
            "ue_degree": to_float32(state.ue_degree),
            "action_mask": _to_int8(state.action_mask),
        }

    def info(self, state: CellFreeState, *, copy: bool = True) -> dict[str, Array]:
        """Batched info dict (fresh arrays, torch or numpy like the state; ``copy=False``: views).

        ``sum_rate`` ``(B,)`` float64 and ``rates`` ``(B, K)`` float32 [bit/s/Hz]: of the support
        as evaluated for the reward (delta mode: the current support; terminal mode: the final
        support once the episode ends, zeros before). ``association`` ``(B, M, K)`` float32: the
        current support. ``invalid_action`` ``(B,)`` bool: the last action was masked.
        """

        views = {
            "sum_rate": state.sum_rate,
            "rates": state.rates,
            "association": to_float32(state.support),
            "invalid_action": state.invalid,
        }
        return arrays.copy_values(views, copy)

    def set_beamforming(self, beamforming_name: str) -> None:
        """Score rewards with ``beamforming_name`` (one of :data:`BEAMFORMERS`) from now on
        (replaces :attr:`config` by a copy with that ``beamforming``)."""
        check_choice("beamforming", beamforming_name, BEAMFORMERS)
        config = copy.copy(self.config)
        object.__setattr__(config, "beamforming", beamforming_name)
        self.config = config


def _numpy(array: Array) -> np.ndarray:
    """``array`` as numpy (a CPU copy of a tensor)."""
    return array if isinstance(array, np.ndarray) else array.numpy(force=True)


def _to_int8(array: Array) -> Array:
    """``array`` cast to int8 (a bool mask becomes 0/1), numpy or torch."""
    if isinstance(array, np.ndarray):
        return array.astype(np.int8)
    return array.to(torch.int8)
