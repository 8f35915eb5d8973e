"""The [SupportSet] network: dynamic features by hand, masks, equivariance, size-free, errors."""

from __future__ import annotations

import gymnasium as gym
import pytest
import torch

from agents.nets.support_set import (
    LinkEncoder,
    SupportSetCritic,
    SupportSetNet,
    dynamic_features,
)

CF = "CellFreeAssoc-v0"


def _tiny_observation() -> dict[str, torch.Tensor]:
    """M = 2 APs, K = 3 UEs, N = 1 antenna; link (AP 0, UE 1) chosen; caps 1 UE/AP, 2 APs/UE."""
    channel = torch.tensor(
        [[[[1.0, 0.0], [0.0, 2.0], [3.0, 0.0]], [[0.5, 0.5], [1.0, 1.0], [0.0, 1.0]]]]
    )
    gain_db = 10 * torch.log10(channel.square().sum(-1))
    support = torch.zeros(1, 2, 3)
    support[0, 0, 1] = 1.0
    # AP 0 is full (1 UE, cap 1): its links are illegal; AP 1's links are legal; END legal.
    mask = torch.tensor([[0, 0, 0, 1, 1, 1, 1]], dtype=torch.int8)
    return {
        "channel": channel,
        "gain_db": gain_db,
        "support": support,
        "ap_load": torch.tensor([[1.0, 0.0]]),
        "ue_degree": torch.tensor([[0.0, 1.0, 0.0]]),
        "action_mask": mask,
    }


def test_dynamic_features_of_a_hand_built_support() -> None:
    features = dynamic_features(_tiny_observation(), max_ues_per_ap=1, max_aps_per_ue=2)[0]
    assert features.shape == (2, 3, 5)
    # [chosen, legal, load / cap, degree / cap, covered] of every link.
    assert features[0, 1].tolist() == [1.0, 0.0, 1.0, 0.5, 1.0]
    assert features[0, 0].tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]
    assert features[1, 1].tolist() == [0.0, 1.0, 0.0, 0.5, 1.0]
    assert features[1, 2].tolist() == [0.0, 1.0, 0.0, 0.0, 0.0]


@pytest.mark.parametrize("context", ["gnn", "attention"])
def test_logits_are_minus_inf_exactly_where_the_mask_forbids(context: str) -> None:
    torch.manual_seed(0)
    net = SupportSetNet(1, hidden=8, layers=1, context=context, heads=2, max_ues_per_ap=1)
    logits = net(_tiny_observation())
    assert logits.shape == (1, 7)  # M·K links + END
    assert torch.isinf(logits[0, :3]).all() and (logits[0, :3] < 0).all()
    assert torch.isfinite(logits[0, 3:]).all()
    probs = torch.softmax(logits, -1)
    assert probs[0, :3].sum() == 0 and probs.sum().item() == pytest.approx(1.0)


@pytest.mark.parametrize("context", ["gnn", "attention"])
def test_net_and_critic_are_permutation_equivariant(context: str) -> None:
    """Permuting APs and UEs permutes the link logits (END unchanged); the value is invariant."""
    torch.manual_seed(0)
    net = SupportSetNet(2, hidden=16, layers=2, context=context).eval()
    critic = SupportSetCritic(2, hidden=16, layers=2).eval()
    envs = gym.make_vec(CF, 3, vectorization_mode="vector_entry_point")
    envs.reset(seed=4)
    for action in ([0, 7, 20], [13, 13, 1]):  # a partial support, so the dynamic part matters
        envs.step(torch.tensor(action))
    obs = envs.unwrapped.sim.observe(envs.unwrapped.state)
    aps, ues = torch.tensor([5, 2, 7, 0, 1, 3, 6, 4]), torch.tensor([4, 0, 5, 1, 3, 2])
    link = torch.arange(48).view(8, 6)[aps][:, ues].flatten()
    permuted = {
        "channel": obs["channel"][:, aps][:, :, ues],
        "gain_db": obs["gain_db"][:, aps][:, :, ues],
        "support": obs["support"][:, aps][:, :, ues],
        "ap_load": obs["ap_load"][:, aps],
        "ue_degree": obs["ue_degree"][:, ues],
        "action_mask": torch.cat([obs["action_mask"][:, link], obs["action_mask"][:, 48:]], 1),
    }
    with torch.no_grad():
        logits, logits_p = net(obs), net(permuted)
        torch.testing.assert_close(logits_p[:, :48], logits[:, link], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(logits_p[:, 48], logits[:, 48], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(critic(permuted), critic(obs), atol=1e-4, rtol=1e-4)


def test_the_network_takes_other_sizes_but_not_other_antenna_counts() -> None:
    net = SupportSetNet(2, hidden=8, layers=1, heads=2)
    envs = gym.make_vec(CF, 2, vectorization_mode="vector_entry_point", num_bs=16, num_ues=12)
    obs, _ = envs.reset(seed=0)
    assert net(obs).shape == (2, 16 * 12 + 1)
    wide = gym.make_vec(CF, 2, vectorization_mode="vector_entry_point", num_antennas=4)
    obs4, _ = wide.reset(seed=0)
    with pytest.raises(
        ValueError,
        match=r"2N = 4 entries per link \(the network was built for N = 2 antennas\), got 8",
    ):
        net(obs4)


def test_link_encoder_residual_and_errors() -> None:
    encoder = LinkEncoder(3, 4, 2)
    assert encoder(torch.zeros(2, 3, 5, 3)).shape == (2, 3, 5, 4)
    with pytest.raises(ValueError, match="layers must be"):
        LinkEncoder(3, 4, 0)
    with pytest.raises(ValueError, match="context must be one of"):
        SupportSetNet(2, context="pointer")
