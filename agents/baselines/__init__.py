"""Baselines (SPEC §5), one module per env family.

Each module (``generic``, ``multicell``, ``cellfree``, ``fronthaul``, ``slotted``) declares its
entries in ``POLICIES`` (and ``TRAINERS``) and imports nothing of :mod:`agents.registry`;
the registry collects them on its first use (:func:`agents.registry.load_builtin`). Importing
this package imports none of them.
"""
