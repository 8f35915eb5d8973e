"""Baselines of the fronthaul family (SPEC §5). Registered on import."""
