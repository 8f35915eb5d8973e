"""Signal model: hand-computed SINRs, power projection, batching, gradients, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from ua_envs.core import fronthaul_load, project_power, rates, sinr, sum_rate


def c128(values: list) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.complex128)


def test_one_bs_one_antenna_one_ue() -> None:
    """1 BS × 1 antenna × 1 UE, MRT.

    h = 1e-5·e^{jπ/3} (|h|² = 1e-10), P = 1 W, σ² = 1e-11 W.
    MRT: v = sqrt(P)·h/|h|, so G = h^H v = |h|·sqrt(P) = 1e-5 and
    SINR = |G|²/σ² = 1e-10 / 1e-11 = 10; rate = log2(11) = 3.459431…
    """
    phase = complex(math.cos(math.pi / 3), math.sin(math.pi / 3))
    h = torch.full((1, 1, 1), 1e-5 * phase, dtype=torch.complex128)
    a = torch.ones(1, 1, dtype=torch.float64)
    v = project_power(h, a, torch.tensor([1.0], dtype=torch.float64))
    assert torch.allclose(v, h / h.abs())
    s = sinr(h, v, a, torch.tensor([1e-11], dtype=torch.float64))
    assert s.item() == pytest.approx(10.0, rel=1e-12)
    assert sum_rate(h, v, a, torch.tensor([1e-11], dtype=torch.float64)).item() == pytest.approx(
        math.log2(11.0), rel=1e-12
    )


def test_two_bs_two_ue_unique_association() -> None:
    """2 BS × 1 antenna × 2 UEs, UE0 ← BS0, UE1 ← BS1, P = 1 W each, σ² = 0.1 W.

    Gains h[m, k]: h00 = 1, h01 = 0.5j, h10 = 0.3, h11 = 2.
    MRT unit beams: v00 = h00/|h00| = 1, v11 = h11/|h11| = 1.
    G[0,0] = conj(h00)·v00 = 1;      G[0,1] = conj(h10)·v11 = 0.3   → |·|² = 0.09
    G[1,1] = conj(h11)·v11 = 2;      G[1,0] = conj(h01)·v00 = −0.5j → |·|² = 0.25
    SINR0 = 1 / (0.09 + 0.1) = 5.263158;  SINR1 = 4 / (0.25 + 0.1) = 11.428571
    rates = log2(6.263158) = 2.646884, log2(12.428571) = 3.635594.
    """
    h = c128([[[1.0], [0.5j]], [[0.3], [2.0]]])  # (M=2, K=2, N=1)
    a = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    v = project_power(h, a, torch.ones(2, dtype=torch.float64))
    noise = torch.full((2,), 0.1, dtype=torch.float64)
    s = sinr(h, v, a, noise)
    assert s.tolist() == pytest.approx([1 / 0.19, 4 / 0.35], rel=1e-12)
    r = rates(h, v, a, noise)
    assert r.tolist() == pytest.approx([math.log2(1 + 1 / 0.19), math.log2(1 + 4 / 0.35)])
    weights = torch.tensor([2.0, 0.5], dtype=torch.float64)
    expected = 2.0 * math.log2(1 + 1 / 0.19) + 0.5 * math.log2(1 + 4 / 0.35)
    assert sum_rate(h, v, a, noise, weights).item() == pytest.approx(expected, rel=1e-12)


def test_two_ap_joint_transmission_is_coherent() -> None:
    """2 APs × 1 antenna × 1 UE, both APs serve the UE (joint transmission).

    h0 = 0.6, h1 = 0.8j, P = (1, 4) W, σ² = 0.5 W. Per-AP MRT: v_m = sqrt(P_m)·h_m/|h_m|.
    G = Σ_m conj(h_m)·v_m = Σ_m |h_m|·sqrt(P_m) = 0.6·1 + 0.8·2 = 2.2 (amplitudes add).
    SINR = 2.2² / 0.5 = 9.68 — versus (0.36 + 2.56)/0.5 = 5.84 if powers added.
    """
    h = c128([[[0.6]], [[0.8j]]])  # (M=2, K=1, N=1)
    a = torch.ones(2, 1, dtype=torch.float64)
    v = project_power(h, a, torch.tensor([1.0, 4.0], dtype=torch.float64))
    s = sinr(h, v, a, torch.tensor([0.5], dtype=torch.float64))
    assert s.item() == pytest.approx(9.68, rel=1e-12)


def test_project_power_meets_budget_and_silences_idle_transmitters() -> None:
    gen = torch.Generator().manual_seed(0)
    h = torch.randn(5, 3, 4, 2, dtype=torch.complex128, generator=gen)
    a = torch.zeros(5, 3, 4, dtype=torch.float64)
    a[:, 0, :2] = 1
    a[:, 1, 2:] = 1  # transmitter 2 serves nobody
    power = torch.tensor([1.0, 2.5, 3.0], dtype=torch.float64)
    v = project_power(h, a, power)
    used = (a * v.abs().square().sum(-1)).sum(-1)
    torch.testing.assert_close(used[:, :2], power[:2].expand(5, 2), rtol=1e-12, atol=0)
    assert torch.count_nonzero(v[:, 2]) == 0
    assert torch.count_nonzero(v[:, 0, 2:]) == 0  # unassociated beams are zeroed


def test_zero_channel_gives_rate_zero_not_nan() -> None:
    h = torch.zeros(2, 3, 2, dtype=torch.complex64)
    a = torch.ones(2, 3)
    v = project_power(h, a, torch.ones(2))
    r = rates(h, v, a, torch.full((3,), 1e-3))
    assert torch.equal(r, torch.zeros(3))


def test_batch_equals_single_calls() -> None:
    gen = torch.Generator().manual_seed(1)
    h = torch.randn(64, 2, 8, 4, dtype=torch.complex128, generator=gen)
    idx = torch.randint(0, 2, (64, 8), generator=gen)
    a = torch.nn.functional.one_hot(idx, 2).movedim(-1, -2).double()
    power = torch.rand(64, 2, dtype=torch.float64, generator=gen) + 0.5
    noise = torch.rand(64, 8, dtype=torch.float64, generator=gen) + 0.1
    v = project_power(h, a, power)
    batched = sum_rate(h, v, a, noise)
    singles = torch.stack(
        [sum_rate(h[i], project_power(h[i], a[i], power[i]), a[i], noise[i]) for i in range(64)]
    )
    torch.testing.assert_close(batched, singles, rtol=1e-12, atol=1e-12)


def test_gradcheck_through_sum_rate() -> None:
    gen = torch.Generator().manual_seed(2)
    h = torch.randn(2, 3, 2, dtype=torch.complex128, generator=gen)
    beams = torch.randn(2, 3, 2, dtype=torch.complex128, generator=gen, requires_grad=True)
    frac = torch.rand(2, 3, dtype=torch.float64, generator=gen).requires_grad_(True)
    noise = torch.full((3,), 0.3, dtype=torch.float64)
    power = torch.tensor([1.0, 2.0], dtype=torch.float64)

    def through_beams(b: torch.Tensor) -> torch.Tensor:
        return sum_rate(h, b, frac.detach(), noise)

    def through_association(x: torch.Tensor) -> torch.Tensor:
        return sum_rate(h, project_power(h, x, power), x, noise)

    assert torch.autograd.gradcheck(through_beams, (beams,))
    assert torch.autograd.gradcheck(through_association, (frac,))


def test_fronthaul_load() -> None:
    """load_m = Σ_k a[m,k]·B·rate_k: AP0 serves UEs 0,1 → 1e6·(1 + 2) = 3e6 bit/s."""
    a = torch.tensor([[1.0, 1.0, 0.0], [0.0, 1.0, 1.0]])
    r = torch.tensor([1.0, 2.0, 4.0])
    assert fronthaul_load(a, r, 1e6).tolist() == [3e6, 6e6]
    with pytest.raises(ValueError, match="bandwidth_hz"):
        fronthaul_load(a, r, 0.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"beams": torch.ones(2, 3, 3, dtype=torch.complex64)}, "beams"),
        ({"association": torch.ones(3, 3)}, "association"),
        ({"noise_power": torch.ones(4)}, "noise_power"),
        ({"noise_power": torch.zeros(3)}, "noise_power"),
        ({"channels": torch.full((2, 3, 2), complex(float("nan"), 0.0))}, "channels"),
        ({"channels": torch.full((2, 3, 2), complex(float("inf"), 0.0))}, "channels"),
        ({"channels": torch.ones(2, 3, 2)}, "complex"),
        ({"association": -torch.ones(2, 3)}, "association"),
    ],
)
def test_bad_input_raises_value_error_naming_argument(kwargs: dict, match: str) -> None:
    args = {
        "channels": torch.ones(2, 3, 2, dtype=torch.complex64),
        "beams": torch.ones(2, 3, 2, dtype=torch.complex64),
        "association": torch.ones(2, 3),
        "noise_power": torch.ones(3),
    }
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        sinr(**args)


def test_project_power_rejects_negative_power() -> None:
    with pytest.raises(ValueError, match="tx_power"):
        project_power(torch.ones(2, 3, 2, dtype=torch.complex64), torch.ones(2, 3), -torch.ones(2))


def test_sum_rate_differentiable_after_inference_mode_call() -> None:
    """A first call under inference_mode must not poison later differentiable calls (caches)."""
    h = torch.randn(3, 2, 5, 2, dtype=torch.complex64)
    a = torch.full((3, 2, 5), 0.5)
    noise = torch.full((3, 5), 0.1)
    with torch.inference_mode():
        sum_rate(h, project_power(h, a, torch.ones(3, 2)), a, noise)
    frac = a.clone().requires_grad_(True)
    sum_rate(h, project_power(h, frac, torch.ones(3, 2)), frac, noise).sum().backward()
    assert frac.grad is not None and bool(torch.isfinite(frac.grad).all())


def test_fronthaul_load_bad_input() -> None:
    a = torch.ones(2, 3)
    with pytest.raises(ValueError, match="rates"):
        fronthaul_load(a, torch.ones(4), 1e6)
    with pytest.raises(ValueError, match="rates"):
        fronthaul_load(a, torch.tensor([1.0, float("nan"), 1.0]), 1e6)
    with pytest.raises(ValueError, match="bandwidth_hz"):
        fronthaul_load(a, torch.ones(3), "wide")  # type: ignore[arg-type]
    numpy_load = fronthaul_load(a.numpy(), torch.ones(3).numpy(), 2.0)  # type: ignore[arg-type]
    assert numpy_load.tolist() == [6.0, 6.0]
