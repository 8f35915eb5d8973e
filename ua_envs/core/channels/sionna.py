"""3GPP TR 38.901 system-level channels from Sionna (optional extra ``ua-envs[sionna]``).

Three registered scenarios, ``sionna_umi``, ``sionna_uma`` and ``sionna_rma``, draw narrowband
channels from the UMi street-canyon, UMa and RMa models of Sionna's TR 38.901 implementation
(``sionna.phy.channel.tr38901`` of ``sionna-no-rt`` >= 2.2, the PyTorch build without ray
tracing). Sionna is imported only when one of these generators is built; without it, building
one raises ``ImportError`` naming the extra (``pip install "ua-envs[sionna]"``).

Deployment: ``M`` BSs (height ``bs_height_m``) and ``K`` single-antenna UEs (height
``ue_height_m``) i.i.d. uniform in the ``area_m × area_m`` square, **without** wrap-around (Sionna
computes the geometry from plain 3-D positions), each UE indoor with probability
``indoor_probability`` (TR 38.901 O2I penetration loss, ``o2i_model`` ``"low"``/``"high"`` for
UMi/UMa). Every BS carries a horizontal uniform linear array of ``N`` vertically polarised omni
elements at half-wavelength spacing (array broadside along the x axis, no mechanical tilt); UEs a
single omni element. Sionna then draws, per link, the LOS state, the spatially correlated
large-scale parameters (shadow fading, delay and angle spreads, K-factor), the clusters and rays
of the TR 38.901 fast-fading model (§7.5), and the path loss of Table 7.4.1-1.

Narrowband mapping: the channel at the carrier (one subcarrier at baseband frequency 0, one time
sample, UEs static) is ``H_{k,m} = Σ_p a_{k,m,p}``, the sum of Sionna's downlink path
coefficients ``a`` (shape ``[B, K, 1, M, N, P, 1]``, receive model ``y_k = Σ_m H_{k,m} x_m``).
Our convention is ``y_k = Σ_m h_{m,k}^H x_m``, so ``h_{m,k} = conj(H_{k,m})`` laid out
``(B, M, K, N)``. ``large_scale_gain_db = -PL + SF`` [dB] is the link's path loss (O2I loss
included) and shadow fading as Sionna drew them, so that ``E|h_{m,k,n}|² = 10^{gain/10}`` over
the small-scale fading (element gain 0 dBi); ``distances_m`` is the 3-D BS–UE distance.

Randomness: everything is drawn from the ``torch.Generator`` passed to ``sample`` — BS positions,
UE positions, indoor states, then Sionna's draws: for the duration of one call that generator
replaces the entry of Sionna's global RNG table (``sionna.phy.config``) for its device, under a
lock, and the previous entry is put back afterwards. So the same generator state gives identical
channels and Sionna's own seed is never used. Importing Sionna reseeds torch's global generators
(its config initialises them); this module saves and restores their states around the import.

``python -c "from ua_envs.core.channels.sionna import main; main()"`` prints the comparison with
``cellfree_umi`` of docs/scenarios.md (median strongest-link SNR, path-loss fit; see
:func:`compare_scenarios`).
"""

from __future__ import annotations

import argparse
import functools
import math
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar

import torch
from torch import Tensor

from ua_envs.core.channels.common import (
    ChannelSample,
    assemble_sample,
    check_complex_dtype,
    check_count,
    check_generator,
    uniform_deployment,
)
from ua_envs.core.channels.configs import (
    UMI_TX_POWER_DBM,
    _check_common,
    _check_float,
    _store,
    build_config,
)
from ua_envs.core.geometry import planar_distances
from ua_envs.core.units import noise_power_dbm
from ua_envs.core.validation import check_choice

__all__ = [
    "SIONNA_INSTALL_HINT",
    "SionnaRmaConfig",
    "SionnaUmaConfig",
    "SionnaUmiConfig",
    "compare_scenarios",
    "load_sionna",
    "sionna_rma",
    "sionna_uma",
    "sionna_umi",
]

#: How to install the optional dependency (quoted in the ImportError).
SIONNA_INSTALL_HINT = 'pip install "ua-envs[sionna]"'
#: Carrier range [GHz] of the TR 38.901 models.
CARRIER_GHZ_RANGE = (0.5, 100.0)
#: BS antenna height range [m] (TR 38.901 UMi/UMa/RMa use 10, 25, 35 m; RMa allows up to 150).
BS_HEIGHT_M_RANGE = (1.0, 150.0)
#: UE antenna height range [m] (TR 38.901: 1.5–22.5 m for UMi/UMa, 1–10 m for RMa).
UE_HEIGHT_M_RANGE = (1.0, 22.5)
O2I_MODELS = ("low", "high")


