"""FronthaulAssoc-v0: Bernoulli AP–UE association of a cell-free network under fronthaul limits.

## Description

``M`` access points (APs) with ``N`` antennas each jointly serve ``K`` single-antenna UEs in the
downlink of a user-centric cell-free network ([EGAT], Liu & Zhao 2026). A central unit sends
each UE's data to the APs that serve it over fronthaul links of capacity ``C_m`` [Mbit/s], so AP
m forwards ``load_m = Σ_k x_mk · bandwidth · log2(1 + SINR_k)`` [bit/s] and needs
``load_m ≤ C_m``. Each episode draws one instance of the three-slope cell-free scenario
(docs/model.md §3.2: 500 m wrap-around square, 8 APs × 2 antennas at 15 m, 4 UEs, 1.9 GHz,
10 MHz, 30 dBm per AP, −85 dBm noise, COST231-Hata three-slope path loss, 8 dB correlated
shadowing, Rayleigh fading) and asks for one binary association matrix ``x``; [EGAT]'s learner
samples it from per-link Bernoulli probabilities and handles the capacity through a Lagrangian
with multipliers ``μ`` updated by dual ascent. The env evaluates ``x`` with the configured
beamformer restricted to it (MRT by default, each AP normalised to its full power, [EGAT]
eq. 36–37).

## Action Space

``MultiBinary(M * K)``: ``action[m * K + k] = 1`` means AP m serves UE k (row-major over APs).
An ``(M, K)`` array is accepted too. Every association is legal (no mask); a UE that no AP
serves gets rate 0, an AP that serves nobody sends nothing. A malformed action (another shape,
an entry other than 0/1, NaN, a complex or non-numeric dtype) raises ``ValueError``.

With ``beamforming="agent"`` ([EGAT] learns the beams too) the action is a ``Dict``:
``"association"``, the ``MultiBinary`` above, and ``"beams"``, a float32 ``Box`` of shape
``(M, K, N, 2)`` in ``[-1, 1]`` holding the real and imaginary parts of the unscaled beam
``ṽ_mk`` of AP m towards UE k. The env keeps the beams of the associated links, rescales each
AP's beams together to its full power (``ua_envs.core.project_power``) and scores them (the
scaling heuristic, if on, applies after), so only their directions and relative powers matter
(finite values outside the box are accepted). Beams of another shape, with NaN or infinity, or
a non-``Dict`` action raise ``ValueError``. ``ua_envs.wrappers.FlatAgentAction`` flattens this
action into one ``Box`` (for SB3).

## Observation Space

``Dict`` of float32 boxes (``σ_k²`` is UE k's noise power, ``h_mk`` the ``N``-vector channel):

| key | shape | meaning | range |
|---|---|---|---|
| ``channel`` | ``(M, K, 2N)`` | ``[Re(h_mk/σ_k), Im(h_mk/σ_k)]``: N real, then N imag. | ±1e15 |
| ``gain_db`` | ``(M, K)`` | ``10 log10(‖h_mk‖² / σ_k²)`` [dB] | ``[-300, 300]`` |
| ``capacity_mbps`` | ``(M,)`` | fronthaul capacity ``C_m`` [Mbit/s] | ``(0, 1e6]`` |
| ``weights`` | ``(K,)`` | UE weights ``w_k`` | ``[0, 1e6]`` |

The receive SNR of UE k served alone by AP m at full power (MRT) is ``gain_db[m, k] +
tx_power_dbm - 30`` [dB].

## Rewards

With ``SINR_k`` from the beams of ``beamforming`` restricted to the association
(docs/model.md §1–2), ``rate_k = log2(1 + SINR_k)`` [bit/s/Hz] and ``load_m`` [bit/s] as above:

* ``reward_mode="lagrangian"`` (default, [EGAT] eq. 32):
  ``Σ_k w_k rate_k − Σ_m μ_m (load_m − C_m) / bandwidth``;
* ``reward_mode="penalty"``: ``Σ_k w_k rate_k − Σ_m μ_m max(0, load_m − C_m) / bandwidth``.

Both terms are in bit/s/Hz. The Lagrangian rewards unused capacity: at ``μ = 1`` and unit
weights it equals ``Σ_k (1 − |APs serving k|) rate_k + Σ_m C_m / bandwidth``, so a second AP per
UE only pays off once the dual ascent has lowered ``μ`` — set the multipliers you train with.
``μ`` comes from the kwarg ``multipliers`` (scalar or one per AP, in ``[0, 1e6]``), can be
changed by ``reset(options={"multipliers": ...})`` (kept for later episodes) or by assigning
``env.unwrapped.multipliers`` (applies from the next step), and is read back as
``env.unwrapped.multipliers`` and ``info["multipliers"]``.

``load_rate_unit="nat"`` (set by the ``egat`` preset; [EGAT] writes ``log(1 + SINR)`` without
a base) computes the loads with the natural logarithm, ``load_m = Σ_k x_mk · bandwidth ·
ln(1 + SINR_k)`` = ln 2 × the bit load, in nat/s: the capacities ``C_m`` are then read in
Mnat/s, and ``fronthaul_load_mbps``, ``fronthaul_violation``, ``feasible``, the second reward
term (nat/s/Hz), the scaling heuristic and the baselines' feasibility tests all use the nat
load. ``rates``, ``wsr`` and the first reward term stay in bit/s/Hz.

``enforce_fronthaul="scale"`` applies [EGAT]'s heuristic before the rates are reported: while
an AP is overloaded, the beam of the weakest UE it serves (smallest ``‖h_mk‖²`` among its UEs
with a rate above 1e-3 bit/s/Hz) is scaled by 0.9 in amplitude, all overloaded APs at once,
per round, for at most 300 rounds, then UEs of APs still overloaded are switched off (rare;
always ends feasible). The association is unchanged; ``info["beam_scale"]`` holds the factors.
See ``ua_envs.envs.fronthaul.sim`` for the details.

``env.unwrapped.evaluate(association, beams=None)`` scores an ``(M, K)`` association (bool or
relaxed float in ``[0, 1]``) on the current instance without stepping, exactly as ``step``
would, and returns an ``Outcome`` (``reward``, ``rates``, ``association``, ``metrics``:
``wsr``, ``sum_rate``, ``fronthaul_load_mbps``, ``fronthaul_violation``, ``feasible``,
``beam_scale``, ``aps_per_ue``), differentiable for learning-to-optimize agents.

## Starting State

A fresh instance drawn by the ``scenario`` generator from the env's single random source.
``reset(seed=s)`` seeds ``np_random`` and the simulator's ``torch.Generator`` from it
(``ua_envs.envs.base``); the vector env's sub-env ``i`` reset with ``s`` draws exactly the
instance of this env reset with ``s + i``. Unseeded resets draw the next instances 64 at a time
from the same generator (faster; still fully determined by the last seed).

``reset(options=...)`` takes ``"instance"``: a ``ua_envs.envs.contract.ChannelInstance``
(``channels`` ``(M, K, N)`` complex [sqrt(W)], optional ``tx_power`` ``(M,)`` and
``noise_power`` ``(K,)`` [W], positions) played instead of a draw (every decision of the
episode is taken on it), and ``"multipliers"`` (above). Any other key raises ``ValueError``
naming the valid ones.

## Episode End

After ``horizon`` decisions (default 1): ``terminated=True``, ``truncated=False``. With
``horizon > 1`` every decision is taken on a new small-scale (Rayleigh) fading draw of the same
deployment: AP/UE positions and large-scale gains (path loss, shadowing) are kept for the
episode, and all of the episode's fading is drawn at reset. Stepping after the end raises
``RuntimeError``.

## Info

After a step (``M``, ``K`` as above):

| key | type | meaning |
|---|---|---|
| ``wsr`` | float | weighted sum rate ``Σ_k w_k rate_k`` [bit/s/Hz] |
| ``sum_rate`` | float | ``Σ_k rate_k`` (unit weights; equals ``wsr`` at the default weights) |
| ``rates`` | ``(K,)`` float32 | per-UE rate [bit/s/Hz] (after the scaling heuristic, if on) |
| ``association`` | ``(M, K)`` bool | the association as served |
| ``fronthaul_load_mbps`` | ``(M,)`` float32 | ``load_m`` [Mbit/s] |
| ``fronthaul_violation`` | ``(M,)`` float32 | ``max(0, load_m − C_m)`` [Mbit/s] |
| ``feasible`` | bool | every AP within capacity |
| ``aps_per_ue`` | ``(K,)`` int64 | serving APs of each UE |
| ``beam_scale`` | ``(K,)`` float32 | amplitude factor of each UE's beam (1 without scaling) |
| ``multipliers`` | ``(M,)`` float32 | ``μ`` used for this reward |

The loads and the reward are recomputable from ``env.unwrapped.channels`` ``(M, K, N)``
complex (for ``horizon > 1``: ``env.unwrapped.served_channels``, the instance decided on),
``.tx_power`` ``(M,)`` [W], ``.noise_power`` ``(K,)`` [W], ``.bandwidth_hz``,
``.capacity_mbps`` and ``info["association"]`` with ``ua_envs.core`` (beamformer, beams scaled
by ``info["beam_scale"]``, ``rates``, ``fronthaul_load``; with ``load_rate_unit="nat"`` pass
``bandwidth_hz · ln 2`` as its bandwidth).

## Arguments

| kwarg | default | meaning |
|---|---|---|
| ``scenario`` | ``"cellfree_3slope"`` | or ``"cellfree_umi"``, ``"mmwave28"``, a generator |
| ``num_bs`` | None (8) | ``M`` APs |
| ``num_antennas`` | None (2) | ``N`` antennas per AP |
| ``num_ues`` | None (4) | ``K`` UEs |
| ``tx_power_dbm`` | None (30.0) | per-AP power [dBm] |
| ``bandwidth_hz`` | None (10e6) | bandwidth [Hz] in ``[1, 1e12]``; loads are ``bandwidth · rate`` |
| ``area_m``, ``noise_power_dbm``, ... | None | the scenario's other parameters (below) |
| ``capacity_mbps`` | 60.0 | ``C_m`` in (0, 1e6] Mbit/s, scalar or per AP ([EGAT]: 40–90) |
| ``multipliers`` | 1.0 | ``μ_m`` in ``[0, 1e6]``, scalar or one per AP |
| ``weights`` | None (ones) | ``w_k`` in [0, 1e6], one per UE |
| ``reward_mode`` | ``"lagrangian"`` | ``"lagrangian"`` or ``"penalty"`` |
| ``enforce_fronthaul`` | None | None or ``"scale"`` |
| ``beamforming`` | ``"mrt"`` | ``"mrt"``, ``"rzf"``, ``"rzf_restricted"``, … (below) |
| ``horizon`` | 1 | decisions per episode |
| ``load_rate_unit`` | ``"bit"`` | the load's log: ``"bit"`` (log2) or ``"nat"`` (ln; see Rewards) |
| ``preset`` | None | paper preset ``"egat"`` (docs/model.md §5b; explicit kwargs override it) |
| ``render_mode`` | None | None, ``"rgb_array"``, ``"human"`` |

The channel parameters (``num_bs`` … ``bandwidth_hz`` and ``area_m``, ``noise_power_dbm``,
``noise_figure_db``, ``shadowing_std_db``, ``shadowing_delta``, ``decorrelation_distance_m``,
``correlated_shadowing``, ``ap_height_m``, ``ue_height_m``, ``height_difference_m``,
``carrier_ghz``, ``num_paths``, ``angular_spread_deg``, ``outage``) default to None, the
scenario's value (in parentheses: ``cellfree_3slope``'s); afterwards ``env.unwrapped.config``
holds the values in force. A parameter the scenario does not take (e.g. ``noise_power_dbm``
with ``"cellfree_umi"``, whose noise comes from ``bandwidth_hz`` and ``noise_figure_db``) raises
``ValueError``; so does any channel parameter other than the sizes with a ``ChannelGenerator``
object (set it in its config). E.g. ``decorrelation_distance_m=500.0`` gives [EGAT]'s 0.5 km
shadowing decorrelation (model default 100 m, Ngo et al.). ``"zf"`` and ``"rzf_restricted"``
are (R)ZF on the stacked channels restricted to the serving APs and ``"wmmse"`` is joint WMMSE,
each followed by per-AP normalisation to full power; ``"rzf"`` is the partial RZF of Björnson &
Sanguinetti (2020), unit-norm beams regularised against every UE that shares a serving AP, with
one common power scale (the most loaded AP at exactly its power; docs/model.md §2; before issue
#12 ``"rzf"`` was today's ``"rzf_restricted"``); ``"fc_zf"`` is the centralised ZF of
every AP to every UE with one common power scale, masked to the association without
renormalisation ([EGAT]'s FC-ZF for the all-ones association). Every bad value raises
``ValueError`` naming the argument. With ``"agent"`` the beams come with the action (Action
Space). The baselines ``pc_wmmse`` and ``fc_zf`` (``agents.baselines.fronthaul``) are [EGAT]'s
PC-WMMSE and FC-ZF, declared with ``beamforming="wmmse"`` and ``beamforming="fc_zf"``: ``ua-envs
compare`` builds their envs so (docs/agents.md).

## Version History

* v0: initial release.

## Example

>>> import gymnasium as gym
>>> import numpy as np
>>> import ua_envs  # registers the ids
>>> env = gym.make("FronthaulAssoc-v0", capacity_mbps=40.0, multipliers=0.5)
>>> obs, info = env.reset(seed=0)
>>> obs["channel"].shape, obs["gain_db"].shape, obs["capacity_mbps"].shape
((8, 4, 4), (8, 4), (8,))
>>> nearest = obs["gain_db"].argsort(axis=0)[-2:]  # each UE's two strongest APs
>>> action = np.zeros((8, 4), dtype=np.int8)
>>> np.put_along_axis(action, nearest, 1, axis=0)
>>> outcome = env.unwrapped.evaluate(action)  # the reward step() will give, without stepping
>>> obs, reward, terminated, truncated, info = env.step(action.reshape(-1))
>>> terminated, info["aps_per_ue"].tolist()
(True, [2, 2, 2, 2])
>>> bool(np.isclose(reward, float(outcome.reward[0])))
True
>>> load = info["fronthaul_load_mbps"]
>>> bool(np.isclose(reward, info["wsr"] - 0.5 * (load - 40.0).sum() / 10.0, atol=1e-4))
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from ua_envs.envs.agent_beams import agent_action_space, batched_agent_action, is_agent_mode
from ua_envs.envs.base import channel_observation_spaces
from ua_envs.envs.fronthaul.sim import (
    MAX_OBS_VALUE,
    FronthaulConfig,
    FronthaulSimulator,
    FronthaulState,
    check_binary_action,
    make_config,
)
from ua_envs.envs.fronthaul.viewer import FronthaulViewer
from ua_envs.envs.single import ChannelInstanceProperties, EpisodeRunner, SimEnv

__all__ = [
    "FronthaulAssocEnv",
    "FronthaulRunner",
    "action_space",
    "draw_state",
    "observation_space",
]


def observation_space(config: FronthaulConfig) -> spaces.Dict:
    """The single-env observation space of a config (see the module docstring)."""
    m, k, n = config.num_bs, config.num_ues, config.num_antennas
    return spaces.Dict(
        {
            **channel_observation_spaces(m, k, n),
            "capacity_mbps": spaces.Box(0.0, MAX_OBS_VALUE, shape=(m,), dtype=np.float32),
            "weights": spaces.Box(0.0, MAX_OBS_VALUE, shape=(k,), dtype=np.float32),
        }
    )


def action_space(config: FronthaulConfig) -> spaces.MultiBinary | spaces.Dict:
    """``MultiBinary(M * K)``, row-major over APs; with ``beamforming="agent"`` the ``Dict``
    of that (``"association"``) and the beams (``"beams"``, ``Box`` ``(M, K, N, 2)``)."""
    association = spaces.MultiBinary(config.num_bs * config.num_ues)
    if is_agent_mode(config):
        m, k, n = config.num_bs, config.num_ues, config.num_antennas
        return agent_action_space(association, m, k, n)
    return association


def single_spaces(config: FronthaulConfig) -> tuple[spaces.Dict, spaces.MultiBinary | spaces.Dict]:
    """``(observation_space, action_space)`` of the single env."""
    return observation_space(config), action_space(config)


class FronthaulRunner(EpisodeRunner[FronthaulState]):
    """The episode runner with a shortcut of the single-env hot path: the observation is read
    from views of the state (the numpy rows are copies anyway), and the observation of a state
    whose channel features did not change (after a decision with ``horizon == 1``) is reused."""

    def __init__(self, sim: FronthaulSimulator) -> None:
        super().__init__(sim)
        self.fronthaul_sim = sim
        self._observed: torch.Tensor | None = None  # channel_obs the cached observation is of
        self._observation: dict[str, np.ndarray] = {}

    def observation(self) -> dict[str, np.ndarray]:
        """Row 0 of the simulator's observation, as fresh numpy arrays."""
        state = self.require_state()
        if state.channel_obs is not self._observed:
            views = self.fronthaul_sim.observe(state, copy=False)
            self._observation = {key: value[0].numpy(force=True) for key, value in views.items()}
            self._observed = state.channel_obs
        return {key: value.copy() for key, value in self._observation.items()}


