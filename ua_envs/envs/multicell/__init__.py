"""Static one-shot multi-cell association (docs/model.md §4.1): ``MultiCellAssoc-v0`` and
``MultiCellAssocBalanced-v0``.

Modules: ``sim`` (batch-first simulator, differentiable ``evaluate``), ``env`` (Gymnasium env),
``vector`` (native vector env), ``parallel`` (PettingZoo), ``viewer`` (matplotlib).
"""
