"""Train your own agent: REINFORCE with a GNN on the native FronthaulAssoc-v0 vector env.

Each step of FronthaulAssoc-v0 is one instance (8 APs, 4 UEs): the action is a 0/1 matrix
saying which AP serves which UE, the reward the weighted sum rate minus the fronthaul overload
(``reward_mode="penalty"``). The policy reads the observation's graph view
(``ua_envs.graph``), runs one ``EdgeNodeLayer`` over the AP–UE graph and gives each link a
Bernoulli logit; REINFORCE with a batch-mean baseline trains it on 64 instances per update.
At the end the trained and the untrained policy decide greedily (link on if p > 0.5) on the
same held-out instances, scored with ``envs.evaluate`` (no stepping).

Run::

    OMP_NUM_THREADS=1 python examples/custom_reinforce.py --updates 300
"""

from __future__ import annotations

import argparse
import copy
from dataclasses import dataclass

import gymnasium as gym
import torch
from torch import Tensor, nn

import ua_envs  # noqa: F401  (registers the ids)
from agents.nets import EdgeNodeLayer, bipartite_dense
from ua_envs.graph import observation_graph_batch


@dataclass
class Args:
    """Command-line arguments (``--num-envs`` etc.)."""

    num_envs: int = 64
    """instances per update (vector env batch)"""
    updates: int = 300
    """policy-gradient updates"""
    learning_rate: float = 1e-2
    """Adam learning rate"""
    hidden: int = 32
    """GNN width"""
    seed: int = 0
    """seed of the weights and the training instances"""
    eval_seed: int = 10_000
    """seed of the held-out instances (sub-env i: eval_seed + i)"""
    eval_envs: int = 256
    """held-out instances"""


class LinkPolicy(nn.Module):
    """Graph view → one Bernoulli logit per AP–UE link, shape ``(B, M, K)``."""

    def __init__(self, hidden: int) -> None:
        super().__init__()
        self.gnn = EdgeNodeLayer(ap_dim=1, ue_dim=1, edge_dim=2, out_dim=hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, observation: dict[str, Tensor], envs: gym.vector.VectorEnv) -> Tensor:
        graph = bipartite_dense(observation_graph_batch(envs, observation))
        gain_db = graph.edge[..., -1:]  # edge_attr = [Re h/σ, Im h/σ, gain_db]: (B, M, K, 1)
        below_best = gain_db - gain_db.amax(dim=1, keepdim=True)  # dB below the UE's best AP
        edge = torch.cat([gain_db / 10.0, below_best / 10.0], dim=-1)
        _, _, edge = self.gnn(graph.ap / 100.0, graph.ue, edge)  # capacity [Mbit/s] / 100
        return self.head(edge).squeeze(-1)


def greedy_reward(policy: LinkPolicy, args: Args) -> float:
    """Mean reward of the greedy decisions on the held-out instances."""
    envs = gym.make_vec(
        "FronthaulAssoc-v0",
        num_envs=args.eval_envs,
        vectorization_mode="vector_entry_point",
        reward_mode="penalty",
    )
    observation, _ = envs.reset(seed=args.eval_seed)
    with torch.no_grad():
        association = policy(observation, envs) > 0.0  # (B, M, K) bool
        reward = envs.evaluate(association).reward
    envs.close()
    return float(reward.mean())


def train(args: Args) -> dict[str, float]:
    """Train; return the greedy mean reward of the untrained and the trained policy."""
    torch.manual_seed(args.seed)
    envs = gym.make_vec(
        "FronthaulAssoc-v0",
        num_envs=args.num_envs,
        vectorization_mode="vector_entry_point",
        reward_mode="penalty",
    )
    policy = LinkPolicy(args.hidden)
    untrained = copy.deepcopy(policy)
    optimizer = torch.optim.Adam(policy.parameters(), lr=args.learning_rate)
    observation, _ = envs.reset(seed=args.seed)
    for _ in range(args.updates):
        logits = policy(observation, envs)
        dist = torch.distributions.Bernoulli(logits=logits)
        association = dist.sample()  # (B, M, K) in {0, 1}
        # One-step env: the reward scores this decision; observation is already the next one.
        observation, reward, _, _, _ = envs.step(association.flatten(1).to(torch.int8))
        advantage = (reward - reward.mean()) / (reward.std() + 1e-8)
        loss = -(advantage * dist.log_prob(association).sum((1, 2))).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    envs.close()
    return {"untrained": greedy_reward(untrained, args), "trained": greedy_reward(policy, args)}


def main(argv: list[str] | None = None) -> dict[str, float]:
    """Parse ``argv`` into :class:`Args`, train, print and return the two mean rewards."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name, value in vars(Args()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=type(value), default=value)
    result = train(Args(**vars(parser.parse_args(argv))))
    print(
        f"greedy mean reward: untrained {result['untrained']:.2f}, "
        f"trained {result['trained']:.2f} bit/s/Hz"
    )
    return result


if __name__ == "__main__":
    main()
