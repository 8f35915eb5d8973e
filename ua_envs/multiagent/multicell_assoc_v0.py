"""PettingZoo ``multicell_assoc_v0``: UE agents pick their BS in one simultaneous step.

See :mod:`ua_envs.envs.multicell.parallel` for spaces, rewards and infos.

>>> from ua_envs.multiagent import multicell_assoc_v0
>>> env = multicell_assoc_v0.parallel_env(num_ues=4)
>>> observations, infos = env.reset(seed=0)
>>> env.agents
['ue_0', 'ue_1', 'ue_2', 'ue_3']
>>> actions = {agent: 0 for agent in env.agents}
>>> observations, rewards, terminations, truncations, infos = env.step(actions)
>>> all(terminations.values()), env.agents
(True, [])
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils.conversions import parallel_to_aec, parallel_to_aec_wrapper

from ua_envs.envs.multicell.parallel import MultiCellAssocParallelEnv

__all__ = ["MultiCellAssocParallelEnv", "env", "parallel_env", "raw_env"]


def parallel_env(**kwargs: Any) -> MultiCellAssocParallelEnv:
    """The parallel env (kwargs: ``reward``, ``render_mode`` and ``MultiCellAssoc-v0``'s)."""
    return MultiCellAssocParallelEnv(**kwargs)


def raw_env(**kwargs: Any) -> AECEnv:
    """The AEC version without PettingZoo's order-enforcing wrapper."""
    return parallel_to_aec_wrapper(parallel_env(**kwargs))


def env(**kwargs: Any) -> AECEnv:
    """The AEC version (``parallel_to_aec``, order-enforcing)."""
    return parallel_to_aec(parallel_env(**kwargs))
