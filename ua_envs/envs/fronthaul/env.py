"""FronthaulAssoc-v0: Bernoulli AP–UE association of a cell-free network under fronthaul limits.

## Description

``M`` access points (APs) with ``N`` antennas each jointly serve ``K`` single-antenna UEs in the
downlink of a user-centric cell-free network ([EGAT], Liu & Zhao 2026). A central unit sends
each UE's data to the APs that serve it over fronthaul links of capacity ``C_m`` [Mbit/s], so AP
m forwards ``load_m = Σ_k x_mk · bandwidth · log2(1 + SINR_k)`` [bit/s] and needs
``load_m ≤ C_m``. Each episode draws one instance of the three-slope cell-free scenario (SPEC
§3.2: 500 m wrap-around square, 8 APs × 2 antennas at 15 m, 4 UEs, 1.9 GHz, 10 MHz, 30 dBm per
AP, −85 dBm noise, COST231-Hata three-slope path loss, 8 dB correlated shadowing, Rayleigh
fading) and asks for one binary association matrix ``x``; [EGAT]'s learner samples it from
per-link Bernoulli probabilities and handles the capacity through a Lagrangian with multipliers
``μ`` updated by dual ascent. The env evaluates ``x`` with the configured beamformer restricted
to it (MRT by default, each AP normalised to its full power, [EGAT] eq. 36–37).

## Action Space

``MultiBinary(M * K)``: ``action[m * K + k] = 1`` means AP m serves UE k (row-major over APs).
An ``(M, K)`` array is accepted too. Every association is legal (no mask); a UE that no AP
serves gets rate 0, an AP that serves nobody sends nothing. A malformed action (another shape,
an entry other than 0/1, NaN, a complex or non-numeric dtype) raises ``ValueError``.

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

With ``SINR_k`` from the beams of ``beamforming`` restricted to the association (SPEC §1–2),
``rate_k = log2(1 + SINR_k)`` [bit/s/Hz] and ``load_m`` [bit/s] as above:

* ``reward_mode="lagrangian"`` (default, [EGAT] eq. 32):
  ``Σ_k w_k rate_k − Σ_m μ_m (load_m − C_m) / bandwidth``;
* ``reward_mode="penalty"``: ``Σ_k w_k rate_k − Σ_m μ_m max(0, load_m − C_m) / bandwidth``.

Both terms are in bit/s/Hz. The Lagrangian rewards unused capacity: at ``μ = 1`` and unit
weights it equals ``Σ_k (1 − |APs serving k|) rate_k + Σ_m C_m / bandwidth``, so a second AP per
UE only pays off once the dual ascent has lowered ``μ`` — set the multipliers you train with.
``μ`` comes from the kwarg ``multipliers`` (scalar or one per AP, ``≥ 0``), can be changed by
``reset(options={"multipliers": ...})`` (kept for later episodes) or by assigning
``env.unwrapped.multipliers`` (applies from the next step), and is read back as
``env.unwrapped.multipliers`` and ``info["multipliers"]``.

``enforce_fronthaul="scale"`` applies [EGAT]'s heuristic before the rates are reported: while
an AP is overloaded, the beam of the weakest UE it serves (smallest ``‖h_mk‖²`` among its UEs
with a rate above 1e-3 bit/s/Hz) is scaled by 0.9 in amplitude, all overloaded APs at once,
per round, for at most 300 rounds, then UEs of APs still overloaded are switched off (rare;
always ends feasible). The association is unchanged; ``info["beam_scale"]`` holds the factors.
See ``ua_envs.envs.fronthaul.sim`` for the details.

## Starting State

A fresh instance drawn by the ``scenario`` generator from the env's single random source.
``reset(seed=s)`` seeds ``np_random`` and the simulator's ``torch.Generator`` from it
(``ua_envs.envs.base``); the vector env's sub-env ``i`` reset with ``s`` draws exactly the
instance of this env reset with ``s + i``. Unseeded resets draw the next instances 64 at a time
from the same generator (faster; still fully determined by the last seed).

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
by ``info["beam_scale"]``, ``rates``, ``fronthaul_load``).

## Arguments

| kwarg | default | meaning |
|---|---|---|
| ``num_bs`` | 8 | ``M`` APs |
| ``num_antennas`` | 2 | ``N`` antennas per AP |
| ``num_ues`` | 4 | ``K`` UEs |
| ``scenario`` | ``"cellfree_3slope"`` | generator: ``"cellfree_3slope"``, ``"cellfree_umi"`` |
| ``tx_power_dbm`` | 30.0 | per-AP power [dBm] |
| ``bandwidth_hz`` | 10e6 | bandwidth [Hz], > 0 |
| ``channel_kwargs`` | None | more generator kwargs (below), e.g. ``area_m``, ``noise_power_dbm`` |
| ``capacity_mbps`` | 60.0 | ``C_m`` in (0, 1e6] Mbit/s, scalar or per AP ([EGAT]: 40–90) |
| ``multipliers`` | 1.0 | ``μ_m ≥ 0``, scalar or one per AP |
| ``weights`` | None (ones) | ``w_k`` in [0, 1e6], one per UE |
| ``reward_mode`` | ``"lagrangian"`` | ``"lagrangian"`` or ``"penalty"`` |
| ``enforce_fronthaul`` | None | None or ``"scale"`` |
| ``beamforming`` | ``"mrt"`` | ``"mrt"``, ``"zf"``, ``"rzf"``, ``"wmmse"``, ``"fc_zf"`` (below) |
| ``horizon`` | 1 | decisions per episode |
| ``render_mode`` | None | None, ``"rgb_array"``, ``"human"`` |

``channel_kwargs`` passes the generator's other kwargs, e.g. ``{"decorrelation_distance_m":
500.0}`` for [EGAT]'s 0.5 km shadowing decorrelation (SPEC default 100 m, Ngo et al.).
``"zf"`` and ``"rzf"`` are partial (R)ZF on the stacked channels of the serving APs and
``"wmmse"`` is joint WMMSE, each followed by per-AP normalisation to full power (SPEC §2);
``"fc_zf"`` is the centralised ZF of every AP to every UE with one common power scale, masked
to the association without renormalisation ([EGAT]'s FC-ZF for the all-ones association).
Every bad value raises ``ValueError`` naming the argument. The baselines ``pc_wmmse`` and
``fc_zf`` (``agents.baselines.fronthaul``) are [EGAT]'s PC-WMMSE and FC-ZF when the env is
built with ``beamforming="wmmse"`` and ``beamforming="fc_zf"`` respectively.

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
>>> obs, reward, terminated, truncated, info = env.step(action.reshape(-1))
>>> terminated, info["aps_per_ue"].tolist()
(True, [2, 2, 2, 2])
>>> load = info["fronthaul_load_mbps"]
>>> bool(np.isclose(reward, info["wsr"] - 0.5 * (load - 40.0).sum() / 10.0, atol=1e-4))
True
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from ua_envs.core.validation import check_choice
from ua_envs.envs.base import (
    RESET_CHUNK,
    ViewerOwner,
    channel_observation_spaces,
    row_numpy,
    select_rows,
    torch_generator,
)
from ua_envs.envs.fronthaul.sim import (
    MAX_OBS_VALUE,
    Evaluation,
    FronthaulConfig,
    FronthaulSimulator,
    FronthaulState,
    make_config,
)
from ua_envs.envs.fronthaul.viewer import FronthaulViewer

__all__ = ["FronthaulAssocEnv", "action_space", "observation_space"]


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


def action_space(config: FronthaulConfig) -> spaces.MultiBinary:
    """``MultiBinary(M * K)``, row-major over APs."""
    return spaces.MultiBinary(config.num_bs * config.num_ues)


class FronthaulAssocEnv(ViewerOwner, gym.Env[dict[str, Any], np.ndarray]):
    """Fronthaul-limited cell-free association; see the module docstring for the full spec.

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: the fields of :class:`~ua_envs.envs.fronthaul.sim.FronthaulConfig`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 2}  # noqa: RUF012

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.render_mode = render_mode
        self.config = make_config(kwargs)
        self.sim = FronthaulSimulator(self.config, batch_size=1, device="cpu")
        self.observation_space = observation_space(self.config)
        self.action_space = action_space(self.config)
        self._generator: torch.Generator | None = None
        self._state: FronthaulState | None = None
        self._chunk: FronthaulState | None = None
        self._chunk_obs: dict[str, np.ndarray] = {}
        self._chunk_pos = 0
        # Observation of the channels tensor it was computed from (reused while they are the
        # same object: after a one-step episode's decision the observation does not change).
        self._obs_of: Tensor | None = None
        self._obs: dict[str, np.ndarray] = {}
        self._viewer: FronthaulViewer | None = None

    # ---- Gymnasium API -----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Draw a new instance; ``options={"multipliers": μ}`` sets μ (kept for later episodes)."""
        super().reset(seed=seed)
        self.sim.apply_options(options)
        if seed is not None or self._generator is None:
            self._generator = torch_generator(self.np_random, "cpu")
            self._chunk = None
            # One instance from the fresh generator: what the vector env's sub-env draws.
            self._state = self.sim.reset(self._generator, None, batch_size=1)
        else:
            self._state, self._obs = self._next_from_chunk()
            self._obs_of = self._state.channels
        if self.render_mode == "human":
            self.render()
        return self._observation(), {}

    def _next_from_chunk(self) -> tuple[FronthaulState, dict[str, np.ndarray]]:
        assert self._generator is not None
        if self._chunk is None or self._chunk_pos >= RESET_CHUNK:
            self._chunk = self.sim.reset(self._generator, None, batch_size=RESET_CHUNK)
            self._chunk_obs = {k: v.numpy() for k, v in self.sim.observe(self._chunk).items()}
            self._chunk_pos = 0
        i = self._chunk_pos
        self._chunk_pos += 1
        state = select_rows(self._chunk, slice(i, i + 1))  # type: ignore[arg-type]
        # The chunk was drawn with the multipliers of that time; use the current ones.
        state.multipliers = self.sim.multipliers.unsqueeze(0).clone()
        return state, {k: v[i] for k, v in self._chunk_obs.items()}

    def _observation(self) -> dict[str, np.ndarray]:
        state = self._require_state()
        if self._obs_of is not state.channels:
            self._obs = row_numpy(self.sim.observe(state))
            self._obs_of = state.channels
        return {key: value.copy() for key, value in self._obs.items()}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Serve the association ``action`` (``(M*K,)`` or ``(M, K)`` of 0/1)."""
        state = self._require_state()
        if int(state.step_count[0]) >= self.config.horizon:
            raise RuntimeError("the episode is over: call reset()")
        association = self.sim.parse_action(np.asarray(action)[None], 1)
        self._state, reward, terminated = self.sim.step(state, association)
        info = row_numpy(self.sim.info(self._state))
        if self.render_mode == "human":
            self.render()
        return self._observation(), float(reward[0]), bool(terminated[0]), False, info

    def render(self) -> np.ndarray | None:
        """``rgb_array``: an ``(H, W, 3)`` uint8 frame; ``human``: draw the window."""
        viewer = self._active_viewer()
        if viewer is None:
            return None
        state = self._require_state()
        decided = int(state.step_count[0]) > 0
        return viewer.render(
            bs_positions=state.bs_positions[0].numpy(),
            ue_positions=state.ue_positions[0].numpy(),
            area_m=self.area_m,
            association=state.association[0].numpy() if decided else None,
            load_mbps=state.load_bps[0].numpy() * 1e-6 if decided else None,
            capacity_mbps=self.capacity_mbps,
            wsr=float(state.wsr[0]) if decided else None,
        )

    # ---- the instance ------------------------------------------------------------------------

    def _make_viewer(self, render_mode: str) -> FronthaulViewer:
        return FronthaulViewer(render_mode)

    def _require_state(self) -> FronthaulState:
        if self._state is None:
            raise RuntimeError("call reset() before using the env")
        return self._state

    @property
    def state(self) -> FronthaulState:
        """The simulator state of the current instance (batch of one)."""
        return self._require_state()

    @property
    def channels(self) -> np.ndarray:
        """``(M, K, N)`` complex64 channels [sqrt(W)] of the current instance (a copy)."""
        return self._require_state().channels[0].numpy().copy()

    @property
    def served_channels(self) -> np.ndarray:
        """``(M, K, N)`` complex64 channels the last decision was evaluated on (a copy).

        Equal to :attr:`channels` when ``horizon == 1``; with ``horizon > 1``, :attr:`channels`
        already holds the next decision's fading.
        """
        return self._require_state().served_channels[0].numpy().copy()

    @property
    def tx_power(self) -> np.ndarray:
        """``(M,)`` float32 per-AP transmit power [W] (a copy)."""
        return self._require_state().tx_power[0].numpy().copy()

    @property
    def noise_power(self) -> np.ndarray:
        """``(K,)`` float32 per-UE noise power [W] (a copy)."""
        return self._require_state().noise_power[0].numpy().copy()

    @property
    def large_scale_gain_db(self) -> np.ndarray:
        """``(M, K)`` float32 large-scale gain ``10 log10 β`` [dB] (a copy)."""
        return self._require_state().large_scale_gain_db[0].numpy().copy()

    @property
    def bs_positions(self) -> np.ndarray:
        """``(M, 2)`` AP positions [m] (a copy)."""
        return self._require_state().bs_positions[0].numpy().copy()

    @property
    def ue_positions(self) -> np.ndarray:
        """``(K, 2)`` UE positions [m] (a copy)."""
        return self._require_state().ue_positions[0].numpy().copy()

    @property
    def area_m(self) -> float:
        """Side of the square deployment [m]."""
        return self.config.area_m

    @property
    def bandwidth_hz(self) -> float:
        """System bandwidth [Hz] (loads are ``bandwidth_hz · rate``)."""
        return self.sim.bandwidth_hz

    @property
    def capacity_mbps(self) -> np.ndarray:
        """``(M,)`` float32 fronthaul capacity ``C_m`` [Mbit/s] (a copy)."""
        return (self.sim.capacity_bps * 1e-6).numpy().copy()

    @property
    def weights(self) -> np.ndarray:
        """``(K,)`` float32 UE weights (a copy)."""
        return self.sim.weights.numpy().copy()

    @property
    def beamforming(self) -> str:
        """The beamformer the env evaluates associations with."""
        return self.config.beamforming

    @property
    def multipliers(self) -> np.ndarray:
        """``(M,)`` float32 Lagrange multipliers μ used by the next step (a copy)."""
        return self.sim.multipliers.numpy().copy()

    @multipliers.setter
    def multipliers(self, value: Any) -> None:
        """Set μ (scalar or ``(M,)``, ``≥ 0``) from the next step on, and for later episodes."""
        state = self.sim.set_multipliers(value, self._state)
        if state is not None:
            self._state = state

    def evaluate(self, association: Any, *, enforce_fronthaul: str | None = "config") -> Evaluation:
        """Evaluate an association ``(M, K)`` (bool or float) on the current instance.

        Nothing is stepped. Returns the batch-of-one
        :class:`~ua_envs.envs.fronthaul.sim.Evaluation` (beams, rates, loads, wsr, beam scale,
        reward); differentiable for float associations with MRT/ZF/RZF and no enforcement.
        """
        tensor = torch.as_tensor(
            np.asarray(association) if not isinstance(association, Tensor) else association
        )
        if tuple(tensor.shape) != (self.config.num_bs, self.config.num_ues):
            raise ValueError(
                f"association must have shape ({self.config.num_bs}, {self.config.num_ues}), "
                f"got {tuple(tensor.shape)}"
            )
        return self.sim.evaluate(
            self._require_state(), tensor[None], enforce_fronthaul=enforce_fronthaul
        )
