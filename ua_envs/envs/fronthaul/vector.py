"""Native vector env of FronthaulAssoc-v0 (torch, any device).

``gym.make_vec("FronthaulAssoc-v0", n, vectorization_mode="vector_entry_point", device="cuda")``
steps ``n`` instances in one batched simulator call. Observations, rewards and infos are torch
tensors on ``device`` (batch first; keys as in the single env, see ``env.py``); actions are
``(n, M*K)`` (or ``(n, M, K)``) 0/1 tensors or arrays; with ``beamforming="agent"`` a dict
``{"association": (n, M*K), "beams": (n, M, K, N, 2)}`` of tensors or arrays.
With the default ``horizon=1`` every step ends every episode, so autoreset (``SAME_STEP``, see
:class:`~ua_envs.envs.base.BatchedVectorEnv`) draws ``n`` new instances in the same call: the
returned observation is the next instance's, ``infos["final_obs"]`` / ``infos["final_info"]``
the decided one's. Reset with ``seed=s``, sub-env ``i`` starts from the instance a single env
reset with ``s + i`` draws (on the same device).

``reset(options={"multipliers": μ})`` and ``envs.multipliers = μ`` set the Lagrange multipliers
of every sub-env (one ``(M,)`` vector, as a primal-dual learner keeps it), from the next step
on and across autoresets. ``reset(options={"instance": ChannelInstance(...)})`` plays a given
instance in every sub-env (and again at every autoreset). ``envs.evaluate(association,
beams=None)`` scores ``(n, M, K)`` associations on the current instances without stepping and
returns an :class:`~ua_envs.envs.contract.Outcome` (see
:meth:`~ua_envs.envs.fronthaul.sim.FronthaulSimulator.evaluate`).

>>> import gymnasium as gym
>>> import torch
>>> import ua_envs
>>> envs = gym.make_vec("FronthaulAssoc-v0", 4, vectorization_mode="vector_entry_point")
>>> obs, _ = envs.reset(seed=0)
>>> tuple(obs["channel"].shape)
(4, 8, 4, 4)
>>> action = torch.ones(4, 8 * 4, dtype=torch.int8)  # every AP serves every UE
>>> outcome = envs.unwrapped.evaluate(action.reshape(4, 8, 4))
>>> tuple(outcome.metrics["fronthaul_load_mbps"].shape)
(4, 8)
>>> obs, reward, terminated, truncated, infos = envs.step(action)
>>> tuple(reward.shape), bool(terminated.all()), tuple(infos["final_info"]["rates"].shape)
((4,), True, (4, 4))
>>> torch.allclose(reward, outcome.reward)  # what step() scored
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
from torch import Tensor

from ua_envs.envs.agent_beams import is_agent_mode
from ua_envs.envs.base import BatchedVectorEnv
from ua_envs.envs.fronthaul.env import single_spaces
from ua_envs.envs.fronthaul.sim import FronthaulSimulator, FronthaulState, make_config

__all__ = ["FronthaulAssocVectorEnv"]


class FronthaulAssocVectorEnv(BatchedVectorEnv[FronthaulState]):
    """Batched FronthaulAssoc on one torch device.

    :param num_envs: number of sub-envs ``n``.
    :param device: torch device of the simulator and of every returned tensor.
    :param max_episode_steps: optional truncation (episodes end after ``horizon`` steps anyway).
    :param env_kwargs: the single env's kwargs (``FronthaulConfig`` fields; ``render_mode`` is
        accepted and must be None: the vector env does not render).
    """

    sim: FronthaulSimulator

    simulator_class = FronthaulSimulator
    make_config = staticmethod(make_config)
    single_spaces = staticmethod(single_spaces)

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Tensor], dict[str, Any]]:
        """Start new episodes; ``options`` as in the single env. μ from the options is applied
        once here (the other options are replayed at every autoreset, μ is not: a later
        ``envs.multipliers = ...`` stays in force)."""
        return super().reset(seed=seed, options=self.sim.take_multipliers(options))

    def _action_to_tensor(self, actions: Any) -> Any:
        if is_agent_mode(self.config):
            return self.sim.check_agent_action(actions, self.num_envs)
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
        """Set μ (scalar or ``(M,)``, in ``[0, 1e6]``) for every sub-env from the next step on."""
        self.sim.set_multipliers(value)
