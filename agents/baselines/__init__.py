"""Baselines (SPEC §5), one module per env family; each registers its policies on import."""

from agents.baselines import cellfree, fronthaul, generic, multicell, slotted  # noqa: F401
