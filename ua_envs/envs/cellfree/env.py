"""CellFreeAssoc-v0: sequential support-set construction for user-centric cell-free networks.

## Description

``M`` access points (APs) with ``N`` antennas each serve ``K`` single-antenna UEs by joint
transmission ([SupportSet]). The association of a user-centric cell-free network is its
*support set*: the (AP, UE) links that carry data. The agent builds it one link per step and
stops with an END token; action masks enforce the discrete constraints exactly (each AP serves
at most ``max_ues_per_ap`` UEs, each UE is served by at most ``max_aps_per_ue`` APs), which no
parallel-output method can promise. The final support is scored by the network sum rate with
joint-transmission beams (partial RZF by default, SPEC §2). Channels come from the 3GPP
urban-microcell scenario of SPEC §3.3 (400 m wrap-around square, Rayleigh fading, 4 dB
shadowing, 200 mW per AP, -94 dBm noise).

## Action Space

``Discrete(M·K + 1)``: action ``a = m·K + k`` (``a < M·K``) adds the link (AP ``m``, UE ``k``);
``a = M·K`` is END. The link order is transmitter-major, the edge order of
:func:`ua_envs.graph.cellfree_graph`. The legal actions are ``observation["action_mask"]`` and
``env.action_masks()`` (sb3-contrib), computed after each state update:

* a link is legal iff it is not chosen yet, its AP serves fewer than ``max_ues_per_ap`` UEs and
  its UE is served by fewer than ``max_aps_per_ue`` APs;
* END is always legal; with ``require_coverage=True`` only once every UE has a link (or no link
  is feasible, which ends the episode anyway).

A masked action is handled by ``invalid_action``: ``"terminate"`` (default) ends the episode
with reward 0 and ``info["invalid_action"]=True``; ``"raise"`` raises ``ValueError`` naming the
link (AP m, UE k) and the cap it breaks (or "already chosen"); ``"ignore"`` leaves the state
unchanged (reward 0, ``info["invalid_action"]=True``; the step still counts towards the
``max_episode_steps`` time limit, so a policy that keeps proposing masked actions is truncated).
A malformed action (not an integer, not a scalar, outside ``[0, M·K]``) raises ``ValueError``.

## Observation Space

``Dict`` of float32 boxes and an int8 mask (``σ_k²`` is UE k's noise power, ``h_{m,k}`` the
``N``-vector channel from AP m to UE k):

| key | shape | meaning | range |
|---|---|---|---|
| ``channel`` | ``(M, K, 2N)`` | ``Re(h_{m,k}/σ_k)`` (N), then ``Im(h_{m,k}/σ_k)`` (N) | ``±1e15`` |
| ``gain_db`` | ``(M, K)`` | ``10 log10(‖h_{m,k}‖² / σ_k²)`` [dB] | ``[-300, 300]`` |
| ``support`` | ``(M, K)`` | 1 where the link is chosen | ``{0, 1}`` |
| ``ap_load`` | ``(M,)`` | UEs served by each AP | ``[0, max_ues_per_ap]`` |
| ``ue_degree`` | ``(K,)`` | APs serving each UE | ``[0, max_aps_per_ue]`` |
| ``action_mask`` | ``(M·K + 1,)`` int8 | 1 where the action is legal (END last) | ``{0, 1}`` |

``channel`` is clipped to ``±1e15`` and ``gain_db`` to ``[-300, 300]`` (a zero channel reads
-300 dB, not -inf). The receive SNR of UE k served alone by AP m at full power is ``gain_db[m, k] +
tx_power_dbm - 30`` [dB] (``tx_power_dbm`` = 23.01 by default).

## Rewards

``reward_mode="terminal"`` (default): 0 until the episode ends, then the sum rate
``Σ_k log2(1 + SINR_k)`` [bit/s/Hz] of the final support with the beams of ``beamforming``
(``"mrt"``, ``"rzf"`` (default) or ``"wmmse"``, all joint transmission restricted to the
support, each AP at exactly its power; SPEC §2). ``reward_mode="delta"``: each link adds the
sum-rate gain it brings (END adds 0); the empty support has sum rate 0, so the return
telescopes to the same total. Rewards are float64 so the two returns agree to rounding. An
episode ended by a masked action (``invalid_action="terminate"``) gets reward 0 on that step.

## Starting State

A fresh instance (AP and UE positions, shadowing, Rayleigh fading) drawn by ``scenario`` from the
env's single random source, with an empty support. ``reset(seed=s)`` seeds ``np_random`` and the
simulator's ``torch.Generator`` from it (``ua_envs.envs.base``); the vector env's sub-env ``i``
reset with ``s`` draws exactly the instance of this env reset with ``s + i``. Unseeded resets
draw the next instances 64 at a time from the same generator (faster; still fully determined by
the last seed). ``reset(options={"channels": H, "tx_power": P, "noise_power": σ²})`` plays a
given instance instead (``H`` ``(M, K, N)`` complex [sqrt(W)], ``P`` ``(M,)`` [W], ``σ²``
``(K,)`` [W]; the powers default to the config's; optional ``"bs_positions"``,
``"ue_positions"`` [m] only for rendering).

## Episode End

Termination: END is chosen, or the last link added leaves no legal link, or (with
``invalid_action="terminate"``) a masked action is taken. Truncation: ``max_episode_steps``
(registered as ``M·K + 1`` = 49 at the default size; pass ``max_episode_steps`` to ``gym.make``
for other sizes); a legal episode never needs more than ``min(M·max_ues_per_ap,
K·max_aps_per_ue) + 1`` steps.

## Info

| key | type | meaning |
|---|---|---|
| ``sum_rate`` | float | Σ_k rates [bit/s/Hz] of the support as evaluated for the reward |
| ``rates`` | ``(K,)`` float32 | per-UE rate [bit/s/Hz], same convention |
| ``association`` | ``(M, K)`` float32 | the current support (0/1) |
| ``invalid_action`` | bool | the last action was masked |

"As evaluated for the reward": in delta mode the current support after every step; in terminal
mode the final support on the step that ends the episode, zeros before (the support is not
evaluated mid-episode, which keeps a step cheap).

The terminal reward is recomputable from ``env.unwrapped.channels`` ``(M, K, N)`` complex,
``.tx_power`` ``(M,)`` [W], ``.noise_power`` ``(K,)`` [W] and ``info["association"]`` with
``ua_envs.core`` (e.g. ``rzf(..., transmission="joint")`` then ``sum_rate``).
``env.unwrapped.evaluate(association)`` is the sum rate of any (fractional) support of the
instance (differentiable with MRT and RZF), e.g. mid-episode in terminal mode.

## Arguments

| kwarg | default | meaning |
|---|---|---|
| ``num_bs`` | 8 | ``M`` APs |
| ``num_antennas`` | 2 | ``N`` antennas per AP |
| ``num_ues`` | 6 | ``K`` UEs |
| ``tx_power_dbm`` | 23.0103 | per-AP power [dBm] (200 mW) |
| ``area_m`` | 400.0 | side of the wrap-around square [m] |
| ``height_difference_m`` | 10.0 | AP–UE height difference [m] |
| ``bandwidth_hz`` | 20e6 | bandwidth [Hz] (noise -174 dBm/Hz + 10 log10 B + NF) |
| ``noise_figure_db`` | 7.0 | UE noise figure [dB] |
| ``shadowing_std_db`` | 4.0 | shadow fading std [dB] |
| ``correlated_shadowing`` | False | shadowing correlated over UEs (``2^{-d/d_dc}``) |
| ``decorrelation_distance_m`` | 9.0 | ``d_dc`` [m] |
| ``scenario`` | ``"cellfree_umi"`` | channel generator (SPEC §3.3) |
| ``beamforming`` | ``"rzf"`` | ``"mrt"``, ``"rzf"``, ``"wmmse"`` (joint transmission) |
| ``max_ues_per_ap`` | 3 | UEs an AP may serve, ≥ 1 |
| ``max_aps_per_ue`` | 3 | APs that may serve a UE, ≥ 1 |
| ``require_coverage`` | False | END only once every UE has a link |
| ``reward_mode`` | ``"terminal"`` | ``"terminal"`` or ``"delta"`` |
| ``invalid_action`` | ``"terminate"`` | ``"terminate"``, ``"raise"``, ``"ignore"`` |
| ``wmmse_iterations`` | 100 | WMMSE iteration cap |
| ``wmmse_tol`` | 1e-4 | WMMSE tolerance on the change of ``Σ log ω`` |
| ``render_mode`` | None | None, ``"rgb_array"``, ``"human"`` |

Every bad value raises ``ValueError`` naming the argument.

## Version History

* v0: initial release.

## Example

>>> import gymnasium as gym
>>> import numpy as np
>>> import ua_envs  # registers the ids
>>> env = gym.make("CellFreeAssoc-v0")
>>> obs, info = env.reset(seed=0)
>>> obs["channel"].shape, obs["support"].shape, obs["action_mask"].shape
((8, 6, 4), (8, 6), (49,))
>>> strongest = obs["gain_db"].argmax(axis=0)  # each UE's strongest AP
>>> for k, m in enumerate(strongest):
...     obs, reward, terminated, truncated, info = env.step(int(m) * 6 + k)
>>> obs["support"].sum(), reward  # terminal reward: 0 until END
(np.float32(6.0), 0.0)
>>> obs, reward, terminated, truncated, info = env.step(8 * 6)  # END
>>> terminated, bool(np.isclose(reward, info["sum_rate"])), info["association"].sum()
(True, True, np.float32(6.0))
"""

