"""``CellFreeAssoc-v0``: sequential cell-free support-set construction (docs/model.md §4.2)."""
