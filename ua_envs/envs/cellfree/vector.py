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

from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.cellfree.env import observation_space
from ua_envs.envs.cellfree.sim import CellFreeSimulator, CellFreeState, make_config

__all__ = ["CellFreeAssocVectorEnv"]


class CellFreeAssocVectorEnv(BatchedVectorEnv[CellFreeState]):
    """``num_envs`` copies of ``CellFreeAssoc-v0`` stepped as one batch.

    :param num_envs: number of sub-envs ``n >= 1``.
    :param device: torch device of the simulator and of every returned tensor.
    :param max_episode_steps: truncation limit, or ``None`` (the registered default: episodes end
        by themselves within ``M·K + 1`` steps).
    :param env_kwargs: the fields of :class:`~ua_envs.envs.cellfree.sim.CellFreeConfig`
        (``render_mode`` is accepted and must be None: the vector env does not render).
    """

    sim: CellFreeSimulator

    def __init__(
        self,
        num_envs: int = 1,
        *,
        device: torch.device | str = "cpu",
        max_episode_steps: int | None = None,
        **env_kwargs: Any,
    ) -> None:
        self._reject_render_mode(env_kwargs)
        self.config = make_config(env_kwargs)
        self._init_vector(
            num_envs,
            device,
            max_episode_steps,
            observation_space(self.config),
            spaces.Discrete(self.config.num_actions),
        )
        self.sim = CellFreeSimulator(self.config, batch_size=self.num_envs, device=self.device)

    def _action_to_tensor(self, actions: Any) -> Tensor:
        if isinstance(actions, Tensor):
            tensor = actions
        else:
            array = np.asarray(actions)
            if array.dtype.kind not in "iu":
                raise ValueError(f"actions must be integers, got dtype {array.dtype}")
            tensor = torch.from_numpy(array.astype(np.int64, copy=False))
        # Shape, dtype and range are checked by the simulator's step.
        return tensor.to(self.device)
