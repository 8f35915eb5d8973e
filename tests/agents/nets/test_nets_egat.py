"""EGATLayer ([EGAT] eqs. 17–26): numpy loop reference, equivariance, lone nodes, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from agents.nets import EGATLayer, bipartite_dense
from ua_envs.graph import fronthaul_graph_batch


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().numpy()


def _np_mlp(mlp: nn.Module, x: np.ndarray) -> np.ndarray:
    for module in mlp:
        if isinstance(module, nn.Linear):
            x = x @ _np(module.weight).T + _np(module.bias)
        else:
            x = np.maximum(x, 0.0)
    return x


def _softmax(scores: list[float]) -> np.ndarray:
    if not scores:
        return np.zeros(0)
    z = np.exp(np.array(scores) - max(scores))
    return z / z.sum()


def _np_reference(layer: EGATLayer, f_ap, f_ue, e):  # type: ignore[no-untyped-def]
    """Eqs. 17–26 for one graph, loops over heads, nodes and neighbours."""
    num_aps, num_ues = f_ap.shape[0], f_ue.shape[0]
    heads, d, slope = layer.heads, layer.head_dim, layer.negative_slope
    lrelu = lambda x: x if x > 0 else slope * x  # noqa: E731
    w_ap, w_ue, w_e = (_np(w.weight) for w in (layer.w_ap, layer.w_ue, layer.w_e))
    a_ap, a_ue, a_e = (_np(a).reshape(heads, 3 * d) for a in (layer.a_ap, layer.a_ue, layer.a_e))
    ap_out, ue_out = [], []
    edge_out = np.zeros_like(e)
    for m in range(num_aps):
        parts = []
        for c in range(heads):
            sl = slice(c * d, (c + 1) * d)
            pa = w_ap[sl] @ f_ap[m]
            msgs = [np.concatenate([w_e[sl] @ e[m, k], w_ue[sl] @ f_ue[k]]) for k in range(num_ues)]
            scores = [lrelu(a_ap[c] @ np.concatenate([pa, msg[:d], msg[d:]])) for msg in msgs]
            parts.append(sum(w * msg for w, msg in zip(_softmax(scores), msgs, strict=True)))
        ap_out.append(_np_mlp(layer.mlp_ap, np.concatenate(parts)) + f_ap[m])
    for k in range(num_ues):
        parts = []
        for c in range(heads):
            sl = slice(c * d, (c + 1) * d)
            pu = w_ue[sl] @ f_ue[k]
            msgs = [np.concatenate([w_e[sl] @ e[m, k], w_ap[sl] @ f_ap[m]]) for m in range(num_aps)]
            scores = [lrelu(a_ue[c] @ np.concatenate([pu, msg[:d], msg[d:]])) for msg in msgs]
            parts.append(sum(w * msg for w, msg in zip(_softmax(scores), msgs, strict=True)))
        ue_out.append(_np_mlp(layer.mlp_ue, np.concatenate(parts)) + f_ue[k])
    for m in range(num_aps):
        for k in range(num_ues):
            parts = []
            for c in range(heads):
                sl = slice(c * d, (c + 1) * d)
                target = w_e[sl] @ e[m, k]
                total = np.zeros(2 * d)
                for node, nbrs in (
                    (w_ap[sl] @ f_ap[m], [w_e[sl] @ e[m, j] for j in range(num_ues) if j != k]),
                    (w_ue[sl] @ f_ue[k], [w_e[sl] @ e[n, k] for n in range(num_aps) if n != m]),
                ):
                    scores = [lrelu(a_e[c] @ np.concatenate([nb, node, target])) for nb in nbrs]
                    for w, nb in zip(_softmax(scores), nbrs, strict=True):
                        total += w * np.concatenate([nb, node])
                parts.append(total)
            edge_out[m, k] = _np_mlp(layer.mlp_e, np.concatenate(parts)) + e[m, k]
    return np.array(ap_out), np.array(ue_out), edge_out


@pytest.mark.parametrize(("num_aps", "num_ues"), [(2, 2), (3, 2), (1, 3)])
def test_matches_numpy_reference(num_aps: int, num_ues: int) -> None:
    """(1, 3): a lone AP, so the UE-side edge sum is over no neighbour and contributes 0."""
    torch.manual_seed(0)
    layer = EGATLayer(3, 2, 4, head_dim=3, heads=2, hidden=(5,), negative_slope=0.2)
    rng = np.random.default_rng(0)
    f_ap, f_ue = rng.normal(size=(num_aps, 3)), rng.normal(size=(num_ues, 2))
    e = rng.normal(size=(num_aps, num_ues, 4))
    got = layer(*(torch.tensor(v, dtype=torch.float32)[None] for v in (f_ap, f_ue, e)))
    for out, ref in zip(got, _np_reference(layer, f_ap, f_ue, e), strict=True):
        assert torch.isfinite(out).all()
        np.testing.assert_allclose(out[0].detach().numpy(), ref, atol=1e-5)


def test_hand_case_one_head_zero_attention_vectors() -> None:
    """With a = 0 every score is equal, so attention is the plain mean; identity maps, zero
    MLP weights and bias 1 make every update "input + 1": the residual path by hand."""
    layer = EGATLayer(2, 2, 2, head_dim=2, heads=1, hidden=())
    with torch.no_grad():
        for p in layer.parameters():
            p.zero_()
        for mlp in (layer.mlp_ap, layer.mlp_ue, layer.mlp_e):
            mlp[0].bias.fill_(1.0)
    ap, ue, edge = torch.ones(1, 2, 2), 2 * torch.ones(1, 2, 2), torch.zeros(1, 2, 2, 2)
    out = layer(ap, ue, edge)
    assert out[0].flatten().tolist() == [2.0] * 4
    assert out[1].flatten().tolist() == [3.0] * 4
    assert out[2].flatten().tolist() == [1.0] * 8


def test_permutation_equivariance_and_batch_independence() -> None:
    torch.manual_seed(1)
    layer = EGATLayer(8, 8, 8, head_dim=4, heads=3)
    ap, ue, edge = torch.randn(3, 4, 8), torch.randn(3, 5, 8), torch.randn(3, 4, 5, 8)
    pm, pk = torch.randperm(4), torch.randperm(5)
    out = layer(ap, ue, edge)
    perm = layer(ap[:, pm], ue[:, pk], edge[:, pm][:, :, pk])
    torch.testing.assert_close(perm[0], out[0][:, pm], atol=1e-5, rtol=0)
    torch.testing.assert_close(perm[1], out[1][:, pk], atol=1e-5, rtol=0)
    torch.testing.assert_close(perm[2], out[2][:, pm][:, :, pk], atol=1e-5, rtol=0)
    for i in range(3):
        single = layer(ap[i : i + 1], ue[i : i + 1], edge[i : i + 1])
        for a, b in zip(single, out, strict=True):
            torch.testing.assert_close(a, b[i : i + 1], atol=1e-6, rtol=0)


def test_graph_view_and_errors() -> None:
    gen = torch.Generator().manual_seed(0)
    obs = {
        "channel": torch.randn(2, 3, 4, 4, generator=gen),
        "gain_db": torch.randn(2, 3, 4, generator=gen),
        "capacity_mbps": torch.full((2, 3), 60.0),
        "weights": torch.ones(2, 4),
    }
    data = fronthaul_graph_batch(obs)
    layer = EGATLayer(1, 1, 5, head_dim=4, heads=2)
    out = layer.forward_graph(data)
    dense = bipartite_dense(data)
    assert out.edge.shape == dense.edge.shape == (2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"edge must have shape \(B, M, K, 5\)"):
        layer(dense.ap, dense.ue, torch.zeros(2, 3, 4, 6))
    with pytest.raises(ValueError, match="heads must be"):
        EGATLayer(1, 1, 5, heads=0)
