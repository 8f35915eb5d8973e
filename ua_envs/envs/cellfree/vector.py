"""Native vector env of ``CellFreeAssoc-v0``: one batched simulator, any torch device.

``gym.make_vec("CellFreeAssoc-v0", n, vectorization_mode="vector_entry_point")`` builds it.
Observations, rewards (float64; float32 on ``mps``), terminations, truncations and infos are
torch tensors on ``device``, batch first, with the single env's keys (see ``env.py``); actions
are ``(n,)`` integers (tensor or numpy). Seeding, same-step autoreset and truncation follow
:class:`ua_envs.envs.base.BatchedVectorEnv`: reset with ``seed=s``, sub-env ``i`` equals a
single env reset with ``s + i``, and with the same actions it steps identically.
``reset(options={"instance": ChannelInstance(...)})`` (a given instance, see ``env.py``) applies
to every sub-env and to every autoreset until the next reset. Episodes end by themselves (at
most ``M·K + 1`` steps, see ``env.py``); ``max_episode_steps`` truncates earlier if given.

>>> import gymnasium as gym
>>> import torch
>>> import ua_envs
>>> envs = gym.make_vec("CellFreeAssoc-v0", 4, vectorization_mode="vector_entry_point")
>>> obs, info = envs.reset(seed=0)
>>> obs["action_mask"].shape, obs["action_mask"].dtype
(torch.Size([4, 49]), torch.int8)
>>> obs, reward, terminated, truncated, info = envs.step(torch.full((4,), 48))  # END
>>> terminated.tolist(), reward.tolist()  # the empty support has sum rate 0
([True, True, True, True], [0.0, 0.0, 0.0, 0.0])
"""

from __future__ import annotations

from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.cellfree.env import single_spaces
from ua_envs.envs.cellfree.sim import CellFreeSimulator, CellFreeState, make_config

__all__ = ["CellFreeAssocVectorEnv"]


class CellFreeAssocVectorEnv(BatchedVectorEnv[CellFreeState]):
    """``num_envs`` copies of ``CellFreeAssoc-v0`` stepped as one batch (constructor:
    :class:`~ua_envs.envs.base.BatchedVectorEnv`; ``max_episode_steps`` defaults to ``None``:
    episodes end by themselves within ``M·K + 1`` steps)."""

    simulator_class = CellFreeSimulator
    make_config = staticmethod(make_config)
    single_spaces = staticmethod(single_spaces)
    sim: CellFreeSimulator