# --------------------------------------------------------------------------------------------
# configs
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SionnaUmiConfig:
    """``sionna_umi``: Sionna's TR 38.901 UMi street canyon, narrowband (module docstring).

    Sizes, area, bandwidth, noise figure and power default to those of ``cellfree_umi``, so the
    two differ only by the channel model.
    """

    scenario: ClassVar[str] = "sionna_umi"
    #: Sionna model class in ``sionna.phy.channel.tr38901``.
    model_name: ClassVar[str] = "UMi"

    num_bs: int = 8  #: M base stations
    num_antennas: int = 2  #: N ULA elements per BS (half-wavelength spacing)
    num_ues: int = 6  #: K single-antenna UEs
    area_m: float = 400.0  #: side of the square deployment [m] (no wrap-around)
    carrier_ghz: float = 3.5  #: carrier [GHz], in [0.5, 100]
    bandwidth_hz: float = 20e6  #: bandwidth [Hz] (sets the noise power)
    noise_figure_db: float = 7.0  #: UE noise figure [dB]
    tx_power_dbm: float = UMI_TX_POWER_DBM  #: per-BS power [dBm] (200 mW = 23.0103 dBm)
    bs_height_m: float = 10.0  #: BS antenna height [m], in [1, 150] (UMi: 10 m)
    ue_height_m: float = 1.5  #: UE antenna height [m], in [1, 22.5]
    indoor_probability: float = 0.0  #: probability that a UE is indoor (O2I loss), in [0, 1]
    o2i_model: str = "low"  #: O2I penetration-loss model, "low" or "high"

    def __post_init__(self) -> None:
        _check_sionna_config(self)


@dataclass(frozen=True)
class SionnaUmaConfig:
    """``sionna_uma``: Sionna's TR 38.901 UMa, narrowband (module docstring).

    Macro defaults: 25 m BSs, 1 km square, 44 dBm per BS.
    """

    scenario: ClassVar[str] = "sionna_uma"
    model_name: ClassVar[str] = "UMa"

    num_bs: int = 8  #: M base stations
    num_antennas: int = 2  #: N ULA elements per BS (half-wavelength spacing)
    num_ues: int = 6  #: K single-antenna UEs
    area_m: float = 1000.0  #: side of the square deployment [m] (no wrap-around)
    carrier_ghz: float = 3.5  #: carrier [GHz], in [0.5, 100]
    bandwidth_hz: float = 20e6  #: bandwidth [Hz] (sets the noise power)
    noise_figure_db: float = 7.0  #: UE noise figure [dB]
    tx_power_dbm: float = 44.0  #: per-BS power [dBm]
    bs_height_m: float = 25.0  #: BS antenna height [m], in [1, 150] (UMa: 25 m)
    ue_height_m: float = 1.5  #: UE antenna height [m], in [1, 22.5]
    indoor_probability: float = 0.0  #: probability that a UE is indoor (O2I loss), in [0, 1]
    o2i_model: str = "low"  #: O2I penetration-loss model, "low" or "high"

    def __post_init__(self) -> None:
        _check_sionna_config(self)


@dataclass(frozen=True)
class SionnaRmaConfig:
    """``sionna_rma``: Sionna's TR 38.901 RMa, narrowband (module docstring).

    Rural defaults: 35 m BSs, 3 km square, 46 dBm per BS (RMa has one O2I model).
    """

    scenario: ClassVar[str] = "sionna_rma"
    model_name: ClassVar[str] = "RMa"

    num_bs: int = 8  #: M base stations
    num_antennas: int = 2  #: N ULA elements per BS (half-wavelength spacing)
    num_ues: int = 6  #: K single-antenna UEs
    area_m: float = 3000.0  #: side of the square deployment [m] (no wrap-around)
    carrier_ghz: float = 3.5  #: carrier [GHz], in [0.5, 100] (TR 38.901 RMa: up to 30)
    bandwidth_hz: float = 20e6  #: bandwidth [Hz] (sets the noise power)
    noise_figure_db: float = 7.0  #: UE noise figure [dB]
    tx_power_dbm: float = 46.0  #: per-BS power [dBm]
    bs_height_m: float = 35.0  #: BS antenna height [m], in [1, 150] (RMa: 35 m)
    ue_height_m: float = 1.5  #: UE antenna height [m], in [1, 22.5]
    indoor_probability: float = 0.0  #: probability that a UE is indoor (O2I loss), in [0, 1]

    def __post_init__(self) -> None:
        _check_sionna_config(self)


