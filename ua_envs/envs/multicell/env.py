"""MultiCellAssoc-v0 and MultiCellAssocBalanced-v0: one-shot multi-cell user association.

## Description

``M`` base stations (BSs) with ``N``-antenna uniform linear arrays serve ``K`` single-antenna UEs in
the downlink ([GS-GNN], [AttSKGS]). Each episode draws one instance of the 28 GHz mmWave scenario
(docs/model.md §3.1: BSs and UEs uniform in a 200 m square, Akdeniz LOS/NLOS path loss, 3-path ULA
channels) and asks for one decision: the BS of every UE. The reward is the network sum rate with the
configured beamformer (MRT by default), so the agent must trade received power against interference
and BS load. ``MultiCellAssocBalanced-v0`` is the same env with a per-BS load limit of ``N`` UEs and
overloaded BSs dropping their weakest UEs ([AttSKGS]).

## Action Space

``MultiDiscrete([M] * K)``: entry ``k`` is the index of the BS that serves UE ``k``. Every
action is legal (``action_masks()`` is all True): a load limit is a joint constraint, handled by
``overload``. A malformed action (shape other than ``(K,)``, non-integer dtype, index outside
``[0, M)``) raises ``ValueError``.

With ``beamforming="agent"`` ([GS-GNN], [AttSKGS] learn the beams too) the action is a ``Dict``:
``"association"``, the ``MultiDiscrete`` above, and ``"beams"``, a float32 ``Box`` of shape
``(M, K, N, 2)`` in ``[-1, 1]`` holding the real and imaginary parts of the unscaled beam
``ṽ_{m,k}`` of BS m towards UE k. The env keeps the beams of the served links, rescales each
BS's beams together to its full power (``ua_envs.core.project_power``) and scores them, so only
their directions and relative powers matter (finite values outside the box are accepted).
Beams of another shape, with NaN or infinity, or a non-``Dict`` action raise ``ValueError``.
``ua_envs.wrappers.FlatAgentAction`` flattens this action into one ``Box`` (for SB3).

## Observation Space

``Dict`` of float32 boxes (``σ_k²`` is UE k's noise power, ``h_{m,k}`` the ``N``-vector channel):

| key | shape | meaning | range |
|---|---|---|---|
| ``channel`` | ``(M, K, 2N)`` | ``[Re(h_{m,k}/σ_k), Im(h_{m,k}/σ_k)]`` | ``±1e15`` |
| ``gain_db`` | ``(M, K)`` | ``10 log10(‖h_{m,k}‖² / σ_k²)`` [dB] | ``[-300, 300]`` |
| ``tx_power_dbm`` | ``(M,)`` | per-BS transmit power [dBm] | ``[-100, 100]`` |

``channel[m, k]`` holds the N real parts, then the N imaginary parts. Values outside the ranges
are clipped (only absurd configurations reach them); a zero channel (outage) reads -300 dB.

The receive SNR of UE k served alone by BS m at full power is ``gain_db[m, k] +
tx_power_dbm[m] - 30`` [dB].

## Rewards

The sum rate ``Σ_k log2(1 + SINR_k)`` [bit/s/Hz] of the association as served, with the
beams of ``beamforming`` (``"mrt"``, ``"mrt_proportional"``, ``"zf"``, ``"rzf"``, ``"wmmse"``;
docs/model.md §2, power of each BS used in full: the served beam powers of BS m add up to
``P_m``). ``"mrt"`` is the papers' MRT, unit-norm beams with an equal share
``P_m / |U_m|`` of the BS power per served UE; ``"mrt_proportional"`` is channel-proportional
MRT (``v ∝ h``, each UE's share proportional to ``‖h_{m,k}‖²``), this env's MRT before issue
#12. With a load limit (``load_limit``), ``overload`` decides:

* ``"drop"``: at each BS with more than ``load_limit`` UEs, the UEs with the weakest channel
  gain ``‖h_{m,k}‖²`` to it are dropped until the load fits; dropped UEs are not served
  (rate 0, ``info["dropped"]``) and the beams are computed for the served UEs only;
* ``"penalty"``: reward = sum rate − ``penalty_weight`` · Σ_m max(0, load_m − load_limit);
* ``"none"``: the load is only reported.

## Starting State

A fresh instance drawn by the ``scenario`` generator (kwargs below) from the env's single
random source. ``reset(seed=s)`` seeds ``np_random`` and the simulator's ``torch.Generator`` from
it (``ua_envs.envs.base``); the vector env's sub-env ``i`` reset with ``s`` draws exactly the
instance of this env reset with ``s + i``. Unseeded resets draw the next instances 64 at a time
from the same generator (faster; still fully determined by the last seed).

## Episode End

Every episode is one step: ``terminated=True`` after the decision, ``truncated=False``.
Stepping again before ``reset()`` raises ``RuntimeError``.

## Info

After the step (``M``, ``K`` as above):

| key | type | meaning |
|---|---|---|
| ``sum_rate`` | float | Σ_k rates [bit/s/Hz] (before any penalty) |
| ``rates`` | ``(K,)`` float32 | per-UE rate [bit/s/Hz] (0 for dropped UEs) |
| ``association`` | ``(M, K)`` float32 | 0/1 association as served (after drops) |
| ``load`` | ``(M,)`` float32 | UEs the action assigned to each BS (before drops) |
| ``violation`` | bool | some BS got more than ``load_limit`` UEs (False without a limit) |
| ``excess`` | float | Σ_m max(0, load_m − load_limit) |
| ``dropped`` | ``(K,)`` bool | UEs dropped by ``overload="drop"`` |
| ``penalty`` | float | sum_rate − reward |

The reward is recomputable from ``env.unwrapped.channels`` ``(M, K, N)`` complex,
``.tx_power`` ``(M,)`` [W], ``.noise_power`` ``(K,)`` [W] and ``info["association"]`` with
``ua_envs.core`` (beamformer, then ``sum_rate``). ``env.unwrapped.evaluate(association,
beams=None)`` is the differentiable sum rate of any (fractional) association of the instance.

## Arguments

| kwarg | default | meaning |
|---|---|---|
| ``num_bs`` | 2 | ``M`` BSs |
| ``num_antennas`` | 4 | ``N`` antennas per BS |
| ``num_ues`` | 8 | ``K`` UEs |
| ``scenario`` | ``"mmwave28"`` | channel generator (docs/model.md §3.1) |
| ``area_m`` | 200.0 | side of the square [m] |
| ``carrier_ghz`` | 28.0 | carrier [GHz] |
| ``bandwidth_hz`` | 1e9 | bandwidth [Hz] (noise -174 dBm/Hz + 10 log10 B + NF) |
| ``tx_power_dbm`` | 30.0 | per-BS power [dBm], finite, in [-100, 100] |
| ``noise_figure_db`` | 0.0 | UE noise figure [dB], ≥ 0 |
| ``num_paths`` | 3 | paths per link |
| ``angular_spread_deg`` | 10.2 | rms angular spread [deg] |
| ``outage`` | False | Akdeniz outage state |
| ``beamforming`` | ``"mrt"`` | the five of Rewards (``"mrt_proportional"``, …) or ``"agent"`` |
| ``load_limit`` | None [1] | max UEs per BS: None, int ≥ 1 or ``"num_antennas"`` (= N) |
| ``overload`` | ``"drop"`` | ``"drop"``, ``"penalty"``, ``"none"`` |
| ``penalty_weight`` | 1.0 | weight of the excess load for ``"penalty"`` |
| ``preset`` | None | paper preset ``"gs-gnn"`` or ``"attskgs"`` (docs/model.md §5b) [2] |
| ``render_mode`` | None | None, ``"rgb_array"``, ``"human"`` |

[1] ``MultiCellAssocBalanced-v0`` registers ``load_limit="num_antennas"``, ``overload="drop"``.
[2] A preset sets the paper's values of the kwargs above; explicit kwargs (the balanced id's
registered ones included) override them, and ``env.unwrapped.config.preset`` records its name.
Every bad value raises ``ValueError`` naming the argument.

## Version History

* v0: initial release.

## Example

```python
>>> import gymnasium as gym
>>> import ua_envs  # registers the ids
>>> env = gym.make("MultiCellAssoc-v0")
>>> obs, info = env.reset(seed=0)
>>> obs["channel"].shape, obs["gain_db"].shape, obs["tx_power_dbm"].shape
((2, 8, 8), (2, 8), (2,))
>>> action = obs["gain_db"].argmax(axis=0)  # each UE to its strongest BS
>>> obs, reward, terminated, truncated, info = env.step(action)
>>> terminated, info["association"].shape, bool(reward == info["sum_rate"])
(True, (2, 8), True)

```
"""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces

