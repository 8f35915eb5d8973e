"""Association heads of the L2O agents: softmax / GS / STGS / Sinkhorn with caps."""

from __future__ import annotations

import pytest
import torch

from agents.nets.assignment_heads import (
    HEADS,
    relaxed_association,
    sinkhorn_caps,
    straight_through,
)


def test_softmax_head_on_hand_built_logits() -> None:
    logits = torch.tensor([[0.0, 2.0], [0.0, 0.0]])  # (M=2, K=2)
    out = relaxed_association(logits, "softmax", 1.0)
    e2 = torch.exp(torch.tensor(2.0))
    expected = torch.tensor([[0.5, e2 / (e2 + 1)], [0.5, 1 / (e2 + 1)]])
    torch.testing.assert_close(out, expected)
    # A lower temperature sharpens towards the argmax.
    assert relaxed_association(logits, "softmax", 0.1)[0, 1] > out[0, 1]


@pytest.mark.parametrize("head", HEADS)
def test_every_head_gives_full_columns_and_gradients(head: str) -> None:
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(5, 2, 4, generator=generator, requires_grad=True)  # K = 4 = 2 caps of 2
    out = relaxed_association(
        logits, head, 0.5, generator=generator, caps=2.0, sinkhorn_iterations=300
    )
    assert out.shape == (5, 2, 4) and bool(((out >= 0) & (out <= 1 + 1e-6)).all())
    torch.testing.assert_close(out.sum(-2), torch.ones(5, 4), atol=1e-4, rtol=0)
    (out * torch.arange(8.0).view(2, 4)).sum().backward()
    assert logits.grad is not None and float(logits.grad.abs().sum()) > 0


def test_stgs_is_one_hot_forward_and_differentiable_backward() -> None:
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(3, 3, 5, generator=generator, requires_grad=True)
    out = relaxed_association(logits, "stgs", 0.7, generator=generator)
    assert set(out.detach().unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(out.detach().sum(-2), torch.ones(3, 5))
    out[:, 0].sum().backward()
    assert float(logits.grad.abs().sum()) > 0
    soft = torch.tensor([[0.2, 0.7], [0.8, 0.3]])
    assert straight_through(soft).tolist() == [[0.0, 1.0], [1.0, 0.0]]


def test_sinkhorn_meets_the_caps() -> None:
    generator = torch.Generator().manual_seed(2)
    log_alpha = 3.0 * torch.randn(4, 3, 9, generator=generator)
    caps = torch.tensor([4.0, 3.0, 2.0])  # Σ caps = K = 9: every row reaches its cap
    out = sinkhorn_caps(log_alpha, caps, iterations=200)
    torch.testing.assert_close(out.sum(-2), torch.ones(4, 9), atol=1e-4, rtol=0)
    torch.testing.assert_close(out.sum(-1), caps.expand(4, 3), atol=1e-4, rtol=0)
    loose = sinkhorn_caps(log_alpha, 5.0, iterations=200)  # Σ caps = 15 > 9: caps as bounds
    assert bool((loose.sum(-1) <= 5.0 + 1e-4).all())
    torch.testing.assert_close(loose.sum(-2), torch.ones(4, 9), atol=1e-4, rtol=0)


def test_heads_are_permutation_equivariant() -> None:
    logits = torch.randn(2, 3, 6, generator=torch.Generator().manual_seed(3))
    ue = torch.randperm(6, generator=torch.Generator().manual_seed(4))
    bs = torch.tensor([2, 0, 1])
    for head in ("softmax", "skgs"):
        out = relaxed_association(logits, head, 0.5, caps=2.0) if head == "softmax" else None
        if out is None:  # skgs without noise: compare the deterministic Sinkhorn core
            out = sinkhorn_caps(logits, 2.0, 50)
            permuted = sinkhorn_caps(logits[:, bs][:, :, ue], 2.0, 50)
        else:
            permuted = relaxed_association(logits[:, bs][:, :, ue], head, 0.5)
        torch.testing.assert_close(permuted, out[:, bs][:, :, ue], atol=1e-6, rtol=1e-5)


def test_bad_arguments_raise() -> None:
    logits = torch.zeros(2, 3)
    with pytest.raises(ValueError, match="head must be one of"):
        relaxed_association(logits, "argmax", 1.0)
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        relaxed_association(logits, "gs", 0.0)
    with pytest.raises(ValueError, match="caps must be > 0"):
        sinkhorn_caps(logits, 0.0)
    with pytest.raises(ValueError, match="iterations must be >= 1"):
        sinkhorn_caps(logits, 1.0, iterations=0)