SionnaConfig = SionnaUmiConfig | SionnaUmaConfig | SionnaRmaConfig


def _check_sionna_config(config: Any) -> None:
    """Bounds of the Sionna configs (the shared ones plus carrier, heights, O2I)."""
    _check_common(config)
    _check_float(config, "carrier_ghz", *CARRIER_GHZ_RANGE)
    _check_float(config, "bs_height_m", *BS_HEIGHT_M_RANGE)
    _check_float(config, "ue_height_m", *UE_HEIGHT_M_RANGE)
    _check_float(config, "indoor_probability", 0.0, 1.0)
    if hasattr(config, "o2i_model"):
        check_choice("o2i_model", config.o2i_model, O2I_MODELS)
        _store(config, "o2i_model", str(config.o2i_model))


# --------------------------------------------------------------------------------------------
# lazy import
# --------------------------------------------------------------------------------------------

#: Serialises the swaps of Sionna's global RNG table.
_RNG_LOCK = threading.Lock()


def load_sionna() -> SimpleNamespace:
    """Import the parts of Sionna this module uses; fail with the install hint.

    Importing Sionna reseeds torch's global CPU (and initialised CUDA) generators; their states
    are saved before and restored after the first import, so a user's ``torch.manual_seed``
    still holds.

    :return: namespace with ``config`` (``sionna.phy.config``), ``tr38901`` (the module) and
        ``cir_to_ofdm_channel``.
    :raises ImportError: Sionna (``sionna-no-rt``) is not installed; the message names the extra.
    """
    cpu_state = torch.random.get_rng_state()
    cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
    try:
        from sionna.phy import config
        from sionna.phy.channel import cir_to_ofdm_channel, tr38901
    except ImportError as exc:
        raise ImportError(
            "the Sionna scenarios (sionna_umi, sionna_uma, sionna_rma) need the optional "
            f"dependency sionna-no-rt>=2.2: {SIONNA_INSTALL_HINT}"
        ) from exc
    finally:
        torch.random.set_rng_state(cpu_state)
        if cuda_states is not None:
            torch.cuda.set_rng_state_all(cuda_states)
    return SimpleNamespace(config=config, tr38901=tr38901, cir_to_ofdm_channel=cir_to_ofdm_channel)


def _device_name(device: torch.device) -> str:
    """Sionna's device string (``"cpu"``, ``"cuda:0"``) for a torch device."""
    if device.type == "cuda":
        index = torch.cuda.current_device() if device.index is None else device.index
        return f"cuda:{index}"
    return device.type


@functools.lru_cache(maxsize=16)
def _channel_model(
    model_name: str,
    carrier_hz: float,
    num_antennas: int,
    o2i_model: str | None,
    device: str,
    precision: str,
) -> Any:
    """A Sionna TR 38.901 downlink model (cached: building one costs milliseconds)."""
    sionna = load_sionna()
    tr = sionna.tr38901

    def ula(num_elements: int) -> Any:
        return tr.PanelArray(
            num_rows_per_panel=1,
            num_cols_per_panel=num_elements,
            polarization="single",
            polarization_type="V",
            antenna_pattern="omni",
            carrier_frequency=carrier_hz,
            precision=precision,
            device=device,
        )

    extra = {} if o2i_model is None else {"o2i_model": o2i_model}
    return getattr(tr, model_name)(
        carrier_frequency=carrier_hz,
        ut_array=ula(1),
        bs_array=ula(num_antennas),
        direction="downlink",
        precision=precision,
        device=device,
        **extra,
    )


@contextmanager
def _sionna_draws_from(generator: torch.Generator, device: str) -> Iterator[None]:
    """Make Sionna draw from ``generator`` on ``device`` while the block runs (under a lock)."""
    table = load_sionna().config._torch_rngs
    with _RNG_LOCK:
        missing = object()
        previous = table.get(device, missing)
        table[device] = generator
        try:
            yield
        finally:
            if previous is missing:
                del table[device]
            else:
                table[device] = previous


# --------------------------------------------------------------------------------------------
# sampling
# --------------------------------------------------------------------------------------------


