"""A method is an association rule plus a beamformer: declared env settings, spec overrides
(``NAME[:CKPT][@KEY=VALUE,...]``), and compare rows each under its own beamformer on the same
instances."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401
from agents import registry
from agents.cli import _split_policies, main
from agents.evaluate import compare
from agents.registry import (
    check_policy_spec,
    make_policy,
    parse_policy_spec,
    policy_entry,
    policy_env_kwargs,
    register_policy,
    split_policy_list,
    split_policy_spec,
)
from ua_envs.core import beamforming
from ua_envs.envs.fronthaul.sim import FronthaulSimulator

FRONTHAUL = "FronthaulAssoc-v0"


def test_declared_settings_of_builtin_policies() -> None:
    assert dict(policy_entry("pc_wmmse", FRONTHAUL).env_settings) == {"beamforming": "wmmse"}
    assert dict(policy_entry("fc_zf", FRONTHAUL).env_settings) == {"beamforming": "fc_zf"}
    assert dict(policy_entry("nearest_aps", FRONTHAUL).env_settings) == {}
    assert dict(policy_entry("greedy_wmmse", "CellFreeAssoc-v0").env_settings) == {
        "beamforming": "wmmse"
    }
    assert dict(policy_entry("greedy", "CellFreeAssoc-v0").env_settings) == {}


def test_spec_parsing() -> None:
    spec = split_policy_spec("pc_wmmse@beamforming=rzf")
    assert (spec.name, spec.checkpoint, spec.settings) == ("pc_wmmse", None, {"beamforming": "rzf"})
    spec = split_policy_spec("ppo:runs/a@b.zip@beamforming=agent,capacity_mbps=[40, 60]")
    assert spec.checkpoint == "runs/a@b.zip"
    assert spec.settings == {"beamforming": "agent", "capacity_mbps": [40, 60]}
    assert split_policy_spec("greedy@load_limit=None,num_ues=6").settings == {
        "load_limit": None,
        "num_ues": 6,
    }
    assert parse_policy_spec("greedy@beamforming=mrt") == ("greedy", None)
    assert parse_policy_spec("ppo:C:/m.zip") == ("ppo", "C:/m.zip")
    for bad, match in [
        ("greedy@", "empty"),
        ("greedy@beamforming=mrt,oops", "KEY=VALUE"),
        ("greedy@beamforming=mrt,beamforming=zf", "twice"),
        ("@beamforming=mrt", "NAME"),
    ]:
        with pytest.raises(ValueError, match=match):
            split_policy_spec(bad)


def test_unknown_setting_names_valid_env_kwargs() -> None:
    with pytest.raises(ValueError, match=r"beamformer.*valid: .*beamforming"):
        check_policy_spec("pc_wmmse@beamformer=rzf", FRONTHAUL)


def test_policy_env_kwargs_precedence() -> None:
    """env_kwargs (table-wide) | declared settings | spec overrides."""
    table = {"beamforming": "zf", "capacity_mbps": 40.0}
    assert policy_env_kwargs("nearest_aps", FRONTHAUL, table) == table
    assert policy_env_kwargs("pc_wmmse", FRONTHAUL, table) == {
        "beamforming": "wmmse",
        "capacity_mbps": 40.0,
    }
    assert policy_env_kwargs("pc_wmmse@beamforming=rzf,capacity_mbps=90", FRONTHAUL, table) == {
        "beamforming": "rzf",
        "capacity_mbps": 90,
    }


def test_make_policy_refuses_an_env_with_other_settings() -> None:
    with pytest.raises(ValueError, match=r"beamforming='wmmse'.*built with beamforming='mrt'"):
        make_policy("pc_wmmse", gym.make(FRONTHAUL))
    make_policy("pc_wmmse", gym.make(FRONTHAUL, beamforming="wmmse"))
    make_policy("pc_wmmse@beamforming=mrt", gym.make(FRONTHAUL))  # an explicit override
    env = gym.make("CellFreeAssoc-v0", beamforming="wmmse")
    make_policy("greedy_wmmse", env)
    assert env.unwrapped.config.beamforming == "wmmse"  # type: ignore[attr-defined]


def test_cli_split_policies() -> None:
    assert _split_policies("A,B@k=v,l=w,C") == ["A", "B@k=v,l=w", "C"]
    assert _split_policies("nearest_aps, pc_wmmse@capacity_mbps=[40,60],beamforming=rzf") == [
        "nearest_aps",
        "pc_wmmse@capacity_mbps=[40,60],beamforming=rzf",
    ]
    # '=' without a preceding '@' spec is a spec of its own (e.g. a checkpoint path)
    assert split_policy_list("ppo:runs/lr=0.1.zip,random") == ["ppo:runs/lr=0.1.zip", "random"]


@pytest.fixture
def scored_instances(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, Any]]]:
    """Records (beamformer, channels) of every decision FronthaulSimulator.step scores."""
    seen: list[tuple[str, Any]] = []
    original = FronthaulSimulator.step

    def step(self: FronthaulSimulator, state: Any, action: Any) -> Any:
        seen.append((self.config.beamforming, state.channels.clone()))
        return original(self, state, action)

    monkeypatch.setattr(FronthaulSimulator, "step", step)
    yield seen


def _rows(scored: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """(beamformer, (episodes, M, K, N) channels) per compare row, in row order.

    Batched rows score their episodes in one call, single-env rows one call per episode:
    consecutive calls under the same beamformer belong to one row (the tests' rows differ).
    """
    rows: list[tuple[str, list[Any]]] = []
    for beamformer, channels in scored:
        if not rows or rows[-1][0] != beamformer:
            rows.append((beamformer, []))
        rows[-1][1].append(channels)
    return [(b, torch.cat(chunks)) for b, chunks in rows]


def test_compare_rows_under_their_own_beamformer_on_identical_instances(
    scored_instances: list[tuple[str, Any]],
) -> None:
    episodes = 3
    table = compare(
        ["nearest_aps", "pc_wmmse", "fc_zf"], FRONTHAUL, episodes, seed=5, print_table=False
    )
    assert table.beams == ["mrt", "wmmse", "fc_zf"]
    rows = _rows(scored_instances)
    assert [b for b, _ in rows] == ["mrt", "wmmse", "fc_zf"]
    for _, channels in rows:
        assert channels.shape[0] == episodes
        torch.testing.assert_close(channels, rows[0][1], rtol=0, atol=0)
    markdown = table.to_markdown()
    assert "| policy | beams | return |" in markdown
    assert "| pc_wmmse | wmmse |" in markdown
    assert [r["beams"] for r in table.rows()] == ["mrt", "wmmse", "fc_zf"]
    assert table.results[1].env_kwargs == {"beamforming": "wmmse"}
    policies = table.to_dict()["policies"]
    assert [p["beams"] for p in policies] == ["mrt", "wmmse", "fc_zf"]


def test_cli_compare_one_table(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(
        [
            "compare",
            FRONTHAUL,
            "--policies",
            "nearest_aps,pc_wmmse,fc_zf,nearest_aps@beamforming=rzf,capacity_mbps=40",
            "--episodes",
            "2",
            "--out",
            str(tmp_path),
            "-q",
        ]
    )
    assert status == 0
    out = capsys.readouterr().out
    assert "| fc_zf | fc_zf |" in out
    assert "| nearest_aps@beamforming=rzf,capacity_mbps=40 | rzf |" in out
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["policies"][3]["env_kwargs"] == {"beamforming": "rzf", "capacity_mbps": 40}
    assert "beams" in (tmp_path / "summary.csv").read_text().splitlines()[0]


def test_cli_evaluate_honours_settings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "pc_wmmse", "--env", FRONTHAUL, "--episodes", "1", "-q"]) == 0
    assert "| pc_wmmse | wmmse |" in capsys.readouterr().out
    assert main(["evaluate", "pc_wmmse@beamformer=x", "--env", FRONTHAUL, "-q"]) == 2


class NearestMRTAgentBeams:
    """Test policy: nearest-AP association (2 per UE) with MRT-direction beams."""

    def act(self, observation: Any, info: Any = None, *, env: gym.Env | None = None) -> Any:
        assert env is not None
        u: Any = env.unwrapped
        association = np.zeros((8, 4), dtype=np.int8)
        np.put_along_axis(association, observation["gain_db"].argsort(axis=0)[-2:], 1, axis=0)
        beams = beamforming.mrt(
            torch.from_numpy(u.channels),
            torch.from_numpy(association).float(),
            torch.from_numpy(u.tx_power),
        )
        return {
            "association": association.reshape(-1),
            "beams": torch.view_as_real(beams.resolve_conj()).numpy(),
        }


@pytest.fixture
def agent_policy() -> Iterator[str]:
    name = "test_nearest_mrt_beams"
    register_policy(
        name,
        lambda env, checkpoint=None, seed=None: NearestMRTAgentBeams(),
        env_ids=[FRONTHAUL],
        description="test: nearest APs with MRT-direction beams",
        env_settings={"beamforming": "agent"},
    )
    yield name
    with registry._LOCK:
        registry._POLICIES.pop(name, None)


def test_agent_beams_policy_beside_pc_wmmse_and_fc_zf(
    agent_policy: str, scored_instances: list[tuple[str, Any]]
) -> None:
    table = compare(
        [agent_policy, "pc_wmmse", "fc_zf", "nearest_aps"],
        FRONTHAUL,
        2,
        seed=0,
        print_table=False,
    )
    assert table.beams == ["agent", "wmmse", "fc_zf", "mrt"]
    rows = _rows(scored_instances)
    assert [b for b, _ in rows] == ["agent", "wmmse", "fc_zf", "mrt"]
    for _, channels in rows:
        assert channels.shape[0] == 2
        torch.testing.assert_close(channels, rows[0][1], rtol=0, atol=0)
    assert np.all(np.isfinite(table.results[0].returns))
