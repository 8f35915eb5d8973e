"""Native vector env of MultiCellAssoc-v0 / MultiCellAssocBalanced-v0 (torch, any device).

``gym.make_vec("MultiCellAssoc-v0", n, vectorization_mode="vector_entry_point", device="cuda")``
steps ``n`` instances in one batched simulator call. Observations, rewards and infos are torch
tensors on ``device`` (batch first; keys as in the single env, see ``env.py``); actions are
``(n, K)`` integer BS indices (tensor or array). Every step ends every episode, so autoreset
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

import torch
from torch import Tensor

from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.multicell.env import action_space, observation_space
from ua_envs.envs.multicell.sim import MultiCellSimulator, MultiCellState, make_config

__all__ = ["MultiCellAssocVectorEnv"]


class MultiCellAssocVectorEnv(BatchedVectorEnv[MultiCellState]):
    """Batched MultiCellAssoc on one torch device.

    :param num_envs: number of sub-envs ``n``.
    :param device: torch device of the simulator and of every returned tensor.
    :param max_episode_steps: unused in practice (episodes last one step); accepted for
        ``make_vec``.
    :param env_kwargs: the single env's kwargs (``MultiCellConfig`` fields; ``render_mode`` is
        accepted and must be None: the vector env does not render).
    """

    sim: MultiCellSimulator

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
        self.sim = MultiCellSimulator(self.config, batch_size=num_envs, device=device)
        self._init_vector(
            num_envs,
            device,
            max_episode_steps,
            observation_space(self.config),
            action_space(self.config),
        )

    def _action_to_tensor(self, actions: Any) -> Tensor:
        return self.sim.check_action(actions, self.num_envs)
