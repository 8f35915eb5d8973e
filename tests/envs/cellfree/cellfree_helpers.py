"""Shared pieces of the cellfree tests: a hand-solvable instance and an independent reference.

The reference mask and the reference joint RZF below are written from docs/model.md §2 / §4.2
with plain numpy loops, independently of the simulator, so the tests compare two implementations.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.envs.contract import ChannelInstance

ENV_ID = "CellFreeAssoc-v0"


def hand_instance() -> ChannelInstance:
    """2 APs × 3 UEs × 1 antenna, P = 1 W per AP, σ² = 1 W per UE (real channels).

    ``h[0] = [1, 0.5, 0]`` (AP 0 → UEs 0, 1, 2), ``h[1] = [0, 0.5, 2]`` (AP 1).
    """
    channels = np.array([[[1.0], [0.5], [0.0]], [[0.0], [0.5], [2.0]]], dtype=np.complex64)
    return ChannelInstance(
        channels=channels,
        tx_power=np.ones(2, dtype=np.float32),
        noise_power=np.ones(3, dtype=np.float32),
    )


def hand_options() -> dict[str, Any]:
    """The reset options that play :func:`hand_instance`."""
    return {"instance": hand_instance()}


def hand_env(**kwargs: Any) -> gym.Env:
    """A 2 × 3 × 1 env (kwargs override), ready for ``reset(options=hand_options())``."""
    params: dict[str, Any] = {"num_bs": 2, "num_ues": 3, "num_antennas": 1}
    params.update(kwargs)
    return gym.make(ENV_ID, **params)


def reference_mask(
    support: np.ndarray,
    max_ues_per_ap: int,
    max_aps_per_ue: int,
    require_coverage: bool,
    done: bool,
) -> np.ndarray:
    """docs/model.md §4.2's mask of a state, by loops: ``(M·K + 1,)`` bool (END last)."""
    num_aps, num_ues = support.shape
    mask = np.zeros(num_aps * num_ues + 1, dtype=bool)
    for m in range(num_aps):
        for k in range(num_ues):
            free = not support[m, k]
            ap_open = support[m].sum() < max_ues_per_ap
            ue_open = support[:, k].sum() < max_aps_per_ue
            mask[m * num_ues + k] = free and ap_open and ue_open and not done
    any_link = bool(mask[:-1].any())
    if done or not require_coverage:
        mask[-1] = True
    else:
        mask[-1] = bool(support.any(axis=0).all()) or not any_link
    return mask


def _reference_sum_rate(
    h: np.ndarray, beams: np.ndarray, a: np.ndarray, noise: np.ndarray
) -> float:
    """docs/model.md §1 sum rate of ``beams`` (float64, explicit)."""
    gains = np.einsum("mkn,mln->kl", h.conj(), beams * a[..., None])
    power_kl = np.abs(gains) ** 2
    signal = np.diag(power_kl)
    interference = power_kl.sum(axis=1) - signal
    return float(np.log2(1.0 + signal / (interference + noise)).sum())