def _sionna_channels(
    generator: torch.Generator,
    bs: Tensor,
    ue: Tensor,
    config: SionnaConfig,
    dtype: torch.dtype,
) -> ChannelSample:
    """The model of the module docstring, after the positions."""
    batch, num_bs, num_ues = bs.shape[0], bs.shape[1], ue.shape[1]
    real, dev = bs.dtype, bs.device
    indoor = (
        torch.rand((batch, num_ues), generator=generator, device=dev, dtype=real)
        < config.indoor_probability
    )
    device = _device_name(dev)
    precision = "single" if dtype == torch.complex64 else "double"
    model = _channel_model(
        type(config).model_name,
        config.carrier_ghz * 1e9,
        config.num_antennas,
        getattr(config, "o2i_model", None),
        device,
        precision,
    )
    bs_loc = torch.cat([bs, torch.full((batch, num_bs, 1), config.bs_height_m, **_on(bs))], -1)
    ue_loc = torch.cat([ue, torch.full((batch, num_ues, 1), config.ue_height_m, **_on(bs))], -1)
    with _sionna_draws_from(generator, device):
        # A fresh topology every call: set_topology skips the LSP draw when the positions equal
        # the previous call's, which would make the draws depend on the model's history.
        model.reset_topology()
        model.set_topology(
            ut_loc=ue_loc,
            bs_loc=bs_loc,
            ut_orientations=torch.zeros((batch, num_ues, 3), **_on(bs)),
            bs_orientations=torch.zeros((batch, num_bs, 3), **_on(bs)),
            ut_velocities=torch.zeros((batch, num_ues, 3), **_on(bs)),
            in_state=indoor,
            los="random",
            bs_site_ids=torch.arange(num_bs, device=dev),
        )
        a, tau = model(num_time_samples=1, sampling_frequency=1.0)
        lsp = model._lsp  # the LSPs drawn by set_topology and used by the call above
    baseband = torch.zeros(1, dtype=real, device=dev)
    response = load_sionna().cir_to_ofdm_channel(baseband, a, tau)  # [B, K, 1, M, N, 1, 1]
    channels = response[:, :, 0, :, :, 0, 0].permute(0, 2, 1, 3).conj().resolve_conj()
    channels = channels.to(dtype).contiguous()
    # Sionna scales the unit-power cluster sum by 10^{-PL/20} sqrt(sf) (TR 38.901 step 12).
    gain_db = (10.0 * torch.log10(lsp.sf) - lsp.pathloss).to(real)  # (B, M, K)
    if not (bool(torch.isfinite(channels).all()) and bool(torch.isfinite(gain_db).all())):
        raise RuntimeError(
            f"{type(config).scenario}: Sionna returned non-finite channels (a UE at a BS "
            "position?); positions must differ"
        )
    planar = planar_distances(bs, ue)
    distances = torch.sqrt(planar.square() + (config.bs_height_m - config.ue_height_m) ** 2)
    return assemble_sample(
        channels,
        bs,
        ue,
        distances,
        gain_db,
        tx_power_dbm=config.tx_power_dbm,
        noise_power_dbm=noise_power_dbm(config.bandwidth_hz, config.noise_figure_db),
        area_m=config.area_m,
        bandwidth_hz=config.bandwidth_hz,
    )


def _on(like: Tensor) -> dict[str, Any]:
    return {"device": like.device, "dtype": like.dtype}


def _sample(
    config_class: type,
    generator: Any,
    batch_size: Any,
    dtype: Any,
    parameters: dict[str, Any],
) -> ChannelSample:
    generator = check_generator(generator)
    batch_size = check_count("batch_size", batch_size)
    dtype = check_complex_dtype(dtype)
    config: Any = build_config(config_class, parameters)
    load_sionna()  # the install hint before anything is drawn
    bs, ue = uniform_deployment(
        generator, batch_size, config.num_bs, config.num_ues, config.area_m, dtype
    )
    return _sionna_channels(generator, bs, ue, config, dtype)


_SAMPLE_DOC = """

    :param generator: the env's single random source; its device is the output device.
    :param batch_size: ``B >= 1``.
    :param dtype: ``torch.complex64`` or ``torch.complex128`` (Sionna runs in single or double
        precision accordingly).
    :param parameters: fields of the config (sizes, ``area_m``, ``carrier_ghz``, heights, ...;
        meaning, units, defaults and bounds are documented there).
    :return: :class:`ChannelSample`: ``channels (B, M, K, N)``, ``tx_power (B, M)`` [W],
        ``noise_power (B, K)`` [W], positions i.i.d. uniform in ``[0, area_m)²``, 3-D
        ``distances_m`` ``(B, M, K)`` and ``large_scale_gain_db`` (path loss and shadowing).
    :raises ValueError: a bad argument or an unknown parameter name.
    :raises ImportError: Sionna is not installed (``pip install "ua-envs[sionna]"``).
"""


