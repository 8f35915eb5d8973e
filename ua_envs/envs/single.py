"""The adapters' common core: one batch-of-one episode of a simulator, and the Gymnasium env base.

:class:`EpisodeRunner` holds what the single Gymnasium env and the PettingZoo env of a family
share — the simulator at batch size 1, its ``torch.Generator`` seeded from the env's
``np_random`` (seeding rule in :mod:`ua_envs.envs.base`), chunked unseeded resets, the numpy
copy of the state for array-generic simulators, the instance properties and the end-of-episode
rule (stepping after the end is a ``RuntimeError`` telling the user to call ``reset()``).

:class:`SimEnv` is the Gymnasium env over a runner: a family's ``env.py`` subclasses it and
fills in the class attributes and the few hooks (action check, spaces, viewer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, TypeVar

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from ua_envs.core.validation import check_choice
from ua_envs.envs.base import (
    RESET_CHUNK,
    ViewerOwner,
    row_numpy,
    split_rows,
    state_to_numpy,
    state_to_torch,
    torch_generator,
)
from ua_envs.envs.contract import Outcome, Simulator
from ua_envs.spaces import flat_mask_size

__all__ = ["ChannelInstanceProperties", "EpisodeRunner", "SimEnv"]

StateT = TypeVar("StateT")


class EpisodeRunner(Generic[StateT]):
    """One episode at a time of ``sim`` (batch size 1), numpy in and out.

    :param sim: the family's simulator, built with ``batch_size=1``.
    """

    def __init__(self, sim: Simulator[StateT]) -> None:
        self.sim = sim
        #: The single env steps a numpy copy of the state when the step is array-generic.
        self.numpy_state = sim.array_generic and sim.device.type == "cpu"
        self._generator: torch.Generator | None = None
        self._chunk: list[StateT] = []
        self._state: StateT | None = None

    # ---- episodes ----------------------------------------------------------------------------

    def reset(self, np_random: np.random.Generator, seeded: bool, options: Any) -> StateT:
        """Start an episode: a fresh generator when ``seeded`` (or the first time), then one
        instance from it; later unseeded resets draw chunks of instances.

        :param np_random: the env's random source (already reseeded when ``seeded``).
        :param options: the reset options (checked by the simulator).
        """
        sim = self.sim
        checked = sim.check_options(options)
        fresh = seeded or self._generator is None or not sim.chunked_resets
        if fresh:
            self._generator = torch_generator(np_random, sim.device)
            self._chunk = []
        assert self._generator is not None
        # No autograd graph in the env loop (not inference_mode: evaluate() must stay
        # differentiable on the state's tensors).
        with torch.no_grad():
            if fresh or checked:
                # One instance from the generator: what the vector env's sub-env draws.
                state = self._convert(sim.reset(self._generator, checked or None, batch_size=1))
            else:
                if not self._chunk:
                    chunk = self._convert(sim.reset(self._generator, None, RESET_CHUNK))
                    self._chunk = split_rows(chunk)[::-1]  # popped from the end, in draw order
                state = self._chunk.pop()
        self._state = state
        return state

    def _convert(self, state: StateT) -> StateT:
        return state_to_numpy(state) if self.numpy_state else state

    def step(self, action: Any, done: Callable[[StateT], bool]) -> tuple[float, bool]:
        """Apply a batch-of-one ``action`` (already validated); ``(reward, terminated)``.

        :param done: whether the current state has ended (then ``RuntimeError``).
        """
        state = self.require_state()
        if done(state):
            raise RuntimeError("the episode is over: call reset() before step()")
        if self.numpy_state:  # no autograd on numpy: skip the grad-mode switch
            self._state, reward, terminated = self.sim.step_checked(state, action)
        else:
            with torch.no_grad():
                self._state, reward, terminated = self.sim.step_checked(state, action)
        return float(reward[0]), bool(terminated[0])

    # ---- views of the current state ----------------------------------------------------------

    def require_state(self) -> StateT:
        """The current state; ``RuntimeError`` before the first ``reset()``."""
        if self._state is None:
            raise RuntimeError("call reset() before using the env")
        return self._state

    @property
    def has_state(self) -> bool:
        """Whether an episode has been started."""
        return self._state is not None

    def observation(self) -> dict[str, np.ndarray]:
        """Row 0 of the simulator's observation, as fresh numpy arrays."""
        observation = self.sim.observe(self.require_state())
        if self.numpy_state:  # observe() returns fresh arrays: their rows alias nothing else
            return {key: value[0] for key, value in observation.items()}
        return {key: value[0].numpy(force=True).copy() for key, value in observation.items()}

    def info(self) -> dict[str, Any]:
        """Row 0 of the simulator's info: fresh numpy arrays, 0-d entries as Python scalars."""
        # Views are enough: row_numpy copies the rows it hands out.
        return row_numpy(self.sim.info(self.require_state(), copy=False))

    def action_mask(self) -> np.ndarray | None:
        """Row 0 of the simulator's action mask (bool), or ``None`` when all actions are legal."""
        mask = self.sim.action_mask(self.require_state())
        if mask is None:
            return None
        row = mask[0] if isinstance(mask, np.ndarray) else mask[0].numpy(force=True)
        return np.array(row, dtype=bool)

    def torch_state(self) -> StateT:
        """The state as torch tensors (CPU views of a numpy state: treat them as read-only)."""
        state = self.require_state()
        return state_to_torch(state) if self.numpy_state else state

    def field(self, name: str) -> np.ndarray:
        """Row 0 of the state field ``name`` as a fresh numpy array."""
        value = getattr(self.require_state(), name)
        row = value[0] if isinstance(value, np.ndarray) else value[0].numpy(force=True)
        return np.array(row)

    def evaluate(self, association: Any, beams: Any = None) -> Outcome:
        """``sim.evaluate`` on the current instance; unbatched inputs get the batch dim."""
        evaluate = getattr(self.sim, "evaluate", None)
        if evaluate is None:
            raise TypeError(f"{type(self.sim).__name__} has no evaluate (not a decision family)")
        state = self.torch_state()
        association = _batch_of_one(association, 2)
        beams = None if beams is None else _batch_of_one(beams, 3)
        outcome: Outcome = evaluate(state, association, beams=beams)
        return outcome


