"""Damaged checkpoints are one-line ``ValueError``s at load, for Q-tables (``.pt`` and the
old ``.npz``) and SB3
(``.zip``): empty, truncated, bit-flipped, wrong metadata, non-finite values, another algorithm.

Each case is built from a valid checkpoint written here (no training: an untrained table or
model is a valid checkpoint).
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import tiny_envs
import torch
from tiny_envs import TINY_ID

import ua_envs  # noqa: F401  (registers the ids)
from agents.q_learning import QLearningArgs, QTable, StateEncoder, config_dict
from agents.registry import make_policy
from ua_envs.envs.slotted.sim import SlottedConfig

assert tiny_envs  # registers UATiny-v0

SLOTTED = "SlottedArrivalAssoc-v0"


def flip_inside_largest_member(data: bytes) -> bytes:
    """Flip one byte in the middle of the compressed data of the zip's largest member."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        info = max(archive.infolist(), key=lambda i: i.compress_size)
    # Local header: 30 bytes + name + extra field (read from the header itself).
    offset = info.header_offset
    name_length = int.from_bytes(data[offset + 26 : offset + 28], "little")
    extra_length = int.from_bytes(data[offset + 28 : offset + 30], "little")
    start = offset + 30 + name_length + extra_length
    damaged = bytearray(data)
    damaged[start + info.compress_size // 2] ^= 0xFF
    return bytes(damaged)


def rewrite_member(data: bytes, member: str, edit: Callable[[bytes], bytes]) -> bytes:
    """The zip ``data`` with ``member``'s content replaced by ``edit(content)``."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info.filename)
            target.writestr(info.filename, edit(content) if info.filename == member else content)
    return out.getvalue()


def assert_one_line_value_error(call: Callable[[], object], *needles: str) -> None:
    with pytest.raises(ValueError) as caught:
        call()
    message = str(caught.value)
    assert "\n" not in message.strip(), message
    for needle in needles:
        assert needle in message, message


# ---- Q-learning tables (.npz of earlier versions, .pt) ---------------------------------------


def save_old_npz(table: QTable, path: Path) -> Path:
    """Write ``table`` as the ``.npz`` of earlier versions (the old ``QTable.save``, verbatim
    but for the function form): the format :meth:`QTable.load` must keep reading."""
    meta = {"env_config": table.env_config, "args": table.args, "seconds": table.seconds}
    with path.open("wb") as handle:
        np.savez_compressed(
            handle,
            q=table.q.numpy(),
            visits=table.visits.numpy(),
            meta=np.array(json.dumps(meta)),
        )
    return path


def _table(q: torch.Tensor | None = None, **meta_args: object) -> QTable:
    config = SlottedConfig()
    encoder = StateEncoder(config)
    shape = (encoder.num_states, encoder.num_actions)
    args = {**asdict(QLearningArgs()), **meta_args}
    return QTable(
        q=torch.zeros(shape) if q is None else q,
        visits=torch.zeros(shape, dtype=torch.int64),
        env_config=config_dict(config),
        args=args,
    )


@pytest.fixture(scope="module")
def table_bytes(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    path = save_old_npz(_table(), tmp_path_factory.mktemp("q") / "q.npz")
    return path.read_bytes()


def _npz(**arrays: object) -> bytes:
    out = io.BytesIO()
    np.savez_compressed(out, **arrays)  # type: ignore[arg-type]
    return out.getvalue()


GOOD_META = json.dumps({"env_config": config_dict(SlottedConfig()), "args": {}})


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        ("empty", "is not a Q-learning table"),
        ("truncated", "is not a Q-learning table"),
        ("bit_flipped", "is not a Q-learning table"),
        ("not_a_zip", "is not a Q-learning table"),
        ("meta_not_json", "is not a Q-learning table"),
        ("meta_missing", "is not a Q-learning table"),
        ("meta_without_env_config", "meta['env_config'] must be a JSON object"),
        ("meta_a_list", "meta must be a JSON object"),
        ("args_a_string", "meta['args'] must be a JSON object"),
        ("bad_demand_levels", "demand_levels"),
        ("q_1d", "q must be a non-empty 2-D float array"),
        ("visits_other_shape", "visits must be non-negative integers"),
        ("negative_visits", "visits must be non-negative integers"),
    ],
)
def test_damaged_q_table_is_refused_in_one_line(
    tmp_path: Path, table_bytes: bytes, damage: str, needle: str
) -> None:
    """Regression: empty / truncated / bit-flipped files raised EOFError or BadZipFile, and
    a table with wrong metadata failed later (KeyError, TypeError) with a traceback."""
    q = np.zeros((4, 2), np.float32)
    visits = np.zeros((4, 2), np.int64)
    content = {
        "empty": lambda: b"",
        "truncated": lambda: table_bytes[: len(table_bytes) // 2],
        "bit_flipped": lambda: flip_inside_largest_member(table_bytes),
        "not_a_zip": lambda: b"PK\x03\x04 not really a zip",
        "meta_not_json": lambda: _npz(q=q, visits=visits, meta=np.array("{not json")),
        "meta_missing": lambda: _npz(q=q, visits=visits),
        "meta_without_env_config": lambda: _npz(
            q=q, visits=visits, meta=np.array(json.dumps({"args": {}}))
        ),
        "meta_a_list": lambda: _npz(q=q, visits=visits, meta=np.array("[1, 2]")),
        "args_a_string": lambda: _npz(
            q=q, visits=visits, meta=np.array(json.dumps({"env_config": {}, "args": "x"}))
        ),
        "bad_demand_levels": lambda: _npz(
            q=q,
            visits=visits,
            meta=np.array(json.dumps({"env_config": {}, "args": {"demand_levels": [3]}})),
        ),
        "q_1d": lambda: _npz(q=np.zeros(4), visits=visits, meta=np.array(GOOD_META)),
        "visits_other_shape": lambda: _npz(
            q=q, visits=np.zeros((2, 2), np.int64), meta=np.array(GOOD_META)
        ),
        "negative_visits": lambda: _npz(
            q=q, visits=-np.ones((4, 2), np.int64), meta=np.array(GOOD_META)
        ),
    }[damage]()
    path = tmp_path / f"{damage}.npz"
    path.write_bytes(content)
    assert_one_line_value_error(lambda: QTable.load(path), str(path), needle)
    env = gym.make(SLOTTED)
    assert_one_line_value_error(lambda: make_policy(f"q_learning:{path}", env), needle)


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_q_table_with_non_finite_entries_is_refused_at_load(
    tmp_path: Path, value: float, suffix: str
) -> None:
    """Regression: a table with NaN / inf entries loaded, and its greedy policy then acted on
    garbage (NaN compares false: masked_greedy picked arbitrary actions)."""
    table = _table()
    table.q[3, 1] = value
    table.q[7, 0] = value
    path = tmp_path / f"nan{suffix}"
    save_old_npz(table, path) if suffix == ".npz" else table.save(path)
    assert_one_line_value_error(lambda: QTable.load(path), "2 non-finite (NaN or inf) entries")


def test_q_table_values_beyond_float32_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.npz"
    q = np.zeros((4, 2), np.float64)
    q[0, 0] = 1e300  # inf once stored as float32
    path.write_bytes(_npz(q=q, visits=np.zeros((4, 2), np.int64), meta=np.array(GOOD_META)))
    assert_one_line_value_error(lambda: QTable.load(path), "non-finite")


@pytest.mark.parametrize("suffix", [".npz", ".pt"])
def test_valid_q_table_round_trips(tmp_path: Path, suffix: str) -> None:
    shape = _table().q.shape
    table = _table(q=torch.rand(shape, generator=torch.Generator().manual_seed(0)))
    path = tmp_path / f"ok{suffix}"
    save_old_npz(table, path) if suffix == ".npz" else table.save(path)
    loaded = QTable.load(path)
    assert torch.equal(loaded.q, table.q) and loaded.env_config == table.env_config
    make_policy(f"q_learning:{path}", gym.make(SLOTTED))  # usable


def test_q_table_checkpoint_that_is_a_directory(tmp_path: Path) -> None:
    assert_one_line_value_error(
        lambda: make_policy(f"q_learning:{tmp_path}", gym.make(SLOTTED)),
        "is a directory, not a checkpoint file",
    )


# ---- stable-baselines3 (.zip) --------------------------------------------------------------


@pytest.fixture(scope="module")
def sb3_zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Untrained PPO, MaskablePPO and DQN checkpoints on the tiny env (Dict obs, Discrete)."""
    pytest.importorskip("sb3_contrib")
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import DQN, PPO

    directory = tmp_path_factory.mktemp("sb3")
    env = gym.make(TINY_ID, strict=False)
    small = {"n_steps": 8, "batch_size": 8, "device": "cpu"}
    out = {}
    for name, model in [
        ("ppo", PPO("MultiInputPolicy", env, **small)),
        ("maskable_ppo", MaskablePPO("MultiInputPolicy", env, **small)),
        ("dqn", DQN("MultiInputPolicy", env, buffer_size=64, device="cpu")),
    ]:
        model.save(directory / f"{name}.zip")
        out[name] = (directory / f"{name}.zip").read_bytes()
    return out


def _with_nan_weights(data: bytes) -> bytes:
    def edit(content: bytes) -> bytes:
        state = torch.load(io.BytesIO(content), weights_only=True)
        first = next(iter(state))
        state[first] = torch.full_like(state[first], float("nan"))
        buffer = io.BytesIO()
        torch.save(state, buffer)
        return buffer.getvalue()

    return rewrite_member(data, "policy.pth", edit)


#: Class names in the messages, and the damages refused as "not a readable <class> checkpoint".
SB3_CLASSES = {"ppo": "PPO", "maskable_ppo": "MaskablePPO", "dqn": "DQN"}
UNREADABLE = {
    "ppo": (
        "empty",
        "truncated",
        "bit_flipped",
        "data_not_json",
        "data_without_policy_class",
        "maskable_zip",
    ),
    "maskable_ppo": ("truncated",),
    "dqn": ("bit_flipped", "plain_ppo"),
}
#: ``(algorithm, damage, needle)``: every damaged SB3 checkpoint and what its error says.
DAMAGED_SB3 = [
    *(
        (algorithm, damage, f"is not a readable {SB3_CLASSES[algorithm]} checkpoint")
        for algorithm, damages in UNREADABLE.items()
        for damage in damages
    ),
    ("ppo", "nan_weights", "non-finite (NaN or inf) weights"),
    ("maskable_ppo", "plain_ppo", "a plain PPO checkpoint? use ppo:PATH"),
]


@pytest.mark.parametrize(("algorithm", "damage", "needle"), DAMAGED_SB3)
def test_damaged_sb3_checkpoint_is_refused_in_one_line(
    tmp_path: Path, sb3_zips: dict[str, bytes], algorithm: str, damage: str, needle: str
) -> None:
    """Regression: a truncated zip raised AssertionError, another algorithm's zip TypeError or
    AssertionError, and NaN weights loaded silently."""
    own = sb3_zips[algorithm]
    content = {
        "empty": lambda: b"",
        "truncated": lambda: own[: len(own) // 2],
        "bit_flipped": lambda: flip_inside_largest_member(own),
        "data_not_json": lambda: rewrite_member(own, "data", lambda _: b"{not json"),
        "data_without_policy_class": lambda: rewrite_member(
            own,
            "data",
            lambda c: json.dumps(
                {k: v for k, v in json.loads(c).items() if k != "policy_class"}
            ).encode(),
        ),
        "nan_weights": lambda: _with_nan_weights(own),
        "plain_ppo": lambda: sb3_zips["ppo"],
        "maskable_zip": lambda: sb3_zips["maskable_ppo"],
    }[damage]()
    path = tmp_path / f"{damage}.zip"
    path.write_bytes(content)
    env = gym.make(TINY_ID, strict=False)
    assert_one_line_value_error(lambda: make_policy(f"{algorithm}:{path}", env), needle)


def test_valid_sb3_checkpoints_load(tmp_path: Path, sb3_zips: dict[str, bytes]) -> None:
    env = gym.make(TINY_ID, strict=False)
    observation, _ = env.reset(seed=0)
    for algorithm, content in sb3_zips.items():
        path = tmp_path / f"{algorithm}.zip"
        path.write_bytes(content)
        policy = make_policy(f"{algorithm}:{path}", env, seed=0)
        assert env.action_space.contains(policy.act(observation, env=env))
        stem = str(path)[: -len(".zip")]  # SB3 appends .zip, so the spec may omit it
        make_policy(f"{algorithm}:{stem}", env, seed=0)


def test_sb3_checkpoint_of_other_spaces_is_refused(
    tmp_path: Path, sb3_zips: dict[str, bytes]
) -> None:
    path = tmp_path / "ppo.zip"
    path.write_bytes(sb3_zips["ppo"])
    other = gym.make(TINY_ID, num_actions=5, strict=False)
    assert_one_line_value_error(
        lambda: make_policy(f"ppo:{path}", other), "was trained with observation space"
    )


def test_sb3_checkpoint_that_is_a_directory(tmp_path: Path) -> None:
    env = gym.make(TINY_ID, strict=False)
    assert_one_line_value_error(
        lambda: make_policy(f"ppo:{tmp_path}", env), "is a directory, not a checkpoint file"
    )
