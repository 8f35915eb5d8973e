"""CellFreeAssoc-v0: sequential support-set construction for user-centric cell-free networks.

## Description

``M`` access points (APs) with ``N`` antennas each serve ``K`` single-antenna UEs by joint
transmission ([SupportSet]). The association of a user-centric cell-free network is its
*support set*: the (AP, UE) links that carry data. The agent builds it one link per step and
stops with an END token; action masks enforce the discrete constraints exactly (each AP serves
at most ``max_ues_per_ap`` UEs, each UE is served by at most ``max_aps_per_ue`` APs), which no
parallel-output method can promise. The final support is scored by the network sum rate with
joint-transmission beams (partial RZF by default, docs/model.md §2). Channels come from the
3GPP urban-microcell scenario of docs/model.md §3.3 by default (400 m wrap-around square,
Rayleigh fading, 4 dB shadowing, 200 mW per AP, -94 dBm noise).

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
``M·K + 1`` step cap, see Episode End, so a policy that keeps proposing masked actions still
ends and is paid the sum rate of its support). A malformed action (not an integer, not a
scalar, outside ``[0, M·K]``) raises ``ValueError``.

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
(``"rzf"`` (default), ``"rzf_restricted"``, ``"mrt"`` or ``"wmmse"``, all joint transmission
on the support; docs/model.md §2). ``"rzf"`` is the partial RZF of Björnson & Sanguinetti
(2020): each UE's unit-norm precoder is regularised against every UE that shares one of its
serving APs, then one common factor scales all beams so that the most loaded AP uses exactly
its power. ``"rzf_restricted"`` (this env's RZF before issue #12), ``"mrt"`` ([EGAT] eq. 36–37)
and ``"wmmse"`` scale each AP to exactly its power. ``reward_mode="delta"``: each link
adds the sum-rate gain it brings (END adds 0); the empty support has sum rate 0, so the return
telescopes to the same total. Rewards are float64 so the two returns agree to rounding. An
episode ended by a masked action (``invalid_action="terminate"``) gets reward 0 on that step.

## Starting State

A fresh instance (AP and UE positions, shadowing, Rayleigh fading) drawn by ``scenario`` from the
env's single random source, with an empty support. ``reset(seed=s)`` seeds ``np_random`` and the
simulator's ``torch.Generator`` from it (``ua_envs.envs.base``); the vector env's sub-env ``i``
reset with ``s`` draws exactly the instance of this env reset with ``s + i``. Unseeded resets
draw the next instances 64 at a time from the same generator (faster; still fully determined by
the last seed). ``reset(options={"instance": ChannelInstance(channels=H, tx_power=P,
noise_power=σ²)})`` (:class:`ua_envs.envs.contract.ChannelInstance`) plays a given instance
instead (``H`` ``(M, K, N)`` complex [sqrt(W)], ``P`` ``(M,)`` [W], ``σ²`` ``(K,)`` [W]; the
powers default to the config's; ``bs_positions`` / ``ue_positions`` [m] only for rendering).
Any other option key raises ``ValueError`` naming the valid ones.

## Episode End

Termination: END is chosen, or the last link added leaves no legal link, or (with
``invalid_action="terminate"``) a masked action is taken, or the episode reaches ``M·K + 1``
steps: that step is treated as END (the terminal reward of the current support is paid). A
legal episode never needs more than ``min(M·max_ues_per_ap, K·max_aps_per_ue) + 1 <= M·K + 1``
steps, so the cap only ends episodes that spent steps on masked no-ops
(``invalid_action="ignore"``). The env ends by itself at every size: the id is registered
without ``max_episode_steps`` (pass one to ``gym.make`` to truncate earlier; a truncated
episode misses its terminal reward). Stepping after termination raises ``RuntimeError``: call
``reset()``.

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
``env.unwrapped.evaluate(association, beams=None)`` scores any (fractional) support of the
instance, e.g. mid-episode in terminal mode: an :class:`~ua_envs.envs.contract.Outcome` with
the sum rate (differentiable with MRT and both RZFs, and in given ``beams``), the per-UE rates and
the metrics ``sum_rate``, ``ap_load`` (Σ_k a) and ``ue_degree`` (Σ_m a).

## Arguments

| kwarg | default | meaning |
|---|---|---|
| ``num_bs`` | 8 | ``M`` APs |
| ``num_antennas`` | 2 | ``N`` antennas per AP |
| ``num_ues`` | 6 | ``K`` UEs |
| ``scenario`` | ``"cellfree_umi"`` | channel generator (docs/model.md §3) [1] |
| ``area_m`` | 400.0 | side of the wrap-around square [m], in (0, 1e6] |
| ``height_difference_m`` | 10.0 | AP–UE height difference [m] |
| ``bandwidth_hz`` | 20e6 | bandwidth [Hz] in (0, 1e12] (noise -174 dBm/Hz + 10 log10 B + NF) |
| ``noise_figure_db`` | 7.0 | UE noise figure [dB], in [0, 50] |
| ``tx_power_dbm`` | 23.0103 | per-AP power [dBm] (200 mW), in [-100, 100] |
| ``shadowing_std_db`` | 4.0 | shadow fading std [dB], in [0, 20] |
| ``correlated_shadowing`` | False | shadowing correlated over UEs (``2^{-d/d_dc}``) |
| ``decorrelation_distance_m`` | 9.0 | ``d_dc`` [m] |
| ``beamforming`` | ``"rzf"`` | ``"rzf"``/``"rzf_restricted"``/``"mrt"``/``"wmmse"`` (joint) |
| ``max_ues_per_ap`` | 3 | UEs an AP may serve, ≥ 1 |
| ``max_aps_per_ue`` | 3 | APs that may serve a UE, ≥ 1 |
| ``require_coverage`` | False | END only once every UE has a link |
| ``reward_mode`` | ``"terminal"`` | ``"terminal"`` or ``"delta"`` |
| ``invalid_action`` | ``"terminate"`` | ``"terminate"``, ``"raise"``, ``"ignore"`` |
| ``wmmse_iterations`` | 100 | WMMSE iteration cap |
| ``wmmse_tol`` | 1e-4 | WMMSE tolerance on the change of ``Σ log ω`` |
| ``preset`` | None | paper preset ``"supportset"`` (docs/model.md §5b); explicit kwargs win |
| ``render_mode`` | None | None, ``"rgb_array"``, ``"human"`` |

[1] ``"cellfree_umi"`` (docs/model.md §3.3), ``"cellfree_3slope"``, ``"mmwave28"``, or a
``ChannelGenerator`` object. The channel kwargs (``num_bs`` … ``decorrelation_distance_m``)
default to the scenario's values (the table gives ``"cellfree_umi"``'s); a kwarg the scenario
does not have raises ``ValueError``. Every bad value raises ``ValueError`` naming the argument.

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

from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from ua_envs.envs.base import channel_observation_spaces, check_scalar_action
from ua_envs.envs.cellfree.sim import (
    CellFreeConfig,
    CellFreeSimulator,
    CellFreeState,
    make_config,
)
from ua_envs.envs.single import ChannelInstanceProperties, SimEnv

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


def single_spaces(config: CellFreeConfig) -> tuple[spaces.Dict, spaces.Discrete]:
    """``(observation_space, action_space)`` of the single env: ``Discrete(M·K + 1)``."""
    return observation_space(config), spaces.Discrete(config.num_actions)


class CellFreeAssocEnv(ChannelInstanceProperties, SimEnv[CellFreeState]):
    """Sequential cell-free support-set construction; see the module docstring for the spec.

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param device: torch device of the simulator (default CPU, the fast choice at batch 1).
    :param kwargs: the fields of :class:`~ua_envs.envs.cellfree.sim.CellFreeConfig`.
    """

    simulator_class = CellFreeSimulator
    make_config = staticmethod(make_config)
    config: CellFreeConfig
    sim: CellFreeSimulator

    single_spaces = staticmethod(single_spaces)

    def _batch_action(self, action: Any) -> Any:
        num_actions = self.config.num_actions
        index = check_scalar_action(
            action, num_actions, meaning=f" (links 0..{num_actions - 2}, END = {num_actions - 1})"
        )
        if self.runner.numpy_state:
            return np.array([index], dtype=np.int64)
        return torch.tensor([index], device=self.device)

    def _draw(self, viewer: Any, state: CellFreeState) -> np.ndarray | None:
        ended = bool(state.done[0])
        evaluated = ended or self.config.reward_mode == "delta"
        frame: np.ndarray | None = viewer.render(
            bs_positions=self.runner.field("bs_positions"),
            ue_positions=self.runner.field("ue_positions"),
            area_m=float(self.config.area_m or 1.0),
            support=self.runner.field("support"),
            rates=self.runner.field("rates") if evaluated else None,
            sum_rate=float(self.runner.field("sum_rate")) if evaluated else None,
            ended=ended,
        )
        return frame

    def _make_viewer(self, render_mode: str) -> Any:
        from ua_envs.envs.cellfree.viewer import CellFreeViewer

        return CellFreeViewer(render_mode)

    @property
    def support(self) -> np.ndarray:
        """``(M, K)`` bool current support (a copy)."""
        return self.runner.field("support")

    def set_beamforming(self, beamforming: str) -> None:
        """Switch the beamformer of the reward (``"rzf"``, ``"rzf_restricted"``, ``"mrt"``,
        ``"wmmse"``) from now on.

        Used by the ``greedy_wmmse`` baseline; the instance, support and seeding are unchanged.
        """
        self.sim.set_beamforming(beamforming)
        self.config = self.sim.config
