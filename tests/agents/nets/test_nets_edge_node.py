"""EdgeNodeLayer ([GS-GNN] eqs. 6–8): numpy reference, dense == PyG, equivariance, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from agents.nets import EdgeNodeLayer, bipartite_dense, bipartite_sparse
from ua_envs.graph import bipartite_edge_index, fronthaul_graph_batch


def _np_mlp(mlp: nn.Module, x: np.ndarray) -> np.ndarray:
    """The layer's MLP (Linear + ReLU after every Linear) in numpy, float64."""
    for module in mlp:
        if isinstance(module, nn.Linear):
            x = (
                x @ module.weight.detach().double().numpy().T
                + module.bias.detach().double().numpy()
            )
        else:
            x = np.maximum(x, 0.0)
    return x


def _np_reference(layer: EdgeNodeLayer, b, c, e, agg):  # type: ignore[no-untyped-def]
    """Eqs. 6–8 with explicit loops over APs m and UEs k (one graph)."""
    num_aps, num_ues = b.shape[0], c.shape[0]
    f = {i: (lambda x, i=i: _np_mlp(getattr(layer, f"f{i}"), x)) for i in range(1, 7)}
    pair = np.array(
        [[f[5](np.concatenate([b[m], c[k]])) for k in range(num_ues)] for m in range(num_aps)]
    )
    b_new = np.array(
        [
            f[2](
                np.concatenate(
                    [b[m], agg([f[1](np.concatenate([c[k], e[m, k]])) for k in range(num_ues)])]
                )
            )
            for m in range(num_aps)
        ]
    )
    c_new = np.array(
        [
            f[4](
                np.concatenate(
                    [c[k], agg([f[3](np.concatenate([b[m], e[m, k]])) for m in range(num_aps)])]
                )
            )
            for k in range(num_ues)
        ]
    )
    e_new = np.array(
        [
            [
                f[6](np.concatenate([e[m, k], agg(list(pair[m])), agg(list(pair[:, k]))]))
                for k in range(num_ues)
            ]
            for m in range(num_aps)
        ]
    )
    return b_new, c_new, e_new


AGGS = {
    "mean": lambda xs: np.mean(xs, axis=0),
    "sum": lambda xs: np.sum(xs, axis=0),
    "max": lambda xs: np.max(xs, axis=0),
}


def test_hand_set_weights_two_by_two() -> None:
    """All weights 1, biases 0, width 1 (each f is x ↦ ReLU(sum x)), mean aggregation, 2 × 2:
    b = (1, 2), c = (3, 4), e = [[1, 2], [3, 4]] →
    b'_m = b_m + mean_k (c_k + e_mk) = (1 + 5, 2 + 7) = (6, 9);
    c'_k = c_k + mean_m (b_m + e_mk) = (3 + 3.5, 4 + 4.5) = (6.5, 8.5);
    p_mk = b_m + c_k = [[4, 5], [5, 6]];
    e'_mk = e_mk + mean_k' p_mk' + mean_m' p_m'k = [[1 + 4.5 + 4.5, 2 + 4.5 + 5.5],
    [3 + 5.5 + 4.5, 4 + 5.5 + 5.5]]."""
    layer = EdgeNodeLayer(1, 1, 1, 1)
    with torch.no_grad():
        for p in layer.parameters():
            p.fill_(1.0 if p.dim() == 2 else 0.0)
    b = torch.tensor([[[1.0], [2.0]]])
    c = torch.tensor([[[3.0], [4.0]]])
    e = torch.tensor([[[[1.0], [2.0]], [[3.0], [4.0]]]])
    ap, ue, edge = layer(b, c, e)
    assert ap.flatten().tolist() == pytest.approx([6.0, 9.0])
    assert ue.flatten().tolist() == pytest.approx([6.5, 8.5])
    assert edge.flatten().tolist() == pytest.approx([10.0, 12.0, 13.0, 15.0])


@pytest.mark.parametrize("aggr", ["mean", "sum", "max"])
def test_dense_matches_numpy_reference(aggr: str) -> None:
    torch.manual_seed(0)
    layer = EdgeNodeLayer(2, 3, 4, 5, hidden=(6,), aggr=aggr)
    rng = np.random.default_rng(1)
    b, c, e = rng.normal(size=(2, 2)), rng.normal(size=(3, 3)), rng.normal(size=(2, 3, 4))
    got = layer(*(torch.tensor(v, dtype=torch.float32)[None] for v in (b, c, e)))
    for out, ref in zip(got, _np_reference(layer, b, c, e, AGGS[aggr]), strict=True):
        np.testing.assert_allclose(out[0].detach().numpy(), ref, atol=1e-5)


def _fronthaul_obs(
    batch: int, num_aps: int, num_ues: int, seed: int = 0
) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "channel": torch.randn(batch, num_aps, num_ues, 4, generator=gen),
        "gain_db": 10 * torch.randn(batch, num_aps, num_ues, generator=gen),
        "capacity_mbps": 60 * torch.rand(batch, num_aps, generator=gen),
        "weights": torch.rand(batch, num_ues, generator=gen),
    }


