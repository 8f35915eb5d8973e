"""Baselines of the cellfree family (SPEC §5). Registered on import."""
