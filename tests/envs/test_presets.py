"""Paper presets (ua_envs.presets) on every path that builds a config, and the fronthaul load's
rate unit (``load_rate_unit``)."""

from __future__ import annotations

import dataclasses
import importlib
import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest

import ua_envs  # registers the ids
from agents.cli import parse_env_kwargs
from agents.envs import make_env
from ua_envs.envs.contract import ChannelInstance
from ua_envs.envs.fronthaul.sim import FronthaulConfig
from ua_envs.envs.multicell.sim import MultiCellConfig
from ua_envs.presets import FAMILY_IDS, PRESETS, apply_preset, preset_rows, presets_for

#: (preset, Gymnasium id) for every id that takes every preset.
GYM_CASES = [
    (name, env_id)
    for name, preset in PRESETS.items()
    for env_id in preset.env_ids
    if not env_id.startswith("ua_envs.")
]
#: (preset, PettingZoo module) likewise.
PZ_CASES = [
    (name, module)
    for name, preset in PRESETS.items()
    for module in preset.env_ids
    if module.startswith("ua_envs.")
]


def _expected_config(name: str, env_id: str) -> object:
    """The config the preset must give: its kwargs (then the id's registered kwargs) written
    out explicitly, built without a preset."""
    env = gym.make(env_id, **{**PRESETS[name].kwargs, **gym.spec(env_id).kwargs})
    config = env.unwrapped.config
    env.close()
    return config


def _without_preset(config: object) -> object:
    return dataclasses.replace(config, preset=None)  # type: ignore[type-var]


def test_the_preset_names_and_their_ids() -> None:
    assert list(PRESETS) == ["gs-gnn", "attskgs", "supportset", "egat", "grows"]
    assert presets_for("MultiCellAssoc") == ("gs-gnn", "attskgs")
    assert presets_for("CellFreeAssoc") == ("supportset",)
    assert presets_for("FronthaulAssoc") == ("egat",)
    assert presets_for("SlottedArrivalAssoc") == ("grows",)
    # Every registered Gymnasium id takes at least one preset.
    gym_ids = {env_id for _, env_id in GYM_CASES}
    assert gym_ids == set(ua_envs.ENV_IDS)
    assert {preset.family for preset in PRESETS.values()} == set(FAMILY_IDS)


@pytest.mark.parametrize(("name", "env_id"), GYM_CASES)
def test_gym_make_applies_and_records_the_preset(name: str, env_id: str) -> None:
    env = gym.make(env_id, preset=name)
    config = env.unwrapped.config
    assert config.preset == name
    assert _without_preset(config) == _expected_config(name, env_id)
    env.reset(seed=0)
    env.close()


@pytest.mark.parametrize(("name", "env_id"), GYM_CASES)
def test_make_vec_applies_and_records_the_preset(name: str, env_id: str) -> None:
    vec = gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", preset=name)
    config = vec.unwrapped.config  # type: ignore[attr-defined]
    assert config.preset == name
    assert _without_preset(config) == _expected_config(name, env_id)
    vec.reset(seed=0)
    vec.close()


@pytest.mark.parametrize(("name", "module"), PZ_CASES)
def test_pettingzoo_envs_apply_the_preset(name: str, module: str) -> None:
    env = importlib.import_module(module).parallel_env(preset=name)
    assert env.config.preset == name
    family_id = next(i for i in PRESETS[name].env_ids if not i.startswith("ua_envs."))
    assert _without_preset(env.config) == _without_preset(_expected_config(name, family_id))
    env.close()


@pytest.mark.parametrize(("name", "env_id"), GYM_CASES)
def test_cli_env_kwargs_select_the_preset(name: str, env_id: str) -> None:
    kwargs = parse_env_kwargs([f"preset={name}"])
    assert kwargs == {"preset": name}
    env = make_env(env_id, kwargs)
    assert env.unwrapped.config.preset == name
    env.close()


def test_presets_set_the_papers_values() -> None:
    """Spot checks against the papers (values written out, not read from the registry)."""
    gs = gym.make("MultiCellAssoc-v0", preset="gs-gnn").unwrapped.config
    assert (gs.num_bs, gs.num_antennas, gs.num_ues) == (2, 4, 8)
    assert (gs.carrier_ghz, gs.bandwidth_hz, gs.tx_power_dbm) == (28.0, 1e9, 30.0)
    assert gs.beamforming == "mrt" and gs.resolved_load_limit is None
    att = gym.make("MultiCellAssoc-v0", preset="attskgs").unwrapped.config
    assert att.resolved_load_limit == 4 and att.overload == "drop"
    sup = gym.make("CellFreeAssoc-v0", preset="supportset").unwrapped.config
    assert sup.tx_power_dbm == pytest.approx(10 * math.log10(200.0))  # 200 mW
    egat = gym.make("FronthaulAssoc-v0", preset="egat").unwrapped.config
    assert egat.decorrelation_distance_m == 500.0 and egat.load_rate_unit == "nat"
    assert (egat.num_bs, egat.num_antennas, egat.num_ues) == (8, 2, 4)
    assert (egat.noise_power_dbm, egat.bandwidth_hz) == (-85.0, 10e6)
    grows = gym.make("SlottedArrivalAssoc-v0", preset="grows").unwrapped.config
    assert (grows.num_bs, grows.horizon, grows.top_k) == (3, 40, 3)
    assert grows.bs_bias_db == (3.0, 0.0, 0.0)


