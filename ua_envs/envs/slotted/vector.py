"""Native vector env of ``SlottedArrivalAssoc-v0``: ``num_envs`` episodes in one batched simulator.

``gym.make_vec("SlottedArrivalAssoc-v0", n, vectorization_mode="vector_entry_point", **kwargs)``
builds it. Observations, rewards and infos are torch tensors on ``device``, batch first (infos are
fresh tensors: mutating one leaves the env alone); actions ``(num_envs,)`` integers (tensor or
numpy). Seeding and ``SAME_STEP`` autoreset follow :class:`ua_envs.envs.base.BatchedVectorEnv`:
reset with seed ``s`` draws sub-env ``i``'s first episode as a single env reset with ``s + i``.
Since an episode is drawn whole at reset, steps draw nothing; only autoresets draw (from the
vector env's own generator). Episodes are truncated after ``max_episode_steps`` slots (default
``horizon``, as the single env; at most ``horizon``) and terminated only by an illegal action
with ``invalid_action="terminate"``.

>>> import gymnasium as gym
>>> import torch
>>> import ua_envs
>>> envs = gym.make_vec("SlottedArrivalAssoc-v0", 4, vectorization_mode="vector_entry_point")
>>> obs, info = envs.reset(seed=0)
>>> obs["nodes"].shape
torch.Size([4, 3, 6])
>>> mask = obs["action_mask"].bool()
>>> action = torch.where(mask[:, :3].any(1), mask[:, :3].float().argmax(1), 3)
>>> obs, reward, terminated, truncated, info = envs.step(action)
>>> reward.shape, info["rejections"].shape
(torch.Size([4]), torch.Size([4]))
"""

from __future__ import annotations

from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.slotted.env import single_spaces
from ua_envs.envs.slotted.sim import (
    SlottedSimulator,
    SlottedState,
    check_episode_steps,
    make_config,
)

__all__ = ["SlottedArrivalAssocVectorEnv"]


class SlottedArrivalAssocVectorEnv(BatchedVectorEnv[SlottedState]):
    """``num_envs`` slotted-arrival episodes stepped as one batch on ``device``.

    :param num_envs: number of sub-envs.
    :param device: torch device of the simulator and of every returned tensor.
    :param max_episode_steps: truncation length, ``None``: ``horizon`` (the episode's slots);
        at most ``horizon`` (``ValueError`` otherwise: raise ``horizon`` instead).
    :param env_kwargs: fields of :class:`~ua_envs.envs.slotted.sim.SlottedConfig`
        (``render_mode`` must be None: the vector env does not render).
    """

    sim: SlottedSimulator

    simulator_class = SlottedSimulator
    make_config = staticmethod(make_config)
    single_spaces = staticmethod(single_spaces)

    def _episode_steps(self, max_episode_steps: int | None) -> int | None:
        return check_episode_steps("max_episode_steps", max_episode_steps, self.config.horizon)

    @property
    def simulator(self) -> SlottedSimulator:
        """The batched simulator, the same object as ``sim``."""
        return self.sim