@pytest.mark.parametrize("aggr", ["mean", "sum", "max"])
def test_dense_equals_pyg_on_graph_batch(aggr: str) -> None:
    torch.manual_seed(3)
    data = fronthaul_graph_batch(_fronthaul_obs(5, 4, 3))
    layer = EdgeNodeLayer(1, 1, 5, 8, hidden=(16,), aggr=aggr)
    dense = layer.forward_graph(data)
    sparse = layer.forward_graph(data, dense=False)
    torch.testing.assert_close(dense.ap.reshape(20, 8), sparse.ap, atol=1e-5, rtol=0)
    torch.testing.assert_close(dense.ue.reshape(15, 8), sparse.ue, atol=1e-5, rtol=0)
    torch.testing.assert_close(dense.edge.reshape(60, 8), sparse.edge, atol=1e-5, rtol=0)
    # A second layer on the PyG outputs still agrees (stacking keeps the layouts aligned).
    second = EdgeNodeLayer(8, 8, 8, 4, aggr=aggr)
    assert sparse.edge_index is not None
    d2 = second(dense.ap, dense.ue, dense.edge)
    s2 = second.forward_pyg(sparse.ap, sparse.ue, sparse.edge, sparse.edge_index)
    torch.testing.assert_close(d2[2].reshape(60, 4), s2[2], atol=1e-5, rtol=0)


def test_pyg_form_on_a_sparse_graph_matches_numpy() -> None:
    """Top-1 links only (each UE to one AP): mean over the links present; AP 1 has none → its
    aggregate is 0."""
    torch.manual_seed(4)
    layer = EdgeNodeLayer(1, 1, 2, 3)
    ap, ue = torch.randn(2, 1), torch.randn(3, 1)
    edge_index = torch.tensor([[0, 0, 0], [0, 1, 2]])
    edge = torch.randn(3, 2)
    out_ap, out_ue, out_edge = layer.forward_pyg(ap, ue, edge, edge_index)
    b, c, e = (t.double().numpy() for t in (ap, ue, edge))
    f1 = lambda x: _np_mlp(layer.f1, x)  # noqa: E731
    to_ap0 = np.mean([f1(np.concatenate([c[k], e[k]])) for k in range(3)], axis=0)
    np.testing.assert_allclose(
        out_ap.detach().numpy()[0], _np_mlp(layer.f2, np.concatenate([b[0], to_ap0])), atol=1e-5
    )
    np.testing.assert_allclose(
        out_ap.detach().numpy()[1],
        _np_mlp(layer.f2, np.concatenate([b[1], np.zeros(3)])),
        atol=1e-5,
    )
    assert out_ue.shape == (3, 3) and out_edge.shape == (3, 3)


def test_permutation_equivariance_and_batch_independence() -> None:
    torch.manual_seed(5)
    layer = EdgeNodeLayer(3, 2, 4, 6, hidden=(8,))
    ap, ue, edge = torch.randn(4, 5, 3), torch.randn(4, 6, 2), torch.randn(4, 5, 6, 4)
    pm, pk = torch.randperm(5), torch.randperm(6)
    out = layer(ap, ue, edge)
    perm = layer(ap[:, pm], ue[:, pk], edge[:, pm][:, :, pk])
    torch.testing.assert_close(perm[0], out[0][:, pm], atol=1e-5, rtol=0)
    torch.testing.assert_close(perm[1], out[1][:, pk], atol=1e-5, rtol=0)
    torch.testing.assert_close(perm[2], out[2][:, pm][:, :, pk], atol=1e-5, rtol=0)
    for i in range(4):
        single = layer(ap[i : i + 1], ue[i : i + 1], edge[i : i + 1])
        for a, b in zip(single, out, strict=True):
            torch.testing.assert_close(a, b[i : i + 1])
    # PyG form: relabelling the UEs of one graph relabels the UE rows.
    index = bipartite_edge_index(5, 6)
    flat = edge[0].reshape(30, 4)
    base = layer.forward_pyg(ap[0], ue[0], flat, index)
    inverse = torch.argsort(pk)
    relabelled = torch.stack([index[0], inverse[index[1]]])
    moved = layer.forward_pyg(ap[0], ue[0][pk], flat, relabelled)
    torch.testing.assert_close(moved[1], base[1][pk], atol=1e-5, rtol=0)
    torch.testing.assert_close(moved[2], base[2], atol=1e-5, rtol=0)


def test_bad_inputs_raise() -> None:
    layer = EdgeNodeLayer(1, 1, 5, 4)
    ap, ue, edge = torch.zeros(2, 3, 1), torch.zeros(2, 4, 1), torch.zeros(2, 3, 4, 5)
    with pytest.raises(ValueError, match=r"edge must have shape \(B, M, K, 5\) with K = 4"):
        layer(ap, ue, torch.zeros(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r"ue must have shape \(B, K, 1\), got \(2, 4\)"):
        layer(ap, torch.zeros(2, 4), edge)
    with pytest.raises(ValueError, match="aggr must be one of"):
        EdgeNodeLayer(1, 1, 5, 4, aggr="min")
    with pytest.raises(ValueError, match="edge_index must have shape"):
        layer.forward_pyg(
            ap[0], ue[0], edge[0].reshape(12, 5), torch.zeros(2, 11, dtype=torch.long)
        )
    with pytest.raises(ValueError, match="bipartite HeteroData"):
        bipartite_dense(torch.zeros(3))  # type: ignore[arg-type]
    data = fronthaul_graph_batch(_fronthaul_obs(2, 3, 4))
    assert bipartite_sparse(data).edge.shape == (24, 5)
