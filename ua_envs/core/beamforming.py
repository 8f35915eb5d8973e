"""Beamformers (SPEC §2). Being written."""
