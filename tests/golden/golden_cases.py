"""Golden episodes: whole episodes of every id, 20 seeds, a fixed action sequence.

Recorded once from the code *before* the simulator-contract refactor (at 1a76db1; ``python -m
tests.golden.golden_cases record``) and compared by ``test_golden.py`` afterwards, so that a
refactor that claims to change no behaviour provably changes none. A deliberate change of
behaviour re-records only the cases it changes (``python -m tests.golden.golden_cases record
NAME ...``) and says so in :data:`RERECORDED`; every other case keeps its 1a76db1 data.

The action sequence is fixed per (case, seed): a ``numpy`` generator seeded with ``seed``
draws a legal action (uniform over the mask when the observation has one) at every step, so it
follows the episode without depending on any library code beyond the public Gymnasium API.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import ua_envs  # noqa: F401  (registers the ids)

DATA = Path(__file__).with_name("data")
SEEDS = range(20)
MAX_STEPS = 60

#: Cases re-recorded after 1a76db1 on purpose: case name -> (change, reason).
RERECORDED: dict[str, tuple[str, str]] = {
    name: (
        "issue #12 equal-power MRT and partial RZF",
        reason,
    )
    for name, reason in (
        ("multicell", "default beamforming 'mrt' is now equal-power unit-norm MRT"),
        ("multicell_balanced", "default beamforming 'mrt' is now equal-power unit-norm MRT"),
        ("multicell_wmmse", "WMMSE starts from MRT, now equal-power MRT (its local optimum moves)"),
        ("cellfree", "default beamforming 'rzf' is now the partial RZF with one common scale"),
        ("fronthaul_rzf_horizon", "'rzf' is now the partial RZF with one common scale"),
    )
}
RERECORDED.update(
    {
        name: (
            "issue #14 slotted BS state and utility per slot",
            "observation nodes gain column 5 (each BS's mean utility per slot so far); info gains "
            "utility_per_slot; rewards, actions and every other value unchanged",
        )
        for name in ("slotted", "slotted_full_load")
    }
)
#: Cases whose data is the 1a76db1 recording of another case: the beamformers of before issue
#: #12, under their new names, must reproduce the old episodes bit for bit.
OLD_NAMES: dict[str, str] = {
    "multicell_mrt_proportional": "multicell",
    "multicell_balanced_mrt_proportional": "multicell_balanced",
    "cellfree_rzf_restricted": "cellfree",
    "fronthaul_rzf_restricted_horizon": "fronthaul_rzf_horizon",
}

#: (case name, env id, kwargs): every id at its defaults and the settings that take other paths.
CASES: list[tuple[str, str, dict[str, Any]]] = [
    ("multicell", "MultiCellAssoc-v0", {}),
    (
        "multicell_zf_penalty",
        "MultiCellAssoc-v0",
        {"beamforming": "zf", "load_limit": 3, "overload": "penalty"},
    ),
    ("multicell_wmmse", "MultiCellAssoc-v0", {"beamforming": "wmmse", "num_ues": 4}),
    ("multicell_balanced", "MultiCellAssocBalanced-v0", {}),
    ("cellfree", "CellFreeAssoc-v0", {}),
    ("cellfree_delta_mrt", "CellFreeAssoc-v0", {"reward_mode": "delta", "beamforming": "mrt"}),
    (
        "cellfree_coverage_wmmse",
        "CellFreeAssoc-v0",
        {"require_coverage": True, "beamforming": "wmmse", "num_bs": 4, "num_ues": 3},
    ),
    ("fronthaul", "FronthaulAssoc-v0", {}),
    (
        "fronthaul_penalty_scale",
        "FronthaulAssoc-v0",
        {"reward_mode": "penalty", "enforce_fronthaul": "scale", "capacity_mbps": 30.0},
    ),
    ("fronthaul_rzf_horizon", "FronthaulAssoc-v0", {"beamforming": "rzf", "horizon": 3}),
    ("multicell_mrt_proportional", "MultiCellAssoc-v0", {"beamforming": "mrt_proportional"}),
    (
        "multicell_balanced_mrt_proportional",
        "MultiCellAssocBalanced-v0",
        {"beamforming": "mrt_proportional"},
    ),
    ("cellfree_rzf_restricted", "CellFreeAssoc-v0", {"beamforming": "rzf_restricted"}),
    (
        "fronthaul_rzf_restricted_horizon",
        "FronthaulAssoc-v0",
        {"beamforming": "rzf_restricted", "horizon": 3},
    ),
    ("slotted", "SlottedArrivalAssoc-v0", {}),
    (
        "slotted_full_load",
        "SlottedArrivalAssoc-v0",
        {"arrival_prob": 1.0, "mean_demand": 14, "allow_reject": True},
    ),
]


def _action(env: gym.Env, observation: Any, rng: np.random.Generator) -> Any:
    space = env.action_space
    mask = observation.get("action_mask") if isinstance(observation, dict) else None
    if isinstance(space, gym.spaces.Discrete):
        legal = np.arange(space.n) if mask is None else np.flatnonzero(mask)
        return np.int64(rng.choice(legal))
    if isinstance(space, gym.spaces.MultiDiscrete):
        return rng.integers(0, space.nvec).astype(np.int64)
    if isinstance(space, gym.spaces.MultiBinary):
        return rng.integers(0, 2, size=space.shape).astype(np.int8)
    raise TypeError(type(space))


def _flat(prefix: str, values: dict[str, Any], out: dict[str, np.ndarray]) -> None:
    for key, value in values.items():
        array = np.asarray(value)
        if array.dtype.kind in "biufc":
            out[f"{prefix}/{key}"] = array.copy()


def _stacked(prefix: str, steps: list[dict[str, np.ndarray]], out: dict[str, np.ndarray]) -> None:
    """One array per key over the steps (a key missing at some step is stored per step)."""
    keys = {key for step in steps for key in step}
    for key in sorted(keys):
        values = [step.get(key) for step in steps]
        if all(v is not None for v in values) and len({v.shape for v in values}) == 1:
            out[f"{prefix}/{key}"] = np.stack(values)
        else:
            for t, value in enumerate(values):
                if value is not None:
                    out[f"{prefix}/{t}/{key}"] = value


def run_case(env_id: str, kwargs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every array of every seed's episode, keyed ``seed/kind/key`` and stacked over steps."""
    out: dict[str, np.ndarray] = {}
    env = gym.make(env_id, **kwargs)
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        observation, info = env.reset(seed=seed)
        steps: list[dict[str, np.ndarray]] = []
        _flat("reset/obs", observation, step := {})
        steps.append(step)
        for _ in range(MAX_STEPS):
            action = _action(env, observation, rng)
            observation, reward, terminated, truncated, info = env.step(action)
            step = {}
            _flat("obs", observation, step)
            _flat("info", info, step)
            step["reward"] = np.asarray(reward)
            step["end"] = np.asarray([terminated, truncated])
            step["action"] = np.asarray(action)
            steps.append(step)
            if terminated or truncated:
                break
        _stacked(f"{seed}/reset", steps[:1], out)
        _stacked(f"{seed}/steps", steps[1:], out)
        # A second, unseeded episode: the chunked-reset path of the single envs.
        observation, _ = env.reset()
        _flat(f"{seed}/next/obs", observation, out)
    env.close()
    return out


