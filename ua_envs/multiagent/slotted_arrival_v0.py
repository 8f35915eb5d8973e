"""PettingZoo ``slotted_arrival_v0``: base-station agents accept or decline arriving users.

``parallel_env(**kwargs)`` is the parallel env
(:class:`ua_envs.envs.slotted.parallel.SlottedArrivalParallelEnv`; kwargs: ``max_cycles``,
``render_mode`` and the fields of ``SlottedConfig``), ``env(**kwargs)`` its AEC version
(``pettingzoo.utils.parallel_to_aec``), ``raw_env`` the parallel class.
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils import parallel_to_aec
from pettingzoo.utils.env import AECEnv

from ua_envs.envs.slotted.parallel import SlottedArrivalParallelEnv

raw_env = SlottedArrivalParallelEnv


def parallel_env(**kwargs: Any) -> SlottedArrivalParallelEnv:
    """The PettingZoo parallel env (agents ``bs_0 …``; ``Discrete(2)`` accept/decline)."""
    return SlottedArrivalParallelEnv(**kwargs)


def env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC version of :func:`parallel_env` (agents act in turn, then the slot is played)."""
    return parallel_to_aec(parallel_env(**kwargs))


__all__ = ["env", "parallel_env", "raw_env"]
