"""Joint-transmission WMMSE (SPEC §2, cell-free part) against a plain numpy reference.

The reference below is the docstring of :func:`ua_envs.core.beamforming.wmmse` written out with
explicit loops, in float64, on a tiny instance (3 APs × 2 antennas × 2 UEs, AP 2 idle):

* noise-normalised frame ``h / σ_k`` (σ = 1), MRT initialisation (each AP's served channels
  scaled to exactly ``P_m``);
* each iteration: ``u_k``, ``ω_k = 1 + SINR_k``; stop when ``|Δ Σ_k ln ω_k| < tol`` (checked
  before the update, from the second iteration on) or after ``iterations`` updates;
* ``A = Σ_j w_j ω_j |u_j|² h_j h_j^H`` on the stacked channels ``h_j`` (MN);
  ``v_k = (D_k A D_k + μ I)^{-1} D_k h_k · w_k ω_k u_k`` restricted to k's serving APs;
* one total-power multiplier: ``μ = 0`` if ``Σ_k ||v_k||² ≤ Σ_{m serving someone} P_m``, else
  60 bisection steps on ``[0, sqrt(Σ_k ||w_k ω_k u_k D_k h_k||² / budget)]`` keeping the upper
  (feasible) end;
* finally per-AP normalisation of the served beams to exactly ``P_m``.

``D_k A D_k`` has rank ≤ K = 2, so at μ = 0 the reference takes the least-norm solution.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ua_envs.core import beamforming as bf
from ua_envs.core import sum_rate

BISECTION_STEPS = 60


def project_per_ap(beams: np.ndarray, served: np.ndarray, power: np.ndarray) -> np.ndarray:
    """Scale AP m's served beams to exactly ``power[m]`` (an AP serving nobody sends nothing)."""
    out = np.zeros_like(beams)
    for m in range(beams.shape[0]):
        used = sum(np.vdot(beams[m, k], beams[m, k]).real for k in np.flatnonzero(served[m]))
        if used > 0:
            for k in np.flatnonzero(served[m]):
                out[m, k] = np.sqrt(power[m] / used) * beams[m, k]
    return out


def reference_joint_wmmse(
    h: np.ndarray,
    served: np.ndarray,
    power: np.ndarray,
    noise: np.ndarray,
    weights: np.ndarray,
    iterations: int,
    tol: float,
) -> np.ndarray:
    """Joint WMMSE for one instance: h (M, K, N) complex, served (M, K) bool, power (M,),
    noise (K,), weights (K,). Returns beams (M, K, N)."""
    num_ap, num_ue, num_ant = h.shape
    hn = h / np.sqrt(noise)[None, :, None]
    stacked = [hn[:, k, :].reshape(num_ap * num_ant) for k in range(num_ue)]
    antennas = [
        np.concatenate(
            [np.arange(m * num_ant, (m + 1) * num_ant) for m in np.flatnonzero(served[:, k])]
        )
        for k in range(num_ue)
    ]
    budget = sum(power[m] for m in range(num_ap) if served[m].any())

    beams = project_per_ap(h, served, power)  # MRT initialisation
    previous = None
    for _ in range(iterations):
        # Steps 1-2: G[k, l] = Σ_m a[m, l] h_{m,k}^H v_{m,l} (noise-normalised).
        gains = np.zeros((num_ue, num_ue), dtype=complex)
        for k in range(num_ue):
            for l_ in range(num_ue):
                for m in np.flatnonzero(served[:, l_]):
                    gains[k, l_] += np.vdot(hn[m, k], beams[m, l_])
        u = np.zeros(num_ue, dtype=complex)
        omega = np.zeros(num_ue)
        for k in range(num_ue):
            signal = abs(gains[k, k]) ** 2
            interference = sum(abs(gains[k, l_]) ** 2 for l_ in range(num_ue) if l_ != k)
            u[k] = gains[k, k] / (signal + interference + 1.0)
            omega[k] = 1.0 + signal / (interference + 1.0)
        log_omega = float(np.sum(np.log(omega)))
        if previous is not None and abs(log_omega - previous) < tol:
            break
        previous = log_omega
        # Steps 3-5 on the stacked channels.
        a_matrix = sum(
            weights[j] * omega[j] * abs(u[j]) ** 2 * np.outer(stacked[j], stacked[j].conj())
            for j in range(num_ue)
        )
        blocks = [a_matrix[np.ix_(antennas[k], antennas[k])] for k in range(num_ue)]
        rhs = [weights[k] * omega[k] * u[k] * stacked[k][antennas[k]] for k in range(num_ue)]

        def solve_all(mu: float, blocks: list = blocks, rhs: list = rhs) -> list[np.ndarray]:
            # D_k A D_k has rank <= K < |block|: at μ = 0 take the least-norm solution (the
            # limit μ → 0+; the right-hand side lies in the range of the block).
            if mu == 0.0:
                return [
                    np.linalg.pinv(b, hermitian=True) @ r for b, r in zip(blocks, rhs, strict=True)
                ]
            return [
                np.linalg.solve(b + mu * np.eye(len(r)), r)
                for b, r in zip(blocks, rhs, strict=True)
            ]

        def total_power(mu: float) -> float:
            return sum(float(np.vdot(v, v).real) for v in solve_all(mu))

        if total_power(0.0) <= budget:
            mu = 0.0
        else:
            low, high = 0.0, np.sqrt(sum(float(np.vdot(r, r).real) for r in rhs) / budget)
            for _ in range(BISECTION_STEPS):
                mid = 0.5 * (low + high)
                if total_power(mid) > budget:
                    low = mid
                else:
                    high = mid
            mu = high
        beams = np.zeros_like(h)
        for k, v in enumerate(solve_all(mu)):
            full = np.zeros(num_ap * num_ant, dtype=complex)
            full[antennas[k]] = v
            beams[:, k, :] = full.reshape(num_ap, num_ant)
    return project_per_ap(beams, served, power)


