"""Graph views of observations for GNN agents (torch_geometric).

Two sections, one per graph kind: the bipartite AP–UE graph (``HeteroData``) used by the
cell-free family, and the fully connected BS graph (``Data``) used by the slotted family.
"""

# ---- bipartite AP–UE graph (cell-free family) -------------------------------------------------

# ---- BS graph (slotted family) -----------------------------------------------------------------