from ua_envs.core.channels.configs import TX_POWER_DBM_RANGE
from ua_envs.envs.agent_beams import (
    AgentAction,
    agent_action_space,
    batched_agent_action,
    is_agent_mode,
)
from ua_envs.envs.base import channel_observation_spaces
from ua_envs.envs.multicell.sim import (
    MultiCellConfig,
    MultiCellSimulator,
    MultiCellState,
    make_config,
)
from ua_envs.envs.multicell.viewer import MultiCellViewer, draw_runner_state
from ua_envs.envs.single import ChannelInstanceProperties, SimEnv

__all__ = [
    "MultiCellAssocEnv",
    "action_space",
    "check_single_action",
    "observation_space",
    "single_spaces",
]


def observation_space(config: MultiCellConfig) -> spaces.Dict:
    """The single-env observation space of a config (see the module docstring)."""
    m, k, n = config.num_bs, config.num_ues, config.num_antennas
    return spaces.Dict(
        {
            **channel_observation_spaces(m, k, n),
            "tx_power_dbm": spaces.Box(*TX_POWER_DBM_RANGE, shape=(m,), dtype=np.float32),
        }
    )


def action_space(config: MultiCellConfig) -> spaces.MultiDiscrete | spaces.Dict:
    """``MultiDiscrete([M] * K)``; with ``beamforming="agent"`` the ``Dict`` of that
    (``"association"``) and the beams (``"beams"``, ``Box`` ``(M, K, N, 2)``)."""
    association = spaces.MultiDiscrete(np.full(config.num_ues, config.num_bs, dtype=np.int64))
    if is_agent_mode(config):
        m, k, n = config.num_bs, config.num_ues, config.num_antennas
        return agent_action_space(association, m, k, n)
    return association


