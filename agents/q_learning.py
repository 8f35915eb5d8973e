"""Tabular Q-learning for ``SlottedArrivalAssoc-v0`` (the GROWS paper's "Q" baseline, SPEC §5).

Discretised state (from the observation alone): the number of users at each BS, the arriving
user's SNR level to each BS (the nearest of the env's ``snr_levels_db`` + bias; "none" without
an arrival) and its demand level (``demand_levels`` equal bins of the demand range; "none"
without an arrival). Index, mixed radix with ``U = max_users_per_bs``, ``L`` SNR levels,
``D = demand_levels``::

    s = Σ_n users_n (U+1)^n + (U+1)^M · ( Σ_n snr_n (L+1)^n + (L+1)^M · demand )

so ``(U+1)^M (L+1)^M (D+1)`` states (108,000 at the defaults) × ``M + 1`` actions.

Learning (Watkins' Q-learning, the paper's settings): ``Q ← Q + lr (r + γ max_{a' legal} Q(s', a')
− Q)`` with ``lr = 0.5``, ``γ = 0.5``, ``Q = 0`` initially; ε-greedy over the legal actions with
ε decaying exponentially from ``epsilon_start`` to ``epsilon_end`` over the first
``explore_fraction`` of the env steps, then 0 (the paper explores on 80 % of its episodes and
exploits on the rest). Episodes are cut by the time limit (40 slots), which the state does not
see, so the last transition bootstraps from the final observation (a truncation, not a
terminal state).

Batched: ``num_envs`` episodes run in the native vector env, and each slot's ``num_envs``
transitions update the table at once; transitions that hit the same ``(s, a)`` in one batch
are averaged (deterministic ``index_add_``), which equals sequential updates up to the order.

Budget and training convention (:mod:`agents.training`): ``total_steps`` env steps, one step a
slot of one episode (``--episodes N`` is ``N × horizon`` steps). The sub-envs run in lockstep,
so training goes in rounds of ``num_envs`` episodes; when less than a round of budget is left,
only the first ``budget // slots`` episodes of the round (and the first ``budget % slots`` slots
of the next one) update the table, so the run trains exactly ``total_steps`` transitions.
Reproducible from ``seed``: the vector env is reset with ``seed`` (a resumed run with ``seed +
episodes done``) and the exploration draws come from :func:`agents.training.make_generator`;
no wall time enters the table. The checkpoint (:mod:`agents.checkpoint`) holds ``q`` and
``visits`` as tensors, the exploration generator's state, the :class:`QLearningArgs` and the
resolved env config; ``.npz`` tables of earlier versions still load (:meth:`QTable.load`).

Evaluation: masked greedy action; ties (e.g. a state never visited, all zeros) broken
uniformly at random with the policy's seed (the paper's initial policy is random). The policy
acts on single envs (:meth:`QLearningPolicy.act`) and on batches of the native vector env
(:meth:`QLearningPolicy.act_batch`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from agents.checkpoint import Checkpoint, load_checkpoint, save_checkpoint
from agents.training import (
    PeriodicEvaluation,
    TrainingLog,
    evaluation_seed,
    make_generator,
    run_files,
)
from ua_envs.core.validation import check_float_range, check_int_range
from ua_envs.envs.slotted.sim import SlottedConfig, SlottedSimulator, make_config

#: The checkpoint's algorithm name and the env id it trains on.
ALGORITHM = "q_learning"
ENV_ID = "SlottedArrivalAssoc-v0"

#: Config fields the state encoding depends on: a table is only valid for the same values.
ENCODING_FIELDS = (
    "num_bs",
    "max_users_per_bs",
    "snr_levels_db",
    "bs_bias_db",
    "mean_demand",
    "demand_spread",
)
#: Largest table (states × actions) the trainer allocates (float32: 400 MB).
MAX_TABLE_ENTRIES = 100_000_000


@dataclass(frozen=True)
class QLearningArgs:
    """Hyper-parameters of :func:`train` (defaults: the GROWS paper's Q-learning).

    :param total_steps: training budget in env steps (slots of one episode; the paper's
        100,000 episodes of 40 slots by default).
    :param num_envs: episodes run in parallel in the vector env (one table update per slot).
    :param learning_rate: step size ``lr`` (paper: 0.5).
    :param gamma: discount factor (paper: 0.5).
    :param epsilon_start: exploration rate at the first step.
    :param epsilon_end: exploration rate at the end of the exploration phase.
    :param explore_fraction: fraction of the steps with ε-greedy exploration (then greedy).
    :param demand_levels: bins of the demand range in the state.
    :param seed: seeds the env episodes and the exploration draws.
    """

    total_steps: int = 4_000_000
    num_envs: int = 256
    learning_rate: float = 0.5
    gamma: float = 0.5
    epsilon_start: float = 1.0
    epsilon_end: float = 0.01
    explore_fraction: float = 0.8
    demand_levels: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        check_int_range("total_steps", self.total_steps, 1)
        check_int_range("num_envs", self.num_envs, 1)
        check_float_range("learning_rate", self.learning_rate, 0.0, 1.0, low_inclusive=False)
        check_float_range("gamma", self.gamma, 0.0, 1.0, high_inclusive=False)
        check_float_range("epsilon_start", self.epsilon_start, 0.0, 1.0)
        check_float_range("epsilon_end", self.epsilon_end, 0.0, 1.0)
        check_float_range("explore_fraction", self.explore_fraction, 0.0, 1.0)
        check_int_range("demand_levels", self.demand_levels, 1)
        check_int_range("seed", self.seed, 0)

    def epsilon(self, step: int) -> float:
        """ε at training step ``step`` (exponential decay, then 0)."""
        explore = self.explore_fraction * self.total_steps
        if step >= explore:
            return 0.0
        if self.epsilon_end <= 0.0 or self.epsilon_start <= 0.0:
            return self.epsilon_start * (1.0 - step / explore)
        ratio = self.epsilon_end / self.epsilon_start
        return self.epsilon_start * ratio ** (step / explore)


class StateEncoder:
    """Observation → discrete state index (module docstring), batched torch.

    :param config: the env's configuration (levels, bias, seats, demand range).
    :param demand_levels: demand bins ``D``.
    """

    def __init__(self, config: SlottedConfig, demand_levels: int = 3) -> None:
        self.config = config
        self.demand_levels = check_int_range("demand_levels", demand_levels, 1)
        m, u, levels = config.num_bs, config.max_users_per_bs, len(config.snr_levels_db)
        self.num_levels = levels
        sim = SlottedSimulator(config)
        snr_db = torch.tensor(config.snr_levels_db).view(1, -1) + torch.tensor(
            config.bs_bias_db
        ).view(-1, 1)
        self._snr_features = sim.snr_feature(snr_db)  # (M, L) feature of each level at each BS
        self._users_radix = (u + 1) ** torch.arange(m)
        self._snr_radix = (levels + 1) ** torch.arange(m)
        self.num_user_codes = (u + 1) ** m
        self.num_snr_codes = (levels + 1) ** m
        self.num_states = self.num_user_codes * self.num_snr_codes * (self.demand_levels + 1)
        self.num_actions = m + 1
        if self.num_states * self.num_actions > MAX_TABLE_ENTRIES:
            raise ValueError(
                f"a Q-table for num_bs={m}, max_users_per_bs={u}, {levels} SNR levels and "
                f"demand_levels={demand_levels} needs {self.num_states * self.num_actions:,} "
                f"entries (max {MAX_TABLE_ENTRIES:,}); reduce them"
            )

    def encode(self, nodes: Tensor, arrival: Tensor) -> Tensor:
        """State indices ``(B,)`` int64 of ``nodes`` ``(B, M, 5)`` and ``arrival`` ``(B, 1)``."""
        cfg = self.config
        device = nodes.device
        users = torch.round(nodes[..., 0] * cfg.max_users_per_bs).long()  # (B, M)
        features = self._snr_features.to(device)
        distance = (nodes[..., 2].unsqueeze(-1) - features).abs()  # (B, M, L)
        snr_level = distance.argmin(-1)  # (B, M)
        demand = torch.round(nodes[:, 0, 3] * cfg.max_demand)  # (B,)
        offset = demand - (cfg.mean_demand - cfg.demand_spread)
        width = 2 * cfg.demand_spread + 1
        demand_level = torch.clamp(
            torch.floor(offset * self.demand_levels / width), 0, self.demand_levels - 1
        ).long()
        arrived = arrival.reshape(-1) > 0.5
        snr_level = torch.where(arrived.unsqueeze(1), snr_level, self.num_levels)
        demand_level = torch.where(arrived, demand_level, self.demand_levels)
        user_code = (users * self._users_radix.to(device)).sum(-1)
        snr_code = (snr_level * self._snr_radix.to(device)).sum(-1)
        return user_code + self.num_user_codes * (snr_code + self.num_snr_codes * demand_level)


def masked_max(q: Tensor, mask: Tensor) -> Tensor:
    """``max_a q[b, a]`` over the legal actions (``mask`` ``(B, A)`` bool; ≥ 1 legal per row)."""
    return q.masked_fill(~mask, -math.inf).max(-1).values


def masked_greedy(q: Tensor, mask: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Greedy legal action per row, ties broken uniformly at random (``(B,)`` int64)."""
    best = masked_max(q, mask).unsqueeze(-1)
    ties = mask & (q >= best)
    scores = torch.rand(q.shape, generator=generator, device=q.device)
    return scores.masked_fill(~ties, -1.0).argmax(-1)


def td_update(q: Tensor, index: Tensor, target: Tensor, learning_rate: float) -> None:
    """In place ``q[i] += lr (target − q[i])`` for a batch of flat indices ``index`` ``(B,)``.

    Entries hit several times in the batch move by the mean of their updates (a deterministic
    ``index_add_`` of ``delta / count``), the batched stand-in for sequential updates.
    """
    _, inverse, counts = torch.unique(index, return_inverse=True, return_counts=True)
    delta = learning_rate * (target - q[index]) / counts[inverse]
    q.index_add_(0, index, delta.to(q.dtype))


def random_legal(mask: Tensor, generator: torch.Generator | None = None) -> Tensor:
    """Uniformly random legal action per row (``(B,)`` int64)."""
    scores = torch.rand(mask.shape, generator=generator, device=mask.device)
    return scores.masked_fill(~mask, -1.0).argmax(-1)


@dataclass
class QTable:
    """A trained table with what is needed to use, check and continue it.

    :param q: ``(num_states, num_actions)`` float32 action values.
    :param visits: ``(num_states, num_actions)`` int64 update counts.
    :param env_config: the training env's :class:`SlottedConfig` fields (JSON-able).
    :param args: the training :class:`QLearningArgs` fields.
    :param env_kwargs: the env kwargs as given for training (``{}``: the defaults).
    :param step: env steps trained.
    :param episodes: training episodes finished.
    :param seconds: training wall time [s] (not saved in the checkpoint's state).
    """

    q: Tensor
    visits: Tensor
    env_config: dict[str, Any]
    args: dict[str, Any]
    env_kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    step: int = 0
    episodes: int = 0
    seconds: float = 0.0

    def checkpoint(
        self, curve: list[dict[str, Any]] | None = None, rng: dict[str, Tensor] | None = None
    ) -> Checkpoint:
        """The table as a :class:`~agents.checkpoint.Checkpoint` (``q``, ``visits`` in
        ``state``; the resolved env config in ``extra``)."""
        return Checkpoint(
            algorithm=ALGORITHM,
            env_id=ENV_ID,
            hyperparameters=dict(self.args),
            state={"q": self.q, "visits": self.visits},
            env_kwargs=dict(self.env_kwargs),
            step=self.step,
            episodes=self.episodes,
            seed=int(self.args.get("seed", 0)),
            curve=list(curve or []),
            rng=dict(rng or {}),
            extra={"env_config": self.env_config},
        )

    def save(self, path: str | Path) -> Path:
        """Write the table as a ``.pt`` checkpoint (:func:`agents.checkpoint.save_checkpoint`).

        :raises ValueError: ``path`` ends with ``.npz`` (the old format is read, not written).
        """
        if Path(path).suffix == ".npz":
            raise ValueError(
                f"path {str(path)!r}: .npz tables are the old format (read only); save as .pt"
            )
        return save_checkpoint(path, self.checkpoint())

    @classmethod
    def load(cls, path: str | Path) -> QTable:
        """Read and check a table: a ``.pt`` checkpoint, or an ``.npz`` of earlier versions.

        :raises ValueError: one line naming the file: it does not exist, is not a readable
            checkpoint (:func:`agents.checkpoint.load_checkpoint`) or ``.npz`` table (empty,
            truncated, corrupted, not an ``.npz`` of ``q``, ``visits`` and JSON ``meta``), holds
            another algorithm or env id, or its content is wrong: ``q`` not a 2-D float array
            or with NaN / inf entries, ``visits`` not non-negative integers of the same shape,
            no env config.
        """
        if Path(path).suffix == ".npz":
            return cls.load_npz(path)
        checkpoint = load_checkpoint(path, algorithm=ALGORITHM, env_id=ENV_ID)
        return cls.from_checkpoint(checkpoint, f"checkpoint {str(path)!r}")

    @classmethod
    def from_checkpoint(cls, checkpoint: Checkpoint, where: str = "checkpoint") -> QTable:
        """The table of a loaded checkpoint, checked as :meth:`load` says."""
        state = checkpoint.state
        q, visits = state.get("q"), state.get("visits")
        if not isinstance(q, Tensor) or not isinstance(visits, Tensor):
            raise ValueError(f"{where}: state must hold tensors 'q' and 'visits'")
        meta = {
            "env_config": checkpoint.extra.get("env_config"),
            "args": checkpoint.hyperparameters,
        }
        table = cls._checked(q.numpy(), visits.numpy(), meta, where)
        table.env_kwargs = dict(checkpoint.env_kwargs)
        table.step, table.episodes = checkpoint.step, checkpoint.episodes
        return table

    @classmethod
    def load_npz(cls, path: str | Path) -> QTable:
        """Read and check an ``.npz`` table of earlier versions (``q``, ``visits``, JSON
        ``meta``); errors as :meth:`load`."""
        path = Path(path)
        where = f"checkpoint {str(path)!r}"
        if not path.is_file():
            raise ValueError(f"{where} does not exist")
        try:
            with np.load(path, allow_pickle=False) as data:
                q = np.asarray(data["q"])
                visits = np.asarray(data["visits"])
                meta = json.loads(str(data["meta"]))
        except Exception as err:  # zipfile, zlib, OSError, EOFError, KeyError, ValueError, ...
            raise ValueError(
                f"{where} is not a Q-learning table ({type(err).__name__}: {err})"
            ) from None
        return cls._checked(q, visits, meta, where)

    @classmethod
    def _checked(cls, q: np.ndarray, visits: np.ndarray, meta: Any, where: str) -> QTable:
        """A table from loaded arrays and metadata, or ``ValueError`` saying what is wrong."""
        if q.ndim != 2 or q.dtype.kind not in "fiu" or 0 in q.shape:
            raise ValueError(
                f"{where}: q must be a non-empty 2-D float array (states, actions), "
                f"got dtype {q.dtype} shape {q.shape}"
            )
        with np.errstate(over="ignore"):  # values beyond float32 become inf, refused below
            q32 = q.astype(np.float32)
        if not bool(np.isfinite(q32).all()):
            bad = int((~np.isfinite(q32)).sum())
            raise ValueError(
                f"{where}: q has {bad} non-finite (NaN or inf) entries; a Q-table must be finite"
            )
        if visits.shape != q.shape or visits.dtype.kind not in "iu" or bool((visits < 0).any()):
            raise ValueError(
                f"{where}: visits must be non-negative integers of q's shape {q.shape}, "
                f"got dtype {visits.dtype} shape {visits.shape}"
            )
        if not isinstance(meta, dict):
            raise ValueError(f"{where}: meta must be a JSON object, got {type(meta).__name__}")
        for key in ("env_config", "args"):
            if not isinstance(meta.get(key), dict):
                raise ValueError(
                    f"{where}: meta[{key!r}] must be a JSON object, got {meta.get(key)!r}"
                )
        levels = meta["args"].get("demand_levels", 3)
        if isinstance(levels, bool) or not isinstance(levels, int) or levels < 1:
            raise ValueError(
                f"{where}: meta['args']['demand_levels'] must be an integer >= 1, got {levels!r}"
            )
        seconds = meta.get("seconds", 0.0)
        if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
            raise ValueError(f"{where}: meta['seconds'] must be a number, got {seconds!r}")
        return cls(
            q=torch.from_numpy(q32),
            visits=torch.from_numpy(visits.astype(np.int64)),
            env_config=meta["env_config"],
            args=meta["args"],
            seconds=float(seconds),
        )

    def check_compatible(self, config: SlottedConfig) -> None:
        """``ValueError`` unless ``config`` encodes states as the training env did."""
        for name in ENCODING_FIELDS:
            trained = self.env_config.get(name)
            current = getattr(config, name)
            if isinstance(current, tuple) and isinstance(trained, list):
                trained = tuple(trained)
            if trained != current:
                raise ValueError(
                    f"Q-table trained with {name}={trained!r} cannot drive an env with "
                    f"{name}={current!r}"
                )


def config_dict(config: SlottedConfig) -> dict[str, Any]:
    """JSON-able fields of a :class:`SlottedConfig`."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}


def compatible_env_kwargs(trained: Mapping[str, Any], given: Mapping[str, Any]) -> str | None:
    """Why a table trained with env kwargs ``trained`` cannot continue on ``given`` (``None``:
    it can): the resolved configs differ in a field of :data:`ENCODING_FIELDS`."""
    before, now = make_config(trained), make_config(given)
    for name in ENCODING_FIELDS:
        if getattr(before, name) != getattr(now, name):
            return f"{name}={getattr(before, name)!r} when trained, {getattr(now, name)!r} now"
    return None


def train(
    env_kwargs: dict[str, Any] | None = None,
    args: QLearningArgs | None = None,
    *,
    max_episode_steps: int | None = None,
    out: str | Path | None = None,
    resume: Checkpoint | None = None,
    tensorboard: str | Path | None = None,
    eval_every: int = 0,
    eval_episodes: int = 100,
    progress: bool = False,
) -> QTable:
    """Train a table on ``SlottedArrivalAssocVectorEnv(**env_kwargs)`` (module docstring).

    :param env_kwargs: env configuration (``SlottedConfig`` fields).
    :param args: hyper-parameters (default :class:`QLearningArgs`).
    :param max_episode_steps: slots per episode; ``None``: the env's ``horizon`` (40 by
        default), the episode length of the single env.
    :param out: checkpoint path: the last checkpoint is written there, with the curve
        (``.curve.csv`` / ``.png``) and the best evaluated one (``.best.pt``) next to it
        (:func:`agents.training.run_files`); ``None``: no files.
    :param resume: a loaded checkpoint to continue (table, visits, exploration generator,
        step and episode counts, curve) up to ``args.total_steps``.
    :param tensorboard: directory of TensorBoard event files (``None``: none).
    :param eval_every: evaluate the greedy policy on held-out seeds every this many steps
        and at the end (``0``: never); needs ``out`` to keep the best checkpoint.
    :param eval_episodes: episodes of each evaluation.
    :param progress: show the progress bar on stderr.
    :raises ValueError: a resumed table of another shape or already at ``total_steps``, or a
        seed whose training resets would reach the evaluation seeds.
    """
    from ua_envs.envs.slotted.vector import SlottedArrivalAssocVectorEnv

    args = args or QLearningArgs()
    env_kwargs = dict(env_kwargs or {})
    started = time.perf_counter()
    envs = SlottedArrivalAssocVectorEnv(
        args.num_envs, max_episode_steps=max_episode_steps, **env_kwargs
    )
    slots = envs.max_episode_steps or envs.config.horizon  # the episode length
    encoder = StateEncoder(envs.config, args.demand_levels)
    num_actions = encoder.num_actions
    shape = (encoder.num_states, num_actions)
    table = QTable(
        q=torch.zeros(shape, dtype=torch.float32),
        visits=torch.zeros(shape, dtype=torch.int64),
        env_config=config_dict(envs.config),
        args=asdict(args),
        env_kwargs=env_kwargs,
    )
    explore_rng = make_generator(args.seed, "exploration")
    curve: list[dict[str, Any]] = []
    if resume is not None:
        resumed = QTable.from_checkpoint(resume)
        if tuple(resumed.q.shape) != shape:
            envs.close()
            raise ValueError(
                f"resume: the checkpoint's table has shape {tuple(resumed.q.shape)}, this "
                f"env and demand_levels={args.demand_levels} need {shape}"
            )
        table.q, table.visits = resumed.q, resumed.visits
        table.step, table.episodes = resume.step, resume.episodes
        if "exploration" in resume.rng:
            explore_rng.set_state(resume.rng["exploration"])
        curve = resume.curve
    if table.step >= args.total_steps:
        envs.close()
        raise ValueError(
            f"total_steps={args.total_steps:,} is not beyond the {table.step:,} steps trained"
        )
    # Training resets use seeds seed + episodes_done + i: keep them below the evaluation seeds.
    max_episodes = table.episodes + math.ceil((args.total_steps - table.step) / slots)
    evaluation_seed(args.seed, max_episodes + args.num_envs)
    files = run_files(out) if out is not None else None
    evaluation = PeriodicEvaluation(
        ENV_ID,
        env_kwargs,
        eval_every if files else 0,
        eval_episodes,
        start_step=table.step,
        rows=curve,
    )
    q, visits = table.q.view(-1), table.visits.view(-1)  # flat views, updated in place
    rows = torch.arange(args.num_envs)
    episode_return = torch.zeros(args.num_envs)
    policy = QLearningPolicy(table, envs, seed=0)

    def save(log: TrainingLog, best: bool) -> None:
        assert files is not None
        table.step, table.episodes = log.step, log.episodes
        checkpoint = table.checkpoint(curve=log.rows, rng={"exploration": explore_rng.get_state()})
        save_checkpoint(files.checkpoint, checkpoint)
        if best:
            save_checkpoint(files.best, checkpoint)

    def record(log: TrainingLog, **scalars: float) -> None:
        visited = int((table.visits.sum(1) > 0).sum())
        log.record(epsilon=args.epsilon(log.step), visited_states=visited, **scalars)

    def evaluate_and_save(log: TrainingLog) -> None:
        mean, best = evaluation(policy, log.step)
        record(log, eval_return=mean)
        save(log, best)

    obs, _ = envs.reset(seed=args.seed + table.episodes)
    state = encoder.encode(obs["nodes"], obs["arrival"])
    mask = obs["action_mask"].bool()
    with TrainingLog(
        args.total_steps,
        curve_csv=files.curve_csv if files else None,
        rows=curve,
        start_step=table.step,
        start_episodes=table.episodes,
        tensorboard=tensorboard,
        quiet=not progress,
        description=f"q_learning on {ENV_ID}",
    ) as log:
        while log.step < args.total_steps:
            # One round: num_envs episodes in lockstep; a short budget uses only some rows.
            budget = min(args.total_steps - log.step, args.num_envs * slots)
            full_rows, extra_slots = divmod(budget, slots)
            for slot in range(slots):
                active = (rows < full_rows) | ((rows == full_rows) & (slot < extra_slots))
                epsilon = args.epsilon(log.step)
                greedy = masked_greedy(q.view(shape)[state], mask, explore_rng)
                explore = torch.rand(args.num_envs, generator=explore_rng) < epsilon
                action = torch.where(explore, random_legal(mask, explore_rng), greedy)
                obs, reward, terminated, truncated, infos = envs.step(action)
                done = terminated | truncated
                next_nodes, next_arrival, next_mask = (
                    obs["nodes"],
                    obs["arrival"],
                    obs["action_mask"],
                )
                if bool(done.any()):
                    # bootstrap from the episode's final observation, not the reset one
                    final = infos["final_obs"]
                    row = done.view(-1, 1)
                    next_nodes = torch.where(row.unsqueeze(-1), final["nodes"], next_nodes)
                    next_arrival = torch.where(row, final["arrival"], next_arrival)
                    next_mask = torch.where(row, final["action_mask"], next_mask)
                next_state = encoder.encode(next_nodes, next_arrival)
                future = masked_max(q.view(shape)[next_state], next_mask.bool())
                target = reward + args.gamma * future * (~terminated)
                flat = (state * num_actions + action)[active]
                td_update(q, flat, target[active], args.learning_rate)
                visits.index_add_(0, flat, torch.ones_like(flat))
                episode_return += reward
                finished = episode_return[done & active].tolist()
                episode_return[done] = 0.0
                log.advance(int(active.sum()), finished, epsilon=epsilon)
                state = encoder.encode(obs["nodes"], obs["arrival"])
                mask = obs["action_mask"].bool()
                if evaluation.due(log.step):
                    evaluate_and_save(log)
                if log.step >= args.total_steps:
                    break
            if evaluation.due(log.step, final=log.step >= args.total_steps):
                evaluate_and_save(log)  # the end of the run is always evaluated
            elif not log.rows or log.rows[-1]["step"] != log.step:  # no evaluation row here
                record(log)
        table.step, table.episodes = log.step, log.episodes
        if files is not None:
            save(log, best=False)
    envs.close()
    table.seconds = time.perf_counter() - started
    return table


class QLearningPolicy:
    """Masked greedy policy of a trained :class:`QTable` for the slotted env (single or
    batched: :class:`~agents.policy.BatchPolicy`).

    :param table: the trained table.
    :param env: the env it acts in, single or native vector env (its config must encode
        states as the training env did).
    :param seed: seed of the tie-breaking generator.
    """

    name = "q_learning"

    def __init__(
        self, table: QTable, env: gym.Env | gym.vector.VectorEnv, seed: int | None = None
    ) -> None:
        config = getattr(env.unwrapped, "config", None)
        if not isinstance(config, SlottedConfig):
            raise ValueError("q_learning needs a SlottedArrivalAssoc env (no SlottedConfig found)")
        table.check_compatible(config)
        self.table = table
        self.encoder = StateEncoder(config, int(table.args.get("demand_levels", 3)))
        if tuple(table.q.shape) != (self.encoder.num_states, self.encoder.num_actions):
            raise ValueError(
                f"Q-table shape {tuple(table.q.shape)} does not match the env's encoding "
                f"({self.encoder.num_states}, {self.encoder.num_actions})"
            )
        self._seed = seed
        self._generator = torch.Generator()
        self.reset(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the tie-breaking generator."""
        if seed is None:
            self._generator.seed()
        else:
            self._generator.manual_seed(int(seed))

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.int64:
        """The masked greedy action of the table for one observation."""
        nodes = torch.as_tensor(np.asarray(observation["nodes"]), dtype=torch.float32)
        arrival = torch.as_tensor(np.asarray(observation["arrival"]), dtype=torch.float32)
        mask = torch.as_tensor(np.asarray(observation["action_mask"])).bool().view(1, -1)
        state = self.encoder.encode(nodes.unsqueeze(0), arrival.view(1, 1))
        action = masked_greedy(self.table.q[state], mask, self._generator)
        return np.int64(int(action[0]))

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """Masked greedy actions ``(B,)`` int64 for a batch of the native vector env.

        :param observation: ``nodes`` ``(B, M, 5)``, ``arrival`` ``(B, 1)`` (and
            ``action_mask`` ``(B, M + 1)``), on any device.
        :param mask: ``(B, M + 1)`` legal actions; ``None``: ``observation["action_mask"]``.
        :return: on the observation's device.
        """
        legal = observation["action_mask"] if mask is None else mask
        device = legal.device
        state = self.encoder.encode(
            observation["nodes"].float().cpu(), observation["arrival"].float().cpu()
        )
        action = masked_greedy(self.table.q[state], legal.bool().cpu(), self._generator)
        return action.to(device)
