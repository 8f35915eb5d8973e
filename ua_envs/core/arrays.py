"""The few helpers that let one piece of physics run on torch tensors and numpy arrays alike.

The simulators are batch-first torch code. A single Gymnasium env runs at batch size 1, where
torch's per-call overhead (a few µs per op) dominates; so the decision step of some families is
written *array-generic*: the same function runs on torch tensors in the vector env (any device)
and on numpy copies of a batch-of-one state in the single env. Such functions use only what both
libraries spell the same way (arithmetic, comparisons, ``.sum(axis)``, ``.real``, indexing) plus
the helpers below for what they spell differently.

>>> import numpy as np, torch
>>> namespace(np.zeros(2)) is np, namespace(torch.zeros(2)) is torch
(True, True)
>>> off_diagonal(2, like=np.zeros(1, np.float32))
array([[0., 1.],
       [1., 0.]], dtype=float32)
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, TypeAlias

import numpy as np
import torch

__all__ = ["Array", "arange", "copy", "copy_values", "namespace", "off_diagonal", "to_float32"]

#: A batched array: a ``torch.Tensor`` or a ``numpy.ndarray``. Typed ``Any``: the two libraries'
#: stubs share no protocol that covers the operators array-generic code uses.
Array: TypeAlias = Any


def namespace(array: Any) -> ModuleType:
    """The array module of ``array``: :mod:`numpy` for numpy arrays, else :mod:`torch`."""
    return np if isinstance(array, np.ndarray) else torch


def arange(size: int, like: Array) -> Array:
    """``0 .. size-1`` as int64, numpy or torch (on ``like``'s device) like ``like``."""
    if isinstance(like, np.ndarray):
        return np.arange(size)
    return torch.arange(size, device=like.device)


def off_diagonal(size: int, like: Array) -> Array:
    """``1 - I`` of shape ``(size, size)`` in ``like``'s real dtype (and device)."""
    if isinstance(like, np.ndarray):
        return 1.0 - np.eye(size, dtype=like.dtype)
    return 1.0 - torch.eye(size, dtype=like.dtype, device=like.device)


def to_float32(array: Array) -> Array:
    """``array`` cast to float32 (a bool mask becomes 0/1)."""
    if isinstance(array, np.ndarray):
        return array.astype(np.float32)
    return array.float()


def copy(array: Array) -> Array:
    """A fresh copy (``.copy()`` for numpy, ``.clone()`` for torch)."""
    return array.copy() if isinstance(array, np.ndarray) else array.clone()


def copy_values(values: dict[str, Array], copy_them: bool = True) -> dict[str, Array]:
    """``values`` with every array replaced by a fresh copy (``copy_them=False``: as given).

    What a simulator's ``info(state, copy=...)`` returns: its entries are often views of the
    state, which adapters that copy rows themselves may take as they are.
    """
    if not copy_them:
        return values
    return {key: copy(value) for key, value in values.items()}
