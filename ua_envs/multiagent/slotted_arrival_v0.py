"""PettingZoo ``slotted_arrival_v0``: base-station agents accept or decline arriving users.

``parallel_env(**kwargs)`` is the parallel env
(:class:`ua_envs.envs.slotted.parallel.SlottedArrivalParallelEnv`; kwargs: ``max_cycles``,
``render_mode`` and the fields of ``SlottedConfig``), ``env(**kwargs)`` its AEC version
(``pettingzoo.utils.parallel_to_aec``, order-enforcing), ``raw_env(**kwargs)`` the AEC version
without PettingZoo's order-enforcing wrapper (PettingZoo's convention).
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec, parallel_to_aec_wrapper
from pettingzoo.utils.env import AECEnv

from ua_envs.envs.slotted.parallel import SlottedArrivalParallelEnv

__all__ = ["SlottedArrivalParallelEnv", "env", "parallel_env", "raw_env"]


def parallel_env(**kwargs: Any) -> SlottedArrivalParallelEnv:
    """The PettingZoo parallel env (agents ``bs_0 …``; ``Discrete(2)`` accept/decline)."""
    return SlottedArrivalParallelEnv(**kwargs)


def raw_env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC version without PettingZoo's order-enforcing wrapper (same kwargs)."""
    return parallel_to_aec_wrapper(parallel_env(**kwargs))


def env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC version of :func:`parallel_env` (agents act in turn, then the slot is played)."""
    return parallel_to_aec(parallel_env(**kwargs))