def sionna_umi(
    generator: torch.Generator,
    batch_size: int,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Draw ``batch_size`` narrowband TR 38.901 UMi instances (:class:`SionnaUmiConfig`)."""
    return _sample(SionnaUmiConfig, generator, batch_size, dtype, parameters)


def sionna_uma(
    generator: torch.Generator,
    batch_size: int,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Draw ``batch_size`` narrowband TR 38.901 UMa instances (:class:`SionnaUmaConfig`)."""
    return _sample(SionnaUmaConfig, generator, batch_size, dtype, parameters)


def sionna_rma(
    generator: torch.Generator,
    batch_size: int,
    *,
    dtype: torch.dtype = torch.complex64,
    **parameters: Any,
) -> ChannelSample:
    """Draw ``batch_size`` narrowband TR 38.901 RMa instances (:class:`SionnaRmaConfig`)."""
    return _sample(SionnaRmaConfig, generator, batch_size, dtype, parameters)


for _function in (sionna_umi, sionna_uma, sionna_rma):
    _function.__doc__ = (_function.__doc__ or "") + _SAMPLE_DOC


# --------------------------------------------------------------------------------------------
# comparison with cellfree_umi (docs/scenarios.md)
# --------------------------------------------------------------------------------------------


def strongest_link_snr_db(sample: ChannelSample) -> Tensor:
    """``max_m N β_{m,k} P_m / σ_k²`` in dB per UE, ``(B, K)`` (array gain included).

    The SNR UE k gets from its best transmitter alone with MRT at full power, averaged over the
    small-scale fading (the definition of the ``cellfree_umi`` sanity check).
    """
    beta_db = sample.large_scale_gain_db
    tx_db = 10.0 * torch.log10(sample.tx_power).unsqueeze(-1)  # (B, M, 1)
    noise_db = 10.0 * torch.log10(sample.noise_power).unsqueeze(-2)  # (B, 1, K)
    snr_db = beta_db + tx_db - noise_db + 10.0 * math.log10(sample.num_antennas)
    return snr_db.amax(dim=1)


def path_loss_fit(sample: ChannelSample) -> tuple[float, float]:
    """Least-squares fit ``gain_dB = intercept + slope · log10(d / 1 m)`` over all links.

    :return: ``(slope_db_per_decade, intercept_db)``.
    """
    x = torch.log10(sample.distances_m.flatten().double())
    y = sample.large_scale_gain_db.flatten().double()
    design = torch.stack([x, torch.ones_like(x)], dim=1)
    solution = torch.linalg.lstsq(design, y.unsqueeze(1)).solution.flatten()
    return float(solution[0]), float(solution[1])


def compare_scenarios(
    scenarios: Sequence[str] = ("cellfree_umi", "sionna_umi"),
    *,
    batch_size: int = 500,
    seed: int = 0,
) -> list[dict[str, float | str]]:
    """Median strongest-link SNR and path-loss fit of registered scenarios at their defaults.

    :param scenarios: registered names (:data:`~ua_envs.core.channels.generators.GENERATORS`).
    :param batch_size: instances per scenario (links: ``batch_size · M · K``).
    :param seed: seed of the torch generator of every scenario.
    :return: one row per scenario: ``scenario``, ``links``, ``median_snr_db`` (median over UEs
        of :func:`strongest_link_snr_db`), ``slope_db_per_decade`` and ``intercept_db``
        (:func:`path_loss_fit`).
    """
    from ua_envs.core.channels.generators import make_generator

    rows: list[dict[str, float | str]] = []
    for name in scenarios:
        sample = make_generator(name).sample(torch.Generator().manual_seed(seed), batch_size)
        slope, intercept = path_loss_fit(sample)
        rows.append(
            {
                "scenario": name,
                "links": float(sample.distances_m.numel()),
                "median_snr_db": float(strongest_link_snr_db(sample).median()),
                "slope_db_per_decade": slope,
                "intercept_db": intercept,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    """Print :func:`compare_scenarios` as a table."""
    parser = argparse.ArgumentParser(description=compare_scenarios.__doc__)
    parser.add_argument("scenarios", nargs="*", default=["cellfree_umi", "sionna_umi"])
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    rows = compare_scenarios(args.scenarios, batch_size=args.batch_size, seed=args.seed)
    print(
        "| scenario | links | median strongest-link SNR [dB] | slope [dB/decade] | intercept [dB] |"
    )
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| `{row['scenario']}` | {int(row['links'])} | {row['median_snr_db']:.1f} | "
            f"{row['slope_db_per_decade']:.1f} | {row['intercept_db']:.1f} |"
        )