from __future__ import annotations

import dataclasses
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
    check_scalar_action,
    split_rows,
    torch_generator,
)
from ua_envs.envs.cellfree.sim import (
    CellFreeConfig,
    CellFreeSimulator,
    CellFreeState,
    make_config,
)

__all__ = ["CellFreeAssocEnv", "observation_space"]


def observation_space(config: CellFreeConfig) -> spaces.Dict:
    """The single-env observation space of a config (see the module docstring)."""
    m, k, n = config.num_bs, config.num_ues, config.num_antennas
    return spaces.Dict(
        {
            **channel_observation_spaces(m, k, n),
            "support": spaces.Box(0.0, 1.0, shape=(m, k), dtype=np.float32),
            "ap_load": spaces.Box(0.0, float(config.max_ues_per_ap), shape=(m,), dtype=np.float32),
            "ue_degree": spaces.Box(
                0.0, float(config.max_aps_per_ue), shape=(k,), dtype=np.float32
            ),
            "action_mask": spaces.Box(0, 1, shape=(config.num_actions,), dtype=np.int8),
        }
    )


class CellFreeAssocEnv(ViewerOwner, gym.Env[dict[str, Any], np.int64]):
    """Sequential cell-free support-set construction; see the module docstring for the spec.

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param device: torch device of the simulator (default CPU, the fast choice at batch 1).
    :param kwargs: the fields of :class:`~ua_envs.envs.cellfree.sim.CellFreeConfig`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self, render_mode: str | None = None, device: torch.device | str = "cpu", **kwargs: Any
    ) -> None:
        check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.render_mode = render_mode
        self.config = make_config(kwargs)
        self.device = torch.device(device)
        self.sim = CellFreeSimulator(self.config, batch_size=1, device=self.device)
        self.observation_space = observation_space(self.config)
        self.action_space = spaces.Discrete(self.config.num_actions)
        self._generator: torch.Generator | None = None
        self._state: CellFreeState | None = None
        self._static: dict[str, np.ndarray] = {}
        self._chunk: list[CellFreeState] = []
        self._viewer: Any = None

    # ---- Gymnasium API -----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Draw a new instance (or play ``options["channels"]``); the support starts empty."""
        super().reset(seed=seed)
        fresh = seed is not None or self._generator is None
        if fresh:
            self._generator = torch_generator(self.np_random, self.device)
            self._chunk = []
        assert self._generator is not None
        if fresh or options:
            # One instance from the fresh generator: what the vector env's sub-env draws.
            self._state = self.sim.reset(self._generator, options or None, batch_size=1)
        else:
            if not self._chunk:
                chunk = self.sim.reset(self._generator, None, batch_size=RESET_CHUNK)
                self._chunk = split_rows(chunk)[::-1]  # popped from the end, in draw order
            self._state = self._chunk.pop()
        state = self._state
        # The channel part of the observation is constant within an episode: convert it once.
        self._static = {
            "channel": state.channel_features.cpu().numpy()[0],
            "gain_db": state.gain_db.cpu().numpy()[0],
        }
        if self.render_mode == "human":
            self.render()
        return self._observation(state), {}

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Add link ``action = m·K + k`` (AP m, UE k) or END (``action = M·K``)."""
        state = self._require_state()
        num_actions = self.config.num_actions
        index = check_scalar_action(
            action, num_actions, meaning=f" (links 0..{num_actions - 2}, END = {num_actions - 1})"
        )
        if self.device.type == "cpu":
            state, reward, terminated = self.sim.step_one(state, index)
        else:
            state, rewards, terminations = self.sim.step(
                state, torch.tensor([index], device=self.device), validate=False
            )
            reward, terminated = float(rewards[0]), bool(terminations[0])
        self._state = state
        observation = self._observation(state)
        info = {
            "sum_rate": float(state.sum_rate.cpu().numpy()[0]),
            "rates": state.rates.cpu().numpy()[0].copy(),
            "association": observation["support"].copy(),
            "invalid_action": bool(state.invalid.cpu().numpy()[0]),
        }
        if self.render_mode == "human":
            self.render()
        return observation, reward, terminated, False, info

    def _observation(self, state: CellFreeState) -> dict[str, np.ndarray]:
        # .numpy()[0] indexes in numpy: a torch index per entry would cost more than the step.
        return {
            "channel": self._static["channel"].copy(),
            "gain_db": self._static["gain_db"].copy(),
            "support": state.support.cpu().numpy()[0].astype(np.float32),
            "ap_load": state.ap_load.cpu().numpy()[0].astype(np.float32),
            "ue_degree": state.ue_degree.cpu().numpy()[0].astype(np.float32),
            "action_mask": state.action_mask.cpu().numpy()[0].astype(np.int8),
        }

    def action_masks(self) -> np.ndarray:
        """``(M·K + 1,)`` bool legal actions of the current state (sb3-contrib convention)."""
        return self._require_state().action_mask.cpu().numpy()[0].copy()

    def render(self) -> np.ndarray | None:
        """``rgb_array``: an ``(H, W, 3)`` uint8 frame; ``human``: draw the window."""
        viewer = self._active_viewer()
        if viewer is None:
            return None
        state = self._require_state()
        ended = bool(state.done[0])
        evaluated = ended or self.config.reward_mode == "delta"
        frame: np.ndarray | None = viewer.render(
            bs_positions=state.bs_positions[0].cpu().numpy(),
            ue_positions=state.ue_positions[0].cpu().numpy(),
            area_m=float(self.config.area_m),
            support=state.support[0].cpu().numpy(),
            rates=state.rates[0].cpu().numpy() if evaluated else None,
            sum_rate=float(state.sum_rate[0]) if evaluated else None,
            ended=ended,
        )
        return frame

    # ---- the instance ------------------------------------------------------------------------

    def _make_viewer(self, render_mode: str) -> Any:
        from ua_envs.envs.cellfree.viewer import CellFreeViewer

        return CellFreeViewer(render_mode)

    def _require_state(self) -> CellFreeState:
        if self._state is None:
            raise RuntimeError("call reset() before using the env")
        return self._state

    @property
    def state(self) -> CellFreeState:
        """The simulator state of the current episode (batch of one)."""
        return self._require_state()

    @property
    def channels(self) -> np.ndarray:
        """``(M, K, N)`` complex64 channels [sqrt(W)] of the current instance (a copy)."""
        return self._require_state().channels[0].cpu().numpy().copy()

    @property
    def tx_power(self) -> np.ndarray:
        """``(M,)`` float32 per-AP transmit power [W] (a copy)."""
        return self._require_state().tx_power[0].cpu().numpy().copy()

    @property
    def noise_power(self) -> np.ndarray:
        """``(K,)`` float32 per-UE noise power [W] (a copy)."""
        return self._require_state().noise_power[0].cpu().numpy().copy()

    @property
    def bs_positions(self) -> np.ndarray:
        """``(M, 2)`` AP positions [m] (a copy)."""
        return self._require_state().bs_positions[0].cpu().numpy().copy()

    @property
    def ue_positions(self) -> np.ndarray:
        """``(K, 2)`` UE positions [m] (a copy)."""
        return self._require_state().ue_positions[0].cpu().numpy().copy()

    @property
    def support(self) -> np.ndarray:
        """``(M, K)`` bool current support (a copy)."""
        return self._require_state().support[0].cpu().numpy().copy()

    def set_beamforming(self, beamforming: str) -> None:
        """Switch the beamformer of the reward (``"mrt"``, ``"rzf"``, ``"wmmse"``) from now on.

        Used by the ``greedy_wmmse`` baseline; the instance, support and seeding are unchanged.
        """
        self.config = dataclasses.replace(self.config, beamforming=beamforming)
        self.sim = CellFreeSimulator(self.config, batch_size=1, device=self.device)

    def evaluate(self, association: Any = None, *, beamforming: str | None = None) -> Tensor:
        """Sum rate [bit/s/Hz] of ``association`` ``(M, K)`` on the current instance.

        :param association: 0/1 or fractional ``(M, K)`` (numpy or torch); ``None``: the current
            support. Differentiable in a float tensor association with MRT and RZF.
        :param beamforming: ``None`` (the env's), ``"mrt"``, ``"rzf"`` or ``"wmmse"``.
        :return: a ``(1,)`` tensor (batch of one).
        """
        state = self._require_state()
        assoc = None
        if association is not None:
            assoc = torch.as_tensor(association, device=self.device)
            if tuple(assoc.shape) != (self.config.num_bs, self.config.num_ues):
                raise ValueError(
                    f"association must have shape ({self.config.num_bs}, {self.config.num_ues}),"
                    f" got {tuple(assoc.shape)}"
                )
            assoc = assoc.unsqueeze(0)
        return self.sim.evaluate(state, assoc, beamforming_name=beamforming)
