"""Primal-dual actor-critic ([EGAT]) on ``FronthaulAssoc-v0``: association and beams.

The network (:class:`agents.nets.egat_agent.EGATAgentNet`: EGAT encoder over the AP–UE graph,
heads for a Bernoulli association probability per link, the beams — by default the optimal
joint-beam structure with learned dual and link powers, ``beam_head="mmse"`` — and a value) is
trained on batches of the native vector env. At every step, for ``batch_size`` fresh
instances of one capacity ``C`` (the capacities of :attr:`EGATArgs.capacities_mbps` in turn;
the capacity is an input, so one network serves them all):

1. sample ``X ~ Bernoulli(σ(z))`` per link;
2. score ``X`` with the network's beams for ``X`` through the simulator's differentiable
   ``evaluate(X, beams=ṽ)`` (beams rescaled to each AP's power; no scaling heuristic):
   the weighted sum rate ``R(X)`` and the loads ``ℓ_m(X)``;
3. the partial Lagrangian with the current multipliers of that capacity,
   ``L(X) = R(X) − Σ_m μ_m · max(0, ℓ_m − C') / bandwidth`` with ``C' = (1 − margin) · C``
   (the env's ``reward_mode="penalty"`` form: only the violation is priced, so that μ settles
   where the violation vanishes; the margin, one per capacity if given so, keeps the
   deterministic test-time association feasible on most instances);
4. loss ``−mean_b [L_b + A_b · log P(X_b | Π_b)] + c_v · mean_b (V_b − L_b)²`` with
   ``A = (L − b)`` and the baseline ``b`` = the critic's ``V`` (default, ``baseline="critic"``),
   the batch mean (``"mean"``) or none (``"none"``, [EGAT]'s plain term); ``L`` carries the
   beams' gradient (``beam_objective="wsr"``: ``R`` does, so the beams maximise the rate and
   the association alone answers for the loads), ``A`` is a constant;
5. dual ascent per AP: ``μ_m ← max(0, μ_m + η · (mean_b max(0, ℓ_m − C') / bandwidth − ε))``.

At test time the association is ``X = 1{σ(z) > 0.5}`` with the network's beams, acted through
the env's ``beamforming="agent"`` mode (policy ``egat:CKPT``, which declares it, so ``compare``
runs it beside ``pc_wmmse`` and ``fc_zf`` on the same instances); ``egat_assoc:CKPT`` is the
association alone under the env's own beamformer.

Hyper-parameters: :class:`EGATArgs`. Trainer ``ua-envs train egat --env FronthaulAssoc-v0
--env-kwargs preset=egat --steps N --seed S --out FILE.pt``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium as gym
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
from agents.nets.egat_agent import BEAM_HEADS, EGATAgentNet
from agents.policy import batch_of_one
from agents.training import (
    TrainingLog,
    check_fields,
    check_hyperparameters,
    evaluation_seed,
    make_generator,
    run_files,
)
from ua_envs.core.validation import check_choice

ENV_ID = "FronthaulAssoc-v0"
ALGORITHM = "egat"
#: Baselines of the policy-gradient term.
BASELINES: tuple[str, ...] = ("critic", "mean", "none")
#: Env settings a checkpoint must share with the env it acts on.
MATCHED_SETTINGS: tuple[str, ...] = ("load_rate_unit", "num_antennas")
#: What the beams' pathwise gradient may maximise (:attr:`EGATArgs.beam_objective`).
BEAM_OBJECTIVES: tuple[str, ...] = ("lagrangian", "wsr")


@dataclass(frozen=True)
class EGATArgs:
    """Hyper-parameters of :func:`train` (ours; [EGAT] gives no values for our sizes).

    :param hidden: width of nodes and links.
    :param layers: EGAT layers.
    :param heads: attention heads.
    :param learning_rate: Adam step size.
    :param batch_size: instances per gradient step.
    :param baseline: ``"critic"`` (default), ``"mean"`` or ``"none"``.
    :param value_coef: weight ``c_v`` of the critic's MSE loss.
    :param normalize_advantage: divide the advantages by their batch standard deviation.
    :param multiplier_lr: η, the dual-ascent step (per AP, bit/s/Hz of violation).
    :param violation_target: ε, the mean violation [bit/s/Hz] the dual ascent aims at (≥ 0).
    :param capacity_margin: train against ``(1 − margin) · C``: the priced violation is
        ``max(0, ℓ_m − (1 − margin) C)``, so that the deterministic test-time association stays
        within ``C`` on most instances; in ``[0, 1)``; one value for every capacity, or one
        per entry of ``capacities_mbps`` (:meth:`margin_of`).
    :param capacity_margin_mbps: a further absolute margin [Mbit/s]: the target is ``(1 −
        margin) C − margin_mbps`` (a larger relative margin at small C), > 0 at every C.
    :param gain_weighted_beams: ``beam_head="direct"`` only: beams start from the env's MRT
        (powers ∝ ``‖h‖²`` within an AP, :class:`~agents.nets.egat_agent.EGATAgentNet`'s
        ``gain_weighted``) instead of equal powers.
    :param beam_head: ``"mmse"`` (default: the optimal beam structure with a learned dual
        power per UE and power per link) or ``"direct"`` (a learned correction of each link's
        MRT direction and a power per link), :class:`~agents.nets.egat_agent.EGATAgentNet`.
    :param beam_objective: what the beams' pathwise gradient maximises: ``"lagrangian"``
        (the penalised rate: beams may also trade rate for load) or ``"wsr"`` (the weighted
        sum rate alone: the association carries the fronthaul constraint).
    :param capacities_mbps: the capacities trained on, in turn, one batch each.
    :param grad_clip: max gradient norm (0: none).
    :param total_steps: training instances (one-step episodes: env steps), ≥ 1.
    :param seed: training seed.
    """

    hidden: int = 32
    layers: int = 2
    heads: int = 4
    learning_rate: float = 1e-3
    batch_size: int = 256
    baseline: str = "critic"
    value_coef: float = 0.5
    normalize_advantage: bool = True
    multiplier_lr: float = 1.0
    violation_target: float = 0.0
    capacity_margin: float | tuple[float, ...] = 0.15
    capacity_margin_mbps: float = 0.0
    gain_weighted_beams: bool = False
    beam_head: str = "mmse"
    beam_objective: str = "lagrangian"
    capacities_mbps: tuple[float, ...] = field(default=(40.0, 50.0, 60.0, 70.0, 80.0, 90.0))
    grad_clip: float = 1.0
    total_steps: int = 1_200_000
    seed: int = 0

    def __post_init__(self) -> None:
        check_fields(self, integers=("hidden", "layers", "heads", "batch_size", "total_steps"))
        if self.hidden % self.heads:
            raise ValueError(
                f"hidden must be divisible by heads, got hidden={self.hidden}, heads={self.heads}"
            )
        if self.baseline not in BASELINES:
            raise ValueError(
                f"baseline must be one of {', '.join(BASELINES)}, got {self.baseline!r}"
            )
        check_fields(self, flags=("normalize_advantage", "gain_weighted_beams"))
        if not self.capacities_mbps or not all(
            isinstance(c, (int, float)) and math.isfinite(c) and c > 0 for c in self.capacities_mbps
        ):
            raise ValueError(
                f"capacities_mbps must be positive numbers, got {self.capacities_mbps!r}"
            )
        object.__setattr__(self, "capacities_mbps", tuple(float(c) for c in self.capacities_mbps))
        check_fields(self, positive=("learning_rate",))
        margins = (
            list(self.capacity_margin)
            if isinstance(self.capacity_margin, (tuple, list))
            else [self.capacity_margin]
        )
        if len(margins) not in (1, len(self.capacities_mbps)) or not all(
            isinstance(m, (int, float)) and not isinstance(m, bool) and 0 <= m < 1 for m in margins
        ):
            raise ValueError(
                f"capacity_margin must be in [0, 1), one value or one per capacity "
                f"({len(self.capacities_mbps)}), got {self.capacity_margin!r}"
            )
        if isinstance(self.capacity_margin, (tuple, list)):
            object.__setattr__(self, "capacity_margin", tuple(float(m) for m in margins))
        check_choice("beam_head", self.beam_head, BEAM_HEADS)
        if self.gain_weighted_beams and self.beam_head != "direct":
            raise ValueError(
                "gain_weighted_beams applies to beam_head='direct' only, got "
                f"beam_head={self.beam_head!r}"
            )
        if self.beam_objective not in BEAM_OBJECTIVES:
            raise ValueError(
                f"beam_objective must be one of {', '.join(BEAM_OBJECTIVES)}, got "
                f"{self.beam_objective!r}"
            )
        smallest = min(
            (1 - self.margin_of(index)) * capacity
            for index, capacity in enumerate(self.capacities_mbps)
        )
        if not (0 <= self.capacity_margin_mbps < smallest):
            raise ValueError(
                f"capacity_margin_mbps must be in [0, {smallest:g}) (the target must stay "
                f"positive at every capacity), got {self.capacity_margin_mbps!r}"
            )
        check_fields(
            self, nonnegative=("value_coef", "multiplier_lr", "violation_target", "grad_clip")
        )

    def margin_of(self, index: int) -> float:
        """The relative capacity margin of ``capacities_mbps[index]``."""
        margin = self.capacity_margin
        if isinstance(margin, tuple):
            return margin[index] if len(margin) > 1 else margin[0]
        return float(margin)


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


def beams_to_action(beams: Tensor) -> Tensor:
    """``(B, M, K, N)`` complex beams → the env's ``(B, M, K, N, 2)`` float32 beam action."""
    return torch.view_as_real(beams.to(torch.complex64)).contiguous()


