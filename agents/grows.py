"""GNN Double-DQN ([GROWS]) on ``SlottedArrivalAssoc-v0``.

State: the observation's BS nodes ``(M, 6)`` (each BS's load, its users' next-slot utility,
the arriving user's rate at it and demand, candidate flag, the BS's mean utility per slot so
far; docs/envs/slotted.md) with the arrival flag appended to every node. Network
(:class:`GrowsQNet`): two graph convolutions over the fully connected BS graph
(:class:`agents.nets.GCNLayer`, tanh, the node's own tap), then a per-node Q for "associate
the arriving user here" and a graph-readout Q (mean over the nodes) for the no-op:
``Q(s) ∈ R^{M+1}``, the env's ``Discrete(M + 1)`` action order.

Learning (CleanRL-style Double DQN): ε-greedy masked actions on the native vector env
(``num_envs`` episodes in lockstep), transitions into a replay buffer, every ``train_every``
vector steps ``updates`` minibatch steps on the Huber loss to the Double-DQN target::

    y = r + γ · (1 − terminated) · Q_target(s', argmax_{a' legal in s'} Q_online(s', a'))

(masked argmax in the next state, value from the target network, copied every
``target_every`` gradient steps). Truncation at the horizon bootstraps, as in
:mod:`agents.q_learning`.

:class:`GrowsArgs` holds our defaults (vector-env collection, a wider network, γ = 0.99);
:meth:`GrowsArgs.paper` the paper's values (filters 4 and 2, replay 10⁵, batch 32, lr 1e-4,
γ 0.5, an update every 20 steps, the target every 200, ε decayed over 80 % of training). Why
γ = 0.99: under the per-slot log-sum reward an association pays off over the user's whole stay
(its own rate and the load it adds for later arrivals); with γ = 0.5 the network learns the
myopic max-SNR rule (held-out return 128–132 at the defaults, argmax's level), with 0.99 it
passes random and argmax (docs/agents.md).
Trainer ``ua-envs train grows``, policy ``grows:CKPT``.
"""

from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import gymnasium as gym
import torch
from torch import Tensor, nn

from agents.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from agents.entries import (
    JOB_TRAIN_OPTIONS,
    PolicyEntry,
    TrainerEntry,
    TrainJob,
    job_trainer,
    trainer_for,
)
from agents.nets import GCNLayer
from agents.policy import batch_of_one
from agents.q_learning import masked_greedy, random_legal
from agents.training import (
    PeriodicEvaluation,
    TrainingLog,
    check_fields,
    check_hyperparameters,
    evaluate_and_save,
    evaluation_seed,
    make_generator,
    run_files,
)

ENV_ID = "SlottedArrivalAssoc-v0"
ALGORITHM = "grows"


