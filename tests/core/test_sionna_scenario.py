"""The Sionna TR 38.901 scenarios (optional extra ``ua-envs[sionna]``, installed by ``make``)."""

from __future__ import annotations

import math
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.core.channels.generators import GENERATORS, SionnaUmi, make_generator
from ua_envs.core.channels.sionna import (
    SionnaRmaConfig,
    SionnaUmiConfig,
    load_sionna,
    path_loss_fit,
    sionna_umi,
    strongest_link_snr_db,
)

#: sionna-no-rt needs Python >= 3.11 (the extra is empty below); elsewhere these tests must run:
#: ``make`` installs the extra, and without it they fail with the install hint.
needs_sionna = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="sionna-no-rt requires Python >= 3.11"
)
SIONNA_MODULES = ("sionna", "sionna.phy", "sionna.phy.channel", "sionna.phy.channel.tr38901")


def _run_episode(env: gym.Env, seed: int) -> int:
    obs, _ = env.reset(seed=seed)
    assert env.observation_space.contains(obs)
    env.action_space.seed(seed)
    for step in range(1, 200):
        obs, reward, terminated, truncated, _ = env.step(env.action_space.sample())
        assert np.isfinite(reward)
        assert env.observation_space.contains(obs)
        if terminated or truncated:
            return step
    raise AssertionError("the episode did not end within 200 steps")


@needs_sionna
@pytest.mark.parametrize("env_id", ["MultiCellAssoc-v0", "CellFreeAssoc-v0"])
def test_an_episode_runs_on_sionna_umi(env_id: str) -> None:
    env = gym.make(env_id, scenario="sionna_umi", num_ues=4)
    config = env.unwrapped.config
    assert (config.num_bs, config.num_ues, config.area_m) == (8, 4, 400.0)
    assert _run_episode(env, seed=3) >= 1
    # Same seed, same instance (the channels come from the env's generator only).
    first = env.reset(seed=5)[0]
    again = gym.make(env_id, scenario="sionna_umi", num_ues=4).reset(seed=5)[0]
    np.testing.assert_array_equal(first["channel"], again["channel"])
    assert not np.array_equal(env.reset(seed=6)[0]["channel"], first["channel"])


@needs_sionna
def test_shapes_dtypes_powers_and_geometry() -> None:
    sample = sionna_umi(torch.Generator().manual_seed(0), 3, num_bs=4, num_ues=5, num_antennas=3)
    assert sample.channels.shape == (3, 4, 5, 3) and sample.channels.dtype == torch.complex64
    for name, shape in [
        ("tx_power", (3, 4)),
        ("noise_power", (3, 5)),
        ("bs_positions", (3, 4, 2)),
        ("ue_positions", (3, 5, 2)),
        ("distances_m", (3, 4, 5)),
        ("large_scale_gain_db", (3, 4, 5)),
    ]:
        value = getattr(sample, name)
        assert value.shape == shape and value.dtype == torch.float32, name
    assert (sample.area_m, sample.bandwidth_hz) == (400.0, 20e6)
    torch.testing.assert_close(sample.tx_power, torch.full((3, 4), 0.2))
    # -174 dBm/Hz + 10 log10(20 MHz) + 7 dB = -93.99 dBm.
    noise_dbm = 10 * math.log10(float(sample.noise_power[0, 0])) + 30
    assert noise_dbm == pytest.approx(-174 + 10 * math.log10(20e6) + 7, abs=1e-4)
    for positions in (sample.bs_positions, sample.ue_positions):
        assert bool(((positions >= 0) & (positions < 400.0)).all())
    planar = torch.cdist(sample.bs_positions, sample.ue_positions)
    torch.testing.assert_close(sample.distances_m, torch.sqrt(planar**2 + 8.5**2))
    assert bool((sample.large_scale_gain_db < 0).all())
    double = sionna_umi(torch.Generator().manual_seed(0), 2, dtype=torch.complex128)
    assert double.channels.dtype == torch.complex128
    assert double.large_scale_gain_db.dtype == torch.float64


@needs_sionna
def test_the_large_scale_gain_is_the_mean_power_over_the_fading() -> None:
    # E|h_{m,k,n}|² = 10^{gain/10} given the large-scale draw: the normalised power over 2,400
    # link-antenna pairs averages to 1 (0 dB) and is exponential-like (Rayleigh/Rice).
    sample = sionna_umi(torch.Generator().manual_seed(1), 300, num_bs=2, num_ues=2)
    power = sample.channels.abs().square()
    normalised = power / (10 ** (sample.large_scale_gain_db / 10)).unsqueeze(-1)
    assert float(normalised.mean()) == pytest.approx(1.0, abs=0.1)
    assert 0.3 < float(normalised.std()) < 1.5


