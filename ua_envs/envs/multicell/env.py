"""MultiCellAssoc-v0 and MultiCellAssocBalanced-v0: one-shot multi-cell user association.

## Description

``M`` base stations (BSs) with ``N``-antenna uniform linear arrays serve ``K`` single-antenna
UEs in the downlink ([GS-GNN], [AttSKGS]). Each episode draws one instance of the 28 GHz mmWave
scenario (SPEC §3.1: BSs and UEs uniform in a 200 m square, Akdeniz LOS/NLOS path loss, 3-path
ULA channels) and asks for one decision: the BS of every UE. The reward is the network sum rate
with the configured beamformer (MRT by default), so the agent must trade received power against
interference and BS load. ``MultiCellAssocBalanced-v0`` is the same env with a per-BS load
limit of ``N`` UEs and overloaded BSs dropping their weakest UEs ([AttSKGS]).

## Action Space

``MultiDiscrete([M] * K)``: entry ``k`` is the index of the BS that serves UE ``k``. Every
action is legal (``action_masks()`` is all True): a load limit is a joint constraint, handled by
``overload``. A malformed action (shape other than ``(K,)``, non-integer dtype, index outside
``[0, M)``) raises ``ValueError``.

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
beams of ``beamforming`` (``"mrt"``, ``"zf"``, ``"rzf"``, ``"wmmse"``; SPEC §2, power of each
BS used in full). With a load limit (``load_limit``), ``overload`` decides:

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
| ``scenario`` | ``"mmwave28"`` | channel generator (SPEC §3.1) |
| ``area_m`` | 200.0 | side of the square [m] |
| ``carrier_ghz`` | 28.0 | carrier [GHz] |
| ``bandwidth_hz`` | 1e9 | bandwidth [Hz] (noise -174 dBm/Hz + 10 log10 B + NF) |
| ``tx_power_dbm`` | 30.0 | per-BS power [dBm], finite, in [-100, 100] |
| ``noise_figure_db`` | 0.0 | UE noise figure [dB], ≥ 0 |
| ``num_paths`` | 3 | paths per link |
| ``angular_spread_deg`` | 10.2 | rms angular spread [deg] |
| ``outage`` | False | Akdeniz outage state |
| ``beamforming`` | ``"mrt"`` | ``"mrt"``, ``"zf"``, ``"rzf"``, ``"wmmse"`` |
| ``load_limit`` | None [1] | max UEs per BS: None, int ≥ 1 or ``"num_antennas"`` (= N) |
| ``overload`` | ``"drop"`` | ``"drop"``, ``"penalty"``, ``"none"`` |
| ``penalty_weight`` | 1.0 | weight of the excess load for ``"penalty"`` |
| ``render_mode`` | None | None, ``"rgb_array"``, ``"human"`` |

[1] ``MultiCellAssocBalanced-v0`` registers ``load_limit="num_antennas"``, ``overload="drop"``.
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
    split_rows,
    state_to_numpy,
    state_to_torch,
    torch_generator,
)
from ua_envs.envs.multicell.sim import (
    TX_POWER_DBM_RANGE,
    MultiCellConfig,
    MultiCellSimulator,
    MultiCellState,
    make_config,
)
from ua_envs.envs.multicell.viewer import MultiCellViewer

__all__ = ["MultiCellAssocEnv", "action_space", "observation_space"]


def observation_space(config: MultiCellConfig) -> spaces.Dict:
    """The single-env observation space of a config (see the module docstring)."""
    m, k, n = config.num_bs, config.num_ues, config.num_antennas
    return spaces.Dict(
        {
            **channel_observation_spaces(m, k, n),
            "tx_power_dbm": spaces.Box(*TX_POWER_DBM_RANGE, shape=(m,), dtype=np.float32),
        }
    )


def action_space(config: MultiCellConfig) -> spaces.MultiDiscrete:
    """``MultiDiscrete([M] * K)``."""
    return spaces.MultiDiscrete(np.full(config.num_ues, config.num_bs, dtype=np.int64))


class MultiCellAssocEnv(ViewerOwner, gym.Env[dict[str, Any], np.ndarray]):
    """One-shot multi-cell association; see the module docstring for the full spec.

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param kwargs: the fields of :class:`~ua_envs.envs.multicell.sim.MultiCellConfig`.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 2}  # noqa: RUF012

    def __init__(self, render_mode: str | None = None, **kwargs: Any) -> None:
        check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.render_mode = render_mode
        self.config = make_config(kwargs)
        self.sim = MultiCellSimulator(self.config, batch_size=1, device="cpu")
        self.observation_space = observation_space(self.config)
        self.action_space = action_space(self.config)
        self._generator: torch.Generator | None = None
        self._state: MultiCellState | None = None
        self._obs: dict[str, np.ndarray] = {}
        self._chunk_rows: list[tuple[MultiCellState, dict[str, np.ndarray]]] = []
        self._viewer: MultiCellViewer | None = None

    # ---- Gymnasium API -----------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Draw a new instance. ``options`` is accepted and unused (this env has none)."""
        super().reset(seed=seed)
        # No autograd graph in the env loop. Not inference_mode: the instance tensors must stay
        # usable by evaluate() with autograd.
        with torch.no_grad():
            if seed is not None or self._generator is None:
                self._generator = torch_generator(self.np_random, "cpu")
                self._chunk_rows = []
                # One instance from the fresh generator: what the vector env's sub-env draws.
                self._state = state_to_numpy(self.sim.reset(self._generator, options, 1))
                self._obs = {k: v[0] for k, v in self.sim.observe(self._state).items()}
            else:
                self._state, self._obs = self._next_from_chunk(options)
        if self.render_mode == "human":
            self.render()
        return {k: v.copy() for k, v in self._obs.items()}, {}

    def _next_from_chunk(
        self, options: dict[str, Any] | None
    ) -> tuple[MultiCellState, dict[str, np.ndarray]]:
        assert self._generator is not None
        if not self._chunk_rows:
            chunk = state_to_numpy(self.sim.reset(self._generator, options, RESET_CHUNK))
            obs = self.sim.observe(chunk)
            self._chunk_rows = [
                (row, {k: v[i] for k, v in obs.items()}) for i, row in enumerate(split_rows(chunk))
            ]
            self._chunk_rows.reverse()  # pop() from the end serves row 0 first
        return self._chunk_rows.pop()

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Associate UE k with BS ``action[k]``; the episode ends (one step)."""
        state = self._require_state()
        if bool(state.done[0]):
            raise RuntimeError("the episode is over (one step per episode): call reset()")
        # The simulator's array-generic decision step, on the numpy state.
        self._state, reward, _ = self.sim.apply(state, self._check_action(action)[None])
        info = row_numpy(self.sim.info(self._state, copy=False))
        if self.render_mode == "human":
            self.render()
        return {k: v.copy() for k, v in self._obs.items()}, float(reward[0]), True, False, info

    def _check_action(self, action: Any) -> np.ndarray:
        """The action as a ``(K,)`` int64 array, or ``ValueError`` naming what is wrong."""
        num_ues, num_bs = self.config.num_ues, self.config.num_bs
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

    def render(self) -> np.ndarray | None:
        """``rgb_array``: an ``(H, W, 3)`` uint8 frame; ``human``: draw the window."""
        viewer = self._active_viewer()
        if viewer is None:
            return None
        state = self._require_state()
        decided = bool(state.done[0])
        return viewer.render(
            bs_positions=state.bs_positions[0],
            ue_positions=state.ue_positions[0],
            area_m=float(self.config.area_m),
            association=state.association[0] if decided else None,
            rates=state.rates[0] if decided else None,
            dropped=state.dropped[0] if decided else None,
            sum_rate=float(state.sum_rate[0]) if decided else None,
        )

    def _make_viewer(self, render_mode: str) -> MultiCellViewer:
        return MultiCellViewer(render_mode)

    def action_masks(self) -> np.ndarray:
        """``(K·M,)`` bool, all True (sb3-contrib layout: UE k's mask at ``[k·M, (k+1)·M)``)."""
        return np.ones(self.config.num_ues * self.config.num_bs, dtype=bool)

    # ---- the instance ------------------------------------------------------------------------

    def _require_state(self) -> MultiCellState:
        if self._state is None:
            raise RuntimeError("call reset() before using the env")
        return self._state

    @property
    def state(self) -> MultiCellState:
        """The simulator state of the current instance (batch of one), as CPU torch tensors.

        Views of the env's own (numpy) state: treat them as read-only.
        """
        return state_to_torch(self._require_state())

    @property
    def channels(self) -> np.ndarray:
        """``(M, K, N)`` complex64 channels [sqrt(W)] of the current instance (a copy)."""
        return self._require_state().channels[0].copy()

    @property
    def tx_power(self) -> np.ndarray:
        """``(M,)`` float32 per-BS transmit power [W] (a copy)."""
        return self._require_state().tx_power[0].copy()

    @property
    def noise_power(self) -> np.ndarray:
        """``(K,)`` float32 per-UE noise power [W] (a copy)."""
        return self._require_state().noise_power[0].copy()

    @property
    def bs_positions(self) -> np.ndarray:
        """``(M, 2)`` BS positions [m] (a copy)."""
        return self._require_state().bs_positions[0].copy()

    @property
    def ue_positions(self) -> np.ndarray:
        """``(K, 2)`` UE positions [m] (a copy)."""
        return self._require_state().ue_positions[0].copy()

    @property
    def load_limit(self) -> int | None:
        """Per-BS UE limit (``"num_antennas"`` resolved), or ``None``."""
        return self.sim.load_limit

    def evaluate(self, association: Any, beams: Any = None, *, project: bool = True) -> Tensor:
        """Differentiable sum rate of ``association`` ``(M, K)`` on the current instance.

        See :meth:`~ua_envs.envs.multicell.sim.MultiCellSimulator.evaluate`; returns a
        ``(1,)`` tensor (batch of one).
        """
        return self.sim.evaluate(association, beams, state=self.state, project=project)