def tiny_instance(seed: int) -> tuple[torch.Tensor, ...]:
    """3 APs × 2 antennas × 2 UEs: UE 0 served by AP 0, UE 1 jointly by APs 0 and 1; AP 2 serves
    nobody. Per-antenna SNR of a served link ~10-13 dB (links of AP 2 are as strong)."""
    rng = np.random.default_rng(seed)
    shape = (3, 2, 2)
    h = (rng.normal(size=shape) + 1j * rng.normal(size=shape)) * np.sqrt(0.5e-9)
    served = np.array([[1, 1], [0, 1], [0, 0]], dtype=bool)
    power = np.array([1.0, 0.5, 2.0])
    noise = np.array([1e-10, 5e-11])
    weights = np.array([1.0, 0.7])
    return (
        torch.from_numpy(h),
        torch.from_numpy(served),
        torch.from_numpy(power),
        torch.from_numpy(noise),
        torch.from_numpy(weights),
    )


@pytest.mark.parametrize(("iterations", "tol"), [(30, 0.0), (100, 1e-4), (3, 1e-4)])
@pytest.mark.parametrize("seed", [0, 1, 3, 5])
def test_joint_wmmse_matches_loop_reference(seed: int, iterations: int, tol: float) -> None:
    h, a, p, s, w = tiny_instance(seed)
    beams = bf.wmmse(h, a, p, s, w, iterations=iterations, tol=tol, transmission="joint")
    ref = reference_joint_wmmse(
        h.numpy(), a.numpy(), p.numpy(), s.numpy(), w.numpy(), iterations, tol
    )
    scale = float(np.abs(ref).max())
    np.testing.assert_allclose(beams.numpy(), ref, rtol=0, atol=1e-8 * scale)
    # Per-AP normalisation: serving APs at exactly P_m, the idle AP silent.
    used = beams.abs().square().sum(dim=(-2, -1))
    torch.testing.assert_close(used, p * a.any(dim=-1), rtol=1e-9, atol=0.0)


@pytest.mark.parametrize("idle_power", [0.0, 0.01, 100.0])
def test_idle_ap_budget_changes_nothing(idle_power: float) -> None:
    """An AP that serves nobody neither transmits nor lends its budget to the total-power
    bisection: changing its P_m leaves the beams and rates unchanged."""
    h, a, p, s, w = tiny_instance(3)
    beams = bf.wmmse(h, a, p, s, w, transmission="joint")
    changed = p.clone()
    changed[2] = idle_power
    other = bf.wmmse(h, a, changed, s, w, transmission="joint")
    torch.testing.assert_close(other, beams, rtol=1e-12, atol=1e-12 * float(beams.abs().max()))
    torch.testing.assert_close(sum_rate(h, other, a, s, w), sum_rate(h, beams, a, s, w))
    assert float(other[2].abs().max()) == 0.0


def test_idle_ap_budget_batched() -> None:
    """The same in a batch: rows that differ only in an idle AP's budget get the same beams."""
    h, a, p, s, w = tiny_instance(4)
    powers = torch.stack([p, p, p])
    powers[1, 2] = 0.0
    powers[2, 2] = 50.0
    beams = bf.wmmse(h, a, powers, s, w, transmission="joint")
    for row in (1, 2):
        torch.testing.assert_close(beams[row], beams[0], rtol=1e-12, atol=1e-20)