class EGATPolicy:
    """The trained network as a ``FronthaulAssoc-v0`` policy (single and batched).

    ``own_beams=True`` (``egat``): the action of ``beamforming="agent"`` — the association
    ``1{σ(z) > 0.5}`` and the network's beams. ``own_beams=False`` (``egat_assoc``): the
    association alone, for the env's beamformer.

    :param net: the trained network (put in eval mode here).
    :param own_beams: act with the network's beams.
    """

    def __init__(self, net: EGATAgentNet, own_beams: bool = True) -> None:
        self.net = net.eval()
        self.own_beams = own_beams

    @torch.no_grad()
    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Any:
        """``(B, M·K)`` int8 association, or with own beams the dict action of ``"agent"``."""
        del mask
        out = self.net(observation)
        association = (out.logits > 0).to(torch.int8).flatten(1)
        if not self.own_beams:
            return association
        return {"association": association, "beams": beams_to_action(out.beams)}

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """One action for one observation (a batch of one of :meth:`act_batch`)."""
        del info, env
        action = self.act_batch(batch_of_one(observation), None)
        if not self.own_beams:
            return action[0].numpy()
        return {key: value[0].numpy() for key, value in action.items()}


def build_net(args: EGATArgs, num_antennas: int, dual_power_w: float = 1.0) -> EGATAgentNet:
    """A fresh network of ``args`` (``dual_power_w``: the ``"mmse"`` head's initial dual
    power [W]; the trainer passes ``P / K``, a loaded checkpoint overwrites it)."""
    return EGATAgentNet(
        num_antennas,
        args.hidden,
        args.layers,
        args.heads,
        args.gain_weighted_beams,
        beam_head=args.beam_head,
        dual_power_w=dual_power_w,
    )


