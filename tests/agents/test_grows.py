"""The GNN Double-DQN of [GROWS] (agents.grows): target, masks, network, training, policy."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agents.grows import (
    GrowsArgs,
    GrowsPolicy,
    GrowsQNet,
    ReplayBuffer,
    double_dqn_target,
    node_inputs,
    train,
)
from agents.registry import make_policy
from agents.training import state_digest
from tests.cli.cli_helpers import one_line, run

ENV = "SlottedArrivalAssoc-v0"


def test_double_dqn_target_by_hand() -> None:
    reward = torch.tensor([1.0, 2.0, 0.5])
    terminated = torch.tensor([False, False, True])
    online = torch.tensor([[1.0, 5.0, 3.0], [9.0, 1.0, 2.0], [0.0, 0.0, 0.0]])
    target = torch.tensor([[10.0, 20.0, 30.0], [40.0, 50.0, 60.0], [7.0, 7.0, 7.0]])
    mask = torch.tensor([[True, False, True], [True, True, True], [True, True, True]])
    y = double_dqn_target(reward, terminated, online, target, mask, 0.5)
    # Row 0: online argmax over legal {0, 2} is 2 (not the masked 1) -> target 30.
    # Row 1: online argmax 0 -> target 40 (not the target net's own max 60).
    # Row 2: terminated -> reward only.
    assert y.tolist() == [1.0 + 0.5 * 30.0, 2.0 + 0.5 * 40.0, 0.5]


def test_network_shape_permutation_and_masked_acting() -> None:
    torch.manual_seed(0)
    net = GrowsQNet(node_features=6, hidden=(4, 2)).eval()
    env = gym.make_vec(ENV, num_envs=16, vectorization_mode="vector_entry_point")
    obs, _ = env.reset(seed=3)
    for _ in range(5):  # a few slots so that loads and arrivals vary
        obs, *_ = env.step(torch.full((16,), 3))
    with torch.no_grad():
        q = net(obs)
        order = torch.tensor([2, 0, 1])
        permuted = dict(obs, nodes=obs["nodes"][:, order])
        q_perm = net(permuted)
    assert q.shape == (16, 4)
    torch.testing.assert_close(q_perm[:, :3], q[:, order], atol=1e-6, rtol=1e-5)
    torch.testing.assert_close(q_perm[:, 3], q[:, 3], atol=1e-6, rtol=1e-5)  # readout: invariant
    policy = GrowsPolicy(net)
    actions = policy.act_batch(obs, None)
    assert bool(obs["action_mask"].bool()[torch.arange(16), actions].all())
    assert node_inputs(obs).shape == (16, 3, 7)
    env.close()


def test_replay_buffer_keeps_the_latest_transitions() -> None:
    example = {"x": torch.zeros(2, 3)}
    buffer = ReplayBuffer(3, example)
    for value in range(4):  # 8 transitions into 3 slots
        obs = {"x": torch.full((2, 3), float(value))}
        buffer.add(obs, torch.tensor([value, value]), torch.ones(2), obs, torch.zeros(2).bool())
    assert buffer.size == 3
    assert sorted(buffer.action.tolist()) == [2, 3, 3]
    sample = buffer.sample(5, torch.Generator().manual_seed(0))
    assert sample["obs"]["x"].shape == (5, 3) and bool((sample["action"] >= 2).all())


def test_tiny_training_reproduces_and_loads_as_a_policy(tmp_path: Path) -> None:
    args = GrowsArgs(
        total_steps=64 * 40 * 2, num_envs=64, hidden=(8, 8), learning_starts=256, seed=4
    )
    first = train(None, args, out=tmp_path / "g.pt")
    again = train(None, args)
    assert state_digest(first.checkpoint.state["online"]) == state_digest(
        again.checkpoint.state["online"]
    )
    assert first.checkpoint.episodes == 128
    env = gym.make(ENV)
    policy = make_policy(f"grows:{tmp_path / 'g.pt'}", env, seed=0)
    obs, _ = env.reset(seed=11)
    for _ in range(40):
        action = policy.act(obs)
        assert obs["action_mask"][action] == 1  # never a masked action
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            break
    env.close()


def test_args_and_trainer_errors(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="hidden must be two integers"):
        GrowsArgs(hidden=(4,))
    with pytest.raises(ValueError, match="gamma must be in"):
        GrowsArgs(gamma=0.0)
    assert GrowsArgs.paper().hidden == (4, 2) and GrowsArgs.paper().batch_size == 32
    done = run(
        "train",
        "grows",
        "--env",
        ENV,
        "--steps",
        "64",
        "--out",
        str(tmp_path / "x.pt"),
        "--trainer-kwargs",
        "depth=2",
    )
    assert done.returncode == 2
    one_line(done.stderr, "unknown grows hyper-parameter(s) depth", "valid: config")
    done = run("evaluate", "grows", "--env", ENV)
    assert done.returncode == 2
    one_line(done.stderr, "grows")
    assert np.isfinite(GrowsArgs().epsilon(10**9))


def test_table_i_command_prints_the_paper_columns_beside_ours(tmp_path: Path) -> None:
    from agents.grows_table import PAPER, grows_tables, parse_cells

    out = tmp_path / "g.pt"
    train(
        {"preset": "grows"},
        GrowsArgs(total_steps=64 * 40, hidden=(8, 8), learning_starts=256),
        out=out,
    )
    text = grows_tables(
        f"grows:{out}", cells=[(1.0, 14)], episodes=3, q_steps=400, work_dir=tmp_path / "q"
    )
    header = "| p | D̄ | q_learning | argmax | grows | random | rollout |"
    assert text.count(header) == 2  # utility per slot, rejections per episode
    # Table I's values in brackets after ours: utility Q 3.57 / B 3.21 / GROWS 3.52 ...
    utility_row, rejection_row = (line for line in text.splitlines() if line.startswith("| 1 | 14"))
    assert [c.split("[")[1].rstrip("] ") for c in utility_row.split("|")[3:6]] == [
        "3.57",
        "3.21",
        "3.52",
    ]
    assert "[9.08]" in rejection_row and PAPER[(1.0, 14)]["B"] == (3.21, 9.08)
    assert (tmp_path / "q" / "q-p1-d14.pt").is_file()  # the cell's own Q-learning table
    assert "preset=grows, 3 episodes per cell" in text
    assert parse_cells("0.5:14, 1:6") == [(0.5, 14), (1.0, 6)]
    with pytest.raises(ValueError, match=r"'0\.6:14' is not a cell of Table I; valid: 0\.5:6"):
        parse_cells("0.6:14")


def test_fig4_normalises_held_out_curves_to_random(tmp_path: Path) -> None:
    from agents.evaluate import evaluate
    from agents.grows_table import fig4_table

    curve = tmp_path / "run.curve.csv"
    curve.write_text(
        "step,wall_time_s,episodes,mean_return,eval_return\n100,1.0,3,5.0,\n200,2.0,6,6.0,80.0\n"
    )
    kwargs = {"preset": "grows", "arrival_prob": 0.5, "mean_demand": 14}
    text = fig4_table({"grows": curve}, eval_episodes=3, env_kwargs=kwargs)
    random_mean = float(
        evaluate("random", "SlottedArrivalAssoc-v0", 3, 10**9, kwargs).returns.mean()
    )
    assert f"| grows | 200 | 6 | 80.00 | {80.0 / random_mean:.3f} |" in text
    assert "| argmax (reference) |" in text and "| 100 |" not in text  # no eval at step 100
    empty = tmp_path / "none.curve.csv"
    empty.write_text("step,wall_time_s,episodes,mean_return\n100,1.0,3,5.0\n")
    with pytest.raises(ValueError, match="has no eval_return rows"):
        fig4_table({"q": empty}, eval_episodes=3)


def test_pretrained_follows_the_configuration_and_the_preset_file_beats_argmax() -> None:
    from agents.evaluate import compare
    from agents.pretrained import resolve_checkpoint

    def shipped(**kwargs: object) -> str:
        env = gym.make("SlottedArrivalAssoc-v0", **kwargs)
        in_force = {**vars(env.unwrapped.config), **kwargs}  # type: ignore[attr-defined]
        env.close()
        path = resolve_checkpoint("grows", "SlottedArrivalAssoc-v0", "pretrained", in_force)
        assert path is not None
        return Path(path).name

    assert shipped() == "grows-SlottedArrivalAssoc-v0.pt"
    assert shipped(arrival_prob=1.0, mean_demand=14) == "grows-SlottedArrivalAssoc-v0-p1.0-d14.pt"
    preset = "grows-SlottedArrivalAssoc-v0-preset-grows-p{}-d14.pt"
    assert shipped(preset="grows") == preset.format(0.7)  # the preset's own cell, D̄ = 10
    assert shipped(preset="grows", arrival_prob=0.5, mean_demand=6) == preset.format(0.5)
    assert shipped(preset="grows", arrival_prob=1.0, mean_demand=14) == preset.format(1.0)
    # The full-load preset file on episodes its training never saw: above max-SNR.
    table = compare(
        ["argmax", "grows:pretrained"],
        "SlottedArrivalAssoc-v0",
        60,
        123,
        {"preset": "grows", "arrival_prob": 1.0, "mean_demand": 14},
        print_table=False,
    )
    argmax, grows = (float(r.returns.mean()) for r in table.results)
    assert grows > argmax
