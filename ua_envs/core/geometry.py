"""Deployments and distances.

Positions are ``(B, count, 2)`` real tensors in metres inside the square ``[0, side_m)²``.
"""

from __future__ import annotations

import torch
from torch import Tensor


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
    """
    return side_m * torch.rand(
        (batch_size, count, 2), generator=generator, device=generator.device, dtype=dtype
    )


def planar_distances(tx_positions: Tensor, rx_positions: Tensor) -> Tensor:
    """Euclidean 2-D distances.

    :param tx_positions: ``(..., M, 2)`` [m].
    :param rx_positions: ``(..., K, 2)`` [m].
    :return: ``(..., M, K)`` distances [m].
    """
    diff = tx_positions.unsqueeze(-2) - rx_positions.unsqueeze(-3)
    return torch.linalg.vector_norm(diff, dim=-1)


def wraparound_distances(tx_positions: Tensor, rx_positions: Tensor, side_m: float) -> Tensor:
    """2-D distances on a torus: the minimum over the 3×3 tiling of the ``side_m`` square.

    Per axis the nearest image is at ``min(|Δ|, side_m − |Δ|)`` for points inside the square,
    which equals the minimum over the nine shifted copies and avoids building them.

    :param tx_positions: ``(..., M, 2)`` [m] inside ``[0, side_m)²``.
    :param rx_positions: ``(..., K, 2)`` [m] inside ``[0, side_m)²``.
    :return: ``(..., M, K)`` distances [m].
    """
    delta = (tx_positions.unsqueeze(-2) - rx_positions.unsqueeze(-3)).abs()
    delta = torch.minimum(delta, side_m - delta)
    return torch.linalg.vector_norm(delta, dim=-1)


def with_height(planar_m: Tensor, height_difference_m: float) -> Tensor:
    """3-D distance from a planar distance and a height difference, both in metres."""
    return torch.sqrt(planar_m.square() + height_difference_m**2)
