"""Attention encoder / context / pointer decoder: masking, no NaN, equivariance, references."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from agents.nets import (
    AttentionEncoder,
    MultiHeadAttention,
    PointerDecoder,
    SupportContext,
    masked_logits,
    masked_softmax,
)


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def test_masked_logits_and_softmax_by_hand() -> None:
    scores = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    mask = torch.tensor([[True, False, True], [False, False, False]])
    logits = masked_logits(scores, mask)
    assert logits.tolist() == [[1.0, -math.inf, 3.0], [0.0, 0.0, 0.0]]
    probs = masked_softmax(scores, mask)
    e = math.exp(1.0) + math.exp(3.0)
    expected = [math.exp(1) / e, 0.0, math.exp(3) / e, 0.0, 0.0, 0.0]
    assert probs.flatten().tolist() == pytest.approx(expected)
    with pytest.raises(ValueError, match="mask must have the shape of scores"):
        masked_logits(scores, mask[:, :2])
    with pytest.raises(ValueError, match="mask must be a bool tensor"):
        masked_logits(scores, mask.int())


def test_multi_head_attention_matches_numpy() -> None:
    torch.manual_seed(0)
    mha = MultiHeadAttention(4, 2)
    q, k = torch.randn(1, 2, 4), torch.randn(1, 3, 4)
    mask = torch.tensor([[True, False, True]])
    out = mha(q, k, mask)
    wq, wk, wv = (_np(lin.weight) for lin in (mha.w_q, mha.w_k, mha.w_v))
    wo, bo = _np(mha.w_o.weight), _np(mha.w_o.bias)
    qs, ks = _np(q[0]) @ wq.T, _np(k[0]) @ wk.T
    vs = _np(k[0]) @ wv.T
    heads = []
    for h in range(2):
        sl = slice(2 * h, 2 * h + 2)
        s = qs[:, sl] @ ks[:, sl].T / math.sqrt(2)
        s[:, 1] = -np.inf
        w = np.exp(s - s.max(1, keepdims=True))
        w /= w.sum(1, keepdims=True)
        heads.append(w @ vs[:, sl])
    expected = np.concatenate(heads, 1) @ wo.T + bo
    np.testing.assert_allclose(out[0].detach().numpy(), expected, atol=1e-5)


def test_decoder_masks_end_token_and_fully_masked_rows() -> None:
    """Illegal candidates get -inf; a row with nothing legal gives finite log-probs and finite
    gradients (a finished env in a vector batch), and does not disturb the other rows."""
    torch.manual_seed(1)
    dec = PointerDecoder(8, 6, heads=2, clip=10.0)
    emb = torch.randn(3, 5, 8, requires_grad=True)
    ctx = torch.randn(3, 6)
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[0, [1, 3]] = False
    mask[1] = False  # fully masked
    mask[2, :5] = False  # only END legal
    logits = dec(emb, ctx, mask)
    assert logits.shape == (3, 6)
    assert torch.isinf(logits[0, [1, 3]]).all() and torch.isfinite(logits[0, [0, 2, 4, 5]]).all()
    assert logits[0].abs()[mask[0]].max() <= 10.0  # tanh clipping
    assert logits[1].tolist() == [0.0] * 6
    log_probs = torch.log_softmax(logits, -1)
    assert not torch.isnan(log_probs).any()
    assert log_probs[2, 5].item() == pytest.approx(0.0)  # END is certain
    loss = -(log_probs[:, 0] * torch.tensor([1.0, 1.0, 0.0])).sum() - log_probs[2, 5]
    loss.backward()
    assert emb.grad is not None and torch.isfinite(emb.grad).all()
    for p in dec.parameters():
        assert p.grad is None or torch.isfinite(p.grad).all()
    # Row 0 alone gives the same logits (batch independence).
    torch.testing.assert_close(dec(emb[:1], ctx[:1], mask[:1]), logits[:1])


def test_decoder_without_end_and_permutation_equivariance() -> None:
    torch.manual_seed(2)
    dec = PointerDecoder(8, 4, heads=4, clip=None, end_token=False)
    emb, ctx = torch.randn(2, 7, 8), torch.randn(2, 4)
    mask = torch.rand(2, 7) > 0.3
    mask[:, 0] = True
    perm = torch.randperm(7)
    logits = dec(emb, ctx, mask)
    torch.testing.assert_close(
        dec(emb[:, perm], ctx, mask[:, perm]), logits[:, perm], atol=1e-5, rtol=0
    )
    with pytest.raises(ValueError, match=r"mask must have shape \(B, N\) = \(2, 7\)"):
        dec(emb, ctx, torch.ones(2, 8, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"context must have shape \(B, 4\)"):
        dec(emb, torch.zeros(2, 5), mask)
    with_end = PointerDecoder(8, 4)
    with pytest.raises(ValueError, match=r"\(B, N \+ 1\) = \(2, 8\) \(the candidates, then END\)"):
        with_end(emb, ctx, mask)


def test_encoder_equivariance_padding_and_batch_independence() -> None:
    torch.manual_seed(3)
    enc = AttentionEncoder(5, 16, heads=4, layers=2)
    tokens = torch.randn(3, 6, 5)
    valid = torch.ones(3, 6, dtype=torch.bool)
    valid[1, 4:] = False
    valid[2] = False  # nothing valid: zeros, not NaN
    out = enc(tokens, valid)
    assert torch.isfinite(out).all() and out[2].abs().sum() == 0 and out[1, 4:].abs().sum() == 0
    # Padded tokens do not influence the valid ones.
    changed = tokens.clone()
    changed[1, 4:] = 100.0
    torch.testing.assert_close(enc(changed, valid)[1, :4], out[1, :4], atol=1e-5, rtol=0)
    perm = torch.randperm(6)
    full = enc(tokens)
    torch.testing.assert_close(enc(tokens[:, perm]), full[:, perm], atol=1e-5, rtol=0)
    torch.testing.assert_close(enc(tokens[:1]), full[:1], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match=r"tokens must have shape \(B, N, 5\)"):
        enc(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="dim must be divisible by heads"):
        AttentionEncoder(5, 10, heads=4)


def test_support_context_means_by_hand() -> None:
    """Identity MLP: ctx = [mean all, mean chosen, mean rest]; an empty support gives zeros."""
    context = SupportContext(1, 3, hidden=())
    with torch.no_grad():
        context.mlp[0].weight.copy_(torch.eye(3))
        context.mlp[0].bias.zero_()
    emb = torch.tensor([[[1.0], [2.0], [6.0]], [[1.0], [2.0], [6.0]]])
    support = torch.tensor([[True, False, True], [False, False, False]])
    out = context(emb, support)
    assert out.tolist() == [[3.0, 3.5, 2.0], [3.0, 0.0, 3.0]]
    perm = torch.tensor([2, 0, 1])
    torch.testing.assert_close(context(emb[:, perm], support[:, perm]), out)
    with pytest.raises(ValueError, match="extra must be None"):
        context(emb, support, torch.zeros(2, 1))
    with pytest.raises(ValueError, match="support must be a bool tensor"):
        context(emb, support.float())
    with_extra = SupportContext(1, 2, extra_dim=2)
    assert with_extra(emb, support, torch.zeros(2, 2)).shape == (2, 2)
    with pytest.raises(ValueError, match=r"extra must be a \(B, 2\) tensor"):
        with_extra(emb, support)
