"""Native vector env of MultiCellAssoc-v0 / MultiCellAssocBalanced-v0 (torch, any device).

``gym.make_vec("MultiCellAssoc-v0", n, vectorization_mode="vector_entry_point", device="cuda")``
steps ``n`` instances in one batched simulator call. Observations, rewards and infos are torch
tensors on ``device`` (batch first; keys as in the single env, see ``env.py``); actions are
``(n, K)`` integer BS indices (tensor or array); with ``beamforming="agent"`` a dict
``{"association": (n, K), "beams": (n, M, K, N, 2)}`` of tensors or arrays.
Every step ends every episode, so autoreset
(``SAME_STEP``, see :class:`~ua_envs.envs.base.BatchedVectorEnv`) draws ``n`` new instances in
the same call: the returned observation is the next instance's, ``infos["final_obs"]`` the
decided one's. Reset with ``seed=s``, sub-env ``i`` starts from the instance a single env reset
with ``s + i`` draws (on the same device).

>>> import gymnasium as gym
>>> import ua_envs
>>> envs = gym.make_vec("MultiCellAssoc-v0", 4, vectorization_mode="vector_entry_point")
>>> obs, _ = envs.reset(seed=0)
>>> tuple(obs["channel"].shape)
(4, 2, 8, 8)
>>> obs, reward, terminated, truncated, infos = envs.step(obs["gain_db"].argmax(dim=1))
>>> tuple(reward.shape), bool(terminated.all()), tuple(infos["final_info"]["rates"].shape)
((4,), True, (4, 8))
"""

from __future__ import annotations

from typing import Any

from ua_envs.envs.agent_beams import is_agent_mode
from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.multicell.env import single_spaces
from ua_envs.envs.multicell.sim import MultiCellSimulator, MultiCellState, make_config

__all__ = ["MultiCellAssocVectorEnv"]


class MultiCellAssocVectorEnv(BatchedVectorEnv[MultiCellState]):
    """Batched MultiCellAssoc on one torch device (constructor: :class:`BatchedVectorEnv`)."""

    simulator_class = MultiCellSimulator
    make_config = staticmethod(make_config)
    single_spaces = staticmethod(single_spaces)
    sim: MultiCellSimulator

    def _action_to_tensor(self, actions: Any) -> Any:
        if is_agent_mode(self.config):
            return self.sim.check_agent_action(actions, self.num_envs)
        return self.sim.check_action(actions, self.num_envs)
