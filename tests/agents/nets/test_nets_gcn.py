"""GCNLayer ([GROWS] graph convolution): hand-computed values, dense == PyG, equivariance."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch_geometric.nn import GCNConv

from agents.nets import GCNLayer, nodes_dense
from ua_envs.graph import bs_graph_batch, complete_edge_index


def _set(layer: GCNLayer, weights: list[float], bias: float) -> GCNLayer:
    """Fill the hop weights (then the root weight, if any) and the bias with constants."""
    with torch.no_grad():
        linears = [*layer.weights, *([layer.root] if layer.root is not None else [])]
        for linear, w in zip(linears, weights, strict=True):
            linear.weight.fill_(w)
        assert layer.bias is not None
        layer.bias.fill_(bias)
    return layer


def test_two_node_complete_graph_by_hand() -> None:
    """Â = [[1/2, 1/2], [1/2, 1/2]] on two connected nodes: one tap averages, two taps keep
    each node's own term (the root weight). x = (1, 3): Âx = (2, 2)."""
    x = torch.tensor([[[1.0], [3.0]]])
    one = _set(GCNLayer(1, 1), [2.0], 0.5)
    assert one(x).flatten().tolist() == pytest.approx([4.5, 4.5])  # 2·2 + 0.5
    root = _set(GCNLayer(1, 1, root_weight=True), [2.0, 1.0], 0.5)
    assert root(x).flatten().tolist() == pytest.approx([5.5, 7.5])  # 2·Âx + x + 0.5
    two_hops = _set(GCNLayer(1, 1, hops=2), [2.0, 3.0], 0.0)
    assert two_hops(x).flatten().tolist() == pytest.approx([10.0, 10.0])  # 2·Âx + 3·Â²x
    tanh = _set(GCNLayer(1, 1, activation=torch.tanh), [2.0], 0.5)
    assert tanh(x).flatten().tolist() == pytest.approx([np.tanh(4.5)] * 2)


def test_weighted_adjacency_matches_numpy() -> None:
    """Path 0 – 1 – 2 with weight 2 on (0, 1): numpy D^{-1/2}(A+I)D^{-1/2} X W + b."""
    adjacency = np.array([[0, 2, 0], [2, 0, 1], [0, 1, 0]], dtype=np.float64)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 2))
    layer = GCNLayer(2, 3, hops=2, root_weight=True)
    assert layer.root is not None
    w0 = layer.root.weight.detach().double().numpy().T
    w1 = layer.weights[0].weight.detach().double().numpy().T
    w2 = layer.weights[1].weight.detach().double().numpy().T
    assert layer.bias is not None
    b = layer.bias.detach().double().numpy()
    a_hat = adjacency + np.eye(3)
    d = a_hat.sum(1) ** -0.5
    a_hat = d[:, None] * a_hat * d[None, :]
    expected = x @ w0 + a_hat @ x @ w1 + a_hat @ a_hat @ x @ w2 + b
    got = layer(torch.tensor(x, dtype=torch.float32)[None], torch.tensor(adjacency).float())
    np.testing.assert_allclose(got[0].detach().numpy(), expected, atol=1e-5)


def _slotted_batch(batch: int, num_bs: int, seed: int = 0) -> dict[str, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return {
        "nodes": torch.rand(batch, num_bs, 6, generator=gen),
        "action_mask": torch.ones(batch, num_bs + 1, dtype=torch.bool),
        "arrival": torch.ones(batch, 1),
    }


@pytest.mark.parametrize(("hops", "root_weight"), [(1, False), (1, True), (3, True)])
def test_dense_equals_pyg_on_bs_graph_batch(hops: int, root_weight: bool) -> None:
    torch.manual_seed(hops)
    layer = GCNLayer(6, 16, hops=hops, root_weight=root_weight, activation=torch.tanh)
    data = bs_graph_batch(_slotted_batch(4, 6))
    dense = layer.forward_graph(data)  # (B, M, F)
    sparse = layer.forward_graph(data, dense=False)  # (B·M, F)
    assert dense.shape == (4, 6, 16)
    torch.testing.assert_close(dense.reshape(24, 16), sparse, atol=1e-5, rtol=0)


def test_one_tap_equals_pyg_gcnconv() -> None:
    torch.manual_seed(1)
    layer = GCNLayer(6, 8)
    conv = GCNConv(6, 8)
    with torch.no_grad():
        conv.lin.weight.copy_(layer.weights[0].weight)
        assert layer.bias is not None
        conv.bias.copy_(layer.bias.detach())
    data = bs_graph_batch(_slotted_batch(3, 5))
    torch.testing.assert_close(
        layer.forward_pyg(data.x, data.edge_index), conv(data.x, data.edge_index), atol=1e-5, rtol=0
    )
    # Dense with an explicit (M, M) adjacency equals the complete-graph default.
    x = nodes_dense(data)
    complete = torch.ones(5, 5) - torch.eye(5)
    torch.testing.assert_close(layer(x, complete), layer(x), atol=1e-6, rtol=0)


def test_permutation_equivariance_and_batch_independence() -> None:
    torch.manual_seed(2)
    layer = GCNLayer(5, 7, hops=2, root_weight=True, activation=torch.tanh)
    x = torch.randn(4, 6, 5)
    adjacency = torch.rand(4, 6, 6)
    perm = torch.randperm(6)
    out = layer(x, adjacency)
    permuted = layer(x[:, perm], adjacency[:, perm][:, :, perm])
    torch.testing.assert_close(permuted, out[:, perm], atol=1e-5, rtol=0)
    for i in range(4):
        torch.testing.assert_close(layer(x[i : i + 1], adjacency[i : i + 1]), out[i : i + 1])
    # PyG form: relabelling the nodes of one graph relabels the output rows.
    edge_index = complete_edge_index(6)
    inverse = torch.argsort(perm)
    sparse = layer.forward_pyg(x[0], edge_index)
    relabelled = layer.forward_pyg(x[0][perm], inverse[edge_index])
    torch.testing.assert_close(relabelled, sparse[perm], atol=1e-5, rtol=0)


def test_bad_shapes_raise_naming_the_argument() -> None:
    layer = GCNLayer(5, 4)
    with pytest.raises(ValueError, match=r"x must have shape \(B, M, 5\), got \(2, 3, 4\)"):
        layer(torch.zeros(2, 3, 4))
    with pytest.raises(ValueError, match="adjacency must have shape"):
        layer(torch.zeros(2, 3, 5), torch.zeros(3, 4))
    with pytest.raises(ValueError, match="edge_index must have shape"):
        layer.forward_pyg(torch.zeros(3, 5), torch.zeros(3, 4, dtype=torch.long))
    with pytest.raises(ValueError, match="hops must be"):
        GCNLayer(5, 4, hops=0)
    with pytest.raises(ValueError, match="complete graphs of bs_graph"):
        data = bs_graph_batch(_slotted_batch(2, 3))
        data.edge_index = data.edge_index[:, :-1]
        layer.forward_graph(data)
    with pytest.raises(ValueError, match="x must be a floating-point tensor"):
        layer(torch.zeros(2, 3, 5, dtype=torch.long))