def run_vector_case(env_id: str, kwargs: dict[str, Any]) -> dict[str, np.ndarray]:
    """Three steps of the native vector env (8 sub-envs, seed 100): obs, rewards, infos."""
    out: dict[str, np.ndarray] = {}
    env = gym.make_vec(env_id, num_envs=8, vectorization_mode="vector_entry_point", **kwargs)
    # Autoreset draws exactly the rows that ended, as at 1a76db1 (the default pool of 256
    # instances changes which instances follow, not how any instance plays; tests/envs/test_base.py
    # covers the pool).
    env.unwrapped.autoreset_pool = 1
    rng = np.random.default_rng(100)
    observation, _ = env.reset(seed=100)
    _flat("vec/reset/obs", {k: v.numpy() for k, v in observation.items()}, out)
    for t in range(3):
        rows = [{k: v[i].numpy() for k, v in observation.items()} for i in range(8)]
        single = gym.make(env_id, **kwargs)
        action = np.stack([_action(single, row, rng) for row in rows])
        observation, reward, terminated, truncated, info = env.step(action)
        _flat(f"vec/{t}/obs", {k: v.numpy() for k, v in observation.items()}, out)
        _flat(
            f"vec/{t}/info",
            {k: v.numpy() for k, v in info.items() if hasattr(v, "numpy")},
            out,
        )
        out[f"vec/{t}/reward"] = reward.numpy().copy()
        out[f"vec/{t}/end"] = np.stack([terminated.numpy(), truncated.numpy()])
    env.close()
    return out


def record(names: list[str] | None = None) -> None:
    """Record the cases ``names`` (every case when ``None``).

    :raises ValueError: an unknown case name, or one of :data:`OLD_NAMES` (their data is a
        past recording, never re-recorded).
    """
    known = {name for name, _, _ in CASES}
    chosen = known if names is None else set(names)
    unknown = sorted(chosen - known)
    if unknown:
        raise ValueError(f"unknown golden case(s) {unknown}; cases: {sorted(known)}")
    frozen = sorted(chosen & set(OLD_NAMES)) if names is not None else []
    if frozen:
        raise ValueError(f"{frozen} hold a past recording (OLD_NAMES) and are not re-recorded")
    DATA.mkdir(exist_ok=True)
    for name, env_id, kwargs in CASES:
        if name not in chosen or name in OLD_NAMES:
            continue
        arrays = {**run_case(env_id, kwargs), **run_vector_case(env_id, kwargs)}
        np.savez_compressed(DATA / f"{name}.npz", **arrays)
        print("recorded", name)


if __name__ == "__main__":
    if sys.argv[1:2] != ["record"]:
        raise SystemExit("usage: python -m tests.golden.golden_cases record [CASE ...]")
    record(sys.argv[2:] or None)
