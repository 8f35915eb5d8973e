"""Shared pieces of the GNN layers: shape checks, the MLP, masked softmax and aggregation.

Everything here is batch-first and knows nothing of RL. ``masked_softmax`` is the one place
where "no legal entry" is handled: such a row gets all-zero weights (never NaN), so a layer
stays finite on nodes without neighbours and on fully masked decoder rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor, nn

from ua_envs.core.validation import check_choice

#: Aggregations the layers accept (``phi`` in [GS-GNN] eqs. 6–8).
AGGREGATIONS = ("mean", "sum", "max")


def check_dims(name: str, tensor: Tensor, expected: Sequence[int | str]) -> dict[str, int]:
    """Check that ``tensor`` has ``len(expected)`` dims; ints must match, strings bind names.

    A string entry names a size (``"B"``, ``"M"``...); the same name must get the same size in
    every call that shares the returned dict (pass it back in through ``sizes``).

    :param name: argument name used in the error message.
    :param tensor: the tensor to check.
    :param expected: one entry per dim: a fixed size or a size name.
    :return: the sizes bound to the names.
    :raises ValueError: wrong number of dims or a fixed size that differs.

    >>> check_dims("x", torch.zeros(2, 3, 4), ("B", "M", 4))
    {'B': 2, 'M': 3}
    """
    if not isinstance(tensor, Tensor):
        raise ValueError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    spec = tuple(expected)
    if tensor.dim() != len(spec):
        raise ValueError(
            f"{name} must have shape {_spec_text(spec)}, got {tuple(tensor.shape)} "
            f"({tensor.dim()} dims instead of {len(spec)})"
        )
    sizes: dict[str, int] = {}
    for got, want in zip(tensor.shape, spec, strict=True):
        if isinstance(want, str):
            sizes[want] = int(got)
        elif got != want:
            raise ValueError(
                f"{name} must have shape {_spec_text(spec)}, got {tuple(tensor.shape)}"
            )
    return sizes


def match_sizes(
    sizes: dict[str, int], name: str, tensor: Tensor, expected: Sequence[int | str]
) -> None:
    """:func:`check_dims`, then check the named sizes against ``sizes`` (updated in place).

    :raises ValueError: a named size differs from the one another argument bound.
    """
    got = check_dims(name, tensor, expected)
    for key, value in got.items():
        if key in sizes and sizes[key] != value:
            raise ValueError(
                f"{name} must have shape {_spec_text(tuple(expected))} with {key} = {sizes[key]} "
                f"(from the other inputs), got {tuple(tensor.shape)}"
            )
        sizes[key] = value


def _spec_text(spec: tuple[int | str, ...]) -> str:
    return "(" + ", ".join(str(s) for s in spec) + ")"


def check_float(name: str, tensor: Tensor) -> None:
    """Raise ``ValueError`` unless ``tensor`` is a real floating-point tensor."""
    if not tensor.is_floating_point():
        raise ValueError(f"{name} must be a floating-point tensor, got dtype {tensor.dtype}")


def check_bool(name: str, tensor: Tensor) -> None:
    """Raise ``ValueError`` unless ``tensor`` is a bool tensor."""
    if tensor.dtype != torch.bool:
        raise ValueError(f"{name} must be a bool tensor, got dtype {tensor.dtype}")


class MLP(nn.Sequential):
    """Fully connected network ``in_dim → hidden... → out_dim``.

    Each hidden layer is ``Linear`` followed by the activation; the output ``Linear`` is
    followed by the activation only if ``activate_output``. No normalisation layer, so rows of a
    batch never influence each other (the papers' batch norm is left to the caller).

    Shapes:
        input ``(..., in_dim)`` float; output ``(..., out_dim)``, same dtype.

    :param in_dim: input width (>= 1).
    :param out_dim: output width (>= 1).
    :param hidden: widths of the hidden layers (empty: one ``Linear``).
    :param activation: module class applied after each hidden layer (default ``nn.ReLU``).
    :param activate_output: apply the activation after the output layer too.

    >>> MLP(3, 2, hidden=(8,))(torch.zeros(5, 3)).shape
    torch.Size([5, 2])
    """

    def __init__(
        self,
        in_dim: int,
        out_dim: int,
        hidden: Sequence[int] = (),
        activation: type[nn.Module] = nn.ReLU,
        activate_output: bool = False,
    ) -> None:
        widths = [in_dim, *hidden, out_dim]
        for width in widths:
            if not isinstance(width, int) or width < 1:
                raise ValueError(f"MLP widths must be ints >= 1, got {widths}")
        layers: list[nn.Module] = []
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2 or activate_output:
                layers.append(activation())
        super().__init__(*layers)


def masked_softmax(scores: Tensor, mask: Tensor | None, dim: int = -1) -> Tensor:
    """Softmax of ``scores`` over ``dim`` restricted to ``mask``; all-zero where no entry is legal.

    Masked entries get weight 0. A slice with no legal entry gets all-zero weights (not NaN,
    not uniform) and zero gradient, so "aggregate over no neighbour" is the zero vector.

    Shapes:
        ``scores`` any float shape; ``mask`` bool, broadcastable to ``scores`` (True = legal) or
        None (plain softmax); output the shape of ``scores``.

    >>> masked_softmax(torch.tensor([[1.0, 1.0], [2.0, 0.0]]),
    ...                torch.tensor([[True, True], [False, False]])).tolist()
    [[0.5, 0.5], [0.0, 0.0]]
    """
    if mask is None:
        return torch.softmax(scores, dim=dim)
    mask = mask.expand_as(scores)
    filled = scores.masked_fill(~mask, float("-inf"))
    any_legal = mask.any(dim=dim, keepdim=True)
    # Rows without a legal entry would be softmax(all -inf) = NaN: give them zeros instead.
    filled = filled.masked_fill(~any_legal, 0.0)
    return torch.softmax(filled, dim=dim) * mask


def aggregate(messages: Tensor, dim: int, how: str) -> Tensor:
    """Aggregate ``messages`` over ``dim`` (complete graph): ``"mean"``, ``"sum"`` or ``"max"``.

    Shapes:
        ``messages`` ``(..., n, ..., F)``; output the same without ``dim``.
    """
    if how == "mean":
        return messages.mean(dim=dim)
    if how == "sum":
        return messages.sum(dim=dim)
    return messages.amax(dim=dim)


def check_aggregation(name: str, how: str) -> str:
    """Raise ``ValueError`` unless ``how`` is one of :data:`AGGREGATIONS`; return it."""
    check_choice(name, how, AGGREGATIONS)
    return how


__all__ = [
    "AGGREGATIONS",
    "MLP",
    "aggregate",
    "check_aggregation",
    "check_bool",
    "check_dims",
    "check_float",
    "masked_softmax",
    "match_sizes",
]
