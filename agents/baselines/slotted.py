"""Baselines of the slotted family (SPEC §5). Registered on import."""