@needs_sionna
def test_same_generator_state_same_channels_and_no_global_rng_is_touched() -> None:
    generator = SionnaUmi(num_ues=3)
    sionna_table = load_sionna().config._torch_rngs
    sionna_cpu = sionna_table["cpu"]
    sionna_state = sionna_cpu.get_state()
    torch.manual_seed(123)
    expected_global = torch.rand(4)
    torch.manual_seed(123)
    first = generator.sample(torch.Generator().manual_seed(7), 2)
    torch.testing.assert_close(torch.rand(4), expected_global, rtol=0, atol=0)
    again = generator.sample(torch.Generator().manual_seed(7), 2)
    other = generator.sample(torch.Generator().manual_seed(8), 2)
    for name in ("channels", "large_scale_gain_db", "ue_positions"):
        assert torch.equal(getattr(first, name), getattr(again, name)), name
    assert not torch.equal(first.channels, other.channels)
    # Sionna's own generator is back in its table, untouched.
    assert sionna_table["cpu"] is sionna_cpu
    assert torch.equal(sionna_cpu.get_state(), sionna_state)
    # The sample advances the generator it is given: two draws in a row differ.
    shared = torch.Generator().manual_seed(7)
    generator.sample(shared, 2)
    assert not torch.equal(generator.sample(shared, 2).channels, first.channels)


@needs_sionna
def test_indoor_ues_get_the_o2i_penetration_loss() -> None:
    outdoor = sionna_umi(torch.Generator().manual_seed(2), 10, num_ues=4)
    indoor = sionna_umi(torch.Generator().manual_seed(2), 10, num_ues=4, indoor_probability=1.0)
    assert torch.equal(outdoor.ue_positions, indoor.ue_positions)
    loss_db = outdoor.large_scale_gain_db.mean() - indoor.large_scale_gain_db.mean()
    assert float(loss_db) > 5.0


@needs_sionna
def test_uma_and_rma_use_their_own_defaults() -> None:
    assert {"sionna_umi", "sionna_uma", "sionna_rma"} <= set(GENERATORS)
    for name in ("sionna_uma", "sionna_rma"):
        generator = make_generator(name, num_bs=2, num_ues=2)
        sample = generator.sample(torch.Generator().manual_seed(0), 2)
        height = generator.config.bs_height_m - generator.config.ue_height_m
        planar = torch.cdist(sample.bs_positions, sample.ue_positions)
        torch.testing.assert_close(sample.distances_m, torch.sqrt(planar**2 + height**2))
        assert bool(torch.isfinite(sample.channels).all())
    assert SionnaRmaConfig().bs_height_m == 35.0
    assert not hasattr(SionnaRmaConfig(), "o2i_model")  # RMa has one O2I model


@needs_sionna
@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"carrier_ghz": 0.1}, "carrier_ghz"),
        ({"indoor_probability": 1.5}, "indoor_probability"),
        ({"o2i_model": "medium"}, "o2i_model must be one of"),
        ({"ue_height_m": 30.0}, "ue_height_m"),
        ({"num_paths": 3}, "unknown sionna_umi parameter"),
    ],
)
def test_bad_parameters_are_value_errors(parameters: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make_generator("sionna_umi", **parameters)
    with pytest.raises(ValueError, match=message):
        sionna_umi(torch.Generator(), 1, **parameters)


@needs_sionna
def test_the_comparison_helpers_on_a_hand_made_sample() -> None:
    sample = sionna_umi(torch.Generator().manual_seed(0), 2, num_bs=2, num_ues=3)
    slope, intercept = path_loss_fit(sample)
    assert math.isfinite(slope) and math.isfinite(intercept)
    # Strongest link: max over BSs of gain + P - σ² + 10 log10 N.
    snr = strongest_link_snr_db(sample)
    expected = (
        sample.large_scale_gain_db
        + 10 * torch.log10(sample.tx_power).unsqueeze(-1)
        - 10 * torch.log10(sample.noise_power).unsqueeze(-2)
        + 10 * math.log10(2)
    ).amax(1)
    torch.testing.assert_close(snr, expected)


def test_without_the_extra_the_error_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in SIONNA_MODULES:
        monkeypatch.setitem(sys.modules, module, None)  # "import sionna" now fails
    hint = r'pip install "ua-envs\[sionna\]"'
    with pytest.raises(ImportError, match=hint):
        make_generator("sionna_umi")
    with pytest.raises(ImportError, match=hint):
        gym.make("CellFreeAssoc-v0", scenario="sionna_uma")
    with pytest.raises(ImportError, match=hint):
        sionna_umi(torch.Generator(), 1)
    # The other scenarios do not need it.
    assert make_generator("cellfree_umi").config.num_bs == 8
    assert SionnaUmiConfig().num_bs == 8  # configs never import Sionna


@needs_sionna
def test_importing_ua_envs_does_not_import_sionna_whose_import_keeps_torch_seeds() -> None:
    script = (
        "import sys, torch, ua_envs\n"
        "from ua_envs.core.channels import make_generator\n"
        "assert 'sionna' not in sys.modules\n"
        "torch.manual_seed(0); expected = torch.rand(3); torch.manual_seed(0)\n"
        "make_generator('sionna_umi')\n"
        "assert 'sionna' in sys.modules\n"
        "assert torch.equal(torch.rand(3), expected)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
