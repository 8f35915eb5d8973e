"""Input validation shared by the core, the simulators and the env adapters.

Every check raises :class:`ValueError` with a message that names the argument, the offending
value (or its shape) and what is allowed, so that bad input never surfaces as a NaN or as a
stack trace from deep inside torch.
"""

from __future__ import annotations

import operator
from collections.abc import Iterable, Sequence
from typing import Any

import torch
from torch import Tensor


def check_finite(name: str, tensor: Tensor) -> None:
    """Raise ``ValueError`` if ``tensor`` holds a NaN or an infinity.

    A finite sum implies finite entries (NaN and inf propagate through addition), so one cheap
    reduction settles the common case; the elementwise check runs only when the sum is not
    finite (a NaN/inf entry, or an overflow of huge finite values, which it then tells apart).

    :param name: argument name used in the message.
    :param tensor: any real, complex or integer tensor.
    """
    if tensor.is_complex():
        tensor = torch.view_as_real(tensor.conj() if tensor.is_conj() else tensor)
    if not tensor.dtype.is_floating_point:
        return
    if bool(torch.isfinite(tensor.sum())):
        return
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        raise ValueError(f"{name} must be finite, got {int((~finite).sum())} NaN or inf entries")


def check_nonnegative(name: str, tensor: Tensor) -> None:
    """Raise ``ValueError`` unless every entry of real ``tensor`` is finite and ``>= 0``."""
    check_finite(name, tensor)
    if bool((tensor < 0).any()):
        raise ValueError(f"{name} must be >= 0, got minimum {float(tensor.min()):.6g}")


def check_positive(name: str, tensor: Tensor) -> None:
    """Raise ``ValueError`` unless every entry of real ``tensor`` is finite and ``> 0``."""
    check_finite(name, tensor)
    if bool((tensor <= 0).any()):
        raise ValueError(f"{name} must be > 0, got minimum {float(tensor.min()):.6g}")


def check_choice(name: str, value: Any, allowed: Iterable[Any]) -> None:
    """Raise ``ValueError`` unless ``value`` is one of ``allowed``."""
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed!r}, got {value!r}")


def check_int_range(name: str, value: Any, low: int, high: int | None = None) -> int:
    """Return ``value`` as ``int`` if it is an integer in ``[low, high]`` (``high=None``: no cap).

    Booleans are rejected: ``num_ues=True`` is a bug, not the integer 1.
    """
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    ivalue = operator.index(value)
    if ivalue < low or (high is not None and ivalue > high):
        upper = "inf" if high is None else str(high)
        raise ValueError(f"{name} must be an integer in [{low}, {upper}], got {ivalue}")
    return ivalue


def check_float_range(
    name: str,
    value: Any,
    low: float = float("-inf"),
    high: float = float("inf"),
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as ``float`` if it is a finite real number within the given bounds."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    try:
        fvalue = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a real number, got {value!r}") from None
    if fvalue != fvalue or fvalue in (float("inf"), float("-inf")):
        raise ValueError(f"{name} must be finite, got {value!r}")
    below = fvalue < low if low_inclusive else fvalue <= low
    above = fvalue > high if high_inclusive else fvalue >= high
    if below or above:
        lo = "[" if low_inclusive else "("
        hi = "]" if high_inclusive else ")"
        raise ValueError(f"{name} must be in {lo}{low}, {high}{hi}, got {fvalue}")
    return fvalue


def check_shape(name: str, tensor: Tensor, expected: Sequence[int | None]) -> None:
    """Raise ``ValueError`` unless the trailing dims of ``tensor`` equal ``expected``.

    ``None`` in ``expected`` matches any size. Leading (batch) dims are free.
    """
    if tensor.dim() < len(expected):
        raise ValueError(
            f"{name} must have at least {len(expected)} dims {tuple(expected)}, "
            f"got shape {tuple(tensor.shape)}"
        )
    tail = tensor.shape[tensor.dim() - len(expected) :]
    for got, want in zip(tail, expected, strict=True):
        if want is not None and got != want:
            raise ValueError(
                f"{name} must have trailing shape {tuple(expected)}, "
                f"got shape {tuple(tensor.shape)}"
            )


def check_broadcastable(
    names: Sequence[str], tensors: Sequence[Tensor], tail_dims: Sequence[int]
) -> None:
    """Raise ``ValueError`` unless the batch dims (all but the last ``tail_dims[i]``) broadcast."""
    try:
        torch.broadcast_shapes(
            *[t.shape[: t.dim() - d] for t, d in zip(tensors, tail_dims, strict=True)]
        )
    except RuntimeError:
        shapes = ", ".join(f"{n}={tuple(t.shape)}" for n, t in zip(names, tensors, strict=True))
        raise ValueError(f"batch dimensions do not broadcast: {shapes}") from None


def as_tensor(
    name: str, value: Any, *, dtype: torch.dtype | None = None, device: Any = None
) -> Tensor:
    """Convert ``value`` (tensor, array, number, sequence) to a tensor, or raise ``ValueError``."""
    if isinstance(value, Tensor):
        return value.to(dtype=dtype, device=device) if (dtype or device) else value
    try:
        return torch.as_tensor(value, dtype=dtype, device=device)
    except (TypeError, ValueError, RuntimeError) as err:
        raise ValueError(f"{name} could not be converted to a tensor: {err}") from None


_REAL_OF_COMPLEX = {torch.complex64: torch.float32, torch.complex128: torch.float64}


def real_dtype(dtype: torch.dtype) -> torch.dtype:
    """The real dtype of a complex dtype (float32 for complex64); real dtypes map to themselves."""
    return _REAL_OF_COMPLEX.get(dtype, dtype)


def as_real(name: str, value: Any, real: torch.dtype, device: torch.device) -> Tensor:
    """``value`` as a ``real`` tensor on ``device``; no conversion when it already is one.

    The fast path matters: single envs call the physics at batch size 1, where per-call Python
    overhead, not arithmetic, sets the speed.
    """
    if isinstance(value, Tensor) and value.dtype == real and value.device == device:
        return value
    return as_tensor(name, value, device=device).to(real)