def test_no_preset_is_recorded_as_none_and_changes_nothing() -> None:
    env = gym.make("FronthaulAssoc-v0")
    assert env.unwrapped.config.preset is None
    assert env.unwrapped.config.decorrelation_distance_m == 100.0
    assert env.unwrapped.config.load_rate_unit == "bit"
    assert gym.make("FronthaulAssoc-v0", preset=None).unwrapped.config == env.unwrapped.config


def test_explicit_kwargs_override_the_preset() -> None:
    config = gym.make(
        "FronthaulAssoc-v0",
        preset="egat",
        decorrelation_distance_m=100.0,
        load_rate_unit="bit",
        capacity_mbps=40.0,
    ).unwrapped.config
    assert config.preset == "egat"
    assert config.decorrelation_distance_m == 100.0
    assert config.load_rate_unit == "bit"
    assert config.capacity_mbps == (40.0,) * 8
    assert config.shadowing_std_db == 8.0  # the preset's other values stay
    # A registered id's own kwargs are explicit too: the balanced id keeps its load limit.
    balanced = gym.make("MultiCellAssocBalanced-v0", preset="gs-gnn").unwrapped.config
    assert balanced.load_limit == "num_antennas" and balanced.overload == "drop"
    vec = gym.make_vec(
        "SlottedArrivalAssoc-v0",
        2,
        vectorization_mode="vector_entry_point",
        preset="grows",
        arrival_prob=1.0,
    )
    assert vec.unwrapped.config.arrival_prob == 1.0  # type: ignore[attr-defined]
    assert vec.unwrapped.config.mean_demand == 10  # type: ignore[attr-defined]


def test_apply_preset_does_not_modify_its_input() -> None:
    kwargs = {"preset": "egat", "num_ues": 6}
    merged = apply_preset("FronthaulAssoc", kwargs)
    assert kwargs == {"preset": "egat", "num_ues": 6}
    assert merged["num_ues"] == 6 and merged["load_rate_unit"] == "nat"


@pytest.mark.parametrize(
    ("env_id", "preset", "valid"),
    [
        ("MultiCellAssoc-v0", "egat", "'gs-gnn', 'attskgs'"),
        ("MultiCellAssocBalanced-v0", "grows", "'gs-gnn', 'attskgs'"),
        ("CellFreeAssoc-v0", "gs-gnn", "'supportset'"),
        ("FronthaulAssoc-v0", "supportset", "'egat'"),
        ("SlottedArrivalAssoc-v0", "attskgs", "'grows'"),
    ],
)
def test_a_preset_of_another_family_raises_naming_the_valid_ones(
    env_id: str, preset: str, valid: str
) -> None:
    with pytest.raises(ValueError, match=f"preset '{preset}' is for .*{valid}"):
        gym.make(env_id, preset=preset)
    with pytest.raises(ValueError, match=valid):
        gym.make_vec(env_id, 2, vectorization_mode="vector_entry_point", preset=preset)


@pytest.mark.parametrize("bad", ["nope", "EGAT", 3, ""])
def test_an_unknown_preset_raises(bad: object) -> None:
    with pytest.raises(ValueError, match=rf"unknown preset {bad!r}.*'egat'.*all presets: gs-gnn"):
        gym.make("FronthaulAssoc-v0", preset=bad)


def test_a_preset_pins_its_scenario() -> None:
    with pytest.raises(ValueError, match="preset 'egat' sets scenario='cellfree_3slope'"):
        gym.make("FronthaulAssoc-v0", preset="egat", scenario="cellfree_umi")
    # Naming the preset's own scenario is fine.
    gym.make("FronthaulAssoc-v0", preset="egat", scenario="cellfree_3slope")


def test_a_config_built_directly_checks_the_preset_name() -> None:
    assert MultiCellConfig(preset="attskgs").preset == "attskgs"
    with pytest.raises(ValueError, match="preset 'egat' is for FronthaulAssoc-v0"):
        MultiCellConfig(preset="egat")
    with pytest.raises(ValueError, match="unknown preset 'x'"):
        FronthaulConfig(preset="x")


