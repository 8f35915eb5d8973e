"""PettingZoo parallel env ``fronthaul_assoc_v0``: one agent per AP (SPEC §4.5).

Agents ``ap_0 … ap_{M-1}``. Each chooses the UEs it serves, ``MultiBinary(K)``; the agents'
rows form the association matrix of ``FronthaulAssoc-v0``, which this env wraps (same
simulator, same seeding: ``reset(seed=s)`` draws the instance the Gymnasium env draws with
``s``; same kwargs, see ``ua_envs.envs.fronthaul.env``).

Observation of agent ``ap_m``: a flat float32 ``Box`` of length ``K·(2N + 2) + 1``::

    [channel[m] (K·2N: for each UE k, Re(h_mk/σ_k) then Im(h_mk/σ_k)),
     gain_db[m] (K), capacity_mbps[m] (1), weights (K)]

``state()`` is the global observation flattened in the order channel, gain_db, capacity_mbps,
weights (length ``M·K·2N + M·K + M + K``).

Rewards (``reward`` kwarg):

* ``"shared"`` (default): every agent gets the env's reward (the Lagrangian of
  ``reward_mode``, SPEC §4.3);
* ``"local"``: AP m gets ``Σ_k x_mk w_k log2(1 + SINR_k) − μ_m max(0, load_m − C_m) /
  bandwidth``, the weighted rate it serves minus its own fronthaul violation [bit/s/Hz]
  (``reward_mode`` does not apply).

An episode is ``horizon`` steps (default 1); all agents terminate together. Infos per agent:
``fronthaul_load_mbps``, ``fronthaul_violation`` (its own, Mbit/s), ``served`` ``(K,)`` bool,
and the network's ``wsr`` and ``feasible``.

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

from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import ParallelEnv

from ua_envs.core.validation import check_choice
from ua_envs.envs.fronthaul.env import FronthaulAssocEnv, observation_space
from ua_envs.envs.fronthaul.sim import CHANNEL_OBS_BOUND, GAIN_DB_RANGE, MAX_OBS_VALUE

__all__ = ["REWARD_SCHEMES", "FronthaulAssocParallelEnv"]

#: ``reward`` values.
REWARD_SCHEMES = ("shared", "local")
_OBS_KEYS = ("channel", "gain_db", "capacity_mbps", "weights")


class FronthaulAssocParallelEnv(ParallelEnv[str, np.ndarray, np.ndarray]):
    """AP agents choosing their served UEs; see the module docstring.

    :param reward: ``"shared"`` (default) or ``"local"``.
    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param env_kwargs: the kwargs of ``FronthaulAssoc-v0`` (``FronthaulConfig`` fields).
    """

    metadata: dict[str, Any] = {  # noqa: RUF012
        "name": "fronthaul_assoc_v0",
        "render_modes": ["human", "rgb_array"],
        "is_parallelizable": True,
        "render_fps": 2,
    }

    def __init__(
        self, reward: str = "shared", render_mode: str | None = None, **env_kwargs: Any
    ) -> None:
        check_choice("reward", reward, REWARD_SCHEMES)
        self.reward = reward
        self.render_mode = render_mode
        self.env = FronthaulAssocEnv(render_mode=render_mode, **env_kwargs)
        config = self.env.config
        self.num_bs, self.num_ues = config.num_bs, config.num_ues
        self.possible_agents = [f"ap_{m}" for m in range(self.num_bs)]
        self.agents: list[str] = []
        self._index = {agent: m for m, agent in enumerate(self.possible_agents)}
        k, n = self.num_ues, config.num_antennas
        low = np.concatenate(
            [
                np.full(k * 2 * n, -CHANNEL_OBS_BOUND),
                np.full(k, GAIN_DB_RANGE[0]),
                np.zeros(1 + k),
            ]
        ).astype(np.float32)
        high = np.concatenate(
            [
                np.full(k * 2 * n, CHANNEL_OBS_BOUND),
                np.full(k, GAIN_DB_RANGE[1]),
                np.full(1 + k, MAX_OBS_VALUE),
            ]
        ).astype(np.float32)
        self._observation_space = spaces.Box(low, high, dtype=np.float32)
        self._action_space = spaces.MultiBinary(k)
        boxes = [observation_space(config)[key] for key in _OBS_KEYS]
        assert all(isinstance(box, spaces.Box) for box in boxes)
        self.state_space = spaces.Box(
            np.concatenate([box.low.reshape(-1) for box in boxes]),  # type: ignore[attr-defined]
            np.concatenate([box.high.reshape(-1) for box in boxes]),  # type: ignore[attr-defined]
            dtype=np.float32,
        )
        self._last_obs: dict[str, np.ndarray] | None = None

    # The same space object on every call (parallel_api_test checks it).
    def observation_space(self, agent: str) -> spaces.Space[Any]:
        """Flat ``Box`` of length ``K·(2N + 2) + 1`` (module docstring)."""
        self._check_agent(agent)
        return self._observation_space

    def action_space(self, agent: str) -> spaces.Space[Any]:
        """``MultiBinary(K)``: the UEs this AP serves."""
        self._check_agent(agent)
        return self._action_space

    def _check_agent(self, agent: str) -> None:
        if agent not in self._index:
            raise ValueError(f"agent must be one of {self.possible_agents}, got {agent!r}")

    def _agent_observations(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        self._last_obs = obs
        out = {}
        for agent in self.agents:
            m = self._index[agent]
            out[agent] = np.concatenate(
                [
                    obs["channel"][m].reshape(-1),
                    obs["gain_db"][m],
                    obs["capacity_mbps"][m : m + 1],
                    obs["weights"],
                ]
            ).astype(np.float32)
        return out

    def reset(
        self, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, dict[str, Any]]]:
        """New instance; ``options`` as in the Gymnasium env (``{"multipliers": μ}``)."""
        obs, _ = self.env.reset(seed=seed, options=options)
        self.agents = self.possible_agents[:]
        return self._agent_observations(obs), {agent: {} for agent in self.agents}

    def step(
        self, actions: dict[str, Any]
    ) -> tuple[
        dict[str, np.ndarray],
        dict[str, float],
        dict[str, bool],
        dict[str, bool],
        dict[str, dict[str, Any]],
    ]:
        """Every live agent's ``MultiBinary(K)`` choice; returns PettingZoo's five dicts."""
        if not self.agents:
            raise RuntimeError("the episode is over: call reset()")
        unknown = sorted(set(actions) - set(self.agents))
        missing = sorted(set(self.agents) - set(actions))
        if unknown or missing:
            raise ValueError(
                f"actions must have one entry per live agent; missing {missing}, unknown {unknown}"
            )
        rows = []
        for agent in self.possible_agents:
            row = np.asarray(actions[agent])
            if row.shape != (self.num_ues,):
                raise ValueError(
                    f"action of {agent} must have shape ({self.num_ues},), got {row.shape}"
                )
            rows.append(row)
        obs, reward, terminated, truncated, info = self.env.step(np.stack(rows))
        if self.reward == "shared":
            per_agent = np.full(self.num_bs, reward)
        else:
            per_agent = self.env.sim.local_rewards(self.env.state)[0].numpy()
        agents = self.agents
        rewards = {a: float(per_agent[self._index[a]]) for a in agents}
        terminations = {a: terminated for a in agents}
        truncations = {a: truncated for a in agents}
        infos = {
            a: {
                "fronthaul_load_mbps": float(info["fronthaul_load_mbps"][self._index[a]]),
                "fronthaul_violation": float(info["fronthaul_violation"][self._index[a]]),
                "served": info["association"][self._index[a]].copy(),
                "wsr": info["wsr"],
                "feasible": info["feasible"],
            }
            for a in agents
        }
        observations = self._agent_observations(obs)
        if terminated or truncated:
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def state(self) -> np.ndarray:
        """The global observation, flattened (module docstring)."""
        if self._last_obs is None:
            raise RuntimeError("call reset() before state()")
        return np.concatenate([self._last_obs[key].reshape(-1) for key in _OBS_KEYS]).astype(
            np.float32
        )

    def render(self) -> np.ndarray | None:
        """Render the instance (see the Gymnasium env's viewer)."""
        return self.env.render()

    def close(self) -> None:
        """Close the viewer, if any."""
        self.env.close()
