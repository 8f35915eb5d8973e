"""PettingZoo parallel env ``fronthaul_assoc_v0``: one agent per AP (docs/model.md §4.5).

Agents ``ap_0 … ap_{M-1}``. Each chooses the UEs it serves, ``MultiBinary(K)``; the agents'
rows form the association matrix of ``FronthaulAssoc-v0``, whose simulator this env runs (same
seeding: ``reset(seed=s)`` draws the instance the Gymnasium env draws with ``s``; same kwargs,
see ``ua_envs.envs.fronthaul.env``; same reset options ``"instance"`` and ``"multipliers"``).

Observation of agent ``ap_m``: a flat float32 ``Box`` of length ``K·(2N + 2) + 1``::

    [channel[m] (K·2N: for each UE k, Re(h_mk/σ_k) then Im(h_mk/σ_k)),
     gain_db[m] (K), capacity_mbps[m] (1), weights (K)]

``state()`` is the global observation flattened in the order channel, gain_db, capacity_mbps,
weights (length ``M·K·2N + M·K + M + K``).

Rewards (``reward`` kwarg):

* ``"shared"`` (default): every agent gets the env's reward (the Lagrangian of
  ``reward_mode``, docs/model.md §4.3);
* ``"local"``: AP m gets ``Σ_k x_mk w_k log2(1 + SINR_k) − μ_m max(0, load_m − C_m) /
  bandwidth``, the weighted rate it serves minus its own fronthaul violation [bit/s/Hz]
  (``reward_mode`` does not apply).

An episode is ``horizon`` steps (default 1); all agents terminate together. Infos per agent:
``fronthaul_load_mbps``, ``fronthaul_violation`` (its own, Mbit/s), ``served`` ``(K,)`` bool,
and the network's ``wsr`` and ``feasible``. An action dict with an agent that is not live
raises ``ValueError`` naming the live agents; stepping after the end raises ``RuntimeError``.

>>> from ua_envs.multiagent import fronthaul_assoc_v0
>>> env = fronthaul_assoc_v0.parallel_env(capacity_mbps=40.0)
>>> obs, infos = env.reset(seed=0)
>>> env.agents[:3], obs["ap_0"].shape
(['ap_0', 'ap_1', 'ap_2'], (25,))
>>> actions = {agent: env.action_space(agent).sample() for agent in env.agents}
>>> obs, rewards, terminations, truncations, infos = env.step(actions)
>>> all(terminations.values()), env.agents
(True, [])
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import torch
from gymnasium import spaces

from ua_envs.core.validation import check_choice
from ua_envs.envs.agent_beams import is_agent_mode
from ua_envs.envs.fronthaul.env import FronthaulRunner, draw_state, observation_space
from ua_envs.envs.fronthaul.sim import (
    FronthaulConfig,
    FronthaulSimulator,
    FronthaulState,
    check_binary_action,
    make_config,
)
from ua_envs.envs.fronthaul.viewer import FronthaulViewer
from ua_envs.envs.parallel_base import PETTINGZOO_PROBE_KEY, SimParallelEnv, pettingzoo_metadata

__all__ = ["REWARD_SCHEMES", "FronthaulAssocParallelEnv"]

#: ``reward`` values.
REWARD_SCHEMES = ("shared", "local")
_OBS_KEYS = ("channel", "gain_db", "capacity_mbps", "weights")


class FronthaulAssocParallelEnv(SimParallelEnv[FronthaulState]):
    """AP agents choosing their served UEs; see the module docstring.

    :param reward: ``"shared"`` (default) or ``"local"``.
    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param env_kwargs: the kwargs of ``FronthaulAssoc-v0`` (``FronthaulConfig`` fields).
    """

    metadata = pettingzoo_metadata("fronthaul_assoc_v0", render_fps=2)
    simulator_class = FronthaulSimulator
    make_config = staticmethod(make_config)
    config: FronthaulConfig
    sim: FronthaulSimulator

    def __init__(
        self, reward: str = "shared", render_mode: str | None = None, **env_kwargs: Any
    ) -> None:
        check_choice("reward", reward, REWARD_SCHEMES)
        self.reward = reward
        super().__init__(render_mode=render_mode, **env_kwargs)
        if is_agent_mode(self.config):
            # The agents' actions are associations only; learned beams need the Gymnasium env.
            raise ValueError(
                "beamforming='agent' is not available in the PettingZoo env (use the Gymnasium "
                "or vector env); choose one of the env's beamformers"
            )
        self.runner = FronthaulRunner(self.sim)
        self.num_bs, self.num_ues = self.config.num_bs, self.config.num_ues
        self._index = {agent: m for m, agent in enumerate(self.possible_agents)}
        boxes = [observation_space(self.config)[key] for key in _OBS_KEYS]
        assert all(isinstance(box, spaces.Box) for box in boxes)
        self.state_space = spaces.Box(
            np.concatenate([box.low.reshape(-1) for box in boxes]),  # type: ignore[attr-defined]
            np.concatenate([box.high.reshape(-1) for box in boxes]),  # type: ignore[attr-defined]
            dtype=np.float32,
        )

    # ---- SimParallelEnv hooks ------------------------------------------------------------------

    def _agent_names(self) -> list[str]:
        return [f"ap_{m}" for m in range(self.config.num_bs)]

    def _agent_spaces(self) -> tuple[spaces.Space[Any], spaces.Space[Any]]:
        # AP m's slice of every box of the single env's observation space, in the order of
        # _observations: its channel row, gain row, capacity, then every UE's weight.
        single = observation_space(self.config)

        def bound(side: str) -> np.ndarray:
            def edge(key: str) -> np.ndarray:
                return np.asarray(getattr(single[key], side))

            return np.concatenate(
                [
                    edge("channel")[0].reshape(-1),
                    edge("gain_db")[0],
                    edge("capacity_mbps")[:1],
                    edge("weights"),
                ]
            ).astype(np.float32)

        k = self.config.num_ues
        return spaces.Box(bound("low"), bound("high"), dtype=np.float32), spaces.MultiBinary(k)

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """New instance; ``options`` as in the Gymnasium env (``"instance"``,
        ``"multipliers"``)."""
        options = self.sim.take_multipliers(options, ignore=(PETTINGZOO_PROBE_KEY,))
        return super().reset(seed=seed, options=options)

    def _joint_action(self, actions: Mapping[str, Any]) -> torch.Tensor:
        k = self.num_ues
        rows = [
            check_binary_action(actions[agent], [(k,)], (k,), f"action of {agent}")
            for agent in self.possible_agents
        ]
        return torch.from_numpy(np.stack(rows)[None])

    def _done(self, state: FronthaulState) -> bool:
        return int(state.step_count[0]) >= self.config.horizon

    def _observations(self) -> dict[str, np.ndarray]:
        obs = self.runner.observation()
        return {
            agent: np.concatenate(
                [
                    obs["channel"][m].reshape(-1),
                    obs["gain_db"][m],
                    obs["capacity_mbps"][m : m + 1],
                    obs["weights"],
                ]
            ).astype(np.float32)
            for agent, m in self._index.items()
        }

    def _rewards(self, reward: float) -> dict[str, float]:
        if self.reward == "shared":
            return dict.fromkeys(self.agents, reward)
        per_agent = self.sim.local_rewards(self.runner.torch_state())[0].numpy(force=True)
        return {agent: float(per_agent[self._index[agent]]) for agent in self.agents}

    def _infos(self) -> dict[str, dict[str, Any]]:
        if int(self.runner.require_state().step_count[0]) == 0:
            return {agent: {} for agent in self.possible_agents}
        info = self.runner.info()
        return {
            agent: {
                "fronthaul_load_mbps": float(info["fronthaul_load_mbps"][m]),
                "fronthaul_violation": float(info["fronthaul_violation"][m]),
                "served": info["association"][m].copy(),
                "wsr": info["wsr"],
                "feasible": info["feasible"],
            }
            for agent, m in self._index.items()
        }

    def state(self) -> np.ndarray:
        """The global observation, flattened (module docstring)."""
        if not self.runner.has_state:
            raise RuntimeError("call reset() before state()")
        obs = self.runner.observation()
        return np.concatenate([obs[key].reshape(-1) for key in _OBS_KEYS]).astype(np.float32)

    def _make_viewer(self, render_mode: str) -> FronthaulViewer:
        return FronthaulViewer(render_mode)

    def _draw(self, viewer: FronthaulViewer, state: FronthaulState) -> np.ndarray | None:
        return draw_state(viewer, self.sim, self.runner)