def load_net(checkpoint: Checkpoint) -> EGATAgentNet:
    """The network of an ``egat`` checkpoint."""
    # Checkpoints written before the "mmse" head had only the "direct" one.
    args = EGATArgs(**{"beam_head": "direct", **checkpoint.hyperparameters})
    net = build_net(args, int(checkpoint.extra["num_antennas"]))
    net.load_state_dict(checkpoint.state["net"])
    return net.eval()


def _make(own_beams: bool) -> Any:
    name = "egat" if own_beams else "egat_assoc"

    def make(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> EGATPolicy:
        del seed
        if checkpoint is None:
            raise ValueError(f"policy {name!r} needs a checkpoint: use {name}:PATH")
        loaded = load_checkpoint(checkpoint, algorithm=ALGORITHM, env_id=ENV_ID)
        check_env_settings(checkpoint, loaded, env, MATCHED_SETTINGS)
        beamforming = env.unwrapped.config.beamforming  # type: ignore[attr-defined]
        if own_beams and beamforming != "agent":
            raise ValueError(
                f"policy 'egat' acts with its own beams and needs beamforming='agent' (it "
                f"declares it; got {beamforming!r}); 'egat_assoc' uses the env's beamformer"
            )
        if not own_beams and beamforming == "agent":
            raise ValueError(
                "policy 'egat_assoc' is the association alone; with beamforming='agent' use 'egat'"
            )
        return EGATPolicy(load_net(loaded), own_beams=own_beams)

    return make


make_egat = _make(True)
make_egat_assoc = _make(False)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class EGATResult:
    """What :func:`train` returns: the checkpoint, the network and the wall time [s]."""

    checkpoint: Checkpoint
    net: EGATAgentNet
    seconds: float


def primal_dual_step(
    net: EGATAgentNet,
    envs: Any,
    multipliers: Tensor,
    args: EGATArgs,
    generator: torch.Generator,
    margin: float | None = None,
) -> tuple[Tensor, dict[str, float], Tensor]:
    """Loss of one batch on the current instances of ``envs`` (module docstring, 1–4).

    :param multipliers: ``(M,)`` μ of this capacity.
    :param margin: the relative capacity margin of this capacity (default: the first of
        ``args``, :meth:`EGATArgs.margin_of`).
    :return: ``(loss, scalars, violation (M,))`` with the mean violation per AP [bit/s/Hz].
    """
    base = envs.unwrapped
    state = base.state
    observation = base.sim.observe(state, copy=False)
    out = net.encode(observation)
    probability = torch.sigmoid(out.logits)
    uniform = torch.rand(probability.shape, generator=generator).to(probability.device)
    association = (uniform < probability.detach()).to(torch.float32)
    log_prob = (
        association * nn.functional.logsigmoid(out.logits)
        + (1 - association) * nn.functional.logsigmoid(-out.logits)
    ).sum(dim=(1, 2))
    beams = net.beams(out, association)
    result = base.sim.score(state, association, enforce_fronthaul=None, beams=beams)
    bandwidth = float(base.sim.bandwidth_hz)
    margin = args.margin_of(0) if margin is None else margin
    target = (1.0 - margin) * base.sim.capacity_bps - args.capacity_margin_mbps * 1e6
    over = (result.load_bps - target).clamp_min(0.0) / bandwidth  # (B, M)
    lagrangian = result.wsr - (multipliers * over).sum(-1)
    signal = lagrangian.detach()
    if args.baseline == "critic":
        centred = signal - out.value.detach()
    elif args.baseline == "mean":
        centred = signal - signal.mean()
    else:
        centred = signal
    advantage = centred
    if args.normalize_advantage:
        advantage = advantage / advantage.std().clamp_min(1e-6)
    # The association is a detached sample: the pathwise term trains the beams only.
    pathwise = result.wsr if args.beam_objective == "wsr" else lagrangian
    loss = -(pathwise + advantage * log_prob).mean()
    if args.baseline == "critic":
        loss = loss + args.value_coef * (out.value - signal).square().mean()
    feasible = (result.load_bps <= base.sim.capacity_bps).all(-1).float().mean()
    scalars = {
        "wsr": float(result.wsr.detach().mean()),
        "feasible": float(feasible),
        "aps_per_ue": float(association.sum(1).mean()),
        # E[A²] of the unnormalised advantage: the scale of the score-function term's
        # variance, to compare the baselines.
        "advantage_sq": float(centred.square().mean()),
    }
    return loss, scalars, over.detach().mean(0)


def train(
    env_kwargs: Mapping[str, Any] | None = None,
    args: EGATArgs | None = None,
    *,
    out: str | Path | None = None,
    tensorboard: str | None = None,
    progress: bool = False,
) -> EGATResult:
    """Train the EGAT actor-critic on ``FronthaulAssoc-v0`` (module docstring).

    :param env_kwargs: env kwargs (``preset="egat"`` for the paper's setting); ``capacity_mbps``
        comes from :attr:`EGATArgs.capacities_mbps` and ``beamforming`` from the network.
    :param args: hyper-parameters (default :class:`EGATArgs`).
    :param out: checkpoint path (``None``: no files); the curve goes next to it.
    :param tensorboard: directory of TensorBoard scalars.
    :param progress: progress bar on stderr.
    :raises ValueError: ``capacity_mbps`` or ``beamforming`` in ``env_kwargs``.
    """
    args = args or EGATArgs()
    env_kwargs = dict(env_kwargs or {})
    for key in ("capacity_mbps", "beamforming"):
        if key in env_kwargs:
            raise ValueError(
                f"egat sets {key} itself (capacities: the capacities_mbps hyper-parameter; "
                f"beams: its own), remove {key}={env_kwargs[key]!r} from the env kwargs"
            )
    started = time.perf_counter()
    evaluation_seed(args.seed, args.batch_size * len(args.capacities_mbps))
    all_envs = []
    for index, capacity in enumerate(args.capacities_mbps):
        envs = gym.make_vec(
            ENV_ID,
            num_envs=args.batch_size,
            vectorization_mode="vector_entry_point",
            capacity_mbps=capacity,
            beamforming="agent",
            **env_kwargs,
        )
        envs.reset(seed=args.seed + index * args.batch_size)
        all_envs.append(envs)
    config = all_envs[0].unwrapped.config
    torch.manual_seed(args.seed)
    net = build_net(
        args,
        int(config.num_antennas),
        dual_power_w=float(all_envs[0].unwrapped.state.tx_power.mean()) / int(config.num_ues),
    )
    optimizer = torch.optim.Adam(net.parameters(), lr=args.learning_rate)
    sampling = make_generator(args.seed, "bernoulli")
    multipliers = torch.zeros(len(args.capacities_mbps), int(config.num_bs))
    files = run_files(out) if out is not None else None

    def checkpoint(log: TrainingLog) -> Checkpoint:
        return Checkpoint(
            algorithm=ALGORITHM,
            env_id=ENV_ID,
            hyperparameters=asdict(args),
            state={"net": dict(net.state_dict()), "multipliers": multipliers.clone()},
            env_kwargs=env_kwargs,
            step=log.step,
            episodes=log.episodes,
            seed=args.seed,
            curve=log.rows,
            rng={"bernoulli": sampling.get_state()},
            extra={
                "num_antennas": int(config.num_antennas),
                "settings": env_settings(all_envs[0], MATCHED_SETTINGS),
            },
        )

    updates = 0
    skipped = 0
    with TrainingLog(
        args.total_steps,
        curve_csv=files.curve_csv if files else None,
        tensorboard=tensorboard,
        quiet=not progress,
        description=f"egat on {ENV_ID}",
    ) as log:
        net.train()
        while log.step < args.total_steps:
            which = updates % len(args.capacities_mbps)
            envs = all_envs[which]
            loss, scalars, violation = primal_dual_step(
                net, envs, multipliers[which], args, sampling, args.margin_of(which)
            )
            optimizer.zero_grad()
            loss.backward()
            norm = nn.utils.clip_grad_norm_(
                net.parameters(), args.grad_clip if args.grad_clip > 0 else math.inf
            )
            if torch.isfinite(norm):
                optimizer.step()
            else:
                # A rare batch whose rate gradient is not finite (seen once in 10⁶ instances):
                # skip it rather than let NaN into the weights; counted in the curve.
                skipped += 1
            if torch.isfinite(violation).all():
                multipliers[which] = torch.relu(
                    multipliers[which] + args.multiplier_lr * (violation - args.violation_target)
                )
            updates += 1
            done = min(args.batch_size, args.total_steps - log.step)
            log.advance(done, [scalars["wsr"]] * done)
            envs.reset()
            if log.step >= args.total_steps or updates % 24 == 0:
                log.record(
                    loss=float(loss.detach()),
                    mean_multiplier=float(multipliers.mean()),
                    skipped_updates=float(skipped),
                    **scalars,
                )
        result = checkpoint(log)
        if files is not None:
            save_checkpoint(files.checkpoint, result)
    for envs in all_envs:
        envs.close()
    net.eval()
    return EGATResult(result, net, time.perf_counter() - started)


def args_from(hyperparameters: Mapping[str, Any], **fixed: Any) -> EGATArgs:
    """:class:`EGATArgs` from ``--trainer-kwargs`` and the command line's own fields."""
    check_hyperparameters(ALGORITHM, EGATArgs, hyperparameters, set_by_options=fixed)
    values = {**hyperparameters, **fixed}
    if isinstance(values.get("capacities_mbps"), (int, float)):
        values["capacities_mbps"] = (values["capacities_mbps"],)
    return EGATArgs(**values)


# --------------------------------------------------------------------------------------------
# Registry entries (collected by agents.registry.load_builtin)
# --------------------------------------------------------------------------------------------


def _train_egat(job: TrainJob) -> str:
    """Train the EGAT actor-critic on ``FronthaulAssoc-v0`` and save it to ``out`` (``.pt``).

    Budget: ``--steps`` training instances (default :attr:`EGATArgs.total_steps`);
    ``--num-envs`` instances per gradient step; ``--trainer-kwargs`` the other
    :class:`EGATArgs` fields. Returns the path written.

    :raises ValueError: an unknown hyper-parameter, another env id, ``capacity_mbps`` or
        ``beamforming`` among the env kwargs.
    """
    from agents.training import job_budget, report_done

    if job.env_id != ENV_ID:
        raise ValueError(f"egat trains on {ENV_ID}, got {job.env_id!r}")
    path = job.checked_out(".pt")
    fixed = job_budget(job, episode_steps=1, default_steps=EGATArgs.total_steps)
    args = args_from(job.hyperparameters, **fixed)
    result = train(
        job.env_kwargs, args, out=path, tensorboard=job.tensorboard, progress=not job.quiet
    )
    report_done(
        job,
        f"egat: {result.checkpoint.step:,} instances in {result.seconds:.0f} s",
    )
    return str(path)


_EGAT = PolicyEntry(
    name="egat",
    factory=make_egat,
    env_ids=(ENV_ID,),
    description="[EGAT] primal-dual actor-critic: Bernoulli association and its own beams "
    "(beamforming='agent'); egat:PATH from 'ua-envs train egat'",
    needs_checkpoint=True,
    env_settings={"beamforming": "agent"},
)
_EGAT_ASSOC = PolicyEntry(
    name="egat_assoc",
    factory=make_egat_assoc,
    env_ids=(ENV_ID,),
    description="an egat checkpoint's association alone, under the env's beamformer",
    needs_checkpoint=True,
)
#: This module's policies.
POLICIES: tuple[PolicyEntry, ...] = (_EGAT, _EGAT_ASSOC)
#: This module's trainers.
TRAINERS: tuple[TrainerEntry, ...] = (
    trainer_for(
        _EGAT,
        job_trainer(_train_egat),
        "[EGAT] primal-dual actor-critic, EGAT encoder, own beams (saves .pt)",
        default_suffix=".pt",
        options=JOB_TRAIN_OPTIONS - {"resume", "episodes", "eval_every", "eval_episodes"},
    ),
)
