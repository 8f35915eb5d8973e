"""``CellFreeAssoc-v0``: sequential cell-free support-set construction (SPEC §4.2)."""
