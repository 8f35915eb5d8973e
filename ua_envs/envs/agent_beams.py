"""``beamforming="agent"``: the action carries the beams as well as the association.

The one-step families whose papers learn beams ([GS-GNN], [AttSKGS]: ``MultiCellAssoc-v0``;
[EGAT]: ``FronthaulAssoc-v0``) accept ``beamforming="agent"``. The action is then a ``Dict``::

    {"association": <the family's usual association action>,
     "beams": Box(-BEAM_BOUND, BEAM_BOUND, (M, K, N, 2), float32)}

``beams[m, k, :, 0]`` / ``beams[m, k, :, 1]`` are the real / imaginary parts of the unscaled
beam ṽ_{m,k} of transmitter m towards UE k. The env masks them to the association as served and
rescales each transmitter's beams together to its full power
(:func:`ua_envs.core.signal.project_power`, [GS-GNN] eq. 9), so their common scale per
transmitter does not matter: the decision is the beams' directions and their relative powers.
Values outside the box are accepted (finite ones; the box is the range learners sample in).
A transmitter whose associated beams are all zero sends nothing.

This module holds what the families share: the constant, the action space and the validation
of batched actions (:func:`check_agent_action`). It never imports a family.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from ua_envs.core.validation import as_tensor, check_finite

__all__ = [
    "AGENT_BEAMFORMING",
    "AGENT_KEYS",
    "BEAM_BOUND",
    "AgentAction",
    "agent_action_space",
    "batched_agent_action",
    "beams_from_parts",
    "beams_space",
    "check_agent_action",
    "is_agent_mode",
]

#: The ``beamforming`` value whose beams come with the action.
AGENT_BEAMFORMING = "agent"
#: Keys of an agent-beams action, in order.
AGENT_KEYS = ("association", "beams")
#: Bound of the ``beams`` box: the range a learner samples in (the env accepts any finite value,
#: since each transmitter's beams are rescaled to its power).
BEAM_BOUND = 1.0


class AgentAction(NamedTuple):
    """A validated, batched agent-beams action.

    :param association: the family's batched association (multicell: ``(B, K)`` int64 BS
        indices; fronthaul: ``(B, M, K)`` bool).
    :param beams: ``(B, M, K, N)`` complex64 unscaled beams ṽ (not yet projected).
    """

    association: Any
    beams: Tensor


def is_agent_mode(config: Any) -> bool:
    """Whether a family config has ``beamforming="agent"``."""
    return getattr(config, "beamforming", None) == AGENT_BEAMFORMING


def beams_space(num_bs: int, num_ues: int, num_antennas: int) -> spaces.Box:
    """``Box(-BEAM_BOUND, BEAM_BOUND, (M, K, N, 2), float32)``: real and imaginary parts."""
    shape = (num_bs, num_ues, num_antennas, 2)
    return spaces.Box(-BEAM_BOUND, BEAM_BOUND, shape=shape, dtype=np.float32)


def agent_action_space(
    association: spaces.Space[Any], num_bs: int, num_ues: int, num_antennas: int
) -> spaces.Dict:
    """``Dict(association=association, beams=beams_space(M, K, N))``."""
    return spaces.Dict(
        {"association": association, "beams": beams_space(num_bs, num_ues, num_antennas)}
    )


def beams_from_parts(
    parts: Any, shape: tuple[int, ...], *, device: torch.device | str, name: str = "beams"
) -> Tensor:
    """Real/imaginary parts ``(*shape, 2)`` (or complex ``shape``) as a complex64 tensor.

    :param parts: array or tensor, real (bool excluded) with a last dim of 2, or complex of
        ``shape``.
    :param shape: the expected complex shape, e.g. ``(B, M, K, N)``.
    :param name: what messages call it.
    :return: ``shape`` complex64 tensor on ``device``.
    :raises ValueError: not convertible, another shape, a bool dtype, NaN or infinity.
    """
    tensor = as_tensor(name, parts, device=device)
    got = tuple(tensor.shape)
    if tensor.is_complex():
        if got != tuple(shape):
            raise ValueError(
                f"{name} must have shape {(*shape, 2)} (real, imaginary parts) or complex "
                f"{tuple(shape)}, got complex {got}"
            )
        check_finite(name, tensor)
        return tensor.to(torch.complex64)
    if tensor.dtype == torch.bool:
        raise ValueError(f"{name} must hold real numbers, got dtype {tensor.dtype}")
    if got != (*shape, 2):
        raise ValueError(
            f"{name} must have shape {(*shape, 2)} (real, imaginary parts of each beam), got {got}"
        )
    real = tensor.to(torch.float32)
    check_finite(name, real)
    return torch.complex(real[..., 0], real[..., 1])


def check_agent_action(
    action: Any,
    association: Any,
    batch_size: int,
    num_bs: int,
    num_ues: int,
    num_antennas: int,
    *,
    device: torch.device | str,
) -> AgentAction:
    """Validate a batched agent-beams action.

    :param action: a mapping with exactly the keys ``"association"`` and ``"beams"`` (or an
        :class:`AgentAction`); ``beams`` is ``(B, M, K, N, 2)`` real (or ``(B, M, K, N)``
        complex).
    :param association: the family's validator of its batched association,
        ``association(value, batch_size) -> validated``.
    :return: the validated :class:`AgentAction` (beams complex64 on ``device``).
    :raises ValueError: not a mapping, missing or extra keys, a bad association or bad beams.
    """
    if isinstance(action, AgentAction):
        action = action._asdict()
    if not isinstance(action, Mapping):
        raise ValueError(
            "with beamforming='agent' the action must be a dict with keys 'association' and "
            f"'beams', got {type(action).__name__}"
        )
    keys = set(action)
    if keys != set(AGENT_KEYS):
        raise ValueError(
            "with beamforming='agent' the action must have exactly the keys 'association' and "
            f"'beams', got {sorted(map(str, keys))}"
        )
    shape = (batch_size, num_bs, num_ues, num_antennas)
    beams = beams_from_parts(action["beams"], shape, device=device)
    return AgentAction(association(action["association"], batch_size), beams)


def batched_agent_action(action: Any, check_association: Callable[[Any], Any] | None = None) -> Any:
    """A single agent-beams action with a batch dim of one on each entry (anything but a
    mapping is returned unchanged, for the simulator's check to reject).

    :param check_association: ``f(association) -> array`` applied to the single association
        first (its messages name the single env's shapes), or ``None``.
    """
    if not isinstance(action, Mapping):
        return action
    out = {}
    for key, value in action.items():
        if key == "association" and check_association is not None:
            value = check_association(value)
        out[key] = value[None] if isinstance(value, Tensor) else np.asarray(value)[None]
    return out
