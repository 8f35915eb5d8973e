"""Baselines of the slotted family (SPEC §5), declared in ``POLICIES``/``TRAINERS``.

* ``argmax`` — the arriving user goes to the candidate BS with the best SNR (the GROWS paper's
  baseline "B", max-RSSI association); the no-op when there is no arrival or no candidate. It
  never declines a user voluntarily.
* ``q_learning`` — the masked greedy policy of a tabular Q-learning checkpoint
  (``q_learning:PATH``, see :mod:`agents.q_learning`); trained by
  ``ua-envs train q_learning --env SlottedArrivalAssoc-v0 --steps N --seed S --out PATH.pt``
  (or ``--episodes N``; old ``.npz`` tables still load).
* ``random`` (generic, :mod:`agents.baselines.generic`) — uniform over the legal actions.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from agents.entries import (
    JOB_TRAIN_OPTIONS,
    PolicyEntry,
    TrainerEntry,
    TrainJob,
    family_policies,
    job_trainer,
    trainer_for,
)

SLOTTED_IDS = ("SlottedArrivalAssoc-v0",)


def argmax_actions(nodes: Tensor, mask: Tensor) -> Tensor:
    """The best-SNR candidate BS of each row of a batch of slotted observations, or the no-op.

    :param nodes: ``(B, M, F)`` node features; column 2 is the new user's SNR feature
        (monotone in SNR, bias included).
    :param mask: ``(B, M + 1)`` legal actions (bool or 0/1), the last one the no-op.
    :return: ``(B,)`` int64: the legal BS with the largest ``nodes[b, :, 2]`` (ties: lower
        index), or ``M`` (the no-op) where no BS is legal.
    """
    legal = mask[:, :-1].to(torch.bool)
    num_bs = legal.shape[1]
    snr = torch.where(legal, nodes[:, :, 2], -torch.inf)
    best = snr.argmax(dim=1)
    return torch.where(legal.any(dim=1), best, torch.full_like(best, num_bs))


def argmax_action(observation: Any) -> np.int64:
    """The best-SNR candidate BS of one slotted observation, or the no-op
    (:func:`argmax_actions` on a batch of one).

    Reads ``nodes[:, 2]`` (the new user's SNR feature, monotone in SNR, bias included) over the
    legal BS actions of ``action_mask``; ties go to the lower BS index.
    """
    nodes = torch.as_tensor(np.asarray(observation["nodes"]))[None]
    mask = torch.as_tensor(np.asarray(observation["action_mask"]))[None]
    return np.int64(int(argmax_actions(nodes, mask)[0]))


class ArgmaxPolicy:
    """Each arriving user to the candidate BS with the strongest SNR (no-op otherwise);
    single (:meth:`act`) and batched (:meth:`act_batch`)."""

    name = "argmax"

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.int64:
        """See :func:`argmax_action`."""
        return argmax_action(observation)

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """``(B,)`` int64 actions of :func:`argmax_actions`.

        :param observation: ``nodes`` ``(B, M, F)`` (and ``action_mask`` ``(B, M + 1)``).
        :param mask: ``(B, M + 1)`` legal actions; ``None``: ``observation["action_mask"]``.
        """
        legal = observation["action_mask"] if mask is None else mask
        return argmax_actions(observation["nodes"], legal)


def make_argmax(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """``argmax`` for the slotted env (deterministic: ``checkpoint`` and ``seed`` unused)."""
    del env, checkpoint, seed
    return ArgmaxPolicy()


def make_q_learning(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """Load a Q-learning table for ``env``: a ``.pt`` checkpoint from ``ua-envs train
    q_learning``, or an ``.npz`` table of earlier versions (:meth:`QTable.load`)."""
    from agents.q_learning import QLearningPolicy, QTable

    if checkpoint is None:
        raise ValueError("policy 'q_learning' needs a checkpoint: use q_learning:PATH")
    return QLearningPolicy(QTable.load(checkpoint), env, seed=seed)


#: Default budget of ``ua-envs train q_learning`` without ``--steps`` / ``--episodes``:
#: 1,000 episodes (as ``--episodes 1000``); the paper's 100,000 are ``--episodes 100000``.
Q_LEARNING_DEFAULT_EPISODES = 1000


def _train_q_learning(job: TrainJob) -> str:
    """Train tabular Q-learning on ``env_id`` and save it to ``out`` (a ``.pt`` checkpoint).

    Budget: ``steps`` env steps (slots), or ``episodes`` episodes of ``horizon`` slots, or
    1,000 episodes (a resumed run: the budget of the run it continues). Uses the native vector
    env (``num_envs`` episodes in parallel: ``--num-envs``, default ``min(256, episodes)``)
    with the paper's hyper-parameters (:class:`agents.q_learning.QLearningArgs`) unless
    ``hyperparameters`` override fields of it (``ua-envs train ... --trainer-kwargs
    gamma=0.9``). Follows the training convention (:mod:`agents.training`): progress bar,
    curve CSV / PNG, ``tensorboard``, evaluation every ``eval_every`` steps on held-out seeds
    (default: never) keeping ``<out stem>.best.pt``, ``resume``. Returns the path written.

    :raises ValueError: an unknown hyper-parameter name (the message lists the valid ones),
        another env id, a checkpoint to resume that does not fit (another algorithm or env,
        other state-encoding env kwargs, already at the budget).
    """
    import math

    from agents.q_learning import QLearningArgs, compatible_env_kwargs, train
    from agents.training import check_hyperparameters, load_resume, step_budget
    from ua_envs.envs.slotted.sim import make_config

    hyperparameters = dict(job.hyperparameters)
    reserved = {"total_steps": "--steps", "seed": "--seed", "num_envs": "--num-envs"}
    check_hyperparameters(
        "q_learning",
        QLearningArgs,
        hyperparameters,
        set_by_options=reserved,
        note=f" ({', '.join(reserved.values())} have options)",
    )
    if job.env_id not in SLOTTED_IDS:
        raise ValueError(f"q_learning trains on {', '.join(SLOTTED_IDS)}, got {job.env_id!r}")
    path = job.checked_out(".pt")  # before training; missing parents are created
    if path.suffix == ".npz":
        raise ValueError(f"out: {str(path)!r}: .npz is the old table format; write a .pt")
    resumed = load_resume(job, "q_learning", compatible_env_kwargs)
    slots = make_config(job.env_kwargs or {}).horizon
    if resumed is not None:
        fields = {f.name for f in dataclasses.fields(QLearningArgs)}
        previous = {k: v for k, v in resumed.hyperparameters.items() if k in fields}
        default_steps = int(previous.get("total_steps", 1))
        hyperparameters = {**previous, **hyperparameters}
    else:
        default_steps = Q_LEARNING_DEFAULT_EPISODES * slots
    total_steps = step_budget(
        job, episode_steps=slots, default_steps=default_steps, resumed=resumed
    )
    if job.num_envs is not None:
        hyperparameters["num_envs"] = job.num_envs
    hyperparameters.setdefault("num_envs", min(256, math.ceil(total_steps / slots)))
    hyperparameters.update(total_steps=total_steps, seed=job.seed)
    args = QLearningArgs(**hyperparameters)
    table = train(
        job.env_kwargs,
        args,
        out=path,
        resume=resumed,
        tensorboard=job.tensorboard,
        eval_every=job.eval_every or 0,
        eval_episodes=job.eval_episodes,
        progress=not job.quiet,
    )
    if not job.quiet:
        visited = int((table.visits.sum(1) > 0).sum())
        print(
            f"q_learning: {table.step:,} steps ({table.episodes:,} episodes) in "
            f"{table.seconds:.1f} s, {visited:,} of {table.q.shape[0]:,} states visited",
            file=sys.stderr,
        )
    return str(path)


#: ``train_q_learning(env_id, *, episodes=None, seed, out, env_kwargs=None, quiet=False,
#: steps=None, num_envs=None, tensorboard=None, resume=None, eval_every=None,
#: eval_episodes=100, **hp)``.
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
        "tabular epsilon-greedy Q-learning, lr 0.5, gamma 0.5 (saves .pt)",
        default_suffix=".pt",
        options=JOB_TRAIN_OPTIONS,
    ),
)
