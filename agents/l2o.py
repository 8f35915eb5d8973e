"""Learning to optimize ([GS-GNN], [AttSKGS]): a GNN trained through the differentiable sum rate.

No labels and no RL: each training step draws ``batch_size`` fresh instances from the native
vector env (``reset()``), scores every BS–UE link with the edge-update GNN of [GS-GNN]
(:class:`agents.nets.EdgeNodeLayer`), turns the logits into a relaxed association with one of
the heads of :mod:`agents.nets.assignment_heads` (``softmax``, ``gs``, ``stgs``, ``skgs``) and
ascends the env's own differentiable sum rate (``vector_env.evaluate(association)``, the
configured beamformer, MRT by default), minus the load regulariser of [AttSKGS] where the env
has a load limit::

    loss = -mean_b R_b(a) + Σ_m μ_m · mean_b ReLU(Σ_k a_{m,k} - (limit - δ))

with ``μ_m ← max(0, μ_m + η · mean violation_m)`` after every step (dual ascent).

At test time the association is integer: each UE to its highest-logit BS; in an env with a
load limit (``MultiCellAssocBalanced-v0``) the policy ``l2o`` repairs it to a load-feasible one
by the exact capacitated assignment (:func:`ua_envs.core.assignment.capacitated_assignment` on
the log-probabilities: the most likely feasible association). ``L2OPolicy(scorer, None)`` is
the unrepaired policy (for measuring the violation ratio before repair). ``l2o_refined``
adds one round of local search scored by the env (:class:`L2OPolicy` ``refine``).

Joint design (``beam_head="mmse"``, in a ``beamforming="agent"`` env): the scorer also gives
every link a beam (:class:`agents.nets.MMSEBeamHead`), trained with the association through
``evaluate(association, beams=...)``; the policy ``l2o_beams`` acts with both.

Link features: :func:`agents.nets.link_features.link_features` (channel direction, gain,
MRT leakage and largest correlation per link).

Hyper-parameters: :class:`L2OArgs`. Trainer ``ua-envs train l2o --env ID --steps N --seed S
--out FILE.pt [--trainer-kwargs head=gs ...]``; policies ``l2o:FILE.pt``,
``l2o_refined:FILE.pt``, ``l2o_beams:FILE.pt``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
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
from agents.nets import AttentionEncoder, CorrelationMixing, MMSEBeamHead
from agents.nets.assignment_heads import HEADS, relaxed_association, straight_through
from agents.nets.edge_node import edge_layer_stack, run_edge_layers
from agents.nets.link_features import EXTRA_FEATURES, link_features, mrt_correlation
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
from ua_envs.core.units import dbm_to_watt
from ua_envs.core.validation import check_choice
from ua_envs.envs.base import state_to_torch

#: The env ids L2O trains on.
L2O_ENV_IDS: tuple[str, ...] = ("MultiCellAssoc-v0", "MultiCellAssocBalanced-v0")

ALGORITHM = "l2o"


@dataclass(frozen=True)
class L2OArgs:
    """Hyper-parameters of :func:`train` (defaults: ours, tuned on held-out seeds only).

    :param head: association head (:data:`agents.nets.assignment_heads.HEADS`): ``softmax``,
        ``gs`` (Gumbel-softmax), ``stgs`` (straight-through GS), ``skgs`` (Sinkhorn GS with the
        load limit as caps).
    :param hidden: width of every GNN layer and MLP.
    :param layers: edge-update layers.
    :param passes: refinement passes of the scorer (:class:`L2OScorer`).
    :param encoder: ``edge_node`` ([GS-GNN] edge-update layers) or ``attention`` (a transformer
        encoder over the links, [AttSKGS]-style); ``layers`` counts its layers either way.
    :param learning_rate: Adam step size (at step 0 with ``lr_schedule="cosine"``).
    :param lr_schedule: ``"constant"`` or ``"cosine"`` (the step size decays as
        ``½ (1 + cos(π t / T))`` to 0 at the last training instance).
    :param batch_size: fresh instances per gradient step.
    :param temperature_start: head temperature τ at step 0.
    :param temperature_end: τ at the end (geometric schedule in between).
    :param sinkhorn_iterations: rounds of the ``skgs`` head's Sinkhorn iteration.
    :param gumbel_samples: noise draws per instance and step for the noisy heads (``gs``,
        ``stgs``, ``skgs``): the loss averages their sum rates (a lower-variance estimate of
        the expected sum rate; the GNN runs once, the env scores each draw).
    :param load_slack: δ of the load regulariser (``limit - δ`` is the target load; the papers:
        2, ours 0 because the ``skgs`` head meets the caps by construction).
    :param multiplier_lr: η, the dual-ascent step of the load multipliers μ.
    :param straight_through: score, in the forward pass, the integer association the policy
        outputs from the head's scores (each UE's largest entry; with a load limit the
        capacitated assignment, :func:`hard_forward`), with the head's gradient backward: the
        training objective is then exactly the test-time sum rate.
    :param grad_clip: max gradient norm per step (0: no clipping).
    :param correlation_mixing: after every edge-update layer, let each link gather the states
        of the links whose MRT beams it hears (:class:`agents.nets.CorrelationMixing`; needs
        ``encoder="edge_node"``).
    :param beam_head: ``"none"`` (the env's beamformer scores the association) or ``"mmse"``
        (joint design: :class:`agents.nets.MMSEBeamHead` learns the beams too, trained through
        ``evaluate(association, beams=...)``; the env must have ``beamforming="agent"``, the
        policy is ``l2o_beams``).
    :param total_steps: training instances (one-step episodes: env steps), ≥ 1.
    :param seed: training seed (weights, Gumbel noise, instance stream).
    """

    head: str = "softmax"
    hidden: int = 64
    layers: int = 3
    passes: int = 1
    encoder: str = "edge_node"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    batch_size: int = 256
    temperature_start: float = 1.0
    temperature_end: float = 0.3
    sinkhorn_iterations: int = 20
    gumbel_samples: int = 1
    load_slack: float = 0.0
    multiplier_lr: float = 1.0
    straight_through: bool = False
    grad_clip: float = 1.0
    correlation_mixing: bool = False
    beam_head: str = "none"
    total_steps: int = 256_000
    seed: int = 0

    def __post_init__(self) -> None:
        if self.head not in HEADS:
            raise ValueError(f"head must be one of {', '.join(HEADS)}, got {self.head!r}")
        integers = (
            "hidden",
            "layers",
            "passes",
            "batch_size",
            "total_steps",
            "sinkhorn_iterations",
            "gumbel_samples",
        )
        check_fields(self, integers=integers)
        if self.encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {self.encoder!r}")
        check_choice("beam_head", self.beam_head, BEAM_HEADS)
        check_choice("lr_schedule", self.lr_schedule, LR_SCHEDULES)
        check_fields(
            self,
            flags=("straight_through", "correlation_mixing"),
            positive=("learning_rate", "temperature_start", "temperature_end"),
            nonnegative=("load_slack", "multiplier_lr", "grad_clip"),
        )
        if self.correlation_mixing and self.encoder != "edge_node":
            raise ValueError(
                f"correlation_mixing needs encoder='edge_node', got encoder={self.encoder!r}"
            )

    def progress(self, step: int) -> float:
        """The fraction ``t / T`` of training done after ``step`` instances, in ``[0, 1]``."""
        return min(max(step / self.total_steps, 0.0), 1.0)

    def step_size(self, step: int) -> float:
        """Adam's step size after ``step`` training instances (:attr:`lr_schedule`)."""
        if self.lr_schedule == "constant":
            return self.learning_rate
        return self.learning_rate * 0.5 * (1.0 + math.cos(math.pi * self.progress(step)))

    def temperature(self, step: int) -> float:
        """τ after ``step`` training instances (geometric from start to end)."""
        fraction = self.progress(step)
        return float(
            self.temperature_start * (self.temperature_end / self.temperature_start) ** fraction
        )


# --------------------------------------------------------------------------------------------
# Network
# --------------------------------------------------------------------------------------------

#: Learning-rate schedules of :class:`L2OArgs`.
LR_SCHEDULES: tuple[str, ...] = ("constant", "cosine")

#: Beam heads of :class:`L2OScorer` (``"none"``: association only).
BEAM_HEADS: tuple[str, ...] = ("none", "mmse")

#: Encoders of :class:`L2OScorer`: [GS-GNN]'s edge-update layers, or an attention encoder over
#: the links ([AttSKGS]'s attention GNN in spirit).
ENCODERS: tuple[str, ...] = ("edge_node", "attention")


class L2OScorer(nn.Module):
    """Link logits of the L2O agent: ``link_features → Linear → [EdgeNodeLayer]×L → Linear``.

    Edge features are carried with a residual connection from the second layer on; BS and UE
    node states start at zero (1 feature) and are built by the layers. With ``passes > 1`` the
    scorer runs again on its own output: each later pass also sees, per link, the previous
    pass's association probability ``p_{m,k}`` (softmax over BSs) and the BS's expected load
    share ``Σ_k p_{m,k} / K`` (the first pass sees ``1/M`` for both), so that UEs can react to
    each other's choices (who else goes to this BS, and so how much power is left per UE).

    With ``correlation_mixing``, a :class:`agents.nets.CorrelationMixing` step follows every
    edge-update layer: each link gathers the states of the links whose MRT beams it hears at
    the same BS. With ``beam_head="mmse"``, :meth:`beams` gives every link's beam from the
    last pass's link embeddings (:class:`agents.nets.MMSEBeamHead`).

    Shapes:
        ``observation`` as in :func:`link_features` → logits ``(B, M, K)`` float32;
        :meth:`encode` also returns the link embeddings ``(B, M, K, hidden)``; :meth:`beams`
        ``(B, M, K, N)`` complex64.

    :param num_antennas: ``N`` (the direction has ``2N`` entries).
    :param hidden: width of every layer.
    :param layers: number of edge-update layers, ≥ 1.
    :param passes: refinement passes, ≥ 1 (the same weights every pass).
    :param encoder: :data:`ENCODERS`.
    :param beam_head: :data:`BEAM_HEADS`.
    :param dual_power_w: the beam head's initial dual power per UE [W].
    :param correlation_mixing: a correlation-mixing step after every edge-update layer
        (``encoder="edge_node"`` only).
    """

    def __init__(
        self,
        num_antennas: int,
        hidden: int = 64,
        layers: int = 3,
        passes: int = 1,
        encoder: str = "edge_node",
        beam_head: str = "none",
        dual_power_w: float = 1.0,
        correlation_mixing: bool = False,
    ) -> None:
        super().__init__()
        if encoder not in ENCODERS:
            raise ValueError(f"encoder must be one of {', '.join(ENCODERS)}, got {encoder!r}")
        check_choice("beam_head", beam_head, BEAM_HEADS)
        if correlation_mixing and encoder != "edge_node":
            raise ValueError(f"correlation_mixing needs encoder='edge_node', got {encoder!r}")
        self.num_antennas = num_antennas
        self.passes = passes
        self.encoder = encoder
        feedback = 2 if passes > 1 else 0
        self.embed = nn.Linear(2 * num_antennas + EXTRA_FEATURES + feedback, hidden)
        self.layers = edge_layer_stack(hidden, layers if encoder == "edge_node" else 0)
        self.mixing = (
            nn.ModuleList(CorrelationMixing(hidden) for _ in self.layers)
            if correlation_mixing
            else None
        )
        # [AttSKGS]-style: every link attends to every other link of the instance.
        self.attention = (
            AttentionEncoder(hidden, hidden, heads=4, layers=layers)
            if encoder == "attention"
            else None
        )
        self.head = nn.Linear(hidden, 1)
        self.beam_head = (
            MMSEBeamHead(hidden, num_antennas, dual_power_w) if beam_head == "mmse" else None
        )

    def forward(self, observation: Mapping[str, Tensor]) -> Tensor:
        """``(B, M, K)`` link logits (see the class docstring)."""
        return self.encode(observation)[0]

    def encode(self, observation: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """The link logits ``(B, M, K)`` and the last pass's link embeddings."""
        between: Callable[[int, Tensor], Tensor] | None = None
        if self.mixing is None:
            features = link_features(observation)
        else:
            correlation = mrt_correlation(observation)  # once: the features read it too
            features = link_features(observation, correlation)
            mixing = self.mixing

            def between(index: int, states: Tensor) -> Tensor:
                return mixing[index](states, *correlation)

        batch, num_bs, num_ues, _ = features.shape
        probability = features.new_full((batch, num_bs, num_ues), 1.0 / num_bs)
        logits = features.new_zeros(batch, num_bs, num_ues)
        edge = features
        for _ in range(self.passes):
            inputs = features
            if self.passes > 1:
                share = probability.mean(dim=-1, keepdim=True).expand_as(probability)
                inputs = torch.cat([features, probability[..., None], share[..., None]], -1)
            logits, edge = self._score(inputs, between)
            probability = torch.softmax(logits, dim=-2)
        return logits, edge

    def beams(self, observation: Mapping[str, Tensor], edge: Tensor) -> Tensor:
        """``(B, M, K, N)`` complex64 unscaled beams of every link (``beam_head="mmse"``)."""
        if self.beam_head is None:
            raise ValueError("this scorer has no beam head (beam_head='none')")
        return self.beam_head(edge, observation["channel"].to(torch.float32))

    def _score(
        self, inputs: Tensor, between: Callable[[int, Tensor], Tensor] | None
    ) -> tuple[Tensor, Tensor]:
        edge = torch.relu(self.embed(inputs))
        batch, num_bs, num_ues, _ = edge.shape
        if self.attention is not None:
            tokens = self.attention(edge.reshape(batch, num_bs * num_ues, -1))
            edge = tokens.reshape(batch, num_bs, num_ues, -1)
        else:
            edge = run_edge_layers(self.layers, edge, between)
        return self.head(edge).squeeze(-1), edge


# --------------------------------------------------------------------------------------------
# Policy
# --------------------------------------------------------------------------------------------


def integer_association(logits: Tensor, limit: int | None) -> Tensor:
    """``(B, K)`` int64 BS indices: each UE's highest logit, or with ``limit`` the most likely
    association with at most ``limit`` UEs per BS (exact capacitated assignment on the
    per-UE log-probabilities, one instance at a time)."""
    from ua_envs.core.assignment import capacitated_assignment

    if limit is None:
        return logits.argmax(dim=-2)
    log_probs = torch.log_softmax(logits.detach().to(torch.float64), dim=-2).cpu()
    rows = [capacitated_assignment(row, limit) for row in log_probs]
    return torch.stack(rows).to(logits.device)


def hard_forward(association: Tensor, limit: int | None) -> Tensor:
    """Straight-through: the forward value is the integer association the policy would output
    from ``association``'s scores (each UE's largest entry, or with ``limit`` the capacitated
    assignment on their logarithms), the backward pass ``association``'s gradient."""
    if limit is None:
        return straight_through(association)
    scores = torch.log(association.detach().clamp_min(1e-12))
    index = integer_association(scores, limit)
    hard = torch.nn.functional.one_hot(index, association.shape[-2]).movedim(-1, -2)
    return hard.to(association.dtype) - association.detach() + association


class L2OPolicy:
    """The trained scorer as a policy of ``MultiCellAssoc*`` (single and batched).

    ``refine = 0`` (``l2o``): the GNN's integer association, a pure function of the
    observation. ``refine = R > 0`` (``l2o_refined``): then ``R`` rounds of local search on the
    env's own instances (:func:`agents.baselines.multicell.improve_by_moves`: every single-UE
    move, and with a load limit every swap, scored by the env's simulator; the best taken if it
    raises the sum rate) — it needs the env (``act(..., env=env)`` / ``act_batch(...,
    env=vector_env)``). ``own_beams=True`` (``l2o_beams``, a scorer with a beam head): the
    action of ``beamforming="agent"``, the association and the head's beams.

    :param scorer: the trained :class:`L2OScorer` (put in eval mode here).
    :param limit: the load limit to repair to (``None``: each UE to its highest logit).
    :param refine: local-search rounds after the GNN, ≥ 0 (not with ``own_beams``).
    :param own_beams: act with the scorer's beams.
    """

    def __init__(
        self,
        scorer: L2OScorer,
        limit: int | None = None,
        refine: int = 0,
        own_beams: bool = False,
    ) -> None:
        if isinstance(refine, bool) or not isinstance(refine, int) or refine < 0:
            raise ValueError(f"refine must be an integer >= 0, got {refine!r}")
        if own_beams and (refine or scorer.beam_head is None):
            raise ValueError("own_beams needs a scorer with a beam head and refine=0")
        self.scorer = scorer.eval()
        self.limit = limit
        self.refine = refine
        self.own_beams = own_beams
        self.name = "l2o_beams" if own_beams else "l2o" if refine == 0 else "l2o_refined"

    @torch.no_grad()
    def act_batch(
        self, observation: dict[str, Tensor], mask: Tensor | None, *, env: Any = None
    ) -> Any:
        """``(B, K)`` int64 BS indices for a batch of observations, or with ``own_beams`` the
        dict action of ``"agent"`` (``beams`` ``(B, M, K, N, 2)`` float32); ``mask`` unused;
        ``env``: the env whose instances they are, needed with ``refine > 0``."""
        del mask
        logits, edge = self.scorer.encode(observation)
        action = integer_association(logits, self.limit)
        if self.own_beams:
            beams = self.scorer.beams(observation, edge)
            return {"association": action, "beams": torch.view_as_real(beams).contiguous()}
        if self.refine == 0:
            return action
        if env is None:
            raise ValueError(
                f"{self.name} (refine={self.refine}) scores its candidates with the env: "
                "call act_batch(..., env=vector_env) / act(..., env=env)"
            )
        from agents.baselines.multicell import improve_by_moves

        base = env.unwrapped
        state = base.state
        if isinstance(state.channels, np.ndarray):  # a single env keeps a numpy state
            state = state_to_torch(state)
        return improve_by_moves(
            base.sim,
            state,
            action.to(state.channels.device),
            limit=self.limit,
            passes=self.refine,
        ).to(action.device)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> Any:
        """``(K,)`` int64 BS indices for one observation, or with ``own_beams`` the dict
        action (a batch of one of :meth:`act_batch`)."""
        del info
        batch = batch_of_one(observation, ("channel", "gain_db"))
        action = self.act_batch(batch, None, env=env)
        if self.own_beams:
            return {key: value[0].cpu().numpy() for key, value in action.items()}
        return action[0].cpu().numpy().astype(np.int64)


def env_load_limit(env: gym.Env | gym.vector.VectorEnv) -> int | None:
    """The resolved load limit of a multicell env (``None``: none)."""
    config = getattr(env.unwrapped, "config")  # noqa: B009 (Env and VectorEnv alike)
    limit = config.resolved_load_limit
    return None if limit is None else int(limit)


def build_scorer(args: L2OArgs, num_antennas: int, dual_power_w: float = 1.0) -> L2OScorer:
    """A fresh :class:`L2OScorer` of ``args``' architecture (``dual_power_w``: the beam head's
    initial dual power [W]; the trainer passes ``P / K``, a loaded checkpoint overwrites it)."""
    return L2OScorer(
        num_antennas,
        args.hidden,
        args.layers,
        args.passes,
        args.encoder,
        beam_head=args.beam_head,
        dual_power_w=dual_power_w,
        correlation_mixing=args.correlation_mixing,
    )


def load_scorer(checkpoint: Checkpoint) -> tuple[L2OScorer, L2OArgs]:
    """The scorer and hyper-parameters of an ``l2o`` checkpoint."""
    args = L2OArgs(**checkpoint.hyperparameters)
    scorer = build_scorer(args, int(checkpoint.extra["num_antennas"]))
    scorer.load_state_dict(checkpoint.state["scorer"])
    return scorer, args


#: Env settings an L2O checkpoint must share with the env it acts on (the GNN is size-free, so
#: the numbers of BSs, UEs and antennas, the power and the load limit may differ).
MATCHED_SETTINGS: tuple[str, ...] = ("beamforming", "scenario", "overload")


#: Local-search rounds of ``l2o_refined`` (one: the measured gain of a second is small).
REFINE_PASSES = 1


def _make(refine: int, own_beams: bool = False) -> Any:
    """The policy factory of ``l2o`` (``refine = 0``), ``l2o_refined`` or ``l2o_beams``."""
    name = "l2o_beams" if own_beams else "l2o" if refine == 0 else "l2o_refined"

    def make(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> L2OPolicy:
        """Load ``NAME:CHECKPOINT`` for ``env``: :class:`L2OPolicy` with this ``refine`` (and
        ``own_beams``), repairing to the env's load limit when it has one. The checkpoint
        serves either multicell id at any size, power or load limit; it must share the env's
        :data:`MATCHED_SETTINGS` (beamformer, scenario, overload rule).

        :raises ValueError: no checkpoint, one that does not load for this env, or a beam /
            association-only mismatch (one line).
        """
        del seed
        if checkpoint is None:
            raise ValueError(
                f"policy {name!r} needs a checkpoint: use {name}:PATH (or {name}:pretrained)"
            )
        env_id = env.spec.id if env.spec is not None else None
        if env_id not in L2O_ENV_IDS:
            raise ValueError(f"{name} serves {', '.join(L2O_ENV_IDS)}, got {env_id!r}")
        loaded = load_checkpoint(checkpoint, algorithm=ALGORITHM)
        has_beams = loaded.hyperparameters.get("beam_head", "none") != "none"
        if has_beams != own_beams:
            other = "l2o_beams" if has_beams else "l2o or l2o_refined"
            kind = "learns beams" if has_beams else "has no beam head"
            raise ValueError(f"checkpoint {checkpoint!r} {kind}: use {other}, not {name}")
        check_env_settings(checkpoint, loaded, env, MATCHED_SETTINGS)
        scorer, _ = load_scorer(loaded)
        return L2OPolicy(scorer, env_load_limit(env), refine=refine, own_beams=own_beams)

    return make


#: ``l2o:CHECKPOINT`` (the GNN's association).
make_l2o = _make(0)
#: ``l2o_refined:CHECKPOINT`` (the GNN's association + :data:`REFINE_PASSES` local-search
#: rounds).
make_l2o_refined = _make(REFINE_PASSES)
#: ``l2o_beams:CHECKPOINT`` (the association and the beam head's beams, ``beamforming="agent"``).
make_l2o_beams = _make(0, own_beams=True)


# --------------------------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------------------------


@dataclass
class L2OResult:
    """What :func:`train` returns: the checkpoint written, its scorer and the wall time [s]."""

    checkpoint: Checkpoint
    scorer: L2OScorer
    seconds: float


def train(
    env_id: str,
    env_kwargs: Mapping[str, Any] | None = None,
    args: L2OArgs | None = None,
    *,
    out: str | Path | None = None,
    tensorboard: str | None = None,
    eval_every: int = 0,
    eval_episodes: int = 200,
    progress: bool = False,
) -> L2OResult:
    """Train the L2O scorer on ``env_id`` (module docstring).

    :param env_id: ``MultiCellAssoc-v0`` or ``MultiCellAssocBalanced-v0``.
    :param env_kwargs: env kwargs (presets too).
    :param args: hyper-parameters (default :class:`L2OArgs`).
    :param out: checkpoint path (``None``: no files); the curve CSV/PNG and the best evaluated
        checkpoint (``.best.pt``) go next to it (:func:`agents.training.run_files`).
    :param tensorboard: directory of TensorBoard scalars.
    :param eval_every: evaluate the integer policy on held-out seeds every this many instances
        and at the end (0: never; needs ``out``).
    :param eval_episodes: episodes of each evaluation.
    :param progress: progress bar on stderr.
    :raises ValueError: another env id, a head/env mismatch (``skgs`` needs a load limit).
    """
    if env_id not in L2O_ENV_IDS:
        raise ValueError(f"l2o trains on {', '.join(L2O_ENV_IDS)}, got {env_id!r}")
    args = args or L2OArgs()
    env_kwargs = dict(env_kwargs or {})
    started = time.perf_counter()
    envs = gym.make_vec(
        env_id, num_envs=args.batch_size, vectorization_mode="vector_entry_point", **env_kwargs
    )
    base = envs.unwrapped
    limit = env_load_limit(envs)
    caps = None if limit is None else float(limit)  # the skgs head's per-BS caps
    if args.head == "skgs" and limit is None:
        envs.close()
        raise ValueError(
            "head 'skgs' needs a load limit (MultiCellAssocBalanced-v0 or load_limit=)"
        )
    agent_mode = base.config.beamforming == "agent"
    if agent_mode != (args.beam_head != "none"):
        envs.close()
        raise ValueError(
            f"beam_head={args.beam_head!r} and the env's beamforming="
            f"{base.config.beamforming!r} do not go together: the beam head learns the beams "
            "the env takes in its beamforming='agent' mode (--env-kwargs beamforming=agent "
            "--trainer-kwargs beam_head=mmse), and without it the env's beamformer scores"
        )
    evaluation_seed(args.seed, args.batch_size)
    torch.manual_seed(args.seed)  # the weights' initialisation (no other global draw follows)
    config = base.config
    # The beam head's dual powers start at P / K [W] (the regularised ZF of equal powers).
    dual_power_w = float(dbm_to_watt(float(config.tx_power_dbm))) / int(config.num_ues)
    scorer = build_scorer(args, int(config.num_antennas), dual_power_w)
    optimizer = torch.optim.Adam(scorer.parameters(), lr=args.learning_rate)
    noise = make_generator(args.seed, "gumbel")
    multipliers = torch.zeros(int(base.config.num_bs))
    files = run_files(out) if out is not None else None
    evaluation = PeriodicEvaluation(env_id, env_kwargs, eval_every if files else 0, eval_episodes)
    policy = L2OPolicy(scorer, limit, own_beams=agent_mode)

    def checkpoint(log: TrainingLog) -> Checkpoint:
        return Checkpoint(
            algorithm=ALGORITHM,
            env_id=env_id,
            hyperparameters=asdict(args),
            # No optimiser state: l2o runs are not resumed (each is minutes), and the shipped
            # files stay small.
            state={"scorer": dict(scorer.state_dict()), "multipliers": multipliers.clone()},
            env_kwargs=env_kwargs,
            step=log.step,
            episodes=log.episodes,
            seed=args.seed,
            curve=log.rows,
            rng={"gumbel": noise.get_state()},
            extra={
                "num_antennas": int(base.config.num_antennas),
                "load_limit": limit,
                "settings": env_settings(envs, MATCHED_SETTINGS),
            },
        )

    observation, _ = envs.reset(seed=args.seed)
    with TrainingLog(
        args.total_steps,
        curve_csv=files.curve_csv if files else None,
        tensorboard=tensorboard,
        quiet=not progress,
        description=f"l2o ({args.head}) on {env_id}",
    ) as log:
        scorer.train()
        while log.step < args.total_steps:
            temperature = args.temperature(log.step)
            for group in optimizer.param_groups:
                group["lr"] = args.step_size(log.step)
            logits, edge = scorer.encode(observation)
            beams = scorer.beams(observation, edge) if agent_mode else None
            # Several noise draws per instance (noisy heads): the mean of their sum rates.
            draws = args.gumbel_samples if args.head != "softmax" else 1
            sum_rate = torch.zeros(())
            excess = torch.zeros(())
            for _ in range(draws):
                association = relaxed_association(
                    logits,
                    args.head,
                    temperature,
                    generator=noise,
                    caps=caps,
                    sinkhorn_iterations=args.sinkhorn_iterations,
                )
                if args.straight_through:
                    association = hard_forward(association, limit)
                reward = envs.unwrapped.evaluate(association, beams=beams).reward
                sum_rate = sum_rate + reward / draws
                if limit is not None:
                    # (B, M) load above the target, per draw
                    load = association.sum(-1) - (limit - args.load_slack)
                    excess = excess + torch.relu(load) / draws
            loss = -sum_rate.mean()
            violation = torch.zeros_like(multipliers)
            if limit is not None:
                loss = loss + (multipliers * excess.mean(0)).sum()
                violation = excess.detach().mean(0)
            optimizer.zero_grad()
            loss.backward()
            if args.grad_clip > 0:
                nn.utils.clip_grad_norm_(scorer.parameters(), args.grad_clip)
            optimizer.step()
            multipliers = torch.relu(multipliers + args.multiplier_lr * violation)
            done = min(args.batch_size, args.total_steps - log.step)
            log.advance(done, sum_rate.detach()[:done].tolist(), temperature=temperature)
            scalars = {"loss": float(loss.detach()), "temperature": temperature}
            final = log.step >= args.total_steps
            if not final:
                observation, _ = envs.reset()  # fresh instances from the env's stream
            if evaluation.due(log.step, final=final):
                evaluate_and_save(
                    evaluation, policy, log, files, lambda: checkpoint(log), scorer, **scalars
                )
            elif final or log.step % (args.batch_size * 20) < args.batch_size:
                log.record(**scalars)
        result = checkpoint(log)
        if files is not None:
            save_checkpoint(files.checkpoint, result)
    envs.close()
    scorer.eval()
    return L2OResult(result, scorer, time.perf_counter() - started)


def args_from(hyperparameters: Mapping[str, Any], **fixed: Any) -> L2OArgs:
    """:class:`L2OArgs` from ``--trainer-kwargs`` (unknown names: one ``ValueError`` listing
    the valid ones) and the fields the command line sets itself (``fixed``)."""
    check_hyperparameters("l2o", L2OArgs, hyperparameters, set_by_options=fixed)
    return L2OArgs(**{**hyperparameters, **fixed})


# --------------------------------------------------------------------------------------------
# Registry entries (collected by agents.registry.load_builtin)
# --------------------------------------------------------------------------------------------


def _train_l2o(job: TrainJob) -> str:
    """Train the L2O GNN on a ``MultiCellAssoc*`` id and save it to ``out`` (``.pt``).

    Budget: ``--steps`` training instances (default :attr:`L2OArgs.total_steps`);
    ``--num-envs`` is the batch of instances per gradient step (:attr:`L2OArgs.batch_size`);
    ``--trainer-kwargs`` set the other :class:`L2OArgs` fields (``head=gs``). ``--eval-every
    N`` evaluates the integer policy (repaired to the load limit where the env has one) on
    ``--eval-episodes`` held-out instances every N steps and keeps ``<out stem>.best.pt``.
    Returns the path written.

    :raises ValueError: an unknown hyper-parameter (the message lists the valid ones), another
        env id, ``skgs`` on an env without a load limit.
    """

    from agents.training import job_budget, report_done

    if job.env_id not in L2O_ENV_IDS:
        raise ValueError(f"l2o trains on {', '.join(L2O_ENV_IDS)}, got {job.env_id!r}")
    path = job.checked_out(".pt")
    fixed = job_budget(job, episode_steps=1, default_steps=L2OArgs.total_steps)
    args = args_from(job.hyperparameters, **fixed)
    result = train(
        job.env_id,
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
        f"l2o ({args.head}): {result.checkpoint.step:,} instances in {result.seconds:.0f} s",
    )
    return str(path)


_L2O = PolicyEntry(
    name="l2o",
    factory=make_l2o,
    env_ids=L2O_ENV_IDS,
    description="learning-to-optimize GNN ([GS-GNN]/[AttSKGS] heads) trained through the "
    "differentiable sum rate; l2o:PATH from 'ua-envs train l2o'",
    needs_checkpoint=True,
)
_L2O_REFINED = PolicyEntry(
    name="l2o_refined",
    factory=make_l2o_refined,
    env_ids=L2O_ENV_IDS,
    description="l2o's association + one round of local search scored by the env (every "
    "single-UE move; with a load limit every swap too); l2o_refined:PATH",
    needs_checkpoint=True,
)
_L2O_BEAMS = PolicyEntry(
    name="l2o_beams",
    factory=make_l2o_beams,
    env_ids=L2O_ENV_IDS,
    description="l2o with its learned beams (beam_head=mmse checkpoints) through the env's "
    "beamforming='agent' mode (declared); l2o_beams:PATH",
    needs_checkpoint=True,
    env_settings={"beamforming": "agent"},
)
#: This module's policies.
POLICIES: tuple[PolicyEntry, ...] = (_L2O, _L2O_REFINED, _L2O_BEAMS)
#: This module's trainers.
TRAINERS: tuple[TrainerEntry, ...] = (
    trainer_for(
        _L2O,
        job_trainer(_train_l2o),
        "L2O GNN through the differentiable sum rate (heads softmax|gs|stgs|skgs; saves .pt)",
        default_suffix=".pt",
        options=JOB_TRAIN_OPTIONS - {"resume", "episodes"},
    ),
)