def draw_state(
    viewer: FronthaulViewer, sim: FronthaulSimulator, runner: EpisodeRunner[FronthaulState]
) -> np.ndarray | None:
    """Draw the runner's current instance (and its last decision, if any) with ``viewer``."""
    state = runner.require_state()
    decided = int(state.step_count[0]) > 0
    area = sim.config.area_m
    frame: np.ndarray | None = viewer.render(
        bs_positions=runner.field("bs_positions"),
        ue_positions=runner.field("ue_positions"),
        area_m=float(area) if area is not None else 1.0,
        association=runner.field("association") if decided else None,
        load_mbps=runner.field("load_bps") * 1e-6 if decided else None,
        capacity_mbps=(sim.capacity_bps * 1e-6).numpy(force=True),
        wsr=float(state.wsr[0]) if decided else None,
    )
    return frame


class FronthaulAssocEnv(ChannelInstanceProperties, SimEnv[FronthaulState]):
    """Fronthaul-limited cell-free association; see the module docstring for the full spec.

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: the fields of :class:`~ua_envs.envs.fronthaul.sim.FronthaulConfig`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 2}  # noqa: RUF012
    simulator_class = FronthaulSimulator
    make_config = staticmethod(make_config)
    config: FronthaulConfig
    sim: FronthaulSimulator

    def __init__(
        self, render_mode: str | None = None, device: torch.device | str = "cpu", **kwargs: Any
    ) -> None:
        super().__init__(render_mode=render_mode, device=device, **kwargs)
        self.runner = FronthaulRunner(self.sim)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Draw a new instance; ``options``: ``{"instance": ChannelInstance}`` plays a given
        instance, ``{"multipliers": μ}`` sets μ (kept for later episodes)."""
        # μ is applied here, so that an unseeded reset still draws from the chunk.
        return super().reset(seed=seed, options=self.sim.take_multipliers(options))

    # ---- SimEnv hooks --------------------------------------------------------------------------

    single_spaces = staticmethod(single_spaces)

    def _batch_action(self, action: Any) -> Any:
        m, k = self.config.num_bs, self.config.num_ues

        def check(value: Any) -> np.ndarray:
            return check_binary_action(value, [(m * k,), (m, k)], (m, k), "association")

        if is_agent_mode(self.config):
            return self.sim.check_agent_action(batched_agent_action(action, check), 1)
        matrix = check_binary_action(action, [(m * k,), (m, k)], (1, m, k), "action")
        return torch.from_numpy(matrix).to(self.device)

    def _done(self, state: FronthaulState) -> bool:
        return int(state.step_count[0]) >= self.config.horizon

    def _make_viewer(self, render_mode: str) -> FronthaulViewer:
        return FronthaulViewer(render_mode)

    def _draw(self, viewer: FronthaulViewer, state: FronthaulState) -> np.ndarray | None:
        return draw_state(viewer, self.sim, self.runner)

    # ---- the instance ------------------------------------------------------------------------

    @property
    def served_channels(self) -> np.ndarray:
        """``(M, K, N)`` complex64 channels the last decision was evaluated on (a copy).

        Equal to :attr:`channels` when ``horizon == 1``; with ``horizon > 1``, :attr:`channels`
        already holds the next decision's fading.
        """
        return self.runner.field("served_channels")

    @property
    def large_scale_gain_db(self) -> np.ndarray:
        """``(M, K)`` float32 large-scale gain ``10 log10 β`` [dB] (a copy)."""
        return self.runner.field("large_scale_gain_db")

    @property
    def area_m(self) -> float | None:
        """Side of the square deployment [m] (``None`` for a user generator without one)."""
        return self.config.area_m

    @property
    def bandwidth_hz(self) -> float:
        """System bandwidth [Hz] (loads are ``bandwidth_hz · rate``)."""
        return self.sim.bandwidth_hz

    @property
    def capacity_mbps(self) -> np.ndarray:
        """``(M,)`` float32 fronthaul capacity ``C_m`` [Mbit/s] (a copy)."""
        return (self.sim.capacity_bps * 1e-6).numpy(force=True).copy()

    @property
    def weights(self) -> np.ndarray:
        """``(K,)`` float32 UE weights (a copy)."""
        return self.sim.weights.numpy(force=True).copy()

    @property
    def beamforming(self) -> str:
        """The beamformer the env evaluates associations with."""
        return self.config.beamforming

    @property
    def multipliers(self) -> np.ndarray:
        """``(M,)`` float32 Lagrange multipliers μ used by the next step (a copy)."""
        return self.sim.multipliers.numpy(force=True).copy()

    @multipliers.setter
    def multipliers(self, value: Any) -> None:
        """Set μ (scalar or ``(M,)``, in ``[0, 1e6]``) from the next step on, and for later
        episodes."""
        self.sim.set_multipliers(value)