def reference_rzf_sum_rate(
    channels: np.ndarray, association: np.ndarray, tx_power: np.ndarray, noise_power: np.ndarray
) -> float:
    """docs/model.md §2 joint partial RZF, then the §1 sum rate, in float64 numpy with loops.

    For each UE k: ``P_k`` = the UEs sharing a serving AP with k, ``D_k`` = the antenna selector
    of k's serving APs, ``w_k = [D_k H_P (H_P^H D_k H_P + λ I)^{-1}]_{:, k}``,
    ``λ = K mean(σ²) / Σ P``, ``w_k`` unit norm; then one common scale so that the most loaded
    AP uses exactly its ``P_m``.
    """
    h = channels.astype(np.complex128)
    a = association.astype(np.float64)
    power = tx_power.astype(np.float64)
    noise = noise_power.astype(np.float64)
    num_aps, num_ues, num_antennas = h.shape
    stacked = np.zeros((num_aps * num_antennas, num_ues), dtype=np.complex128)
    for k in range(num_ues):
        for m in range(num_aps):
            stacked[m * num_antennas : (m + 1) * num_antennas, k] = h[m, k]
    lam = num_ues * noise.mean() / power.sum()
    beams = np.zeros_like(h)
    for k in range(num_ues):
        serving = [m for m in range(num_aps) if a[m, k] > 0]
        if not serving:
            continue
        group = [j for j in range(num_ues) if any(a[m, j] > 0 for m in serving)]
        selector = np.zeros(num_aps * num_antennas)
        for m in serving:
            selector[m * num_antennas : (m + 1) * num_antennas] = 1.0
        restricted = selector[:, None] * stacked[:, group]  # D_k H_P
        inner = stacked[:, group].conj().T @ restricted + lam * np.eye(len(group))
        w = (restricted @ np.linalg.inv(inner))[:, group.index(k)]
        w = w / np.linalg.norm(w)
        for m in range(num_aps):
            beams[m, k] = w[m * num_antennas : (m + 1) * num_antennas]
    load = max(float((np.abs(beams[m]) ** 2).sum()) / power[m] for m in range(num_aps))
    if load > 0:
        beams = beams / np.sqrt(load)
    return _reference_sum_rate(h, beams, a, noise)


def reference_restricted_rzf_sum_rate(
    channels: np.ndarray, association: np.ndarray, tx_power: np.ndarray, noise_power: np.ndarray
) -> float:
    """docs/model.md §2 restricted joint RZF (``beamforming="rzf_restricted"``), then the §1 sum
    rate, in float64 numpy with loops.

    ``Ĥ[:, k] = D_k h_k`` (stacked over APs), ``W = Ĥ (Ĥ^H Ĥ + λ I)^{-1}``,
    ``λ = K mean(σ²) / Σ P``, ``v_k = D_k w_k``, each serving AP scaled to exactly ``P_m``.
    """
    h = channels.astype(np.complex128)
    a = association.astype(np.float64)
    power = tx_power.astype(np.float64)
    noise = noise_power.astype(np.float64)
    num_aps, num_ues, num_antennas = h.shape
    stacked = np.zeros((num_aps * num_antennas, num_ues), dtype=np.complex128)
    for k in range(num_ues):
        for m in range(num_aps):
            stacked[m * num_antennas : (m + 1) * num_antennas, k] = a[m, k] * h[m, k]
    lam = num_ues * noise.mean() / power.sum()
    w = stacked @ np.linalg.inv(stacked.conj().T @ stacked + lam * np.eye(num_ues))
    beams = np.zeros_like(h)
    for m in range(num_aps):
        for k in range(num_ues):
            beams[m, k] = a[m, k] * w[m * num_antennas : (m + 1) * num_antennas, k]
        used = float((np.abs(beams[m]) ** 2).sum())
        if used > 0:
            beams[m] *= np.sqrt(power[m] / used)
    return _reference_sum_rate(h, beams, a, noise)


def random_episode(
    env: gym.Env, seed: int, rng: np.random.Generator, end_probability: float = 0.1
) -> tuple[list[int], float, dict[str, Any]]:
    """One masked random episode: returns (actions, return, last info).

    END (when legal) is taken with ``end_probability`` per step; otherwise a uniform legal link.
    """
    obs, info = env.reset(seed=seed)
    actions: list[int] = []
    total = 0.0
    done = False
    while not done:
        mask = obs["action_mask"].astype(bool)
        links = np.flatnonzero(mask[:-1])
        if links.size == 0 or (mask[-1] and rng.random() < end_probability):
            action = mask.size - 1
        else:
            action = int(rng.choice(links))
        obs, reward, terminated, truncated, info = env.step(action)
        actions.append(action)
        total += float(reward)
        done = terminated or truncated
    return actions, total, info
