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
``explore_fraction`` of the episodes, then 0 (the paper explores on 80 % of its episodes and
exploits on the rest). Episodes are cut by the time limit (40 slots), which the state does not
see, so the last transition bootstraps from the final observation (a truncation, not a
terminal state).

Batched: ``num_envs`` episodes run in the native vector env, and each slot's ``num_envs``
transitions update the table at once; transitions that hit the same ``(s, a)`` in one batch
are averaged (deterministic ``index_add_``), which equals sequential updates up to the order.
Training is reproducible from ``seed`` (env episodes, exploration draws).

Evaluation: masked greedy action; ties (e.g. a state never visited, all zeros) broken
uniformly at random with the policy's seed (the paper's initial policy is random).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from ua_envs.core.validation import check_float_range, check_int_range
from ua_envs.envs.slotted.sim import SlottedConfig, SlottedSimulator

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

    :param episodes: training episodes (of ``horizon`` slots each).
    :param num_envs: episodes run in parallel in the vector env (one table update per slot).
    :param learning_rate: step size ``lr`` (paper: 0.5).
    :param gamma: discount factor (paper: 0.5).
    :param epsilon_start: exploration rate at the first episode.
    :param epsilon_end: exploration rate at the end of the exploration phase.
    :param explore_fraction: fraction of the episodes with ε-greedy exploration (then greedy).
    :param demand_levels: bins of the demand range in the state.
    :param seed: seeds the env episodes and the exploration draws.
    """

    episodes: int = 100_000
    num_envs: int = 256
    learning_rate: float = 0.5
    gamma: float = 0.5
    epsilon_start: float = 1.0
    epsilon_end: float = 0.01
    explore_fraction: float = 0.8
    demand_levels: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        check_int_range("episodes", self.episodes, 1)
        check_int_range("num_envs", self.num_envs, 1)
        check_float_range("learning_rate", self.learning_rate, 0.0, 1.0, low_inclusive=False)
        check_float_range("gamma", self.gamma, 0.0, 1.0, high_inclusive=False)
        check_float_range("epsilon_start", self.epsilon_start, 0.0, 1.0)
        check_float_range("epsilon_end", self.epsilon_end, 0.0, 1.0)
        check_float_range("explore_fraction", self.explore_fraction, 0.0, 1.0)
        check_int_range("demand_levels", self.demand_levels, 1)
        check_int_range("seed", self.seed, 0)

    def epsilon(self, episode: int) -> float:
        """ε at training episode ``episode`` (exponential decay, then 0)."""
        explore = self.explore_fraction * self.episodes
        if episode >= explore:
            return 0.0
        if self.epsilon_end <= 0.0 or self.epsilon_start <= 0.0:
            return self.epsilon_start * (1.0 - episode / explore)
        ratio = self.epsilon_end / self.epsilon_start
        return self.epsilon_start * ratio ** (episode / explore)


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
    """A trained table with what is needed to use and check it.

    :param q: ``(num_states, num_actions)`` float32 action values.
    :param visits: ``(num_states, num_actions)`` int64 update counts.
    :param env_config: the training env's :class:`SlottedConfig` fields (JSON-able).
    :param args: the training :class:`QLearningArgs` fields.
    :param seconds: training wall time [s].
    """

    q: Tensor
    visits: Tensor
    env_config: dict[str, Any]
    args: dict[str, Any]
    seconds: float = 0.0

    def save(self, path: str | Path) -> Path:
        """Write an ``.npz`` (``q``, ``visits``, JSON metadata); return the path written."""
        path = Path(path)
        if path.parent and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        meta = {"env_config": self.env_config, "args": self.args, "seconds": self.seconds}
        with path.open("wb") as handle:
            np.savez_compressed(
                handle,
                q=self.q.numpy(),
                visits=self.visits.numpy(),
                meta=np.array(json.dumps(meta)),
            )
        return path

    @classmethod
    def load(cls, path: str | Path) -> QTable:
        """Read and check a table written by :meth:`save`.

        :raises ValueError: the file does not exist, or is not a readable table (empty,
            truncated, corrupted, not an ``.npz`` of ``q``, ``visits`` and JSON ``meta``), or
            its content is wrong: ``q`` not a 2-D float array or with NaN / inf entries,
            ``visits`` not non-negative integers of the same shape, ``meta`` without the
            ``env_config`` and ``args`` objects. One line, whatever numpy or zipfile raised.
        """
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
            torch.from_numpy(q32),
            torch.from_numpy(visits.astype(np.int64)),
            meta["env_config"],
            meta["args"],
            float(seconds),
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


def train(
    env_kwargs: dict[str, Any] | None = None,
    args: QLearningArgs | None = None,
    *,
    max_episode_steps: int | None = None,
    progress: bool = False,
) -> QTable:
    """Train a table on ``SlottedArrivalAssocVectorEnv(**env_kwargs)`` (module docstring).

    :param env_kwargs: env configuration (``SlottedConfig`` fields).
    :param args: hyper-parameters (default :class:`QLearningArgs`).
    :param max_episode_steps: slots per episode; ``None``: the env's ``horizon`` (40 by
        default), the episode length of the single env.
    :param progress: print ε and the mean episode utility every ~10 % on stderr.
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
    q = torch.zeros(encoder.num_states * num_actions, dtype=torch.float32)
    visits = torch.zeros(encoder.num_states * num_actions, dtype=torch.int64)
    generator = torch.Generator().manual_seed(args.seed + 1)  # exploration draws
    rounds = math.ceil(args.episodes / args.num_envs)
    obs, _ = envs.reset(seed=args.seed)
    state = encoder.encode(obs["nodes"], obs["arrival"])
    mask = obs["action_mask"].bool()
    report_every = max(1, rounds // 10)
    episode_utility = torch.zeros(args.num_envs)
    for r in range(rounds):
        epsilon = args.epsilon(r * args.num_envs)
        for _ in range(slots):
            q_s = q.view(-1, num_actions)[state]
            greedy = masked_greedy(q_s, mask, generator)
            explore = torch.rand(args.num_envs, generator=generator) < epsilon
            action = torch.where(explore, random_legal(mask, generator), greedy)
            obs, reward, terminated, truncated, infos = envs.step(action)
            episode_utility += reward
            done = terminated | truncated
            next_nodes, next_arrival, next_mask = obs["nodes"], obs["arrival"], obs["action_mask"]
            if bool(done.any()):
                # bootstrap from the episode's final observation, not the reset one
                final = infos["final_obs"]
                row = done.view(-1, 1)
                next_nodes = torch.where(row.unsqueeze(-1), final["nodes"], next_nodes)
                next_arrival = torch.where(row, final["arrival"], next_arrival)
                next_mask = torch.where(row, final["action_mask"], next_mask)
            next_state = encoder.encode(next_nodes, next_arrival)
            future = masked_max(q.view(-1, num_actions)[next_state], next_mask.bool())
            target = reward + args.gamma * future * (~terminated)
            flat = state * num_actions + action
            td_update(q, flat, target, args.learning_rate)
            visits.index_add_(0, flat, torch.ones_like(flat))
            state = encoder.encode(obs["nodes"], obs["arrival"])
            mask = obs["action_mask"].bool()
        if progress and (r % report_every == 0 or r == rounds - 1):
            import sys

            print(
                f"q_learning: episode {(r + 1) * args.num_envs:>8,} / {rounds * args.num_envs:,}"
                f"  epsilon {epsilon:.3f}  mean episode utility {episode_utility.mean():.2f}",
                file=sys.stderr,
            )
        episode_utility.zero_()
    envs.close()
    return QTable(
        q=q.view(-1, num_actions),
        visits=visits.view(-1, num_actions),
        env_config=config_dict(envs.config),
        args=asdict(args),
        seconds=time.perf_counter() - started,
    )


class QLearningPolicy:
    """Masked greedy policy of a trained :class:`QTable` for a single slotted env.

    :param table: the trained table.
    :param env: the env it acts in (its config must encode states as the training env did).
    :param seed: seed of the tie-breaking generator.
    """

    name = "q_learning"

    def __init__(self, table: QTable, env: gym.Env, seed: int | None = None) -> None:
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
