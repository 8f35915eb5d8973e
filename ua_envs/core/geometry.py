"""Deployments and distances.

Positions are ``(B, count, 2)`` real tensors in metres inside the square ``[0, side_m)²``.
"""

from __future__ import annotations

import torch
from torch import Tensor

from ua_envs.core.validation import check_float_range, check_int_range, check_shape


def _check_positions(tx_positions: Tensor, rx_positions: Tensor) -> None:
    check_shape("tx_positions", tx_positions, (None, 2))
    check_shape("rx_positions", rx_positions, (None, 2))
    if tx_positions.shape[:-2] != rx_positions.shape[:-2]:
        raise ValueError(
            f"tx_positions and rx_positions must share their batch dims, got "
            f"{tuple(tx_positions.shape)} and {tuple(rx_positions.shape)}"
        )


def uniform_positions(
    generator: torch.Generator,
    batch_size: int,
    count: int,
    side_m: float,
    *,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Draw ``count`` points i.i.d. uniform in the square ``[0, side_m)²`` per batch element.

    :param generator: the env's single random source; its device is the output's device.
    :return: ``(batch_size, count, 2)`` positions [m].
    :raises ValueError: not a generator, batch_size or count < 1, side_m ≤ 0.
    """
    if not isinstance(generator, torch.Generator):
        raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    batch_size = check_int_range("batch_size", batch_size, 1)
    count = check_int_range("count", count, 1)
    side_m = check_float_range("side_m", side_m, 0.0, low_inclusive=False)
    return side_m * torch.rand(
        (batch_size, count, 2), generator=generator, device=generator.device, dtype=dtype
    )


def planar_distances(tx_positions: Tensor, rx_positions: Tensor) -> Tensor:
    """Euclidean 2-D distances.

    :param tx_positions: ``(..., M, 2)`` [m].
    :param rx_positions: ``(..., K, 2)`` [m].
    :return: ``(..., M, K)`` distances [m].
    """
    _check_positions(tx_positions, rx_positions)
    diff = tx_positions.unsqueeze(-2) - rx_positions.unsqueeze(-3)
    return torch.linalg.vector_norm(diff, dim=-1)


def wraparound_distances(tx_positions: Tensor, rx_positions: Tensor, side_m: float) -> Tensor:
    """2-D distances on a torus: the minimum over the 3×3 tiling of the ``side_m`` square.

    Per axis the nearest image is at ``min(|Δ|, side_m − |Δ|)`` for points inside the square,
    which equals the minimum over the nine shifted copies and avoids building them.

    :param tx_positions: ``(..., M, 2)`` [m] inside ``[0, side_m)²``.
    :param rx_positions: ``(..., K, 2)`` [m] inside ``[0, side_m)²``.
    :return: ``(..., M, K)`` distances [m].
    :raises ValueError: mismatched shapes, side_m ≤ 0.
    """
    _check_positions(tx_positions, rx_positions)
    side_m = check_float_range("side_m", side_m, 0.0, low_inclusive=False)
    delta = (tx_positions.unsqueeze(-2) - rx_positions.unsqueeze(-3)).abs()
    delta = torch.minimum(delta, side_m - delta)
    return torch.linalg.vector_norm(delta, dim=-1)


def with_height(planar_m: Tensor, height_difference_m: float) -> Tensor:
    """3-D distance from a planar distance and a height difference (≥ 0), both in metres."""
    height_difference_m = check_float_range("height_difference_m", height_difference_m, 0.0)
    return torch.sqrt(planar_m.square() + height_difference_m**2)