def single_spaces(
    config: MultiCellConfig,
) -> tuple[spaces.Dict, spaces.MultiDiscrete | spaces.Dict]:
    """``(observation_space, action_space)`` of the single env."""
    return observation_space(config), action_space(config)


def check_single_action(action: Any, num_bs: int, num_ues: int) -> np.ndarray:
    """The action as a ``(K,)`` int64 array, or ``ValueError`` naming what is wrong."""
    array = np.asarray(action)
    if array.shape != (num_ues,):
        raise ValueError(
            f"action must have shape ({num_ues},) (one BS index per UE), got {array.shape}"
        )
    if array.dtype.kind not in "iu":
        raise ValueError(f"action must hold integer BS indices, got dtype {array.dtype}")
    if array.min() < 0 or array.max() >= num_bs:
        bad = array[(array < 0) | (array >= num_bs)][0]
        raise ValueError(f"action entries must be BS indices in [0, {num_bs - 1}], got {bad}")
    return array.astype(np.int64)


class MultiCellAssocEnv(ChannelInstanceProperties, SimEnv[MultiCellState]):
    """One-shot multi-cell association; see the module docstring for the full spec.

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: the fields of :class:`~ua_envs.envs.multicell.sim.MultiCellConfig`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 2}  # noqa: RUF012
    simulator_class = MultiCellSimulator
    make_config = staticmethod(make_config)
    config: MultiCellConfig
    sim: MultiCellSimulator

    single_spaces = staticmethod(single_spaces)

    def _batch_action(self, action: Any) -> Any:
        if is_agent_mode(self.config):
            m, k = self.config.num_bs, self.config.num_ues
            batched = batched_agent_action(action, lambda a: check_single_action(a, m, k))
            checked = self.sim.check_agent_action(batched, 1)
            if self.runner.numpy_state:  # the association of a numpy state is numpy
                return AgentAction(checked.association.numpy(), checked.beams)
            return checked
        array = check_single_action(action, self.config.num_bs, self.config.num_ues)[None]
        return array if self.runner.numpy_state else self.sim.check_action(array, 1)

    def _draw(self, viewer: MultiCellViewer, state: MultiCellState) -> np.ndarray | None:
        return draw_runner_state(viewer, self.runner, self.config.area_m)

    def _make_viewer(self, render_mode: str) -> MultiCellViewer:
        return MultiCellViewer(render_mode)

    @property
    def load_limit(self) -> int | None:
        """Per-BS UE limit (``"num_antennas"`` resolved), or ``None``."""
        return self.sim.load_limit