@dataclass(frozen=True)
class GrowsArgs:
    """Hyper-parameters of :func:`train` (ours; :meth:`paper` gives [GROWS]' values).

    :param total_steps: env steps (slots of one sub-env) to train, ≥ 1.
    :param num_envs: episodes collected in lockstep on the native vector env.
    :param hidden: filters of the two graph convolutions (the paper: 4 and 2).
    :param learning_rate: Adam step size.
    :param gamma: discount γ.
    :param buffer_size: replay capacity [transitions].
    :param batch_size: minibatch size.
    :param train_every: vector steps between training phases.
    :param updates: gradient steps per training phase.
    :param target_every: gradient steps between target-network copies.
    :param learning_starts: transitions collected before the first update.
    :param epsilon_start: exploration rate at step 0.
    :param epsilon_end: exploration rate after the decay.
    :param explore_fraction: fraction of ``total_steps`` over which ε decays linearly.
    :param seed: training seed (weights, exploration, replay sampling, env stream).
    """

    total_steps: int = 600_000
    num_envs: int = 64
    hidden: tuple[int, int] = (64, 64)
    learning_rate: float = 1e-3
    gamma: float = 0.99
    buffer_size: int = 100_000
    batch_size: int = 256
    train_every: int = 1
    updates: int = 1
    target_every: int = 200
    learning_starts: int = 5_000
    epsilon_start: float = 1.0
    epsilon_end: float = 0.02
    explore_fraction: float = 0.5
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(
            self,
            integers=(
                "total_steps",
                "num_envs",
                "buffer_size",
                "batch_size",
                "train_every",
                "updates",
                "target_every",
            ),
        )
        hidden = tuple(self.hidden)
        if len(hidden) != 2 or any(not isinstance(h, int) or h < 1 for h in hidden):
            raise ValueError(f"hidden must be two integers >= 1, got {self.hidden!r}")
        object.__setattr__(self, "hidden", hidden)
        if not 0.0 < self.gamma <= 1.0:
            raise ValueError(f"gamma must be in (0, 1], got {self.gamma!r}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be > 0, got {self.learning_rate!r}")
        for name in ("epsilon_start", "epsilon_end", "explore_fraction"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {value!r}")

    @classmethod
    def paper(cls, **overrides: Any) -> GrowsArgs:
        """[GROWS]' hyper-parameters (Sec. V): filters 4 and 2, replay 1e5, batch 32, lr 1e-4,
        γ 0.5, one update every 20 steps, the target every 200, ε decayed over 40,000 of 50,000
        episodes (2,000,000 steps of 40 slots), one environment."""
        values: dict[str, Any] = {
            "total_steps": 2_000_000,
            "num_envs": 1,
            "hidden": (4, 2),
            "learning_rate": 1e-4,
            "gamma": 0.5,
            "buffer_size": 100_000,
            "batch_size": 32,
            "train_every": 20,
            "updates": 1,
            "target_every": 200,
            "learning_starts": 32,
            "explore_fraction": 0.8,
        }
        return cls(**{**values, **overrides})

    def epsilon(self, step: int) -> float:
        """ε after ``step`` env steps (linear decay, then flat)."""
        span = max(1.0, self.explore_fraction * self.total_steps)
        fraction = min(1.0, step / span)
        return self.epsilon_start + fraction * (self.epsilon_end - self.epsilon_start)


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------


def node_inputs(observation: Mapping[str, Tensor]) -> Tensor:
    """``(B, M, F + 1)`` float32: the BS node features with the arrival flag on every node."""
    nodes = observation["nodes"].to(torch.float32)
    arrival = observation["arrival"].to(torch.float32).reshape(nodes.shape[0], 1, 1)
    return torch.cat([nodes, arrival.expand(-1, nodes.shape[1], 1)], dim=-1)


class GrowsQNet(nn.Module):
    """``Q(s) ∈ R^{M+1}``: per-BS "associate here" values and a readout value for the no-op.

    ``h1 = tanh(GCN(x))``, ``h2 = tanh(GCN(h1))`` on the complete BS graph (each with the node's
    own tap); ``Q[m] = w·h2[m] + b``, ``Q[M] = w'·mean_m h2[m] + b'``.

    Shapes:
        ``observation`` (``nodes`` ``(B, M, F)``, ``arrival`` ``(B, 1)``) → ``(B, M + 1)``.

    :param node_features: ``F`` (the observation's node columns).
    :param hidden: filters of the two convolutions.
    """

    def __init__(self, node_features: int, hidden: tuple[int, int] = (32, 32)) -> None:
        super().__init__()
        first, second = hidden
        self.conv1 = GCNLayer(node_features + 1, first, root_weight=True, activation=torch.tanh)
        self.conv2 = GCNLayer(first, second, root_weight=True, activation=torch.tanh)
        self.associate = nn.Linear(second, 1)
        self.no_op = nn.Linear(second, 1)

    def forward(self, observation: Mapping[str, Tensor]) -> Tensor:
        """``(B, M + 1)`` action values (the last column: no-op)."""
        h = self.conv2(self.conv1(node_inputs(observation)))
        per_bs = self.associate(h).squeeze(-1)  # (B, M)
        readout = self.no_op(h.mean(dim=1))  # (B, 1)
        return torch.cat([per_bs, readout], dim=-1)


def double_dqn_target(
    reward: Tensor,
    terminated: Tensor,
    next_online: Tensor,
    next_target: Tensor,
    next_mask: Tensor,
    gamma: float,
) -> Tensor:
    """``r + γ (1 − terminated) Q_target(s', argmax_{legal a'} Q_online(s', a'))`` ``(B,)``.

    :param next_online: ``(B, A)`` online values of the next states; ``next_target`` the
        target network's; ``next_mask`` ``(B, A)`` bool legal actions there (≥ 1 per row).
    """
    best = next_online.masked_fill(~next_mask, -math.inf).argmax(dim=-1, keepdim=True)
    value = next_target.gather(-1, best).squeeze(-1)
    return reward + gamma * (~terminated).to(reward.dtype) * value


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


class GrowsPolicy:
    """Greedy legal action of a trained :class:`GrowsQNet` (single env and batched).

    :param net: the online network (put in eval mode here).
    :param seed: seed of the tie-breaking generator.
    """

    def __init__(self, net: GrowsQNet, seed: int | None = None) -> None:
        self.net = net.eval()
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the tie-breaking generator."""
        self._generator = torch.Generator()
        self._generator.manual_seed(0 if seed is None else int(seed))

    @torch.no_grad()
    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """``(B,)`` int64 greedy legal actions."""
        q = self.net(observation)
        legal = observation["action_mask"].bool() if mask is None else mask.to(torch.bool)
        return masked_greedy(q.cpu(), legal.cpu(), self._generator).to(q.device)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> int:
        """One greedy legal action (a batch of one of :meth:`act_batch`)."""
        del info, env
        return int(self.act_batch(batch_of_one(observation), None)[0])


def load_net(checkpoint: Checkpoint) -> GrowsQNet:
    """The online network of a ``grows`` checkpoint."""
    hidden = tuple(checkpoint.hyperparameters["hidden"])
    net = GrowsQNet(int(checkpoint.extra["node_features"]), (int(hidden[0]), int(hidden[1])))
    net.load_state_dict(checkpoint.state["online"])
    return net


def make_grows(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> GrowsPolicy:
    """Load ``grows:CHECKPOINT`` for ``env`` (any arrival rate, demand and preset of the same
    number of node features: the GCN is size-free).

    :raises ValueError: no checkpoint, or one that does not load (one line).
    """
    if checkpoint is None:
        raise ValueError("policy 'grows' needs a checkpoint: use grows:PATH")
    loaded = load_checkpoint(checkpoint, algorithm=ALGORITHM, env_id=ENV_ID)
    features = int(env.observation_space["nodes"].shape[-1])  # type: ignore[index]
    if int(loaded.extra["node_features"]) != features:
        raise ValueError(
            f"checkpoint {checkpoint!r} has {loaded.extra['node_features']} node features, "
            f"the env observes {features}"
        )
    return GrowsPolicy(load_net(loaded), seed)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


class ReplayBuffer:
    """Transitions of dict observations, as torch tensors on the CPU (a ring buffer).

    :param capacity: transitions kept.
    :param example: one batched observation (fixes the keys, shapes and dtypes).
    """

    def __init__(self, capacity: int, example: Mapping[str, Tensor]) -> None:
        self.capacity = capacity
        self.size = 0
        self._next = 0

        def empty(value: Tensor) -> Tensor:
            return torch.zeros((capacity, *value.shape[1:]), dtype=value.dtype)

        self.obs = {key: empty(value) for key, value in example.items()}
        self.next_obs = {key: empty(value) for key, value in example.items()}
        self.action = torch.zeros(capacity, dtype=torch.long)
        self.reward = torch.zeros(capacity, dtype=torch.float32)
        self.terminated = torch.zeros(capacity, dtype=torch.bool)

    def add(
        self,
        obs: Mapping[str, Tensor],
        action: Tensor,
        reward: Tensor,
        next_obs: Mapping[str, Tensor],
        terminated: Tensor,
    ) -> None:
        """Store a batch of ``n`` transitions (overwriting the oldest when full)."""
        count = int(action.shape[0])
        index = (self._next + torch.arange(count)) % self.capacity
        for key in self.obs:
            self.obs[key][index] = obs[key].cpu()
            self.next_obs[key][index] = next_obs[key].cpu()
        self.action[index] = action.cpu()
        self.reward[index] = reward.cpu().to(torch.float32)
        self.terminated[index] = terminated.cpu()
        self._next = (self._next + count) % self.capacity
        self.size = min(self.size + count, self.capacity)

    def sample(self, batch: int, generator: torch.Generator) -> dict[str, Any]:
        """``batch`` transitions drawn uniformly (with replacement)."""
        index = torch.randint(0, self.size, (batch,), generator=generator)
        return {
            "obs": {key: value[index] for key, value in self.obs.items()},
            "next_obs": {key: value[index] for key, value in self.next_obs.items()},
            "action": self.action[index],
            "reward": self.reward[index],
            "terminated": self.terminated[index],
        }


@dataclass
class GrowsResult:
    """What :func:`train` returns: the final checkpoint, the online network, the wall time."""

    checkpoint: Checkpoint
    net: GrowsQNet
    seconds: float


def train(
    env_kwargs: Mapping[str, Any] | None = None,
    args: GrowsArgs | None = None,
    *,
    out: str | Path | None = None,
    tensorboard: str | None = None,
    eval_every: int = 0,
    eval_episodes: int = 100,
    progress: bool = False,
) -> GrowsResult:
    """Train the GNN Double-DQN on ``SlottedArrivalAssoc-v0(**env_kwargs)`` (module docstring).

    :param out: checkpoint path (``None``: no files); curve and ``.best.pt`` next to it.
    :param eval_every: evaluate the greedy policy on held-out seeds every this many env steps
        and at the end (0: never; needs ``out``).
    :raises ValueError: a seed whose training resets would reach the evaluation seeds.
    """
    args = args or GrowsArgs()
    env_kwargs = dict(env_kwargs or {})
    started = time.perf_counter()
    envs = gym.make_vec(
        ENV_ID, num_envs=args.num_envs, vectorization_mode="vector_entry_point", **env_kwargs
    )
    evaluation_seed(args.seed, args.num_envs)
    torch.manual_seed(args.seed)  # the weights' initialisation
    features = int(envs.single_observation_space["nodes"].shape[-1])  # type: ignore[index]
    online = GrowsQNet(features, args.hidden)
    target = copy.deepcopy(online)
    optimizer = torch.optim.Adam(online.parameters(), lr=args.learning_rate)
    explore = make_generator(args.seed, "exploration")
    sampling = make_generator(args.seed, "replay")
    files = run_files(out) if out is not None else None
    evaluation = PeriodicEvaluation(ENV_ID, env_kwargs, eval_every if files else 0, eval_episodes)
    policy = GrowsPolicy(online, seed=0)
    obs, _ = envs.reset(seed=args.seed)
    buffer = ReplayBuffer(args.buffer_size, obs)
    episode_return = torch.zeros(args.num_envs, dtype=torch.float64)
    gradient_steps = 0
    vector_steps = 0
    loss_value = math.nan

    def checkpoint(log: TrainingLog) -> Checkpoint:
        return Checkpoint(
            algorithm=ALGORITHM,
            env_id=ENV_ID,
            hyperparameters={**asdict(args), "hidden": list(args.hidden)},
            state={"online": dict(online.state_dict()), "target": dict(target.state_dict())},
            env_kwargs=env_kwargs,
            step=log.step,
            episodes=log.episodes,
            seed=args.seed,
            curve=log.rows,
            rng={"exploration": explore.get_state(), "replay": sampling.get_state()},
            extra={"node_features": features},
        )

    with TrainingLog(
        args.total_steps,
        curve_csv=files.curve_csv if files else None,
        tensorboard=tensorboard,
        quiet=not progress,
        description=f"grows on {ENV_ID}",
    ) as log:
        while log.step < args.total_steps:
            epsilon = args.epsilon(log.step)
            mask = obs["action_mask"].bool()
            with torch.no_grad():
                greedy = masked_greedy(online(obs), mask, explore)
            random = random_legal(mask, explore)
            explore_rows = torch.rand(args.num_envs, generator=explore) < epsilon
            action = torch.where(explore_rows, random, greedy)
            next_obs, reward, terminated, truncated, infos = envs.step(action)
            done = terminated | truncated
            stored_next = next_obs
            if bool(done.any()):  # bootstrap from the ending observation, not the reset one
                final = infos["final_obs"]
                stored_next = {
                    key: torch.where(done.view(-1, *([1] * (value.dim() - 1))), final[key], value)
                    for key, value in next_obs.items()
                }
            buffer.add(obs, action, reward, stored_next, terminated)
            episode_return += reward.to(torch.float64)
            finished = episode_return[done].tolist()
            episode_return[done] = 0.0
            obs = next_obs
            vector_steps += 1
            if buffer.size >= args.learning_starts and vector_steps % args.train_every == 0:
                for _ in range(args.updates):
                    batch = buffer.sample(args.batch_size, sampling)
                    with torch.no_grad():
                        next_mask = batch["next_obs"]["action_mask"].bool()
                        y = double_dqn_target(
                            batch["reward"],
                            batch["terminated"],
                            online(batch["next_obs"]),
                            target(batch["next_obs"]),
                            next_mask,
                            args.gamma,
                        )
                    q = online(batch["obs"]).gather(-1, batch["action"][:, None]).squeeze(-1)
                    loss = nn.functional.smooth_l1_loss(q, y)
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                    loss_value = float(loss.detach())
                    gradient_steps += 1
                    if gradient_steps % args.target_every == 0:
                        target.load_state_dict(online.state_dict())
            steps = min(args.num_envs, args.total_steps - log.step)
            log.advance(steps, finished, epsilon=epsilon)
            final_step = log.step >= args.total_steps
            if evaluation.due(log.step, final=final_step):
                evaluate_and_save(
                    evaluation,
                    policy,
                    log,
                    files,
                    lambda: checkpoint(log),
                    online,
                    epsilon=epsilon,
                    loss=loss_value,
                )
            elif final_step or vector_steps % 200 == 0:
                log.record(epsilon=epsilon, loss=loss_value)
        result = checkpoint(log)
        if files is not None:
            save_checkpoint(files.checkpoint, result)
    envs.close()
    online.eval()
    return GrowsResult(result, online, time.perf_counter() - started)


def _train_grows(job: TrainJob) -> str:
    """Train the GNN Double-DQN on ``SlottedArrivalAssoc-v0`` and save it to ``out`` (``.pt``).

    Budget: ``--steps`` env steps or ``--episodes`` episodes of ``horizon`` slots (default
    :attr:`GrowsArgs.total_steps`); ``--num-envs`` episodes in lockstep; ``--trainer-kwargs``
    set the other :class:`GrowsArgs` fields, and ``config=paper`` starts from
    :meth:`GrowsArgs.paper`. ``--eval-every N`` keeps the best held-out checkpoint
    (``<out stem>.best.pt``). Returns the path written.

    :raises ValueError: an unknown hyper-parameter (the message lists the valid ones), another
        env id.
    """
    from agents.training import job_budget, report_done
    from ua_envs.envs.slotted.sim import make_config

    if job.env_id != ENV_ID:
        raise ValueError(f"grows trains on {ENV_ID}, got {job.env_id!r}")
    path = job.checked_out(".pt")
    hyperparameters = dict(job.hyperparameters)
    config = hyperparameters.pop("config", "ours")
    if config not in ("ours", "paper"):
        raise ValueError(f"config must be 'ours' or 'paper', got {config!r}")
    base = GrowsArgs.paper() if config == "paper" else GrowsArgs()
    check_hyperparameters(
        "grows",
        GrowsArgs,
        hyperparameters,
        set_by_options=("total_steps", "seed", "num_envs"),
        extra=("config",),
    )
    slots = make_config(job.env_kwargs or {}).horizon
    fixed = job_budget(
        job, episode_steps=slots, default_steps=base.total_steps, batch_field="num_envs"
    )
    args = replace(base, **{**hyperparameters, **fixed})
    result = train(
        job.env_kwargs,
        args,
        out=path,
        tensorboard=job.tensorboard,
        eval_every=job.eval_every or 0,
        eval_episodes=job.eval_episodes,
        progress=not job.quiet,
    )
    report_done(
        job,
        f"grows: {result.checkpoint.step:,} steps ({result.checkpoint.episodes:,} episodes) "
        f"in {result.seconds:.0f} s",
    )
    return str(path)


_GROWS = PolicyEntry(
    name="grows",
    factory=make_grows,
    env_ids=(ENV_ID,),
    description="[GROWS] GNN Double-DQN (GCN over the BS graph); grows:PATH from "
    "'ua-envs train grows'",
    needs_checkpoint=True,
)
#: This module's policies.
POLICIES: tuple[PolicyEntry, ...] = (_GROWS,)
#: This module's trainers.
TRAINERS: tuple[TrainerEntry, ...] = (
    trainer_for(
        _GROWS,
        job_trainer(_train_grows),
        "GNN Double-DQN, replay and target network (ours or config=paper; saves .pt)",
        default_suffix=".pt",
        options=JOB_TRAIN_OPTIONS - {"resume"},
    ),
)
