"""Baselines of the multicell family (SPEC §5). Registered on import."""
