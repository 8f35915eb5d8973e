"""REINFORCE with a critic ([SupportSet]) on ``CellFreeAssoc-v0``.

Each training step draws ``batch_size`` fresh instances from the native vector env
(``reset()``) and decodes a support for every one of them with
:class:`agents.nets.SupportSetNet` (edge-update GNN encoder, support context, pointer decoder
with END): one link per step, sampled from the masked softmax, the env's exact action mask
applied, until END or no link is left. The simulator steps all instances as one batch
(``vector_env.sim.step``: the masks and the terminal reward, the sum rate of the final support
with the env's beamformer, partial RZF by default). The critic
(:class:`agents.nets.support_set.SupportSetCritic`) predicts that reward from the instance alone::

    A_b      = R_b − V(x_b)                       (advantage; optionally / std over the batch)
    L_actor  = − mean_b A_b · Σ_t log π(a_bt | S_bt) − β · entropy
    L_critic = mean_b (V(x_b) − R_b)²

At test time the policy decodes greedily (the most likely legal action each step); with
``samples = N > 1`` it decodes the greedy support and ``N − 1`` sampled ones per instance,
scores them with the env's own ``evaluate`` and plays the best, a decoding no paper reports.

Hyper-parameters: :class:`ReinforceArgs`. Trainer ``ua-envs train reinforce --env
CellFreeAssoc-v0 --steps N --seed S --out FILE.pt``; policy ``reinforce:FILE.pt`` (greedy) and
``reinforce_sampled:FILE.pt`` (best of :data:`DEFAULT_SAMPLES`).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor, nn

from agents.checkpoint import (
    Checkpoint,
    check_env_settings,
    env_settings,
    load_checkpoint,
    save_checkpoint,
)
from agents.entries import (
    JOB_TRAIN_OPTIONS,
    PolicyEntry,
    TrainerEntry,
    TrainJob,
    job_trainer,
    trainer_for,
)
from agents.nets.support_set import CONTEXTS, BeamPowerHead, SupportSetCritic, SupportSetNet
from agents.policy import batch_of_one
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
from ua_envs.envs.base import concat_states, state_to_torch

ENV_ID = "CellFreeAssoc-v0"
ALGORITHM = "reinforce"
#: Candidates of ``reinforce_sampled`` (greedy decoding + ``N − 1`` samples).
DEFAULT_SAMPLES = 8
#: Env settings a checkpoint must share with the env it acts on (sizes, power and scenario
#: parameters may differ: the network is size-free).
MATCHED_SETTINGS: tuple[str, ...] = ("require_coverage",)


@dataclass(frozen=True)
class ReinforceArgs:
    """Hyper-parameters of :func:`train` (ours; [SupportSet] gives no values for our sizes).

    :param hidden: width of every layer (divisible by ``heads``).
    :param layers: encoder edge-update layers (actor and critic each).
    :param context: ``"gnn"`` (an edge-update layer over the support, the paper's) or
        ``"attention"`` (the decoder's glimpse only).
    :param heads: decoder glimpse heads.
    :param clip: tanh clipping of the logits.
    :param learning_rate: Adam step size of the actor.
    :param critic_learning_rate: Adam step size of the critic.
    :param batch_size: instances decoded per gradient step.
    :param entropy_coef: β, weight of the mean per-step policy entropy bonus.
    :param normalize_advantage: divide the advantages by their batch standard deviation.
    :param grad_clip: max gradient norm of the actor and of the critic (0: none).
    :param total_steps: env steps to train (decoding steps summed over instances), ≥ 1.
    :param seed: training seed (weights, sampling, instance stream).
    :param beam_head_instances: after the policy, train the optional beamforming head
        (:class:`~agents.nets.support_set.BeamPowerHead`) on this many fresh instances, with
        the trained policy's greedy supports fixed (0: no head).
    :param beam_head_lr: Adam step size of the beamforming head.
    """

    hidden: int = 64
    layers: int = 3
    context: str = "gnn"
    heads: int = 4
    clip: float = 10.0
    learning_rate: float = 3e-4
    critic_learning_rate: float = 1e-3
    batch_size: int = 256
    entropy_coef: float = 0.0
    normalize_advantage: bool = True
    grad_clip: float = 1.0
    total_steps: int = 2_000_000
    seed: int = 0
    beam_head_instances: int = 0
    beam_head_lr: float = 1e-3

    def __post_init__(self) -> None:
        if (
            isinstance(self.beam_head_instances, bool)
            or not isinstance(self.beam_head_instances, int)
            or self.beam_head_instances < 0
        ):
            raise ValueError(
                f"beam_head_instances must be an integer >= 0, got {self.beam_head_instances!r}"
            )
        check_fields(self, integers=("hidden", "layers", "heads", "batch_size", "total_steps"))
        if self.hidden % self.heads:
            raise ValueError(
                f"hidden must be divisible by heads, got hidden={self.hidden}, heads={self.heads}"
            )
        if self.context not in CONTEXTS:
            raise ValueError(f"context must be one of {', '.join(CONTEXTS)}, got {self.context!r}")
        check_fields(
            self,
            flags=("normalize_advantage",),
            positive=("learning_rate", "critic_learning_rate", "clip", "beam_head_lr"),
            nonnegative=("entropy_coef", "grad_clip"),
        )


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------


@dataclass
class Rollout:
    """Supports decoded for a batch of instances (:func:`decode`).

    :param reward: ``(B,)`` float64 terminal reward (the sum rate of ``support``) [bit/s/Hz].
    :param log_prob: ``(B,)`` float32 Σ_t log π(a_t | S_t) (differentiable when sampled with
        gradients on).
    :param entropy: ``()`` float32 mean per-step policy entropy over the running rows.
    :param support: ``(B, M, K)`` bool final support.
    :param actions: ``(B, T)`` int64 actions taken (END repeated after a row ended).
    :param steps: ``(B,)`` int64 env steps of each episode (links + END).
    """

    reward: Tensor
    log_prob: Tensor
    entropy: Tensor
    support: Tensor
    actions: Tensor
    steps: Tensor


def decode(
    net: SupportSetNet,
    sim: Any,
    state: Any,
    *,
    greedy: bool,
    generator: torch.Generator | None = None,
) -> Rollout:
    """Run ``net`` on the simulator's batched ``state`` until every episode has ended.

    :param net: the policy network.
    :param sim: the env's batched simulator (:class:`~ua_envs.envs.cellfree.sim.
        CellFreeSimulator`; ``vector_env.unwrapped.sim``).
    :param state: its state at the start of the episodes (not modified).
    :param greedy: take the most likely legal action (else sample it).
    :param generator: the sampling stream (CPU; Gumbel-max trick), needed unless ``greedy``.
    :return: :class:`Rollout`.
    """
    observation = sim.observe(state)
    encoded = net.encode(observation)
    size = encoded.shape[0]
    device = encoded.device
    log_prob = torch.zeros(size, device=device)
    entropy_sum = torch.zeros((), device=device)
    entropy_count = 0
    reward = torch.zeros(size, dtype=torch.float64, device=device)
    steps = torch.zeros(size, dtype=torch.long, device=device)
    done = state.done.clone()
    actions = []
    for _ in range(int(sim.config.max_steps)):
        logits = net(observation, encoded)
        log_probs = torch.log_softmax(logits, -1)
        if greedy:
            action = logits.argmax(-1)
        else:
            if generator is None:
                raise ValueError("decode needs a generator to sample (greedy=False)")
            uniform = torch.rand(logits.shape, generator=generator).to(device)
            gumbel = -torch.log(-torch.log(uniform.clamp(1e-20, 1.0 - 1e-7)))
            action = (logits.detach() + gumbel).argmax(-1)
        running = ~done
        # Ended rows have only END legal: its log-probability is 0 and adds nothing.
        log_prob = log_prob + log_probs.gather(1, action[:, None]).squeeze(1)
        probs = log_probs.exp()
        step_entropy = -(probs * log_probs.masked_fill(probs == 0, 0.0)).sum(-1)
        entropy_sum = entropy_sum + (step_entropy * running).sum()
        entropy_count += int(running.sum())
        steps = steps + running.long()
        state, step_reward, terminated = sim.step(state, action)
        reward = reward + step_reward
        actions.append(action)
        done = terminated
        if bool(done.all()):
            break
        observation = sim.observe(state)
    return Rollout(
        reward=reward,
        log_prob=log_prob,
        entropy=entropy_sum / max(entropy_count, 1),
        support=state.support.clone(),
        actions=torch.stack(actions, 1),
        steps=steps,
    )


def head_beams(head: BeamPowerHead, sim: Any, state: Any, support: Tensor) -> Tensor:
    """The beamforming head's beams ``(B, M, K, N)`` complex64 for ``support`` ``(B, M, K)``:
    ``sqrt(w) ·`` the partial-RZF beams of that support (to be rescaled per AP by
    ``sim.evaluate(state, support, beams=...)``)."""
    with torch.no_grad():
        directions = sim.beams_of(state.channels, support, state.tx_power, state.noise_power, "rzf")
    # sqrt before masking: sqrt's gradient at 0 is infinite (0 · inf = NaN).
    amplitude = head(sim.observe(state), support).sqrt() * support
    return directions * amplitude.unsqueeze(-1).to(directions.dtype)


def build_beam_head(args: ReinforceArgs, num_antennas: int) -> BeamPowerHead:
    """A fresh beamforming head for ``args``' network (half its width, 2 layers)."""
    return BeamPowerHead(num_antennas, max(args.hidden // 2, 8), 2)


def load_beam_head(checkpoint: Checkpoint) -> BeamPowerHead | None:
    """The beamforming head of a ``reinforce`` checkpoint (eval mode), ``None`` without one."""
    if "beam_head" not in checkpoint.state:
        return None
    args = ReinforceArgs(**checkpoint.hyperparameters)
    head = build_beam_head(args, int(checkpoint.extra["num_antennas"]))
    head.load_state_dict(checkpoint.state["beam_head"])
    return head.eval()


def train_beam_head(
    actor: SupportSetNet,
    envs: Any,
    args: ReinforceArgs,
) -> tuple[BeamPowerHead, list[float]]:
    """Train the optional beamforming head on fresh instances of ``envs`` (its stream goes on),
    the actor's greedy supports fixed: ``loss = −mean_b R_b(support_b, head beams)``.

    :return: the head and its mean training sum rate per step [bit/s/Hz].
    """
    base = envs.unwrapped
    head = build_beam_head(args, int(base.config.num_antennas))
    optimizer = torch.optim.Adam(head.parameters(), lr=args.beam_head_lr)
    curve: list[float] = []
    done = 0
    while done < args.beam_head_instances:
        envs.reset()
        state = base.state
        with torch.no_grad():
            support = decode(actor, base.sim, state, greedy=True).support
        beams = head_beams(head, base.sim, state, support)
        sum_rate = base.sim.evaluate(state, support, beams=beams).reward
        loss = -sum_rate.mean()
        optimizer.zero_grad()
        loss.backward()
        if args.grad_clip > 0:
            nn.utils.clip_grad_norm_(head.parameters(), args.grad_clip)
        optimizer.step()
        curve.append(float(sum_rate.detach().mean()))
        done += int(support.shape[0])
    return head.eval(), curve


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


class ReinforcePolicy:
    """The trained network as a policy of ``CellFreeAssoc-v0`` (single and batched).

    ``samples == 1``: greedy decoding, a pure function of the observation (``act`` is
    ``act_batch`` on a batch of one). ``samples = N > 1``: at the first step of an episode
    (empty support) the policy decodes the greedy support and ``N − 1`` sampled ones on the
    env's instances, scores them with the env's ``evaluate`` and then emits the best one link
    per step, then END (it needs the env: ``act(..., env=env)`` / ``act_batch(..., env=envs)``).

    :param net: the trained :class:`~agents.nets.SupportSetNet` (put in eval mode here).
    :param samples: candidates per instance, ≥ 1.
    :param seed: seed of the sampling stream (``samples > 1``).
    """

    def __init__(self, net: SupportSetNet, samples: int = 1, seed: int | None = None) -> None:
        if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
            raise ValueError(f"samples must be an integer >= 1, got {samples!r}")
        self.net = net.eval()
        self.samples = samples
        self.name = "reinforce" if samples == 1 else "reinforce_sampled"
        self._seed = 0 if seed is None else int(seed)
        self._generator = make_generator(self._seed, "decoding")
        self._plan: Tensor | None = None  # (B, T) planned actions of the running episodes

    def reset(self, seed: int | None = None) -> None:
        """Restart the sampling stream (``seed``: a new one) and forget any plan."""
        if seed is not None:
            self._seed = int(seed)
        self._generator = make_generator(self._seed, "decoding")
        self._plan = None

    @torch.no_grad()
    def act_batch(
        self, observation: dict[str, Tensor], mask: Tensor | None, *, env: Any = None
    ) -> Tensor:
        """``(B,)`` int64 actions for a batch of observations (see the class docstring)."""
        del mask
        if self.samples == 1:
            return self.net(observation).argmax(-1)
        if env is None:
            raise ValueError(
                f"{self.name} (samples={self.samples}) scores its candidates with the env: "
                "call act_batch(..., env=vector_env) / act(..., env=env)"
            )
        taken = observation["support"].flatten(1) > 0.5
        fresh = ~taken.any(-1)
        if self._plan is None or self._plan.shape[0] != taken.shape[0] or bool(fresh.any()):
            self._replan(env.unwrapped, fresh)
        assert self._plan is not None
        # The next planned link not yet in the support (END when the plan is spent).
        end = taken.shape[1]
        plan = self._plan
        is_new = (plan < end) & ~taken.gather(1, plan.clamp_max(end - 1))
        first = torch.where(is_new.any(1), is_new.float().argmax(1), 0)
        action = torch.where(is_new.any(1), plan.gather(1, first[:, None]).squeeze(1), end)
        return action

    def _replan(self, unwrapped: Any, rows: Tensor) -> None:
        """Plan the best of :attr:`samples` supports for the ``rows`` that start an episode."""
        sim, state = unwrapped.sim, unwrapped.state
        if isinstance(state.done, np.ndarray):
            state = state_to_torch(state)
        size = int(state.done.shape[0])
        greedy = decode(self.net, sim, state, greedy=True)
        # Candidate i ≥ 1 of row b is row (i − 1)·B + b of the repeated batch.
        repeated = concat_states([state] * (self.samples - 1))
        sampled = decode(self.net, sim, repeated, greedy=False, generator=self._generator)
        end = int(sim.config.num_links)
        width = max(greedy.actions.shape[1], sampled.actions.shape[1])

        def padded(actions: Tensor) -> Tensor:
            return nn.functional.pad(actions, (0, width - actions.shape[1]), value=end)

        rewards = torch.cat([greedy.reward[None], sampled.reward.view(-1, size)])  # (N, B)
        plans = torch.cat(
            [padded(greedy.actions)[None], padded(sampled.actions).view(-1, size, width)]
        )  # (N, B, T)
        chosen = plans[rewards.argmax(0), torch.arange(size)]
        if self._plan is None or self._plan.shape[0] != size:
            self._plan = chosen
            return
        old = nn.functional.pad(self._plan, (0, max(0, width - self._plan.shape[1])), value=end)
        chosen = nn.functional.pad(chosen, (0, max(0, old.shape[1] - width)), value=end)
        self._plan = torch.where(rows[:, None].to(chosen.device), chosen, old)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> int:
        """One action for one observation (a batch of one of :meth:`act_batch`)."""
        del info
        return int(self.act_batch(batch_of_one(observation), None, env=env)[0])


def load_net(checkpoint: Checkpoint, max_ues_per_ap: int, max_aps_per_ue: int) -> SupportSetNet:
    """The policy network of a ``reinforce`` checkpoint (for an env with these caps)."""
    args = ReinforceArgs(**checkpoint.hyperparameters)
    net = build_net(args, int(checkpoint.extra["num_antennas"]), max_ues_per_ap, max_aps_per_ue)
    net.load_state_dict(checkpoint.state["actor"])
    return net.eval()


def build_net(
    args: ReinforceArgs, num_antennas: int, max_ues_per_ap: int, max_aps_per_ue: int
) -> SupportSetNet:
    """A fresh :class:`~agents.nets.SupportSetNet` with ``args``' architecture."""
    return SupportSetNet(
        num_antennas,
        hidden=args.hidden,
        layers=args.layers,
        context=args.context,
        heads=args.heads,
        clip=args.clip,
        max_ues_per_ap=max_ues_per_ap,
        max_aps_per_ue=max_aps_per_ue,
    )


def _make(samples: int) -> Any:
    def make(
        env: gym.Env, checkpoint: str | None = None, seed: int | None = None
    ) -> ReinforcePolicy:
        name = "reinforce" if samples == 1 else "reinforce_sampled"
        if checkpoint is None:
            raise ValueError(
                f"policy {name!r} needs a checkpoint: use {name}:PATH (or {name}:pretrained)"
            )
        loaded = load_checkpoint(checkpoint, algorithm=ALGORITHM, env_id=ENV_ID)
        config = env.unwrapped.config  # type: ignore[attr-defined]
        check_env_settings(checkpoint, loaded, env, MATCHED_SETTINGS)
        if int(loaded.extra["num_antennas"]) != int(config.num_antennas):
            raise ValueError(
                f"checkpoint {checkpoint!r} was trained with num_antennas="
                f"{loaded.extra['num_antennas']}, the env has num_antennas={config.num_antennas} "
                "(the network's input width depends on it; sizes M and K may differ)"
            )
        net = load_net(loaded, int(config.max_ues_per_ap), int(config.max_aps_per_ue))
        return ReinforcePolicy(net, samples=samples, seed=seed)

    return make


#: ``reinforce:CKPT`` (greedy decoding).
make_reinforce = _make(1)
#: ``reinforce_sampled:CKPT`` (best of :data:`DEFAULT_SAMPLES`).
make_reinforce_sampled = _make(DEFAULT_SAMPLES)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class ReinforceResult:
    """What :func:`train` returns: the checkpoint written, the actor and the wall time [s]."""

    checkpoint: Checkpoint
    net: SupportSetNet
    seconds: float


def train(
    env_kwargs: Mapping[str, Any] | None = None,
    args: ReinforceArgs | None = None,
    *,
    out: str | Path | None = None,
    tensorboard: str | None = None,
    eval_every: int = 0,
    eval_episodes: int = 200,
    progress: bool = False,
) -> ReinforceResult:
    """Train the actor and the critic on ``CellFreeAssoc-v0`` (module docstring).

    :param env_kwargs: env kwargs (presets too).
    :param args: hyper-parameters (default :class:`ReinforceArgs`).
    :param out: checkpoint path (``None``: no files); the curve and the best evaluated
        checkpoint (``.best.pt``) go next to it (:func:`agents.training.run_files`).
    :param tensorboard: directory of TensorBoard scalars.
    :param eval_every: evaluate greedy decoding on held-out seeds every this many env steps
        and at the end (0: never; needs ``out``).
    :param eval_episodes: episodes of each evaluation.
    :param progress: progress bar on stderr.
    """
    args = args or ReinforceArgs()
    env_kwargs = dict(env_kwargs or {})
    started = time.perf_counter()
    envs = gym.make_vec(
        ENV_ID, num_envs=args.batch_size, vectorization_mode="vector_entry_point", **env_kwargs
    )
    base = envs.unwrapped
    config = base.config
    sim = base.sim
    evaluation_seed(args.seed, args.batch_size)
    torch.manual_seed(args.seed)  # the weights' initialisation (no other global draw follows)
    num_antennas = int(config.num_antennas)
    actor = build_net(args, num_antennas, int(config.max_ues_per_ap), int(config.max_aps_per_ue))
    critic = SupportSetCritic(num_antennas, args.hidden, args.layers)
    actor_optimizer = torch.optim.Adam(actor.parameters(), lr=args.learning_rate)
    critic_optimizer = torch.optim.Adam(critic.parameters(), lr=args.critic_learning_rate)
    sampling = make_generator(args.seed, "decoding")
    files = run_files(out) if out is not None else None
    evaluation = PeriodicEvaluation(ENV_ID, env_kwargs, eval_every if files else 0, eval_episodes)
    policy = ReinforcePolicy(actor)
    beam_head: BeamPowerHead | None = None
    beam_curve: list[float] = []

    def checkpoint(log: TrainingLog) -> Checkpoint:
        # The actor only (and the head): the critic serves training, runs are not resumed,
        # and the shipped file stays under 2 MB.
        state = {"actor": dict(actor.state_dict())}
        if beam_head is not None:
            state["beam_head"] = dict(beam_head.state_dict())
        return Checkpoint(
            algorithm=ALGORITHM,
            env_id=ENV_ID,
            hyperparameters=asdict(args),
            state=state,
            env_kwargs=env_kwargs,
            step=log.step,
            episodes=log.episodes,
            seed=args.seed,
            curve=log.rows,
            rng={"decoding": sampling.get_state()},
            extra={
                "num_antennas": num_antennas,
                "settings": env_settings(envs, MATCHED_SETTINGS),
                "beam_head_curve": beam_curve,
            },
        )

    envs.reset(seed=args.seed)
    updates = 0
    with TrainingLog(
        args.total_steps,
        curve_csv=files.curve_csv if files else None,
        tensorboard=tensorboard,
        quiet=not progress,
        description=f"reinforce on {ENV_ID}",
    ) as log:
        actor.train()
        critic.train()
        while log.step < args.total_steps:
            state = base.state
            rollout = decode(actor, sim, state, greedy=False, generator=sampling)
            reward = rollout.reward.to(torch.float32)
            value = critic(sim.observe(state))
            advantage = reward - value.detach()
            if args.normalize_advantage:
                advantage = advantage / advantage.std().clamp_min(1e-6)
            actor_loss = -(advantage * rollout.log_prob).mean() - args.entropy_coef * (
                rollout.entropy
            )
            critic_loss = (value - reward).square().mean()
            for optimizer, loss, net in (
                (actor_optimizer, actor_loss, actor),
                (critic_optimizer, critic_loss, critic),
            ):
                optimizer.zero_grad()
                loss.backward()
                if args.grad_clip > 0:
                    nn.utils.clip_grad_norm_(net.parameters(), args.grad_clip)
                optimizer.step()
            updates += 1
            steps = int(rollout.steps.sum())
            log.advance(steps, rollout.reward.tolist())
            envs.reset()  # fresh instances from the env's stream
            scalars = {
                "actor_loss": float(actor_loss.detach()),
                "critic_loss": float(critic_loss.detach()),
                "entropy": float(rollout.entropy.detach()),
            }
            final = log.step >= args.total_steps
            if evaluation.due(log.step, final=final):
                evaluate_and_save(
                    evaluation, policy, log, files, lambda: checkpoint(log), actor, **scalars
                )
            elif final or updates % 20 == 0:
                log.record(**scalars)
        if args.beam_head_instances:
            # The head learns on the supports of the best held-out policy where there is one
            # (the file that is shipped) and is stored in both files.
            best = files.best if files is not None and files.best.exists() else None
            saved = load_checkpoint(best, algorithm=ALGORITHM) if best is not None else None
            head_actor = actor
            if saved is not None:
                head_actor = copy.deepcopy(actor)
                head_actor.load_state_dict(saved.state["actor"])
            beam_head, beam_curve = train_beam_head(head_actor.eval(), envs, args)
            if saved is not None and best is not None:
                saved.state["beam_head"] = dict(beam_head.state_dict())
                saved.extra["beam_head_curve"] = beam_curve
                save_checkpoint(best, saved)
        result = checkpoint(log)
        if files is not None:
            save_checkpoint(files.checkpoint, result)
    envs.close()
    actor.eval()
    return ReinforceResult(result, actor, time.perf_counter() - started)


def args_from(hyperparameters: Mapping[str, Any], **fixed: Any) -> ReinforceArgs:
    """:class:`ReinforceArgs` from ``--trainer-kwargs`` (unknown names: one ``ValueError``
    listing the valid ones) and the fields the command line sets itself (``fixed``)."""
    check_hyperparameters(ALGORITHM, ReinforceArgs, hyperparameters, set_by_options=fixed)
    return ReinforceArgs(**{**hyperparameters, **fixed})


# --------------------------------------------------------------------------------------------
# Registry entries (collected by agents.registry.load_builtin)
# --------------------------------------------------------------------------------------------


def _train_reinforce(job: TrainJob) -> str:
    """Train the [SupportSet] actor-critic on ``CellFreeAssoc-v0`` and save it to ``out``.

    Budget: ``--steps`` env steps (decoding steps over all instances; default
    :attr:`ReinforceArgs.total_steps`); ``--num-envs`` is the batch of instances per gradient
    step (:attr:`ReinforceArgs.batch_size`); ``--trainer-kwargs`` set the other
    :class:`ReinforceArgs` fields (``context=attention``). ``--eval-every N`` evaluates greedy
    decoding on ``--eval-episodes`` held-out instances every N steps and keeps ``<out
    stem>.best.pt``. Returns the path written.

    :raises ValueError: an unknown hyper-parameter (the message lists the valid ones), another
        env id.
    """
    from agents.training import job_budget, report_done

    if job.env_id != ENV_ID:
        raise ValueError(f"reinforce trains on {ENV_ID}, got {job.env_id!r}")
    path = job.checked_out(".pt")
    fixed = job_budget(job, episode_steps=None, default_steps=ReinforceArgs.total_steps)
    args = args_from(job.hyperparameters, **fixed)
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
        f"reinforce: {result.checkpoint.step:,} env steps "
        f"({result.checkpoint.episodes:,} instances) in {result.seconds:.0f} s",
    )
    return str(path)


_REINFORCE = PolicyEntry(
    name="reinforce",
    factory=make_reinforce,
    env_ids=(ENV_ID,),
    description="[SupportSet] GNN encoder-decoder trained by REINFORCE with a critic, greedy "
    "decoding; reinforce:PATH from 'ua-envs train reinforce'",
    needs_checkpoint=True,
)
_REINFORCE_SAMPLED = PolicyEntry(
    name="reinforce_sampled",
    factory=make_reinforce_sampled,
    env_ids=(ENV_ID,),
    description=f"a reinforce checkpoint decoding the best of {DEFAULT_SAMPLES} candidates "
    "(greedy + samples), scored with the env's evaluate",
    needs_checkpoint=True,
)
#: This module's policies.
POLICIES: tuple[PolicyEntry, ...] = (_REINFORCE, _REINFORCE_SAMPLED)
#: This module's trainers.
TRAINERS: tuple[TrainerEntry, ...] = (
    trainer_for(
        _REINFORCE,
        job_trainer(_train_reinforce),
        "[SupportSet] REINFORCE with a critic, GNN encoder-decoder (saves .pt)",
        default_suffix=".pt",
        options=JOB_TRAIN_OPTIONS - {"resume", "episodes"},
    ),
)
