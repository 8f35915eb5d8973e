"""The L2O agent (agents.l2o): features, scorer equivariance, training, policy, trainer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.checkpoint import load_checkpoint
from agents.l2o import (
    L2OArgs,
    L2OPolicy,
    L2OScorer,
    build_scorer,
    hard_forward,
    integer_association,
    link_features,
    load_scorer,
    train,
)
from agents.nets.assignment_heads import relaxed_association
from agents.registry import make_policy
from agents.training import make_generator, state_digest
from tests.cli.cli_helpers import one_line, run

MC, BAL = "MultiCellAssoc-v0", "MultiCellAssocBalanced-v0"


def _observation(channel: torch.Tensor, gain_db: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"channel": channel, "gain_db": gain_db}


def test_link_features_on_a_hand_built_instance() -> None:
    # One BS, N = 2, three UEs: UE 0 and UE 1 parallel, UE 2 orthogonal to both.
    h = torch.tensor([[[3.0, 0.0, 0.0, 0.0], [0.0, 0.0, 2.0, 0.0], [0.0, 1.0, 0.0, 0.0]]])
    gain_db = 10 * torch.log10(h.square().sum(-1))
    features = link_features(_observation(h[None], gain_db[None]))[0, 0]  # (K, 2N + 3)
    torch.testing.assert_close(features[:, :4].square().sum(-1), torch.ones(3))  # unit directions
    largest = features[:, -1]
    torch.testing.assert_close(largest, torch.tensor([1.0, 1.0, 0.0]))  # |u0^H u1| = 1 (phase)
    leakage = features[:, -2]
    linear = torch.tensor([9.0, 4.0, 1.0])
    weights = linear / linear.sum()
    torch.testing.assert_close(leakage, torch.tensor([weights[1], weights[0], 0.0]))
    assert abs(float(features[:, 4].mean())) < 1e-6  # standardised gain


@pytest.mark.parametrize(
    ("passes", "encoder", "mixing"),
    [
        (1, "edge_node", False),
        (2, "edge_node", False),
        (1, "attention", False),
        (2, "edge_node", True),
    ],
)
def test_scorer_is_permutation_equivariant(passes: int, encoder: str, mixing: bool) -> None:
    torch.manual_seed(0)
    scorer = L2OScorer(
        num_antennas=4,
        hidden=16,
        layers=2,
        passes=passes,
        encoder=encoder,
        correlation_mixing=mixing,
    ).eval()
    env = gym.make_vec(MC, num_envs=3, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=1)
    ue, bs = torch.tensor([3, 1, 7, 0, 2, 6, 5, 4]), torch.tensor([1, 0])
    permuted = {
        "channel": obs["channel"][:, bs][:, :, ue],
        "gain_db": obs["gain_db"][:, bs][:, :, ue],
    }
    with torch.no_grad():
        torch.testing.assert_close(
            scorer(permuted), scorer(obs)[:, bs][:, :, ue], atol=1e-5, rtol=1e-4
        )
    env.close()


def test_tiny_training_raises_the_sum_rate_and_reproduces(tmp_path: Path) -> None:
    args = L2OArgs(hidden=16, layers=2, batch_size=64, total_steps=64 * 60, seed=5)
    first = train(MC, None, args, out=tmp_path / "a.pt")
    rows = first.checkpoint.curve
    # loss = -(sum rate of the step's batch): it falls by more than 1 bit/s/Hz in 60 steps.
    assert rows[-1]["loss"] < rows[0]["loss"] - 1.0, [r["loss"] for r in rows]
    again = train(MC, None, args, out=tmp_path / "b.pt")
    assert state_digest(first.checkpoint.state["scorer"]) == state_digest(
        again.checkpoint.state["scorer"]
    )
    loaded = load_checkpoint(tmp_path / "a.pt", algorithm="l2o", env_id=MC)
    assert loaded.step == 64 * 60 and loaded.hyperparameters["seed"] == 5


def test_gumbel_samples_average_the_sum_rate_of_their_draws() -> None:
    """One training step's loss is -(mean over instances of the mean over the S noise draws'
    sum rates), recomputed here from the same initial weights, instances and noise stream."""
    args = L2OArgs(
        head="gs", hidden=8, layers=1, batch_size=16, total_steps=16, seed=3, gumbel_samples=3
    )
    result = train(MC, None, args)
    torch.manual_seed(3)
    envs = gym.make_vec(MC, num_envs=16, vectorization_mode="vector_entry_point")
    observation, _ = envs.reset(seed=3)
    scorer = build_scorer(args, int(envs.unwrapped.config.num_antennas))
    logits, _ = scorer.encode(observation)
    noise = make_generator(3, "gumbel")
    draws = [
        envs.unwrapped.evaluate(relaxed_association(logits, "gs", 1.0, generator=noise)).reward
        for _ in range(3)
    ]
    expected = -torch.stack(draws).mean(0).mean().detach()
    one_draw = -draws[0].mean().detach()
    envs.close()
    loss = result.checkpoint.curve[-1]["loss"]
    assert loss == pytest.approx(float(expected), rel=1e-5)
    assert abs(float(expected) - float(one_draw)) > 1e-3  # the other draws count
    with pytest.raises(ValueError, match="gumbel_samples must be an integer >= 1"):
        L2OArgs(gumbel_samples=0)


def test_correlation_mixing_trains_and_loads_as_a_policy(tmp_path: Path) -> None:
    args = L2OArgs(
        hidden=16, layers=2, batch_size=64, total_steps=64 * 40, seed=5, correlation_mixing=True
    )
    result = train(MC, None, args, out=tmp_path / "m.pt")
    rows = result.checkpoint.curve
    assert rows[-1]["loss"] < rows[0]["loss"] - 0.5, [r["loss"] for r in rows]
    assert any(name.startswith("mixing.") for name in result.checkpoint.state["scorer"])
    env = gym.make(MC)
    policy = make_policy(f"l2o:{tmp_path / 'm.pt'}", env)
    obs, _ = env.reset(seed=3)
    action = policy.act(obs)
    assert env.action_space.contains(np.asarray(action))
    env.close()


def test_policy_single_equals_batched_and_repair_meets_the_limit(tmp_path: Path) -> None:
    args = L2OArgs(head="skgs", hidden=16, layers=1, batch_size=32, total_steps=64, seed=0)
    train(BAL, None, args, out=tmp_path / "bal.pt")
    env = gym.make(BAL)
    policy = make_policy(f"l2o:{tmp_path / 'bal.pt'}", env, seed=0)
    assert isinstance(policy, L2OPolicy) and policy.limit == 4
    venv = gym.make_vec(BAL, num_envs=6, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=10)
    batched = policy.act_batch(obs, None)
    assert bool((torch.stack([(batched == m).sum(-1) for m in range(2)]) <= 4).all())
    for row in range(6):
        single, _ = env.reset(seed=10 + row)
        assert np.array_equal(policy.act(single), batched[row].numpy())
    env.close()
    venv.close()


@pytest.mark.parametrize("env_id", [MC, BAL])
def test_refined_policy_improves_every_instance_single_equals_batched(
    tmp_path: Path, env_id: str
) -> None:
    head = "skgs" if env_id == BAL else "softmax"
    args = L2OArgs(head=head, hidden=16, layers=1, batch_size=32, total_steps=64, seed=0)
    train(env_id, None, args, out=tmp_path / "m.pt")
    env = gym.make(env_id)
    plain = make_policy(f"l2o:{tmp_path / 'm.pt'}", env, seed=0)
    refined = make_policy(f"l2o_refined:{tmp_path / 'm.pt'}", env, seed=0)
    assert isinstance(refined, L2OPolicy) and (plain.refine, refined.refine) == (0, 1)
    venv = gym.make_vec(env_id, num_envs=8, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=10)
    base = venv.unwrapped
    first = plain.act_batch(obs, None)
    better = refined.act_batch(obs, None, env=venv)
    gain = base.sim.outcome(base.state, better)[-1] - base.sim.outcome(base.state, first)[-1]
    assert bool((gain >= 0).all()) and bool((gain > 0).any()), gain
    assert int((better != first).sum(-1).max()) <= 2  # one move or one swap
    if env_id == BAL:
        assert bool((torch.stack([(better == m).sum(-1) for m in range(2)]) <= 4).all())
    for row in range(8):
        single, _ = env.reset(seed=10 + row)
        assert np.array_equal(refined.act(single, env=env), better[row].numpy())
    with pytest.raises(ValueError, match=r"l2o_refined \(refine=1\) scores its candidates"):
        refined.act_batch(obs, None)
    with pytest.raises(ValueError, match="refine must be an integer >= 0, got -1"):
        L2OPolicy(refined.scorer, None, refine=-1)
    env.close()
    venv.close()


def test_hard_forward_scores_the_policy_output_with_soft_gradients() -> None:
    soft = torch.tensor([[[0.9, 0.8, 0.6], [0.1, 0.2, 0.4]]], requires_grad=True)
    hard = hard_forward(soft, 2)  # all prefer BS 0; the limit moves the least sure UE (2)
    assert hard.detach().tolist() == [[[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]]]
    (hard * torch.tensor([[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]])).sum().backward()
    assert soft.grad.tolist() == [[[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]]]
    assert hard_forward(soft, None).detach().tolist() == [[[1.0, 1.0, 1.0], [0.0, 0.0, 0.0]]]


def test_integer_association_without_and_with_a_limit() -> None:
    logits = torch.tensor([[[5.0, 4.0, 3.0], [0.0, 0.0, 0.0]]])  # every UE prefers BS 0
    assert integer_association(logits, None).tolist() == [[0, 0, 0]]
    repaired = integer_association(logits, 2)[0]
    assert sorted(repaired.tolist()) == [0, 0, 1] and int(repaired[2]) == 1  # weakest moves


def test_args_and_trainer_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="head must be one of"):
        L2OArgs(head="attention")
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        L2OArgs(batch_size=0)
    with pytest.raises(ValueError, match="encoder must be one of"):
        L2OArgs(encoder="gat")
    with pytest.raises(ValueError, match="correlation_mixing needs encoder='edge_node'"):
        L2OArgs(encoder="attention", correlation_mixing=True)
    with pytest.raises(ValueError, match="correlation_mixing must be"):
        L2OArgs(correlation_mixing="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="needs a load limit"):
        train(MC, None, L2OArgs(head="skgs", total_steps=8, batch_size=8))
    done = run(
        "train",
        "l2o",
        "--env",
        MC,
        "--steps",
        "8",
        "--out",
        str(tmp_path / "x.pt"),
        "--trainer-kwargs",
        "depth=3",
    )
    assert done.returncode == 2
    one_line(done.stderr, "unknown l2o hyper-parameter(s) depth", "valid:")
    done = run("train", "l2o", "--env", "CellFreeAssoc-v0", "--steps", "8", "--out", "x.pt")
    assert done.returncode == 2


def test_cosine_schedule_decays_the_step_size_to_zero() -> None:
    args = L2OArgs(learning_rate=2e-3, lr_schedule="cosine", total_steps=1000)
    assert args.step_size(0) == pytest.approx(2e-3)
    assert args.step_size(500) == pytest.approx(1e-3)
    assert args.step_size(250) == pytest.approx(1e-3 * (1 + 2**-0.5))
    assert args.step_size(1000) == pytest.approx(0.0, abs=1e-18)
    assert L2OArgs(learning_rate=2e-3).step_size(1000) == 2e-3  # constant: unchanged
    with pytest.raises(ValueError, match="lr_schedule must be one of"):
        L2OArgs(lr_schedule="linear")


def test_checkpoint_for_another_beamformer_is_one_line(tmp_path: Path) -> None:
    train(MC, None, L2OArgs(hidden=8, layers=1, batch_size=8, total_steps=8), out=tmp_path / "m.pt")
    done = run(
        "evaluate",
        f"l2o:{tmp_path / 'm.pt'}",
        "--env",
        MC,
        "--episodes",
        "2",
        "--env-kwargs",
        "beamforming=zf",
    )
    assert done.returncode == 2
    one_line(done.stderr, "beamforming")


def test_sweep_over_ues_marks_what_cannot_run() -> None:
    from agents.sweep import parse_vary, run_sweep

    sweep = run_sweep(MC, ["argmax", "exhaustive"], "num_ues", [3, 11], episodes=2)
    table = sweep.to_markdown()
    rows = [
        line for line in table.splitlines() if line.startswith("| 3 ") or line.startswith("| 11 ")
    ]
    assert len(rows) == 2 and "n/a" not in rows[0] and rows[1].endswith("| n/a |")
    assert sweep.stats["exhaustive"][1] is None and "n/a exhaustive: num_ues=11" in table
    assert sweep.stats["argmax"][0] is not None
    with pytest.raises(ValueError, match="at least one"):
        run_sweep(MC, [], "num_ues", [3])
    with pytest.raises(ValueError, match="num_ues is varied by the sweep"):
        run_sweep(MC, ["argmax"], "num_ues", [3], env_kwargs={"num_ues": 4})
    assert parse_vary("tx_power_dbm=10, 20.5,x") == ("tx_power_dbm", [10, 20.5, "x"])
    with pytest.raises(ValueError, match="--vary must be KEY=V1,V2"):
        parse_vary("tx_power_dbm")


def test_attskgs_table_columns_mean_what_they_say(tmp_path: Path, capsys: Any) -> None:
    from agents.l2o_table import l2o_table, main

    args = L2OArgs(head="skgs", hidden=16, layers=1, batch_size=32, total_steps=64, seed=0)
    train(BAL, None, args, out=tmp_path / "s.pt")
    text = l2o_table({"SKGS": tmp_path / "s.pt", "mine": tmp_path / "s.pt"}, episodes=6)
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.count("|") > 5}
    assert "[18.5]" in rows["SKGS"] and "[6.49]" in rows["SKGS"] and "[6.01]" in rows["SKGS"]
    assert "[" not in rows["mine"] and rows["exhaustive_feasible"].split("|")[2].strip() == (
        "0.0 ± 0.0"
    )
    # The violation column: instances whose one-hot output puts more than 4 UEs on a BS.
    net, _ = load_scorer(load_checkpoint(tmp_path / "s.pt", algorithm="l2o", env_id=BAL))
    venv = gym.make_vec(BAL, num_envs=6, vectorization_mode="vector_entry_point")
    obs, _ = venv.reset(seed=2_000_000_000)
    one_hot = L2OPolicy(net, None).act_batch(obs, None)
    overloaded = (torch.stack([(one_hot == m).sum(-1) for m in range(2)]) > 4).any(0)
    assert (
        rows["mine"]
        .split("|")[2]
        .strip()
        .startswith(f"{100 * float(overloaded.float().mean()):.1f}")
    )
    venv.close()
    with pytest.raises(SystemExit) as stop:
        main(["--heads", "AttSKGS,nope", "--episodes", "2"])
    assert stop.value.code == 2
    assert "unknown head(s) nope; valid: AttSKGS, SKGS, GS, SMA" in capsys.readouterr().err


def test_beam_head_trains_in_agent_mode_and_acts_as_l2o_beams(tmp_path: Path) -> None:
    agent = {"beamforming": "agent"}
    args = L2OArgs(hidden=16, layers=1, batch_size=32, total_steps=32 * 40, beam_head="mmse")
    result = train(MC, agent, args, out=tmp_path / "b.pt")
    rows = result.checkpoint.curve
    assert rows[-1]["loss"] < rows[0]["loss"], [r["loss"] for r in rows]
    env = gym.make(MC, **agent)
    policy = make_policy(f"l2o_beams:{tmp_path / 'b.pt'}", env, seed=0)
    assert isinstance(policy, L2OPolicy) and policy.own_beams
    venv = gym.make_vec(MC, num_envs=4, vectorization_mode="vector_entry_point", **agent)
    obs, _ = venv.reset(seed=3)
    batched = policy.act_batch(obs, None)
    assert batched["beams"].shape == (4, 2, 8, 4, 2) and batched["association"].shape == (4, 8)
    _, reward, *_ = venv.step(batched)
    assert bool(torch.isfinite(torch.as_tensor(reward)).all())
    single, _ = env.reset(seed=4)
    action = policy.act(single)
    np.testing.assert_array_equal(action["association"], batched["association"][1].numpy())
    np.testing.assert_allclose(action["beams"], batched["beams"][1].numpy(), rtol=1e-5, atol=1e-6)
    # Wrong pairings are one line each.
    with pytest.raises(ValueError, match="learns beams: use l2o_beams, not l2o"):
        make_policy(f"l2o:{tmp_path / 'b.pt'}", env, seed=0)
    with pytest.raises(ValueError, match="do not go together"):
        train(MC, None, L2OArgs(total_steps=8, batch_size=8, beam_head="mmse"))
    with pytest.raises(ValueError, match="do not go together"):
        train(MC, agent, L2OArgs(total_steps=8, batch_size=8))
    with pytest.raises(ValueError, match="beam_head must be one of"):
        L2OArgs(beam_head="zf")
    env.close()
    venv.close()