def test_list_presets_rows_and_cli_output() -> None:
    rows = {row[0]: row for row in preset_rows()}
    assert list(rows) == list(PRESETS)
    _, ids, settings, _ = rows["egat"]
    assert ids == "FronthaulAssoc-v0, ua_envs.multiagent.fronthaul_assoc_v0"
    assert "decorrelation_distance_m=500" in settings and "load_rate_unit='nat'" in settings
    # the grows preset says how it was calibrated and how well it fits
    assert "calibrated" in rows["grows"][3] and "RMSE" in rows["grows"][3]
    result = subprocess.run(
        [sys.executable, "-m", "agents.cli", "list", "presets"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Environments:" not in out  # only the presets
    for name, ids, settings, _ in preset_rows():
        assert f"  {name} " in out and f"[{ids}]" in out and f"sets: {settings}" in out
    filtered = subprocess.run(
        [sys.executable, "-m", "agents.cli", "list", "presets", "--env", "CellFreeAssoc-v0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert filtered.returncode == 0, filtered.stderr
    assert "supportset" in filtered.stdout and "egat" not in filtered.stdout


# ---- fronthaul load rate unit ---------------------------------------------------------------

BANDWIDTH_HZ = 10e6
SNR = 15.0  # one AP, one antenna, one UE: SINR = P |h|² / σ² = 15 with MRT at full power


def _one_link_step(**kwargs: object) -> tuple[float, dict]:
    env = gym.make(
        "FronthaulAssoc-v0", num_bs=1, num_ues=1, num_antennas=1, multipliers=0.5, **kwargs
    )
    instance = ChannelInstance(
        channels=np.ones((1, 1, 1), dtype=np.complex64),
        tx_power=np.array([SNR * 1e-9]),
        noise_power=np.array([1e-9]),
    )
    env.reset(seed=0, options={"instance": instance})
    _, reward, _, _, info = env.step(np.ones(1, dtype=np.int8))
    env.close()
    return float(reward), info


@pytest.mark.parametrize("capacity_mbps", [30.0, 35.0])
def test_load_in_nats_is_ln2_times_the_load_in_bits(capacity_mbps: float) -> None:
    bits = math.log2(1 + SNR)  # 4 bit/s/Hz
    nats = math.log(1 + SNR)  # 2.7726 nat/s/Hz = 4 · ln 2
    reward_bit, info_bit = _one_link_step(capacity_mbps=capacity_mbps)
    reward_nat, info_nat = _one_link_step(capacity_mbps=capacity_mbps, load_rate_unit="nat")
    # The rate (and the reward's rate term) stays in bit/s/Hz.
    np.testing.assert_allclose(info_bit["rates"], [bits], rtol=1e-5)
    np.testing.assert_allclose(info_nat["rates"], [bits], rtol=1e-5)
    assert info_nat["wsr"] == pytest.approx(bits, rel=1e-5)
    # The load: 40 Mbit/s in bits, 27.73 Mnat/s in nats.
    np.testing.assert_allclose(info_bit["fronthaul_load_mbps"], [bits * 10.0], rtol=1e-5)
    np.testing.assert_allclose(info_nat["fronthaul_load_mbps"], [nats * 10.0], rtol=1e-5)
    # Lagrangian with μ = 0.5: rate [bit/s/Hz] − μ (load − C) / bandwidth [load unit/s/Hz].
    cap = capacity_mbps * 1e6
    assert reward_bit == pytest.approx(bits - 0.5 * (bits * BANDWIDTH_HZ - cap) / BANDWIDTH_HZ)
    assert reward_nat == pytest.approx(
        bits - 0.5 * (nats * BANDWIDTH_HZ - cap) / BANDWIDTH_HZ, rel=1e-5
    )
    # Both capacities lie between the nat load (27.7) and the bit load (40): overloaded in
    # bits, feasible in nats.
    assert not info_bit["feasible"] and info_nat["feasible"]
    np.testing.assert_allclose(info_bit["fronthaul_violation"], [40.0 - capacity_mbps], rtol=1e-5)
    np.testing.assert_allclose(info_nat["fronthaul_violation"], [0.0])


def test_scaling_heuristic_uses_the_load_unit() -> None:
    """At C = 35 Mbit/s the link is overloaded in bits (scaled down) but not in nats."""
    _, info_bit = _one_link_step(capacity_mbps=35.0, enforce_fronthaul="scale")
    _, info_nat = _one_link_step(
        capacity_mbps=35.0, enforce_fronthaul="scale", load_rate_unit="nat"
    )
    assert info_bit["beam_scale"][0] < 1.0 and info_bit["feasible"]
    assert info_bit["fronthaul_load_mbps"][0] <= 35.0
    assert info_nat["beam_scale"][0] == 1.0


@pytest.mark.parametrize("bad", ["bits", "log2", None, 2])
def test_bad_load_rate_unit_raises(bad: object) -> None:
    with pytest.raises(ValueError, match=r"load_rate_unit must be 'bit'.*or 'nat'"):
        gym.make("FronthaulAssoc-v0", load_rate_unit=bad)
