"""Pluggable scenarios: registered generators across families and a user-defined generator."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import pytest
import torch

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.core.channels import ChannelSample
from ua_envs.core.channels.generators import (
    GENERATORS,
    ChannelGenerator,
    MmWave28Config,
    make_generator,
)

CHANNEL_IDS = ["MultiCellAssoc-v0", "CellFreeAssoc-v0", "FronthaulAssoc-v0"]
#: Registered scenarios usable on this Python: the Sionna ones need the ``sionna`` extra, which
#: exists only on Python >= 3.11 (sionna-no-rt's requirement; the extra installs it there).
SCENARIOS = [
    name
    for name in sorted(GENERATORS)
    if sys.version_info >= (3, 11) or not name.startswith("sionna_")
]


@dataclass(frozen=True)
class FlatConfig:
    """A user's typed config: every link has the same gain, unit-modulus random phases."""

    num_bs: int = 2
    num_ues: int = 3
    num_antennas: int = 2
    gain_db: float = -70.0
    tx_power_w: float = 1.0
    noise_power_w: float = 1e-10


class FlatGenerator:
    """A user-defined channel model implementing the ChannelGenerator protocol."""

    def __init__(self, config: FlatConfig | None = None) -> None:
        self.config = config or FlatConfig()
        self.calls = 0

    def sample(self, generator: torch.Generator, batch_size: int) -> ChannelSample:
        self.calls += 1
        c = self.config
        shape = (batch_size, c.num_bs, c.num_ues, c.num_antennas)
        phase = torch.rand(shape, generator=generator, device=generator.device) * 2 * torch.pi
        amplitude = 10 ** (c.gain_db / 20)
        channels = torch.polar(torch.full(shape, amplitude), phase).to(torch.complex64)
        return ChannelSample(
            channels=channels,
            tx_power=torch.full((batch_size, c.num_bs), c.tx_power_w),
            noise_power=torch.full((batch_size, c.num_ues), c.noise_power_w),
            bs_positions=torch.zeros(batch_size, c.num_bs, 2),
            ue_positions=torch.ones(batch_size, c.num_ues, 2),
            distances_m=torch.ones(batch_size, c.num_bs, c.num_ues),
            large_scale_gain_db=torch.full((batch_size, c.num_bs, c.num_ues), c.gain_db),
            area_m=10.0,
            bandwidth_hz=1e6,
        )


def test_the_user_generator_implements_the_protocol() -> None:
    assert isinstance(FlatGenerator(), ChannelGenerator)
    assert make_generator(FlatGenerator(), num_bs=2).config.num_ues == 3


@pytest.mark.parametrize("env_id", CHANNEL_IDS)
def test_a_user_generator_plugs_into_every_channel_family(env_id: str) -> None:
    generator = FlatGenerator()
    env = gym.make(env_id, scenario=generator)
    config = env.unwrapped.config
    # The env's sizes come from the generator's config.
    assert (config.num_bs, config.num_ues, config.num_antennas) == (2, 3, 2)
    obs, _ = env.reset(seed=0)
    assert generator.calls >= 1
    gain_db = 10 * np.log10((np.abs(env.unwrapped.channels) ** 2).sum(-1))
    np.testing.assert_allclose(gain_db, -70.0 + 10 * np.log10(2), atol=1e-3)
    np.testing.assert_allclose(env.unwrapped.noise_power, 1e-10, rtol=1e-6)
    assert env.observation_space.contains(obs)
    _, reward, *_ = env.step(env.action_space.sample())
    assert np.isfinite(reward)
    again = gym.make(env_id, scenario=FlatGenerator())
    np.testing.assert_array_equal(again.reset(seed=0)[0]["channel"], obs["channel"])


@pytest.mark.parametrize("env_id", CHANNEL_IDS)
def test_a_user_generator_refuses_conflicting_settings(env_id: str) -> None:
    with pytest.raises(ValueError, match="num_ues"):
        gym.make(env_id, scenario=FlatGenerator(), num_ues=5)
    with pytest.raises(ValueError, match="tx_power_dbm"):
        gym.make(env_id, scenario=FlatGenerator(), tx_power_dbm=20.0)
    with pytest.raises(ValueError, match="scenario"):
        gym.make(env_id, scenario=42)


@pytest.mark.parametrize("env_id", CHANNEL_IDS)
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_registered_generator_fits_every_channel_family(env_id: str, scenario: str) -> None:
    env = gym.make(env_id, scenario=scenario)
    config = env.unwrapped.config
    expected = GENERATORS[scenario].config_class()
    assert config.area_m == expected.area_m  # the scenario's default, written once
    obs, _ = env.reset(seed=1)
    assert env.observation_space.contains(obs)
    _, reward, *_ = env.step(env.action_space.sample())
    assert np.isfinite(reward)


def test_defaults_are_written_once_in_the_generator_config() -> None:
    env = gym.make("MultiCellAssoc-v0")
    assert env.unwrapped.config.tx_power_dbm == MmWave28Config.tx_power_dbm
    assert env.unwrapped.config.area_m == MmWave28Config.area_m
    env = gym.make("MultiCellAssoc-v0", area_m=50.0)
    assert env.unwrapped.config.channel_generator.config.area_m == 50.0
