"""The [EGAT] primal-dual actor-critic (agents.egat): network, training, policy, checkpoints."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint, save_checkpoint
from agents.egat import EGATArgs, EGATPolicy, load_net, primal_dual_step, train
from agents.episodes import run_episodes
from agents.nets.egat_agent import EGATAgentNet
from agents.registry import make_policy
from agents.training import make_generator, state_digest

FH = "FronthaulAssoc-v0"
TINY = {"hidden": 16, "layers": 1, "heads": 2, "batch_size": 64, "capacities_mbps": (50.0,)}


def _validation(net: EGATAgentNet, multipliers: torch.Tensor) -> tuple[float, float]:
    """(mean violation [bit/s/Hz], mean Lagrangian) of the deterministic policy on 256 fixed
    instances at C = 50 Mbit/s (the penalty form with ``multipliers``)."""
    envs = gym.make_vec(
        FH, 256, vectorization_mode="vector_entry_point", preset="egat", capacity_mbps=50.0
    )
    envs.reset(seed=4321)
    base = envs.unwrapped
    with torch.no_grad():
        out = net(base.sim.observe(base.state))
        association = (out.logits > 0).float()
        result = base.sim.score(base.state, association, enforce_fronthaul=None, beams=out.beams)
    over = (result.load_bps - base.sim.capacity_bps).clamp_min(0) / base.sim.bandwidth_hz
    lagrangian = result.wsr - (multipliers * over).sum(-1)
    return float(over.sum(-1).mean()), float(lagrangian.mean())


def _permuted(
    obs: dict[str, torch.Tensor], aps: torch.Tensor, ues: torch.Tensor
) -> dict[str, torch.Tensor]:
    """The observation with its APs reordered by ``aps`` and its UEs by ``ues``."""
    return {
        "channel": obs["channel"][:, aps][:, :, ues],
        "gain_db": obs["gain_db"][:, aps][:, :, ues],
        "capacity_mbps": obs["capacity_mbps"][:, aps],
        "weights": obs["weights"][:, ues],
    }


def test_direct_head_is_permutation_equivariant_and_checks_antennas() -> None:
    torch.manual_seed(0)
    net = EGATAgentNet(2, hidden=16, layers=2, heads=2, beam_head="direct").eval()
    envs = gym.make_vec(FH, 3, vectorization_mode="vector_entry_point", preset="egat")
    obs, _ = envs.reset(seed=2)
    aps, ues = torch.tensor([3, 0, 7, 1, 6, 2, 5, 4]), torch.tensor([2, 0, 3, 1])
    permuted = _permuted(obs, aps, ues)
    with torch.no_grad():
        out, out_p = net(obs), net(permuted)
    torch.testing.assert_close(out_p.logits, out.logits[:, aps][:, :, ues], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out_p.beams, out.beams[:, aps][:, :, ues], atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(out_p.value, out.value, atol=1e-5, rtol=1e-4)
    # Untrained beams point along the channels (MRT) with equal powers.
    direction = obs["channel"] / obs["channel"].square().sum(-1, keepdim=True).sqrt()
    beams = torch.view_as_real(out.beams).flatten(-2)[..., [0, 2, 1, 3]]  # [Re, Re, Im, Im]
    norms = beams.square().sum(-1, keepdim=True).sqrt()
    torch.testing.assert_close(beams / norms, direction, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(norms, torch.full_like(norms, float(norms[0, 0, 0])))
    # gain_weighted: powers ∝ ‖h‖² within each AP, the env's MRT.
    weighted = EGATAgentNet(
        2, hidden=16, layers=2, heads=2, gain_weighted=True, beam_head="direct"
    ).eval()
    weighted.load_state_dict(net.state_dict())
    with torch.no_grad():
        power = weighted(obs).beams.abs().square().sum(-1)  # (B, M, K)
    gain = torch.pow(10.0, obs["gain_db"] / 10)
    torch.testing.assert_close(
        power / power.sum(-1, keepdim=True), gain / gain.sum(-1, keepdim=True), rtol=1e-3, atol=1e-6
    )
    wide = gym.make_vec(FH, 1, vectorization_mode="vector_entry_point", num_antennas=4)
    with pytest.raises(ValueError, match=r"2N = 4 entries per link"):
        net(wide.reset(seed=0)[0])


def _one_antenna_observation(channel: torch.Tensor) -> dict[str, torch.Tensor]:
    """An ``N = 1`` observation of real noise-normalised channels ``(M, K)`` (batch of one)."""
    gain_db = 10 * torch.log10(channel.square())
    return {
        "channel": torch.stack([channel, torch.zeros_like(channel)], -1)[None],
        "gain_db": gain_db[None],
        "capacity_mbps": torch.full((1, channel.shape[0]), 60.0),
        "weights": torch.ones(1, channel.shape[1]),
    }


def test_mmse_beam_head_on_a_hand_computed_two_ap_instance() -> None:
    """Untrained (λ = dual_power_w = 1, equal powers): ``u_k = D_k (D_k A D_k + I)⁻¹ D_k g_k``
    with ``A = g_1 g_1ᴴ + g_2 g_2ᴴ``, normalised per UE. AP 0 serves both UEs, AP 1 only UE 1.
    By hand: UE 0 is served by AP 0 alone → ``[1, 0]``; UE 1 by both: ``(A + I)⁻¹ g_1 =
    [-0.375, 3.75] / 9.5625`` (AP 0 steers away from UE 0), normalised ``[-0.0995, 0.995]``."""
    torch.manual_seed(0)
    net = EGATAgentNet(1, hidden=8, layers=1, heads=2, beam_head="mmse", dual_power_w=1.0)
    channel = torch.tensor([[1.0, 0.5], [0.5, 2.0]])  # (M, K): g_0 = [1, .5], g_1 = [.5, 2]
    association = torch.tensor([[[1.0, 1.0], [0.0, 1.0]]])
    with torch.no_grad():
        beams = net(_one_antenna_observation(channel), association).beams[0, :, :, 0]
    u1 = torch.tensor([-0.375, 3.75])
    expected = torch.tensor([[1.0, u1[0] / u1.norm()], [0.0, u1[1] / u1.norm()]])
    # The untrained power head: softplus(0.5413) + 10⁻³ = 1.001 per link.
    expected = expected * (torch.nn.functional.softplus(torch.tensor(0.5413)) + 1e-3).sqrt()
    torch.testing.assert_close(beams.real, expected, atol=1e-6, rtol=1e-5)
    assert float(beams.imag.abs().max()) < 1e-6
    with pytest.raises(ValueError, match="beam_head"):
        EGATAgentNet(1, beam_head="zf")
    with pytest.raises(ValueError, match="dual_power_w must be a positive number"):
        EGATAgentNet(1, beam_head="mmse", dual_power_w=0.0)


def test_mmse_beam_head_is_permutation_equivariant_and_differentiable() -> None:
    torch.manual_seed(1)
    net = EGATAgentNet(2, hidden=16, layers=2, heads=2, beam_head="mmse", dual_power_w=0.25)
    for head in (net.beam, net.dual_power):  # leave the zero start: a non-trivial head
        nn_last = head[-1]
        assert isinstance(nn_last, torch.nn.Linear)
        torch.nn.init.normal_(nn_last.weight, std=0.3)
    envs = gym.make_vec(FH, 3, vectorization_mode="vector_entry_point", preset="egat")
    obs, _ = envs.reset(seed=3)
    association = (torch.rand(3, 8, 4, generator=torch.Generator().manual_seed(0)) < 0.4).float()
    aps, ues = torch.tensor([3, 0, 7, 1, 6, 2, 5, 4]), torch.tensor([2, 0, 3, 1])
    permuted = _permuted(obs, aps, ues)
    out = net(obs, association)
    with torch.no_grad():
        out_p = net(permuted, association[:, aps][:, :, ues])
    torch.testing.assert_close(out_p.beams, out.beams[:, aps][:, :, ues], atol=1e-5, rtol=1e-4)
    # Zero outside the association; the rate gradient reaches the dual-power head.
    assert bool((out.beams[association == 0] == 0).all())
    out.beams.abs().sum().backward()
    assert net.log_dual_power.grad is not None and float(net.log_dual_power.grad.abs()) > 0


def test_tiny_run_lowers_the_violation_and_raises_the_lagrangian(tmp_path: Path) -> None:
    """Early on the rate term dominates and the violation grows; once the dual ascent has
    raised μ, further training lowers the violation and raises the Lagrangian priced at the
    final μ (the same seed makes the short run the first part of the long one).

    On the ``"direct"`` beam head: with the ``"mmse"`` head's stronger beams the loads, hence
    μ, rise so fast that 80 steps of a 16-wide network end in no deterministic link at all
    (a Lagrangian of 0 at every budget); the dual-ascent mechanics under test are the same."""
    tiny = {**TINY, "learning_rate": 3e-3, "seed": 1, "beam_head": "direct"}
    early = train({"preset": "egat"}, EGATArgs(total_steps=64 * 20, **tiny))  # type: ignore[arg-type]
    args = EGATArgs(total_steps=64 * 80, **tiny)  # type: ignore[arg-type]
    result = train({"preset": "egat"}, args, out=tmp_path / "e.pt")
    multipliers = result.checkpoint.state["multipliers"]
    assert (multipliers >= 0).all() and multipliers.shape == (1, 8)
    assert float(multipliers.mean()) > float(early.checkpoint.state["multipliers"].mean())
    price = multipliers[0]
    violation0, lagrangian0 = _validation(early.net, price)
    violation1, lagrangian1 = _validation(result.net, price)
    assert violation1 < 0.7 * violation0, (violation0, violation1)
    assert lagrangian1 > lagrangian0 + 1.0, (lagrangian0, lagrangian1)
    again = train({"preset": "egat"}, args)
    assert state_digest(again.checkpoint.state) == state_digest(result.checkpoint.state)


def test_multipliers_stay_nonnegative_under_dual_ascent() -> None:
    net = EGATAgentNet(2, hidden=16, layers=1, heads=2)
    envs = gym.make_vec(FH, 32, vectorization_mode="vector_entry_point", beamforming="agent")
    envs.reset(seed=0)
    args = EGATArgs(violation_target=5.0, **TINY)  # type: ignore[arg-type]
    multipliers = torch.zeros(8)
    for _ in range(3):
        _, scalars, violation = primal_dual_step(
            net, envs, multipliers, args, make_generator(0, "t")
        )
        multipliers = torch.relu(multipliers + args.multiplier_lr * (violation - 5.0))
        assert (violation >= 0).all() and (multipliers >= 0).all()
        assert 0.0 <= scalars["feasible"] <= 1.0


def test_policy_round_trip_single_equals_batched_and_declares_agent_beams(tmp_path: Path) -> None:
    out = tmp_path / "e.pt"
    result = train({"preset": "egat"}, EGATArgs(total_steps=128, **TINY), out=out)  # type: ignore[arg-type]
    loaded = load_checkpoint(out, algorithm="egat", env_id=FH)
    assert state_digest(loaded.state) == state_digest(result.checkpoint.state)
    kwargs = {"preset": "egat", "beamforming": "agent"}
    policy = make_policy(f"egat:{out}", gym.make(FH, **kwargs))
    assert isinstance(policy, EGATPolicy)
    batched = run_episodes(policy, FH, 6, 9, kwargs, batched=True, metrics=["wsr"])
    single = run_episodes(policy, FH, 6, 9, kwargs, batched=False, metrics=["wsr"])
    np.testing.assert_allclose(batched.returns, single.returns, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="is defined with beamforming='agent'"):
        make_policy(f"egat:{out}", gym.make(FH, preset="egat"))
    assoc = make_policy(f"egat_assoc:{out}", gym.make(FH, preset="egat"))
    assert np.isfinite(run_episodes(assoc, FH, 3, 0, {"preset": "egat"}).returns).all()
    with pytest.raises(ValueError, match="trained with load_rate_unit='nat'"):
        make_policy(f"egat:{out}", gym.make(FH, beamforming="agent"))


def test_a_checkpoint_without_beam_head_loads_as_the_direct_head(tmp_path: Path) -> None:
    """Checkpoints written before the ``"mmse"`` head record no ``beam_head``."""
    out = tmp_path / "e.pt"
    args = EGATArgs(total_steps=64, beam_head="direct", **TINY)  # type: ignore[arg-type]
    result = train({"preset": "egat"}, args)
    older = dataclasses.replace(
        result.checkpoint,
        hyperparameters={
            k: v for k, v in result.checkpoint.hyperparameters.items() if k != "beam_head"
        },
    )
    save_checkpoint(out, older)
    net = load_net(load_checkpoint(out, algorithm="egat", env_id=FH))
    assert net.beam_head == "direct"
    assert state_digest({"net": dict(net.state_dict())}) == state_digest(
        {"net": result.checkpoint.state["net"]}
    )


def test_argument_errors() -> None:
    with pytest.raises(ValueError, match="baseline must be one of critic, mean, none"):
        EGATArgs(baseline="ema")
    with pytest.raises(ValueError, match="capacity_margin must be in"):
        EGATArgs(capacity_margin=1.0)
    with pytest.raises(ValueError, match=r"capacity_margin_mbps must be in \[0, 34\)"):
        EGATArgs(capacity_margin_mbps=34.0)  # (1 − 0.15) · 40 = 34: no target left at C = 40
    with pytest.raises(ValueError, match="beam_head"):
        EGATArgs(beam_head="zf")
    with pytest.raises(ValueError, match="gain_weighted_beams applies to beam_head='direct'"):
        EGATArgs(gain_weighted_beams=True)
    with pytest.raises(ValueError, match="beam_objective must be one of lagrangian, wsr"):
        EGATArgs(beam_objective="rate")
    with pytest.raises(ValueError, match="capacities_mbps must be positive"):
        EGATArgs(capacities_mbps=(40.0, -1.0))
    with pytest.raises(ValueError, match="egat sets capacity_mbps itself"):
        train({"capacity_mbps": 40}, EGATArgs(total_steps=1, **TINY))  # type: ignore[arg-type]


def test_a_margin_per_capacity_prices_each_capacity_against_its_own_target() -> None:
    args = EGATArgs(
        capacity_margin=(0.25, 0.0),
        capacities_mbps=(40.0, 60.0),
        **{k: v for k, v in TINY.items() if k != "capacities_mbps"},
    )
    assert (args.margin_of(0), args.margin_of(1)) == (0.25, 0.0)
    assert EGATArgs(capacity_margin=0.1).margin_of(4) == 0.1
    with pytest.raises(ValueError, match=r"one value or one per capacity \(6\)"):
        EGATArgs(capacity_margin=(0.2, 0.1))
    torch.manual_seed(0)
    net = EGATAgentNet(2, hidden=16, layers=1, heads=2)
    envs = gym.make_vec(
        FH,
        64,
        vectorization_mode="vector_entry_point",
        preset="egat",
        capacity_mbps=20.0,
        beamforming="agent",
    )
    envs.reset(seed=5)
    mu = torch.zeros(8)
    violations = [
        primal_dual_step(net, envs, mu, args, make_generator(0, "b"), margin)[2]
        for margin in (args.margin_of(1), args.margin_of(0))
    ]
    # Same instances and samples: the 25 % margin prices 0.25 C more load on every AP that
    # carries any (the violation is ReLU(load - (1 - margin) C)).
    assert bool((violations[1] >= violations[0]).all()) and bool(
        (violations[1] > violations[0]).any()
    )


def test_table_ii_command_prints_the_paper_row_and_every_policy(tmp_path: Path) -> None:
    from agents.egat_table import egat_tables

    out = tmp_path / "e.pt"
    train({"preset": "egat"}, EGATArgs(total_steps=64, **TINY), out=out)  # type: ignore[arg-type]
    text = egat_tables(f"egat:{out}", capacities=(40, 90), episodes=3)
    assert "| [EGAT] Table II, EGAT | 0.912 | 0.991 |" in text
    names = (f"egat:{out}", f"egat_assoc:{out}", f"egat_assoc:{out}@beamforming=wmmse")
    for name in (*names, "pc_wmmse", "fc_zf", "nearest_aps", "random"):
        assert f"| {name} |" in text
    assert "3 instances per cell" in text
