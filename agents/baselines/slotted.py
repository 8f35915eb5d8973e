"""Baselines of the slotted family (SPEC §5), declared in ``POLICIES``/``TRAINERS``.

* ``argmax`` — the arriving user goes to the candidate BS with the best SNR (the GROWS paper's
  baseline "B", max-RSSI association); the no-op when there is no arrival or no candidate. It
  never declines a user voluntarily.
* ``q_learning`` — the masked greedy policy of a tabular Q-learning checkpoint
  (``q_learning:PATH``, see :mod:`agents.q_learning`); trained by
  ``ua-envs train q_learning --env SlottedArrivalAssoc-v0 --episodes N --seed S --out PATH``.
* ``random`` (generic, :mod:`agents.baselines.generic`) — uniform over the legal actions.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from agents.entries import (
    PolicyEntry,
    TrainerEntry,
    TrainJob,
    family_policies,
    job_trainer,
    trainer_for,
)

SLOTTED_IDS = ("SlottedArrivalAssoc-v0",)


def argmax_action(observation: Any) -> np.int64:
    """The best-SNR candidate BS of one slotted observation, or the no-op.

    Reads ``nodes[:, 2]`` (the new user's SNR feature, monotone in SNR, bias included) over the
    legal BS actions of ``action_mask``; ties go to the lower BS index.
    """
    mask = np.asarray(observation["action_mask"]).astype(bool)
    num_bs = mask.shape[0] - 1
    legal = mask[:num_bs]
    if not legal.any():
        return np.int64(num_bs)
    snr = np.asarray(observation["nodes"])[:, 2]
    return np.int64(int(np.argmax(np.where(legal, snr, -np.inf))))


class ArgmaxPolicy:
    """Each arriving user to the candidate BS with the strongest SNR (no-op otherwise)."""

    name = "argmax"

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.int64:
        """See :func:`argmax_action`."""
        return argmax_action(observation)


def make_argmax(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """``argmax`` for the slotted env (deterministic: ``checkpoint`` and ``seed`` unused)."""
    del env, checkpoint, seed
    return ArgmaxPolicy()


def make_q_learning(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """Load a Q-learning table (``.npz`` from ``ua-envs train q_learning``) for ``env``."""
    from agents.q_learning import QLearningPolicy, QTable

    if checkpoint is None:
        raise ValueError("policy 'q_learning' needs a checkpoint: use q_learning:PATH")
    return QLearningPolicy(QTable.load(checkpoint), env, seed=seed)


def _train_q_learning(job: TrainJob) -> str:
    """Train tabular Q-learning on ``env_id`` for ``episodes`` episodes and save it to ``out``.

    Uses the native vector env (256 episodes in parallel) with the paper's hyper-parameters
    (:class:`agents.q_learning.QLearningArgs`) unless ``hyperparameters`` override fields of it
    (``ua-envs train ... --trainer-kwargs gamma=0.9``); the episode length is the env's
    ``horizon`` (40 by default). Returns the path written (``.npz``).

    :raises ValueError: an unknown hyper-parameter name (the message lists the valid ones).
    """
    import dataclasses

    from agents.q_learning import QLearningArgs, train

    hyperparameters = dict(job.hyperparameters)
    valid = {f.name for f in dataclasses.fields(QLearningArgs)} - {"episodes", "seed"}
    unknown = sorted(set(hyperparameters) - valid)
    if unknown:
        raise ValueError(
            f"unknown q_learning hyper-parameter(s) {', '.join(unknown)}; "
            f"valid: {', '.join(sorted(valid))}"
        )
    if job.env_id not in SLOTTED_IDS:
        raise ValueError(f"q_learning trains on {', '.join(SLOTTED_IDS)}, got {job.env_id!r}")
    job.checked_out()  # before training; missing parents are created
    hyperparameters.setdefault("num_envs", min(256, job.episodes))
    args = QLearningArgs(episodes=job.episodes, seed=job.seed, **hyperparameters)
    table = train(job.env_kwargs, args, progress=not job.quiet)
    path = table.save(job.out)
    if not job.quiet:
        visited = int((table.visits.sum(1) > 0).sum())
        print(
            f"q_learning: {job.episodes:,} episodes in {table.seconds:.1f} s, "
            f"{visited:,} of {table.q.shape[0]:,} states visited",
            file=sys.stderr,
        )
    return str(Path(path))


#: ``train_q_learning(env_id, *, episodes, seed, out, env_kwargs=None, quiet=False, **hp)``.
train_q_learning = job_trainer(_train_q_learning)

#: The ``q_learning:PATH`` policy (its trainer, below, writes the checkpoints).
_Q_LEARNING = PolicyEntry(
    name="q_learning",
    factory=make_q_learning,
    env_ids=SLOTTED_IDS,
    description="tabular Q-learning (GROWS baseline Q); q_learning:PATH from 'ua-envs train'",
    needs_checkpoint=True,
)
#: This module's policies (collected by :func:`agents.registry.load_builtin`).
POLICIES: tuple[PolicyEntry, ...] = (
    *family_policies(
        SLOTTED_IDS,
        (
            "argmax",
            make_argmax,
            "arriving user to the candidate BS with the best SNR (GROWS baseline B)",
        ),
    ),
    _Q_LEARNING,
)
#: This module's trainers.
TRAINERS: tuple[TrainerEntry, ...] = (
    trainer_for(
        _Q_LEARNING,
        train_q_learning,
        "tabular epsilon-greedy Q-learning, lr 0.5, gamma 0.5 (saves .npz)",
    ),
)
