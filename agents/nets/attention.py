"""Attention encoder, support-set context and pointer decoder ([SupportSet], [AttSKGS]).

The sequential learners build a decision one element at a time (a link of the support set,
[SupportSet] §III-A; or END): an **encoder** embeds the candidates once per instance, a
**context** vector summarises the decision so far, and a **decoder** scores every candidate
against the context, with the illegal ones masked out. The pieces are generic over "tokens"
(links ``M·K``, or AP and UE nodes), batch-first and know nothing of RL:

| module | input → output |
|---|---|
| :class:`MultiHeadAttention` | query ``(B, Q, D)``, keys ``(B, N, D)``, mask → ``(B, Q, D)`` |
| :class:`AttentionEncoder` | tokens ``(B, N, D)``, valid mask → embeddings ``(B, N, D)`` |
| :class:`SupportContext` | embeddings, support mask, extra features → context ``(B, D_c)`` |
| :class:`PointerDecoder` | embeddings, context, legal mask → logits ``(B, N [+ 1])`` |

Masks are bool with True = legal / valid. Masked logits are ``-inf``; a row where nothing is
legal (e.g. a finished episode in a vector env) gets all-zero logits instead of NaN, so its
log-probabilities and gradients stay finite — callers must not act on such rows
(``mask.any(-1)`` tells them apart). The END token of [SupportSet] is a learned embedding
appended after the ``N`` candidates: logit ``N`` is END, the layout of ``CellFreeAssoc-v0``'s
actions (links ``m·K + k``, END last).

Compatibility ([SupportSet] eq. 31, after Kool et al.): the context attends over the legal
candidates (a multi-head "glimpse" ``g``), then ``u_j = clip · tanh((W_q g)·(W_k h_j)/√D)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from agents.nets.common import MLP, check_bool, check_dims, check_float, masked_softmax, match_sizes
from ua_envs.core.validation import check_float_range, check_int_range


def masked_logits(scores: Tensor, mask: Tensor) -> Tensor:
    """``scores`` with illegal entries at ``-inf``; rows with no legal entry all 0 (not NaN).

    Shapes:
        ``scores`` ``(..., N)`` float, ``mask`` ``(..., N)`` bool (True = legal) → ``(..., N)``.

    >>> masked_logits(torch.tensor([[1.0, 2.0], [3.0, 4.0]]),
    ...               torch.tensor([[True, False], [False, False]])).tolist()
    [[1.0, -inf], [0.0, 0.0]]
    """
    if scores.shape != mask.shape:
        raise ValueError(
            f"mask must have the shape of scores {tuple(scores.shape)}, got {tuple(mask.shape)}"
        )
    check_bool("mask", mask)
    any_legal = mask.any(-1, keepdim=True)
    out = scores.masked_fill(~mask, float("-inf"))
    # A fully masked row: zeros, a finite (uniform) distribution with zero gradient.
    return torch.where(any_legal, out, torch.zeros_like(scores))


class MultiHeadAttention(nn.Module):
    """Scaled dot-product multi-head attention (Vaswani et al.) with a key mask.

    ``out = W_o ‖_h softmax_j((W_q^h x_i)·(W_k^h y_j)/√d_h) W_v^h y_j``, masked keys excluded;
    a query with no valid key gets a zero attention vector (then ``W_o``'s bias only).

    Shapes:
        ``query`` ``(B, Q, dim)``, ``keys`` ``(B, N, dim)`` float, ``key_mask`` ``(B, N)`` or
        ``(B, Q, N)`` bool or None → ``(B, Q, dim)``.

    :param dim: model width ``D`` (divisible by ``heads``).
    :param heads: number of heads.
    """

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        self.dim = check_int_range("dim", dim, 1)
        self.heads = check_int_range("heads", heads, 1)
        if dim % heads:
            raise ValueError(f"dim must be divisible by heads, got dim={dim}, heads={heads}")
        self.w_q = nn.Linear(dim, dim, bias=False)
        self.w_k = nn.Linear(dim, dim, bias=False)
        self.w_v = nn.Linear(dim, dim, bias=False)
        self.w_o = nn.Linear(dim, dim)

    def forward(self, query: Tensor, keys: Tensor, key_mask: Tensor | None = None) -> Tensor:
        sizes = check_dims("query", query, ("B", "Q", self.dim))
        match_sizes(sizes, "keys", keys, ("B", "N", self.dim))
        check_float("query", query)
        check_float("keys", keys)
        batch, num_q, num_k = sizes["B"], sizes["Q"], sizes["N"]
        heads, dh = self.heads, self.dim // self.heads
        q = self.w_q(query).view(batch, num_q, heads, dh).transpose(1, 2)  # (B, H, Q, dh)
        k = self.w_k(keys).view(batch, num_k, heads, dh).transpose(1, 2)
        v = self.w_v(keys).view(batch, num_k, heads, dh).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh)  # (B, H, Q, N)
        mask = None
        if key_mask is not None:
            check_bool("key_mask", key_mask)
            if key_mask.dim() == 2:
                match_sizes(sizes, "key_mask", key_mask, ("B", "N"))
                mask = key_mask.view(batch, 1, 1, num_k)
            else:
                match_sizes(sizes, "key_mask", key_mask, ("B", "Q", "N"))
                mask = key_mask.unsqueeze(1)
        attn = masked_softmax(scores, mask, dim=-1)
        out = (attn @ v).transpose(1, 2).reshape(batch, num_q, self.dim)
        return self.w_o(out)


class AttentionEncoder(nn.Module):
    """Transformer encoder over a set of tokens (no positions: permutation-equivariant).

    Each of the ``layers`` layers: ``h = LN(h + MHA(h, h, h))``, ``h = LN(h + FF(h))`` with
    ``FF = Linear(D, ff) → ReLU → Linear(ff, D)``; LayerNorm instead of [SupportSet]'s batch
    norm keeps the rows of a batch independent. An input projection ``Linear(in_dim, D)``
    comes first. Padded tokens (``valid`` False) are neither attended to nor returned: their
    output rows are 0.

    Typical tokens: the ``M·K`` links ``edge.view(B, M*K, F)`` of
    :func:`agents.nets.graph_io.bipartite_dense`, or the ``M + K`` nodes
    ``torch.cat([ap_proj, ue_proj], 1)`` with a type feature.

    Shapes:
        ``tokens`` ``(B, N, in_dim)`` float, ``valid`` ``(B, N)`` bool or None →
        ``(B, N, dim)``.

    :param in_dim: token features.
    :param dim: model width ``D`` (divisible by ``heads``).
    :param heads: attention heads.
    :param layers: encoder layers (>= 1).
    :param ff_dim: hidden width of the feed-forward block (default ``4 D``).

    >>> enc = AttentionEncoder(5, 32, heads=4, layers=2)
    >>> enc(torch.zeros(3, 12, 5)).shape
    torch.Size([3, 12, 32])
    """

    def __init__(
        self, in_dim: int, dim: int, heads: int = 4, layers: int = 2, ff_dim: int | None = None
    ) -> None:
        super().__init__()
        self.in_dim = check_int_range("in_dim", in_dim, 1)
        self.dim = check_int_range("dim", dim, 1)
        check_int_range("layers", layers, 1)
        ff = check_int_range("ff_dim", 4 * dim if ff_dim is None else ff_dim, 1)
        self.project = nn.Linear(in_dim, dim)
        self.attention = nn.ModuleList(MultiHeadAttention(dim, heads) for _ in range(layers))
        self.feed_forward = nn.ModuleList(MLP(dim, dim, (ff,)) for _ in range(layers))
        self.norm1 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))
        self.norm2 = nn.ModuleList(nn.LayerNorm(dim) for _ in range(layers))

    def forward(self, tokens: Tensor, valid: Tensor | None = None) -> Tensor:
        sizes = check_dims("tokens", tokens, ("B", "N", self.in_dim))
        check_float("tokens", tokens)
        if valid is not None:
            match_sizes(sizes, "valid", valid, ("B", "N"))
            check_bool("valid", valid)
        h = self.project(tokens)
        for attn, ff, n1, n2 in zip(
            self.attention, self.feed_forward, self.norm1, self.norm2, strict=True
        ):
            h = n1(h + attn(h, h, valid))
            h = n2(h + ff(h))
        if valid is not None:
            h = h * valid.unsqueeze(-1)
        return h


class SupportContext(nn.Module):
    """Context embedding of a partial decision (the support set so far), [SupportSet] eq. 21.

    ``ctx = MLP([mean_j h_j ‖ mean_{j ∈ S} h_j ‖ mean_{j ∉ S} h_j ‖ extra])``: the instance
    summary, the chosen elements, the remaining ones and optional step features (e.g. the
    fraction of the budget used). An empty ``S`` (or an empty complement) contributes 0, not
    NaN. [SupportSet]'s own context network is a GNN with separate weights for chosen and
    candidate links; the masked means are its simplest permutation-invariant form.

    Shapes:
        ``embeddings`` ``(B, N, dim)`` float, ``support`` ``(B, N)`` bool (True = chosen),
        ``extra`` ``(B, extra_dim)`` float or None → ``(B, out_dim)``.

    :param dim: embedding width ``D``.
    :param out_dim: context width.
    :param extra_dim: width of ``extra`` (0: none).
    :param hidden: hidden widths of the MLP.
    """

    def __init__(
        self, dim: int, out_dim: int, extra_dim: int = 0, hidden: tuple[int, ...] = (64,)
    ) -> None:
        super().__init__()
        self.dim = check_int_range("dim", dim, 1)
        self.extra_dim = check_int_range("extra_dim", extra_dim, 0)
        self.mlp = MLP(3 * dim + extra_dim, check_int_range("out_dim", out_dim, 1), hidden)

    def forward(self, embeddings: Tensor, support: Tensor, extra: Tensor | None = None) -> Tensor:
        sizes = check_dims("embeddings", embeddings, ("B", "N", self.dim))
        match_sizes(sizes, "support", support, ("B", "N"))
        check_float("embeddings", embeddings)
        check_bool("support", support)
        chosen = support.unsqueeze(-1).to(embeddings.dtype)

        def masked_mean(weights: Tensor) -> Tensor:
            total = (embeddings * weights).sum(1)
            return total / weights.sum(1).clamp_min(1.0)

        parts = [embeddings.mean(1), masked_mean(chosen), masked_mean(1.0 - chosen)]
        if self.extra_dim:
            if extra is None:
                raise ValueError(f"extra must be a (B, {self.extra_dim}) tensor, got None")
            match_sizes(sizes, "extra", extra, ("B", self.extra_dim))
            check_float("extra", extra)
            parts.append(extra)
        elif extra is not None:
            raise ValueError(f"extra must be None (extra_dim=0), got shape {tuple(extra.shape)}")
        return self.mlp(torch.cat(parts, -1))


class PointerDecoder(nn.Module):
    """Scores the candidates (and END) against a context: masked logits ``(B, N [+ 1])``.

    1. Candidates ``h_j`` ``(B, N, D)``; with ``end_token`` a learned ``h_END`` is appended
       (index ``N``).
    2. Glimpse: ``g = MHA(W_c ctx, h, h)`` over the legal candidates only.
    3. ``u_j = clip · tanh((W_q g)·(W_k h_j) / √D)`` (``clip = None``: no tanh), then
       :func:`masked_logits`.

    ``softmax(logits)`` is the conditional probability of the next element ([SupportSet]
    eqs. 22–24); the decoder is called once per decoding step with the updated context and
    mask, the embeddings are computed once.

    Shapes:
        ``embeddings`` ``(B, N, dim)`` float, ``context`` ``(B, context_dim)`` float, ``mask``
        ``(B, N + 1)`` bool with END (``(B, N)`` without) → logits ``(B, N + 1)`` / ``(B, N)``
        float: ``-inf`` where illegal, all 0 on rows with nothing legal.

    :param dim: embedding width ``D`` (divisible by ``heads``).
    :param context_dim: width of the context vector.
    :param heads: glimpse attention heads.
    :param clip: tanh clipping ``C`` of the logits ([SupportSet]: "clipped within [-C, C]"),
        None for raw scaled dot products.
    :param end_token: append the learned END candidate.

    >>> dec = PointerDecoder(16, 8, heads=2)
    >>> mask = torch.ones(2, 7, dtype=torch.bool)
    >>> dec(torch.zeros(2, 6, 16), torch.zeros(2, 8), mask).shape
    torch.Size([2, 7])
    """

    def __init__(
        self,
        dim: int,
        context_dim: int,
        heads: int = 4,
        clip: float | None = 10.0,
        end_token: bool = True,
    ) -> None:
        super().__init__()
        self.dim = check_int_range("dim", dim, 1)
        self.context_dim = check_int_range("context_dim", context_dim, 1)
        self.clip = (
            None if clip is None else check_float_range("clip", clip, 0.0, low_inclusive=False)
        )
        self.end_token = bool(end_token)
        self.end = nn.Parameter(torch.randn(dim) / math.sqrt(dim)) if end_token else None
        self.w_c = nn.Linear(context_dim, dim)
        self.glimpse = MultiHeadAttention(dim, heads)
        self.w_q = nn.Linear(dim, dim, bias=False)
        self.w_k = nn.Linear(dim, dim, bias=False)

    def forward(self, embeddings: Tensor, context: Tensor, mask: Tensor) -> Tensor:
        sizes = check_dims("embeddings", embeddings, ("B", "N", self.dim))
        match_sizes(sizes, "context", context, ("B", self.context_dim))
        check_float("embeddings", embeddings)
        check_float("context", context)
        batch, num = sizes["B"], sizes["N"]
        width = num + 1 if self.end_token else num
        if tuple(mask.shape) != (batch, width):
            layout = " (the candidates, then END)" if self.end_token else ""
            raise ValueError(
                f"mask must have shape (B, N{' + 1' if self.end_token else ''}) = "
                f"{(batch, width)}{layout}, got {tuple(mask.shape)}"
            )
        check_bool("mask", mask)
        if self.end is not None:
            end = self.end.to(embeddings.dtype).expand(batch, 1, self.dim)
            embeddings = torch.cat([embeddings, end], 1)
        glimpse = self.glimpse(self.w_c(context).unsqueeze(1), embeddings, mask)  # (B, 1, D)
        scores = (self.w_k(embeddings) @ self.w_q(glimpse).transpose(1, 2)).squeeze(-1)
        scores = scores / math.sqrt(self.dim)
        if self.clip is not None:
            scores = self.clip * torch.tanh(scores)
        return masked_logits(scores, mask)


__all__ = [
    "AttentionEncoder",
    "MultiHeadAttention",
    "PointerDecoder",
    "SupportContext",
    "masked_logits",
]
