"""stable-baselines3 adapter: any SB3 model as a :class:`~agents.policy.Policy`, plus loaders.

Registered on import (``agents.registry`` imports this module), for every env:

=================  =====================================  ==================================
policy spec        loads                                  trainer (``ua-envs train NAME``)
=================  =====================================  ==================================
``ppo:PATH``       ``stable_baselines3.PPO.load(PATH)``   PPO, ``MultiInputPolicy`` for Dict
                                                          observations, ``MlpPolicy`` else
``a2c:PATH``       ``stable_baselines3.A2C.load(PATH)``   –
``dqn:PATH``       ``stable_baselines3.DQN.load(PATH)``   –
``maskable_ppo:``  ``sb3_contrib.MaskablePPO.load(PATH)`` MaskablePPO (masks from the env's
``PATH``                                                  ``action_masks()``)
=================  =====================================  ==================================

stable-baselines3 is imported only when one of these is used (it takes seconds to import).
Models load on the CPU: the MLP policies SB3 builds are faster there than on a GPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from agents.policy import observation_mask
from agents.registry import register_policy, register_trainer

#: Loadable algorithms: registry name → (module, class name).
ALGORITHMS: dict[str, tuple[str, str]] = {
    "ppo": ("stable_baselines3", "PPO"),
    "a2c": ("stable_baselines3", "A2C"),
    "dqn": ("stable_baselines3", "DQN"),
    "maskable_ppo": ("sb3_contrib", "MaskablePPO"),
}
#: Algorithms with a registered trainer.
TRAINABLE: tuple[str, ...] = ("ppo", "maskable_ppo")


def algorithm_class(name: str) -> Any:
    """The SB3 class registered as ``name`` (``"ppo"`` → ``stable_baselines3.PPO``)."""
    import importlib

    if name not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHMS)}, got {name!r}")
    module, attribute = ALGORITHMS[name]
    return getattr(importlib.import_module(module), attribute)


def _accepts_masks(model: Any) -> bool:
    import inspect

    return "action_masks" in inspect.signature(model.predict).parameters


def _sb3_mask(mask: np.ndarray, space: spaces.Space[Any]) -> np.ndarray:
    """The flat mask layout of sb3-contrib: ``(n,)`` or, for MultiDiscrete, ``(sum(nvec),)``."""
    if isinstance(space, spaces.MultiDiscrete):
        nvec = np.asarray(space.nvec).reshape(-1)
        if mask.size != int(nvec.sum()):  # (d, max(nvec)) layout: keep each row's first nvec[i]
            rows = mask.reshape(nvec.size, -1)
            return np.concatenate([row[:n] for row, n in zip(rows, nvec, strict=True)])
    return mask.reshape(-1)


class SB3Policy:
    """A stable-baselines3 model (PPO, A2C, DQN, MaskablePPO, ...) behind the Policy interface.

    ``act`` calls ``model.predict(observation, deterministic=deterministic)``; a model whose
    ``predict`` takes ``action_masks`` (sb3-contrib's MaskablePPO) also gets the boolean mask
    of :func:`agents.policy.observation_mask` (``observation["action_mask"]`` or
    ``env.action_masks()``), flattened to sb3-contrib's layout.

    :param model: a trained SB3 model; its observation space must match the env's.
    :param deterministic: greedy actions (default). With ``False``, actions are sampled with
        torch's *global* generator (SB3 has no per-call generator); :meth:`reset` then seeds it
        through ``model.set_random_seed``.
    :param name: label used in tables (default: the model's class name).
    """

    def __init__(self, model: Any, deterministic: bool = True, name: str | None = None) -> None:
        if not callable(getattr(model, "predict", None)):
            raise ValueError(f"model must be a stable-baselines3 model, got {type(model).__name__}")
        self.model = model
        self.deterministic = deterministic
        self.name = name or type(model).__name__
        self._maskable = _accepts_masks(model)

    def reset(self, seed: int | None = None) -> None:
        """Seed SB3's sampling (only used when ``deterministic=False``)."""
        if not self.deterministic and seed is not None:
            self.model.set_random_seed(seed)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """The model's action for one (non-vectorised) observation."""
        kwargs: dict[str, Any] = {}
        if self._maskable:
            mask = observation_mask(observation, env)
            if mask is not None:
                kwargs["action_masks"] = _sb3_mask(mask, self.model.action_space)
        action, _ = self.model.predict(observation, deterministic=self.deterministic, **kwargs)
        if isinstance(self.model.action_space, spaces.Discrete):
            return np.int64(np.asarray(action).reshape(-1)[0])
        return action


def load_sb3(algorithm: str, checkpoint: str, device: str = "cpu") -> Any:
    """Load an SB3 checkpoint (``.zip``) with ``ALGORITHMS[algorithm].load``.

    :raises ValueError: the file does not exist (a user mistake, reported in one line).
    """
    path = Path(checkpoint)
    if not path.exists() and not path.with_suffix(".zip").exists():
        raise ValueError(f"checkpoint {checkpoint!r} does not exist")
    return algorithm_class(algorithm).load(str(path), device=device)


def _make_loader(algorithm: str) -> Any:
    def factory(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> SB3Policy:
        if checkpoint is None:
            raise ValueError(f"policy {algorithm!r} needs a checkpoint: use {algorithm}:PATH")
        model = load_sb3(algorithm, checkpoint)
        if model.observation_space != env.observation_space:
            raise ValueError(
                f"checkpoint {checkpoint!r} was trained on observation space "
                f"{model.observation_space}, the env has {env.observation_space}"
            )
        policy = SB3Policy(model, name=f"{algorithm}:{checkpoint}")
        policy.reset(seed)
        return policy

    factory.__doc__ = f"Load a {ALGORITHMS[algorithm][1]} checkpoint as a Policy."
    return factory


def train_sb3(
    algorithm: str,
    env_id: str,
    *,
    episodes: int,
    seed: int,
    out: str,
    env_kwargs: dict[str, Any] | None = None,
    quiet: bool = False,
    **hyperparameters: Any,
) -> str:
    """Train ``algorithm`` on ``env_id`` for ``episodes`` episodes and save it to ``out``.

    Default hyperparameters of SB3 unless ``hyperparameters`` override them; the network is
    ``MultiInputPolicy`` for Dict observations, ``MlpPolicy`` otherwise; device CPU.
    Training stops after ``episodes`` completed episodes
    (``stable_baselines3.common.callbacks.StopTrainingOnMaxEpisodes``).

    :return: path of the saved ``.zip`` (SB3 appends ``.zip`` when ``out`` has no suffix).
    """
    from stable_baselines3.common.callbacks import BaseCallback, StopTrainingOnMaxEpisodes

    from agents.evaluate import make_env

    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    env = make_env(env_id, env_kwargs)
    network = "MultiInputPolicy" if isinstance(env.observation_space, spaces.Dict) else "MlpPolicy"
    options = {"verbose": 0, "seed": seed, "device": "cpu", **hyperparameters}
    try:
        model = algorithm_class(algorithm)(network, env, **options)
    except TypeError as error:  # an unknown hyper-parameter name
        raise ValueError(f"{algorithm} hyper-parameters: {error}") from None

    callbacks: list[Any] = [StopTrainingOnMaxEpisodes(episodes)]
    if not quiet:
        from tqdm.auto import tqdm

        class _Progress(BaseCallback):
            def _on_training_start(self) -> None:
                self.bar = tqdm(total=episodes, desc=f"{algorithm} on {env_id}", unit="ep")

            def _on_step(self) -> bool:
                self.bar.update(int(np.sum(self.locals["dones"])))
                return True

            def _on_training_end(self) -> None:
                self.bar.close()

        callbacks.append(_Progress())
    max_steps = env.spec.max_episode_steps if env.spec is not None else None
    # An upper bound: the callback stops training at the episode count.
    budget = episodes * (max_steps or 100_000)
    model.learn(total_timesteps=budget, callback=callbacks)
    env.close()
    path = Path(out)
    if path.suffix == "":
        path = path.with_suffix(".zip")
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(str(path))
    return str(path)


def _make_trainer(algorithm: str) -> Any:
    def trainer(env_id: str, **kwargs: Any) -> str:
        return train_sb3(algorithm, env_id, **kwargs)

    trainer.__doc__ = f"Train {ALGORITHMS[algorithm][1]} (SB3 defaults) and save a .zip."
    return trainer


for _name, (_module, _cls) in ALGORITHMS.items():
    register_policy(
        _name,
        _make_loader(_name),
        description=f"{_module}.{_cls} checkpoint ({_name}:PATH.zip)",
        needs_checkpoint=True,
    )
for _name in TRAINABLE:
    register_trainer(
        _name,
        _make_trainer(_name),
        description=f"{ALGORITHMS[_name][0]}.{ALGORITHMS[_name][1]} with SB3 defaults",
    )
