"""Our native vector envs as a stable-baselines3 ``VecEnv``: :class:`SB3VecEnv`.

SB3 refuses a Gymnasium ``VectorEnv`` ("not a Gymnasium environment") and vectorises single
envs itself (``make_vec_env`` → ``DummyVecEnv``: one Python ``step`` per sub-env). The adapter
hands SB3 one of our batched envs (``gym.make_vec(ID, num_envs=n)``, torch tensors on any
device, ``SAME_STEP`` autoreset) with SB3's conventions:

* observations: a dict of numpy arrays ``(n, *shape)`` in the single observation space's dtypes
  (an array for a non-Dict space);
* rewards ``(n,)`` float32, dones ``(n,)`` bool (terminated or truncated);
* infos: a list of ``n`` dicts. A row whose episode ended in the step has
  ``"terminal_observation"`` (the ended episode's last observation, the returned observation
  being the next episode's first), ``"TimeLimit.truncated"`` (truncated and not terminated) and
  ``"episode"`` ``{"r": return, "l": length, "t": seconds since the adapter started}`` (what
  SB3's ``Monitor`` adds: SB3's ``ep_rew_mean`` and ``evaluate_policy`` read it). Entries of the
  env's step info are copied into every row only for the keys given as ``info_keys`` (an ended
  row gets its decision's values, from ``final_info``);
* ``action_masks()`` ``(n, mask size)`` bool, in sb3-contrib's flat layout;
  ``env_method("action_masks")`` returns its rows, which is what sb3-contrib's
  ``get_action_masks`` stacks for ``MaskablePPO``;
* ``seed(s)``: the next ``reset()`` starts sub-env ``i`` as a single env reset with ``s + i``
  (SB3's and our vector envs' convention alike); ``PPO(..., seed=s)`` calls it.

Everything SB3 reads in one step crosses from torch to numpy as one float32 tensor (observation
entries whose dtype float32 holds exactly, rewards, terminations, truncations and, on steps where
episodes ended, the final observations): one device-to-host copy per step on a GPU. Observations
of other dtypes are converted on their own.

>>> import gymnasium as gym
>>> import ua_envs
>>> from agents.sb3_vec import SB3VecEnv
>>> venv = SB3VecEnv(gym.make_vec("MultiCellAssoc-v0", num_envs=4))
>>> _ = venv.seed(0)
>>> obs = venv.reset()
>>> obs["gain_db"].shape, obs["gain_db"].dtype
((4, 2, 8), dtype('float32'))
>>> obs, rewards, dones, infos = venv.step(obs["gain_db"].argmax(axis=1))
>>> rewards.dtype, dones.tolist()
(dtype('float32'), [True, True, True, True])
>>> sorted(infos[0])
['TimeLimit.truncated', 'episode', 'terminal_observation']

``python -m agents.sb3_vec bench`` times SB3's rollout collection on the adapter against
``make_vec_env`` (``DummyVecEnv``) over single envs (see ``docs/benchmarks.md``).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from gymnasium.vector import AutoresetMode
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvIndices, VecEnvObs, VecEnvStepReturn
from torch import Tensor

__all__ = ["ACTION_SPACES", "ROLLOUT_STEPS", "SB3VecEnv", "sb3_options"]

#: Transitions per PPO rollout, whatever the number of sub-envs: SB3's default with one env
#: (``n_steps=2048``); a run with ``n`` sub-envs gets ``n_steps = ceil(2048 / n)``.
ROLLOUT_STEPS = 2048

#: Action spaces SB3's algorithms act in (and the adapter converts actions for).
ACTION_SPACES: tuple[type[gym.Space[Any]], ...] = (
    spaces.Discrete,
    spaces.MultiDiscrete,
    spaces.MultiBinary,
    spaces.Box,
)
#: Observation dtypes that a float32 holds exactly (packed into the one float32 transfer).
_PACKABLE = frozenset(np.dtype(d) for d in ("float32", "float16", "bool", "int8", "uint8", "int16"))


def _to_numpy(value: Any) -> np.ndarray:
    """A tensor (any device) or array-like as a numpy array (no copy for CPU tensors/arrays)."""
    if isinstance(value, Tensor):
        return value.numpy(force=True)
    return np.asarray(value)


class SB3VecEnv(VecEnv):
    """A native ua-envs vector env (``gym.make_vec(ID, num_envs=n)``) as an SB3 ``VecEnv``.

    See the module docstring for the conventions. The vector env keeps stepping on its own
    device; the adapter converts at the boundary only.

    :param venv: a Gymnasium ``VectorEnv`` with ``SAME_STEP`` autoreset whose steps return
        batched observations, rewards, terminations and truncations (torch tensors on any device,
        or numpy arrays) and, on steps where episodes ended, ``info["final_obs"]`` as a batched
        observation: our native vector envs. Its single action space must be ``Discrete``,
        ``MultiDiscrete``, ``MultiBinary`` or ``Box`` (what SB3 acts in); its single observation
        space a ``Dict`` of ``Box`` es or a ``Box``.
    :param info_keys: entries of the env's step info copied into each row's info dict (numpy
        rows; 0-d rows as Python scalars). Each key costs a conversion and ``n`` dict writes per
        step, so none by default.
    :raises ValueError: ``venv`` is not such a vector env.
    """

    def __init__(self, venv: gym.vector.VectorEnv, *, info_keys: Sequence[str] = ()) -> None:
        if not isinstance(venv, gym.vector.VectorEnv):
            raise ValueError(
                f"venv must be a gymnasium VectorEnv (gym.make_vec(ID, num_envs=n)), got "
                f"{type(venv).__name__}"
            )
        mode = venv.metadata.get("autoreset_mode")
        if mode is not AutoresetMode.SAME_STEP:
            raise ValueError(
                f"venv must autoreset in the same step (AutoresetMode.SAME_STEP, as our native "
                f"vector envs), got autoreset_mode={mode!r}"
            )
        action_space = venv.single_action_space
        if not isinstance(action_space, ACTION_SPACES):
            raise ValueError(
                f"venv's action space must be Discrete, MultiDiscrete, MultiBinary or Box for "
                f"SB3, got {action_space}"
            )
        observation_space = venv.single_observation_space
        self._dict_obs = isinstance(observation_space, spaces.Dict)
        members = (
            dict(observation_space.spaces)
            if isinstance(observation_space, spaces.Dict)
            else {"": observation_space}
        )
        boxes = {key: space for key, space in members.items() if isinstance(space, spaces.Box)}
        if len(boxes) != len(members):
            raise ValueError(
                f"venv's observation space must be a Box or a Dict of Boxes, got "
                f"{observation_space}"
            )
        if isinstance(info_keys, str):
            raise ValueError(f"info_keys must be a sequence of keys, got the string {info_keys!r}")
        self.venv = venv
        self.info_keys = tuple(info_keys)
        self._shapes = {key: tuple(box.shape) for key, box in boxes.items()}
        self._dtypes = {key: np.dtype(box.dtype) for key, box in boxes.items()}
        self._packed = [key for key in boxes if self._dtypes[key] in _PACKABLE]
        self._unpacked = [key for key in boxes if key not in self._packed]
        self._widths = [int(np.prod(self._shapes[key])) for key in self._packed]
        self._actions: np.ndarray | None = None
        self._masks: np.ndarray | None = None
        super().__init__(venv.num_envs, observation_space, action_space)
        self.metadata: dict[str, Any] = {
            "render_modes": [],
            "autoreset_mode": AutoresetMode.SAME_STEP,
        }
        self._returns = np.zeros(self.num_envs, dtype=np.float64)
        self._lengths = np.zeros(self.num_envs, dtype=np.int64)
        self._started = time.perf_counter()

    # ----------------------------------------------------------------- reset and step
    def reset(self) -> VecEnvObs:
        """Reset every sub-env (with the seed of :meth:`seed` and the options of
        :meth:`set_options`, used once); returns the batched first observations."""
        seed = self._seeds[0]
        if seed is not None and self._seeds != [seed + i for i in range(self.num_envs)]:
            raise ValueError(f"sub-env seeds must be consecutive (s, s+1, ...), got {self._seeds}")
        options = self._options[0]
        if any(other != options for other in self._options[1:]):
            raise ValueError("the vector env takes one options dict for every sub-env")
        observation, _ = self.venv.reset(seed=seed, options=options or None)
        self._reset_seeds()
        self._reset_options()
        self.reset_infos = [{} for _ in range(self.num_envs)]
        self._returns[:] = 0.0
        self._lengths[:] = 0
        self._masks = None
        obs, _ = self._convert(observation, extra=())
        return obs

    def step_async(self, actions: np.ndarray) -> None:
        """Store ``actions`` ``(n, *action shape)`` for :meth:`step_wait`."""
        self._actions = actions

    def step_wait(self) -> VecEnvStepReturn:
        """Step every sub-env with the stored actions: ``(obs, rewards, dones, infos)``."""
        if self._actions is None:
            raise ValueError("step_wait() called without step_async(actions)")
        actions, self._actions = self._check_actions(self._actions), None
        observation, reward, terminated, truncated, info = self.venv.step(actions)
        self._masks = None
        final = info.get("final_obs")
        obs, (rewards, term, trunc, final_obs) = self._convert(
            observation, extra=(reward, terminated, truncated), final=final
        )
        rewards = np.ascontiguousarray(rewards)
        terminated_rows = term != 0
        truncated_rows = trunc != 0
        dones = terminated_rows | truncated_rows
        self._returns += rewards
        self._lengths += 1
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if self.info_keys:
            self._copy_info(infos, info, dones)
        ended = np.flatnonzero(dones)
        if ended.size:
            if final_obs is None:
                raise ValueError("the vector env ended episodes without info['final_obs']")
            seconds = round(time.perf_counter() - self._started, 6)
            time_limit = truncated_rows & ~terminated_rows
            for row in ended.tolist():
                row_info = infos[row]
                row_info["terminal_observation"] = (
                    {key: value[row] for key, value in final_obs.items()}
                    if self._dict_obs
                    else final_obs[""][row]
                )
                row_info["TimeLimit.truncated"] = bool(time_limit[row])
                row_info["episode"] = {
                    "r": float(self._returns[row]),
                    "l": int(self._lengths[row]),
                    "t": seconds,
                }
            self._returns[ended] = 0.0
            self._lengths[ended] = 0
        return obs, rewards, dones, infos

    def _check_actions(self, actions: Any) -> np.ndarray:
        """SB3's actions as an array the vector env accepts: integers for the discrete spaces
        (SB3 samples ``MultiBinary`` actions as float 0./1.), float32 for ``Box``."""
        array = _to_numpy(actions)
        space = self.action_space
        shape = (self.num_envs, *(space.shape or ()))
        if array.shape != shape:
            if array.size != int(np.prod(shape)):
                raise ValueError(f"actions must have shape {shape}, got {array.shape}")
            array = array.reshape(shape)
        if isinstance(space, spaces.Box):
            return array.astype(space.dtype, copy=False)
        if array.dtype.kind == "f":
            rounded = np.rint(array)
            if not np.array_equal(rounded, array):  # NaN or 0.5: no silent truncation
                raise ValueError(f"actions of {space} must be integers, got {array.ravel()[:8]}")
            return rounded.astype(np.int64)
        if array.dtype.kind not in "iub":
            raise ValueError(f"actions of {space} must be integers, got dtype {array.dtype}")
        return array

    def _convert(
        self,
        observation: Any,
        *,
        extra: Sequence[Any],
        final: Any = None,
    ) -> tuple[VecEnvObs, tuple[Any, ...]]:
        """Observation (and ``extra`` batched values, and ``final`` observations) as numpy,
        with one float32 transfer for everything float32 holds exactly.

        :return: the observation and ``(*extra, final observation dict or None)``; ``extra``
            values come back as float32 ``(n,)`` arrays (one column each).
        """
        batch = self.num_envs
        observations = [self._as_dict(observation)]
        if final is not None:
            observations.append(self._as_dict(final))
        parts: list[Any] = [o[key] for o in observations for key in self._packed]
        parts.extend(extra)
        if not parts:
            packed = np.empty((batch, 0), dtype=np.float32)
        elif all(isinstance(part, Tensor) for part in parts):
            flat = torch.cat([p.reshape(batch, -1).to(torch.float32) for p in parts], dim=1)
            packed = flat.numpy(force=True)
        else:
            packed = np.concatenate(
                [_to_numpy(p).reshape(batch, -1).astype(np.float32) for p in parts], axis=1
            )
        converted: list[dict[str, np.ndarray]] = []
        start = 0
        for obs in observations:
            arrays: dict[str, np.ndarray] = {}
            for key, width in zip(self._packed, self._widths, strict=True):
                column = packed[:, start : start + width].reshape(batch, *self._shapes[key])
                # float32 entries stay views of the fresh buffer (SB3 copies what it keeps)
                arrays[key] = column.astype(self._dtypes[key], copy=False)
                start += width
            for key in self._unpacked:
                arrays[key] = np.array(_to_numpy(obs[key]), dtype=self._dtypes[key])
            converted.append(arrays)
        values = [packed[:, start + i] for i in range(len(extra))]
        first = converted[0] if self._dict_obs else converted[0][""]
        final_obs = converted[1] if final is not None else None
        return first, (*values, final_obs)

    def _as_dict(self, observation: Any) -> dict[str, Any]:
        if self._dict_obs:
            return dict(observation)
        return {"": observation}

    def _copy_info(self, infos: list[dict[str, Any]], info: dict[str, Any], dones: Any) -> None:
        """Copy ``info_keys`` into each row's dict (ended rows: from ``final_info``)."""
        final_info = info.get("final_info", {})
        for key in self.info_keys:
            if key not in info and key not in final_info:
                raise ValueError(
                    f"info key {key!r} is not in the env's step info; it has {sorted(info)}"
                )
            current = _to_numpy(info[key]) if key in info else None
            if key in final_info and bool(dones.any()):
                ended = _to_numpy(final_info[key])
                if current is None:
                    current = ended
                else:
                    rows = dones.reshape(-1, *([1] * (current.ndim - 1)))
                    current = np.where(rows, ended, current)
            assert current is not None
            values: Iterable[Any] = current.tolist() if current.ndim == 1 else current.copy()
            for row_info, value in zip(infos, values, strict=True):
                row_info[key] = value

    def close(self) -> None:
        """Close the vector env."""
        self.venv.close()

    # ----------------------------------------------------------------- masks
    def action_masks(self) -> np.ndarray:
        """``(n, mask size)`` bool legal actions of the current observations, in sb3-contrib's
        flat layout (``n`` for ``Discrete(n)``, ``sum(nvec)`` for ``MultiDiscrete``, ``2 m``
        for ``MultiBinary(m)``); computed once per step.

        :raises AttributeError: the vector env has no ``action_masks()``.
        """
        if self._masks is None:
            method = getattr(self.venv, "action_masks", None)
            if not callable(method):
                raise AttributeError(f"{type(self.venv).__name__} has no action_masks()")
            self._masks = _to_numpy(method()).astype(bool, copy=False).reshape(self.num_envs, -1)
        return self._masks

    # ----------------------------------------------------------------- VecEnv plumbing
    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        """The vector env's attribute ``attr_name``, once per index (one env holds all rows).

        :raises AttributeError: the vector env has no such attribute.
        """
        value = getattr(self.venv, attr_name)
        return [value for _ in self._get_indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        """Set the vector env's attribute (for every sub-env: one env holds all rows).

        :raises ValueError: ``indices`` names only some sub-envs.
        """
        if sorted(self._get_indices(indices)) != list(range(self.num_envs)):
            raise ValueError(
                f"set_attr applies to every sub-env of the vector env; indices must be None or "
                f"all of 0..{self.num_envs - 1}, got {indices!r}"
            )
        setattr(self.venv, attr_name, value)

    def env_method(
        self,
        method_name: str,
        *method_args: Any,
        indices: VecEnvIndices = None,
        **method_kwargs: Any,
    ) -> list[Any]:
        """Call the vector env's method once; a batched result (first dim ``n``) is split into
        the rows of ``indices`` (numpy), anything else is repeated per index.

        ``env_method("action_masks")`` returns rows of :meth:`action_masks` (sb3-contrib's
        ``get_action_masks`` stacks them).
        """
        rows = list(self._get_indices(indices))
        if method_name == "action_masks":
            masks = self.action_masks()
            return [masks[i] for i in rows]
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        if (
            isinstance(result, (Tensor, np.ndarray))
            and result.ndim
            and len(result) == self.num_envs
        ):
            array = _to_numpy(result)
            return [array[i] for i in rows]
        return [result for _ in rows]

    def env_is_wrapped(
        self, wrapper_class: type[gym.Wrapper[Any, Any, Any, Any]], indices: VecEnvIndices = None
    ) -> list[bool]:
        """``True`` for SB3's ``Monitor`` (the adapter adds its ``"episode"`` info, so
        ``evaluate_policy`` reads whole-episode returns), ``False`` for any other wrapper."""
        from stable_baselines3.common.monitor import Monitor

        wrapped = isinstance(wrapper_class, type) and issubclass(Monitor, wrapper_class)
        return [wrapped for _ in self._get_indices(indices)]

    def get_images(self) -> Sequence[np.ndarray | None]:
        """Not available: our vector envs do not render."""
        raise NotImplementedError("the native vector envs do not render")


# --------------------------------------------------------------------- benchmark
def sb3_options(num_envs: int, seed: int, hyperparameters: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor options of a PPO-family model for ``num_envs`` sub-envs.

    SB3's defaults, except: device CPU (SB3's MLP policies are faster there), ``verbose=0``,
    ``seed``, and ``n_steps = ceil(2048 / num_envs)`` (SB3's 2048-transition rollout, whatever
    the number of sub-envs); ``hyperparameters`` override any of them.
    """
    n_steps = -(-ROLLOUT_STEPS // num_envs)
    return {"verbose": 0, "seed": seed, "device": "cpu", "n_steps": n_steps, **hyperparameters}


def _timed_learn(model: Any, total_steps: int) -> tuple[float, float, float, int]:
    """``model.learn(total_steps)``: ``(wall seconds in collect_rollouts, CPU seconds in
    collect_rollouts, total wall seconds, steps)``."""
    collect = model.collect_rollouts
    spent = [0.0, 0.0]

    def timed_collect(*args: Any, **kwargs: Any) -> Any:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            return collect(*args, **kwargs)
        finally:
            spent[0] += time.perf_counter() - wall
            spent[1] += time.process_time() - cpu

    model.collect_rollouts = timed_collect
    started = time.perf_counter()
    model.learn(total_timesteps=total_steps)
    total = time.perf_counter() - started
    return spent[0], spent[1], total, int(model.num_timesteps)


def bench_rollouts(
    env_id: str,
    *,
    num_envs: int = 64,
    steps: int = 20_000,
    slow_steps: int | None = None,
    algorithm: str = "maskable_ppo",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Train ``algorithm`` on ``env_id`` through the adapter and through ``make_vec_env``
    (``DummyVecEnv`` over single envs), same hyper-parameters, and time both.

    Both use :func:`sb3_options` for ``num_envs`` (``n_steps = ceil(2048 / n)``),
    device CPU. ``model.collect_rollouts`` is timed (SB3's rollout phase: policy forward passes,
    env steps, buffer writes); the rest of ``learn`` is the PPO update.

    :param steps: the budget of the adapter run (SB3 rounds it up to whole rollouts).
    :param slow_steps: the budget of the ``DummyVecEnv`` run (default ``steps``); its end-to-end
        time is extrapolated linearly to ``steps``.
    :return: one row per path: ``path``, ``steps`` (timesteps run), ``collect_s``,
        ``rollout_steps_per_s`` (wall time), ``rollout_steps_per_cpu_s`` (this process's CPU
        time: stable when other processes share the cores), ``update_s``, ``total_s``,
        ``total_s_at_budget`` (``total_s`` scaled to ``steps``).
    """
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO
    from stable_baselines3.common.env_util import make_vec_env

    if algorithm not in ("ppo", "maskable_ppo"):
        raise ValueError(f"algorithm must be 'ppo' or 'maskable_ppo', got {algorithm!r}")
    rows: list[dict[str, Any]] = []
    cls = MaskablePPO if algorithm == "maskable_ppo" else PPO
    options = sb3_options(num_envs, seed, {})
    kwargs = dict(env_kwargs or {})
    for path, budget in (("SB3VecEnv (native)", steps), ("DummyVecEnv", slow_steps or steps)):
        if path == "DummyVecEnv":
            env: VecEnv = make_vec_env(env_id, n_envs=num_envs, seed=seed, env_kwargs=kwargs)
        else:
            env = SB3VecEnv(gym.make_vec(env_id, num_envs=num_envs, **kwargs))
        model = cls("MultiInputPolicy", env, **options)
        collect_s, collect_cpu_s, total_s, done = _timed_learn(model, budget)
        env.close()
        rows.append(
            {
                "path": path,
                "steps": done,
                "collect_s": collect_s,
                "rollout_steps_per_s": done / collect_s,
                "rollout_steps_per_cpu_s": done / collect_cpu_s,
                "update_s": total_s - collect_s,
                "total_s": total_s,
                "total_s_at_budget": total_s * steps / done,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m agents.sb3_vec bench --env ID [--num-envs 64] [--steps 20000] ...``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m agents.sb3_vec", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="time SB3 rollouts: SB3VecEnv vs DummyVecEnv")
    bench.add_argument("--env", default="CellFreeAssoc-v0", help="env id")
    bench.add_argument("--num-envs", type=int, default=64, help="sub-envs of both paths")
    bench.add_argument("--steps", type=int, default=20_000, help="training budget [env steps]")
    bench.add_argument(
        "--slow-steps", type=int, default=None, help="budget of the DummyVecEnv run (extrapolated)"
    )
    bench.add_argument("--algorithm", default="maskable_ppo", choices=("ppo", "maskable_ppo"))
    bench.add_argument("--seed", type=int, default=0)
    bench.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = parser.parse_args(argv)
    import ua_envs  # noqa: F401  (registers the ids)

    torch.set_num_threads(args.threads)
    rows = bench_rollouts(
        args.env,
        num_envs=args.num_envs,
        steps=args.steps,
        slow_steps=args.slow_steps,
        algorithm=args.algorithm,
        seed=args.seed,
    )
    print(
        f"{args.algorithm} on {args.env}, {args.num_envs} envs, torch threads {args.threads}\n"
        f"| path | steps run | rollout env-steps/s | rollout env-steps/CPU-s | collect s | "
        f"update s | total s | total s for {args.steps} steps |\n|---|---|---|---|---|---|---|---|"
    )
    for row in rows:
        print(
            f"| {row['path']} | {row['steps']} | {row['rollout_steps_per_s']:,.0f} | "
            f"{row['rollout_steps_per_cpu_s']:,.0f} | "
            f"{row['collect_s']:.2f} | {row['update_s']:.2f} | {row['total_s']:.2f} | "
            f"{row['total_s_at_budget']:.2f}"
            f"{' (extrapolated)' if row['steps'] < args.steps else ''} |"
        )
    fast, slow = rows
    print(
        f"rollout speed-up {fast['rollout_steps_per_s'] / slow['rollout_steps_per_s']:.1f}x "
        f"(CPU time: "
        f"{fast['rollout_steps_per_cpu_s'] / slow['rollout_steps_per_cpu_s']:.1f}x), "
        f"end-to-end speed-up {slow['total_s_at_budget'] / fast['total_s_at_budget']:.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
