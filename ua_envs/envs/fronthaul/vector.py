"""Native vector env of FronthaulAssoc-v0 (torch, any device).

``gym.make_vec("FronthaulAssoc-v0", n, vectorization_mode="vector_entry_point", device="cuda")``
steps ``n`` instances in one batched simulator call. Observations, rewards and infos are torch
tensors on ``device`` (batch first; keys as in the single env, see ``env.py``); actions are
``(n, M*K)`` (or ``(n, M, K)``) 0/1 tensors or arrays. With the default ``horizon=1`` every step
ends every episode, so autoreset (``SAME_STEP``, see
:class:`~ua_envs.envs.base.BatchedVectorEnv`) draws ``n`` new instances in the same call: the
returned observation is the next instance's, ``infos["final_obs"]`` / ``infos["final_info"]``
the decided one's. Reset with ``seed=s``, sub-env ``i`` starts from the instance a single env
reset with ``s + i`` draws (on the same device).

``reset(options={"multipliers": μ})`` and ``envs.multipliers = μ`` set the Lagrange multipliers
of every sub-env (one ``(M,)`` vector, as a primal-dual learner keeps it).

>>> import gymnasium as gym
>>> import torch
>>> import ua_envs
>>> envs = gym.make_vec("FronthaulAssoc-v0", 4, vectorization_mode="vector_entry_point")
>>> obs, _ = envs.reset(seed=0)
>>> tuple(obs["channel"].shape)
(4, 8, 4, 4)
>>> action = torch.ones(4, 8 * 4, dtype=torch.int8)  # every AP serves every UE
>>> obs, reward, terminated, truncated, infos = envs.step(action)
>>> tuple(reward.shape), bool(terminated.all()), tuple(infos["final_info"]["rates"].shape)
((4,), True, (4, 4))
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor

from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.fronthaul.env import action_space, observation_space
from ua_envs.envs.fronthaul.sim import (
    Evaluation,
    FronthaulSimulator,
    FronthaulState,
    make_config,
)

__all__ = ["FronthaulAssocVectorEnv"]


class FronthaulAssocVectorEnv(BatchedVectorEnv[FronthaulState]):
    """Batched FronthaulAssoc on one torch device.

    :param num_envs: number of sub-envs ``n``.
    :param device: torch device of the simulator and of every returned tensor.
    :param max_episode_steps: optional truncation (episodes end after ``horizon`` steps anyway).
    :param env_kwargs: the single env's kwargs (``FronthaulConfig`` fields).
    """

    sim: FronthaulSimulator

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
        self.sim = FronthaulSimulator(self.config, batch_size=num_envs, device=device)
        self._init_vector(
            num_envs,
            device,
            max_episode_steps,
            observation_space(self.config),
            action_space(self.config),
        )

    def _action_to_tensor(self, actions: Any) -> Tensor:
        return self.sim.parse_action(actions, self.num_envs)

    @property
    def bandwidth_hz(self) -> float:
        """System bandwidth [Hz]."""
        return self.sim.bandwidth_hz

    @property
    def capacity_mbps(self) -> np.ndarray:
        """``(M,)`` float32 fronthaul capacity [Mbit/s] (a copy)."""
        return (self.sim.capacity_bps * 1e-6).cpu().numpy().copy()

    @property
    def multipliers(self) -> np.ndarray:
        """``(M,)`` float32 Lagrange multipliers μ used by the next step (a copy)."""
        return self.sim.multipliers.cpu().numpy().copy()

    @multipliers.setter
    def multipliers(self, value: Any) -> None:
        """Set μ (scalar or ``(M,)``, ``≥ 0``) for every sub-env from the next step on."""
        state = self.sim.set_multipliers(value, getattr(self, "state", None))
        if state is not None:
            self.state = state

    def evaluate(self, association: Any, *, enforce_fronthaul: str | None = "config") -> Evaluation:
        """Evaluate associations ``(n, M, K)`` on the current instances (nothing is stepped)."""
        tensor = torch.as_tensor(association, device=self.device)
        expected = (self.num_envs, self.config.num_bs, self.config.num_ues)
        if tuple(tensor.shape) != expected:
            raise ValueError(f"association must have shape {expected}, got {tuple(tensor.shape)}")
        return self.sim.evaluate(self.state, tensor, enforce_fronthaul=enforce_fronthaul)
