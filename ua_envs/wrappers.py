"""Wrappers of the ua-envs Gymnasium envs (never imports :mod:`agents`).

:class:`FlatAgentAction` turns the ``Dict`` action of ``beamforming="agent"``
(:mod:`ua_envs.envs.agent_beams`) into one flat ``Box``, the action space Stable-Baselines3's
PPO/A2C/SAC support (SB3 has no ``Dict`` action spaces)::

    env = FlatAgentAction(gym.make("FronthaulAssoc-v0", beamforming="agent"))
    PPO("MultiInputPolicy", env).learn(10_000)
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from ua_envs.envs.agent_beams import BEAM_BOUND

__all__ = ["FlatAgentAction"]


class FlatAgentAction(gym.ActionWrapper[Any, np.ndarray, dict[str, Any]]):
    """A flat ``Box`` action for an env built with ``beamforming="agent"``.

    The flat action (float32, in ``[-BEAM_BOUND, BEAM_BOUND]``) is ``M·K`` association scores
    followed by the ``M·K·N·2`` beam parts (row-major ``(M, K, N, 2)``: real, imaginary):

    * ``MultiDiscrete`` association (MultiCellAssoc): the scores are ``(M, K)``; UE k is served
      by ``argmax_m score[m, k]`` (ties: the lowest index);
    * ``MultiBinary`` association (FronthaulAssoc): AP m serves UE k iff ``score[m, k] > 0``.

    Observations, rewards and infos are the env's.

    :param env: a single env whose action space is the agent-beams ``Dict``.
    :raises ValueError: another action space.
    """

    def __init__(self, env: gym.Env[Any, Any]) -> None:
        super().__init__(env)
        space = env.action_space
        if (
            not isinstance(space, spaces.Dict)
            or set(space.spaces) != {"association", "beams"}
            or not isinstance(space["beams"], spaces.Box)
            or len(space["beams"].shape) != 4
        ):
            raise ValueError(
                "FlatAgentAction needs an env built with beamforming='agent' (a Dict action "
                f"of 'association' and 'beams'), got action space {space}"
            )
        num_bs, num_ues, num_antennas, _ = space["beams"].shape
        association = space["association"]
        if isinstance(association, spaces.MultiDiscrete):
            self._kind = "argmax"
        elif isinstance(association, spaces.MultiBinary):
            self._kind = "positive"
        else:
            raise ValueError(
                "FlatAgentAction supports MultiDiscrete and MultiBinary associations, got "
                f"{association}"
            )
        self._assoc_shape = (num_bs, num_ues)
        self._beams_shape = (num_bs, num_ues, num_antennas, 2)
        self._num_scores = num_bs * num_ues
        size = self._num_scores + int(np.prod(self._beams_shape))
        self.action_space = spaces.Box(-BEAM_BOUND, BEAM_BOUND, shape=(size,), dtype=np.float32)

    def action(self, action: Any) -> dict[str, Any]:
        """The env's ``Dict`` action of a flat one.

        :param action: ``(M·K + M·K·N·2,)`` real.
        :return: ``{"association": (K,) int64 | (M·K,) int8, "beams": (M, K, N, 2) float32}``.
        :raises ValueError: another shape.
        """
        flat = np.asarray(action, dtype=np.float32)
        if flat.shape != self.action_space.shape:
            raise ValueError(
                f"action must have shape {self.action_space.shape} (M*K association scores, "
                f"then M*K*N*2 beam parts), got {flat.shape}"
            )
        scores = flat[: self._num_scores].reshape(self._assoc_shape)
        beams = flat[self._num_scores :].reshape(self._beams_shape)
        if self._kind == "argmax":
            association: np.ndarray = scores.argmax(axis=0).astype(np.int64)
        else:
            association = (scores > 0).reshape(-1).astype(np.int8)
        return {"association": association, "beams": beams}