def _batch_of_one(value: Any, unbatched_dims: int) -> Any:
    """``value[None]`` when it has ``unbatched_dims`` dims (numpy or torch), else ``value``."""
    if isinstance(value, (np.ndarray, Tensor)) and value.ndim == unbatched_dims:
        return value[None]
    return value


class SimEnv(ViewerOwner, gym.Env[dict[str, Any], Any], Generic[StateT]):
    """A family's Gymnasium env: ``reset``/``step``/``action_masks``/``render`` over a runner.

    Subclasses set :attr:`simulator_class`, :attr:`make_config` and :attr:`single_spaces`
    (shared with the vector env), and implement :meth:`_batch_action` and :meth:`_make_viewer`
    / :meth:`_draw` (rendering).

    :param render_mode: None, ``"rgb_array"`` or ``"human"``.
    :param device: torch device of the simulator (CPU, the fast choice at batch size 1).
    :param kwargs: the family config's fields.
    """

    metadata: dict[str, Any] = {"render_modes": ["human", "rgb_array"], "render_fps": 4}  # noqa: RUF012
    #: The family's simulator class.
    simulator_class: ClassVar[type[Simulator[Any]]]

    @staticmethod
    def make_config(kwargs: Mapping[str, Any]) -> Any:
        """The family config from env kwargs (unknown names raise ``ValueError``)."""
        raise NotImplementedError

    def __init__(
        self, render_mode: str | None = None, device: torch.device | str = "cpu", **kwargs: Any
    ) -> None:
        check_choice("render_mode", render_mode, (None, *self.metadata["render_modes"]))
        self.render_mode = render_mode
        self.config = self.make_config(kwargs)
        self.device = torch.device(device)
        self.sim = self.simulator_class(self.config, batch_size=1, device=self.device)
        self.runner: EpisodeRunner[StateT] = EpisodeRunner(self.sim)
        self.observation_space, self.action_space = self.single_spaces(self.config)
        self._viewer: Any = None

    # ---- hooks ---------------------------------------------------------------------------------

    @staticmethod
    def single_spaces(config: Any) -> tuple[gym.Space[Any], gym.Space[Any]]:
        """``(observation_space, action_space)`` of ``config`` (shared with the vector env)."""
        raise NotImplementedError

    def _batch_action(self, action: Any) -> Any:
        """Validate a single action and return it batched (``(1, ...)``), in the state's backend
        (numpy for array-generic simulators on the CPU, else a torch tensor on the device)."""
        raise NotImplementedError

    def _done(self, state: StateT) -> bool:
        """Whether ``state``'s episode has ended (stepping on raises ``RuntimeError``)."""
        return bool(state.done[0])  # type: ignore[attr-defined]

    def _truncated(self, state: StateT) -> bool:
        """Whether the env cuts the episode after this step (default: never; time limits
        normally come from the registration's ``max_episode_steps``)."""
        del state
        return False

    def _reset_info(self) -> dict[str, Any]:
        """The info ``reset`` returns."""
        return {}

    def _on_reset(self) -> None:
        """Called after every reset (e.g. to clear a render history)."""

    def _on_step(self, reward: float) -> None:
        """Called after every step."""

    def _draw(self, viewer: Any, state: StateT) -> np.ndarray | None:
        """Draw ``state`` (batch of one) with ``viewer``."""
        raise NotImplementedError

    # ---- Gymnasium API -------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Start a new episode (see the family's module docstring for ``options``)."""
        super().reset(seed=seed)
        self.runner.reset(self.np_random, seed is not None, options)
        self._on_reset()
        if self.render_mode == "human":
            self.render()
        return self.runner.observation(), self._reset_info()

    def step(self, action: Any) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        """Apply ``action``; stepping after the episode ended raises ``RuntimeError``."""
        self.runner.require_state()
        batched = self._batch_action(action)
        reward, terminated = self.runner.step(batched, self._done)
        self._on_step(reward)
        if self.render_mode == "human":
            self.render()
        truncated = not terminated and self._truncated(self.runner.require_state())
        return self.runner.observation(), reward, terminated, truncated, self.runner.info()

    def action_masks(self) -> np.ndarray:
        """Legal actions of the current state, bool (sb3-contrib convention; all True where
        every action is legal)."""
        mask = self.runner.action_mask()
        if mask is None:
            return np.ones(flat_mask_size(self.action_space), dtype=bool)
        return mask

    def render(self) -> Any:  # Gymnasium < 1.4 types it with an unbound TypeVar
        """``rgb_array``: an ``(H, W, 3)`` uint8 ``np.ndarray`` frame; ``human``: draw the
        window (returns ``None``)."""
        viewer = self._active_viewer()
        if viewer is None:
            return None
        return self._draw(viewer, self.runner.require_state())

    # ---- the instance --------------------------------------------------------------------------

    @property
    def state(self) -> StateT:
        """The simulator state of the current episode (batch of one) as torch tensors; views of
        the env's own state: treat them as read-only."""
        return self.runner.torch_state()

    def evaluate(self, association: Any, *, beams: Any = None) -> Outcome:
        """The simulator's :meth:`~ua_envs.envs.contract.DecisionSimulator.evaluate` on the
        current instance: ``association`` ``(M, K)`` (or ``(1, M, K)``), ``beams`` ``(M, K,
        N)`` complex or ``None``; the :class:`~ua_envs.envs.contract.Outcome` has batch 1."""
        return self.runner.evaluate(association, beams)


def _instance_row(name: str, doc: str) -> property:
    """A read-only property: row 0 of the runner state's field ``name`` (a numpy copy)."""

    def get(self: ChannelInstanceProperties) -> np.ndarray:
        return self.runner.field(name)

    return property(get, doc=doc)


class ChannelInstanceProperties:
    """``channels``, ``tx_power``, ``noise_power``, ``bs_positions``, ``ue_positions`` of the
    current instance (numpy copies), for envs whose runner state has those fields."""

    runner: EpisodeRunner[Any]

    channels = _instance_row("channels", "``(M, K, N)`` complex64 channels [sqrt(W)] (a copy).")
    tx_power = _instance_row("tx_power", "``(M,)`` float32 per-transmitter power [W] (a copy).")
    noise_power = _instance_row("noise_power", "``(K,)`` float32 per-UE noise power [W] (a copy).")
    bs_positions = _instance_row("bs_positions", "``(M, 2)`` transmitter positions [m] (a copy).")
    ue_positions = _instance_row("ue_positions", "``(K, 2)`` UE positions [m] (a copy).")
