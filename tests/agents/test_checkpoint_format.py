"""The one ``.pt`` checkpoint format (:mod:`agents.checkpoint`): what it stores, how it is
written (plain containers only, atomically) and every refusal at load (one line, the file named).
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

import ua_envs
from agents.checkpoint import (
    FORMAT_VERSION,
    Checkpoint,
    load_checkpoint,
    same_kwargs,
    save_checkpoint,
)


def _checkpoint(**changes: object) -> Checkpoint:
    fields: dict[str, object] = {
        "algorithm": "q_learning",
        "env_id": "SlottedArrivalAssoc-v0",
        "hyperparameters": {"gamma": 0.5, "num_envs": 8},
        "state": {
            "q": torch.arange(6, dtype=torch.float32).view(3, 2),
            "net": {"weight": torch.ones(2, 2)},
            "optimizer": {"state": {0: {"step": torch.tensor(3.0)}}, "param_groups": [{"lr": 0.1}]},
        },
        "env_kwargs": {"num_bs": 3},
        "step": 320,
        "episodes": 8,
        "seed": 7,
        "curve": [{"step": 320, "wall_time_s": 1.5, "episodes": 8, "mean_return": None}],
        "rng": {"exploration": torch.Generator().manual_seed(1).get_state()},
        "extra": {"env_config": {"num_bs": 3}},
    }
    fields.update(changes)
    return Checkpoint(**fields)  # type: ignore[arg-type]


def one_line_error(call: object, *needles: str) -> str:
    with pytest.raises(ValueError) as caught:
        call()  # type: ignore[operator]
    message = str(caught.value)
    assert "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


def test_round_trip_keeps_every_field_and_loads_weights_only(tmp_path: Path) -> None:
    original = _checkpoint()
    path = save_checkpoint(tmp_path / "sub" / "c.pt", original)  # missing parent created
    raw = torch.load(path, weights_only=True)  # plain torch can read it safely
    assert raw["format"] == "ua-envs-checkpoint" and raw["format_version"] == FORMAT_VERSION
    assert raw["package_version"] == ua_envs.__version__
    loaded = load_checkpoint(
        path, algorithm="q_learning", env_id="SlottedArrivalAssoc-v0", env_kwargs={"num_bs": 3}
    )
    assert torch.equal(loaded.state["q"], original.state["q"])
    assert torch.equal(loaded.state["net"]["weight"], torch.ones(2, 2))
    assert loaded.state["optimizer"]["state"][0]["step"].item() == 3.0
    assert (loaded.step, loaded.episodes, loaded.seed) == (320, 8, 7)
    assert loaded.hyperparameters == {"gamma": 0.5, "num_envs": 8}
    assert loaded.curve == original.curve and loaded.extra == original.extra
    generator = torch.Generator()
    generator.set_state(loaded.rng["exploration"])
    assert torch.equal(
        torch.rand(3, generator=generator),
        torch.rand(3, generator=torch.Generator().manual_seed(1)),
    )
    assert [p.name for p in path.parent.iterdir()] == ["c.pt"]  # no temporary file left


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"state": {"q": np.zeros(3)}}, "checkpoint['state']['q'] is a numpy.ndarray"),
        ({"hyperparameters": {"gamma": np.float64(0.5)}}, "['gamma'] is a numpy.float64"),
        ({"extra": {"config": object()}}, "checkpoint['extra']['config'] is a builtins.object"),
        ({"state": {("a", 1): torch.zeros(1)}}, "has a key ('a', 1) of type tuple"),
        ({"step": -1}, "field 'step' must be >= 0"),
        ({"algorithm": ""}, "must not be empty"),
    ],
)
def test_save_refuses_what_a_weights_only_load_cannot_read(
    tmp_path: Path, changes: dict[str, object], needle: str
) -> None:
    path = tmp_path / "c.pt"
    save_checkpoint(path, _checkpoint())
    before = path.read_bytes()
    one_line_error(lambda: save_checkpoint(path, _checkpoint(**changes)), needle)
    assert path.read_bytes() == before  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["c.pt"]


class Custom:
    """Not loadable with weights_only=True."""


def _damaged(kind: str, good: bytes, tmp_path: Path) -> Path:
    path = tmp_path / f"{kind}.pt"
    if kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif kind == "garbage":
        path.write_bytes(b"\x00not a torch archive" * 10)
    elif kind == "custom_object":
        torch.save({"format": "ua-envs-checkpoint", "payload": Custom()}, path)
    elif kind == "plain_pickle":
        path.write_bytes(pickle.dumps({"a": 1}))
    elif kind == "not_a_checkpoint":
        torch.save({"weight": torch.zeros(2)}, path)
    elif kind == "other_version":
        data = _checkpoint().to_dict()
        data["format_version"] = FORMAT_VERSION + 1
        torch.save(data, path)
    elif kind == "step_a_string":
        data = _checkpoint().to_dict()
        data["step"] = "320"
        torch.save(data, path)
    elif kind == "no_state":
        data = _checkpoint().to_dict()
        del data["state"]
        torch.save(data, path)
    return path


@pytest.mark.parametrize(
    ("kind", "needle"),
    [
        ("empty", "is not a readable ua-envs checkpoint"),
        ("truncated", "is not a readable ua-envs checkpoint"),
        ("garbage", "is not a readable ua-envs checkpoint"),
        ("custom_object", "is not a readable ua-envs checkpoint"),
        ("plain_pickle", "is not a readable ua-envs checkpoint"),
        ("not_a_checkpoint", "is not a ua-envs checkpoint"),
        ("other_version", f"format version {FORMAT_VERSION + 1}; this ua-envs reads version"),
        ("step_a_string", "field 'step' must be a int, got str"),
        ("no_state", "has no 'state' field"),
    ],
)
def test_damaged_files_are_one_line_errors_naming_the_file(
    tmp_path: Path, kind: str, needle: str
) -> None:
    good = save_checkpoint(tmp_path / "good.pt", _checkpoint()).read_bytes()
    path = _damaged(kind, good, tmp_path)
    one_line_error(lambda: load_checkpoint(path), str(path), needle)


def test_missing_file_and_directory(tmp_path: Path) -> None:
    one_line_error(lambda: load_checkpoint(tmp_path / "no.pt"), "no.pt' does not exist")
    one_line_error(lambda: load_checkpoint(tmp_path), "is a directory, not a checkpoint file")


def test_other_algorithm_env_id_and_kwargs_are_refused(tmp_path: Path) -> None:
    path = save_checkpoint(tmp_path / "c.pt", _checkpoint())
    one_line_error(
        lambda: load_checkpoint(path, algorithm="dqn"), "holds a 'q_learning' checkpoint, not 'dqn'"
    )
    one_line_error(
        lambda: load_checkpoint(path, env_id="MultiCellAssoc-v0"),
        "was trained on 'SlottedArrivalAssoc-v0', not 'MultiCellAssoc-v0'",
    )
    one_line_error(
        lambda: load_checkpoint(path, env_kwargs={"num_bs": 4}),
        "incompatible env kwargs: num_bs=3 when trained, 4 now",
    )
    one_line_error(
        lambda: load_checkpoint(path, env_kwargs={}),
        "num_bs=3 when trained, <default> now",
    )

    def only_seats(trained: object, given: object) -> str | None:
        del trained, given
        return None  # this algorithm does not depend on num_bs

    assert load_checkpoint(path, env_kwargs={"num_bs": 4}, compatible_kwargs=only_seats).step == 320


def test_same_kwargs_treats_tuples_as_lists() -> None:
    assert same_kwargs({"levels": [1, 2]}, {"levels": (1, 2)}) is None
    assert same_kwargs({}, {"a": 1}) == "a=<default> when trained, 1 now"
