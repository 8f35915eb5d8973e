"""Fronthaul-limited cell-free association (docs/model.md §4.3, [EGAT]): ``FronthaulAssoc-v0``.

Modules: ``sim`` (batch-first simulator, ``evaluate``), ``env`` (Gymnasium env), ``vector``
(native vector env), ``parallel`` (PettingZoo, one agent per AP), ``viewer`` (matplotlib).
"""
