"""GNN layers, attention encoder/decoder and graph input helpers for the learned agents.

The layers know nothing of RL: they map node / edge features to node / edge features (or
logits). Each bipartite layer has a dense batched form for the complete AP–UE graph
(``(B, M, K, F)`` link tensors, the fastest on small graphs) and, where the math is a message
passing on the edge index, a PyG form for sparse graphs; both give the same result.

| layer | paper | forms |
|---|---|---|
| :class:`GCNLayer` | [GROWS] graph convolution on the BS graph | dense, PyG (``GCNConv`` math) |
| :class:`EdgeNodeLayer` | [GS-GNN] / ENGNN edge-update layer | dense, PyG ``MessagePassing`` |
| :class:`EGATLayer` | [EGAT] node + edge attention, multi-head, residual | dense |
| :class:`AttentionEncoder`, :class:`PointerDecoder` | [SupportSet], [AttSKGS] | dense |
| :class:`SupportContext` (context embedding) | [SupportSet] | dense |
| :class:`MMSEBeamHead` (per-transmitter MMSE beams) | [GS-GNN] joint design | dense |
| :class:`CorrelationMixing` (links gather the links they hear) | ours (``l2o``) | dense |

Agent networks built from them (their modules): :class:`SupportSetNet` (``support_set``: the
[SupportSet] encoder, support context and pointer decoder of ``agents.reinforce``) and
:class:`EGATAgentNet` (``egat_agent``: the EGAT encoder with association, beam and value heads
of ``agents.egat``); per-link input features in ``link_features``.

Graph inputs: :func:`bipartite_dense` / :func:`bipartite_sparse` / :func:`nodes_dense` read the
``HeteroData`` / ``Batch`` views of ``ua_envs.graph``. Speed of the two forms:
``python -m agents.nets.bench``.
"""

from agents.nets.attention import (
    AttentionEncoder,
    MultiHeadAttention,
    PointerDecoder,
    SupportContext,
    masked_logits,
)
from agents.nets.beams import MMSEBeamHead
from agents.nets.common import MLP, masked_softmax
from agents.nets.correlation import CorrelationMixing
from agents.nets.edge_node import EdgeNodeLayer
from agents.nets.egat import EGATLayer
from agents.nets.egat_agent import EGATAgentNet
from agents.nets.gcn import GCNLayer, normalized_adjacency
from agents.nets.graph_io import BipartiteInputs, bipartite_dense, bipartite_sparse, nodes_dense
from agents.nets.support_set import SupportSetNet

__all__ = [
    "MLP",
    "AttentionEncoder",
    "BipartiteInputs",
    "CorrelationMixing",
    "EGATAgentNet",
    "EGATLayer",
    "EdgeNodeLayer",
    "GCNLayer",
    "MMSEBeamHead",
    "MultiHeadAttention",
    "PointerDecoder",
    "SupportContext",
    "SupportSetNet",
    "bipartite_dense",
    "bipartite_sparse",
    "masked_logits",
    "masked_softmax",
    "nodes_dense",
    "normalized_adjacency",
]
