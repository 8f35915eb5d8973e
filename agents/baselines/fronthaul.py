"""Baselines of the fronthaul family (SPEC §5, [EGAT] §V-A), declared in ``POLICIES``.

==============  ==========================================================================
name            association
==============  ==========================================================================
``random``      Bernoulli(0.5) per link (the generic random policy on ``MultiBinary``)
``nearest_aps`` each UE served by its ``L`` strongest APs (observed ``gain_db``), ``L = 2``
``pc_wmmse``    [EGAT]'s PC-WMMSE: every AP serves every UE; while an AP is overloaded, it
                drops the UE with its weakest channel; recompute beams and loads; repeat
``fc_zf``       [EGAT]'s FC-ZF: every AP serves every UE (all-ones association)
==============  ==========================================================================

Beamforming. A method is an association rule plus a beamformer: the env scores every
association with its ``beamforming`` kwarg, and the entries declare the one their method is
defined with (``PolicyEntry.env_settings``): ``pc_wmmse`` → ``beamforming="wmmse"``, ``fc_zf``
→ ``beamforming="fc_zf"``. :func:`agents.evaluate.compare` builds each row's env with them, so
``ua-envs compare FronthaulAssoc-v0 --policies nearest_aps,pc_wmmse,fc_zf`` runs each under its
own beamformer on the same instances; a spec overrides them (``pc_wmmse@beamforming=rzf``: the
drop rule under RZF beams), and :func:`agents.registry.make_policy` refuses an env built with
other values. ``pc_wmmse`` runs its drop loop through the env's simulator
(:meth:`FronthaulSimulator.score <ua_envs.envs.fronthaul.sim.FronthaulSimulator.score>`), i.e.
with the env's beamformer, so the association it returns is fronthaul-feasible under exactly
the beams the env then computes (100 % feasible by construction, whatever the beamformer).

``nearest_aps`` uses ``L = 2`` because [EGAT]'s learned EGAT policy serves "approximately two
APs per UE" (Fig. 9); it reads only the observation (no instance access).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from agents.entries import PolicyEntry, family_policies
from ua_envs.core.validation import check_int_range
from ua_envs.envs.fronthaul.sim import FronthaulSimulator, FronthaulState

__all__ = [
    "FRONTHAUL_IDS",
    "FullConnectionPolicy",
    "NearestAPsPolicy",
    "PartialConnectionPolicy",
    "make_fc_zf",
    "make_nearest_aps",
    "make_pc_wmmse",
    "nearest_aps_association",
    "partial_connection",
]

#: Env ids these baselines apply to.
FRONTHAUL_IDS = ("FronthaulAssoc-v0",)
#: Default number of serving APs per UE of ``nearest_aps`` ([EGAT] Fig. 9: about two).
DEFAULT_NUM_APS = 2


def nearest_aps_association(gain_db: Tensor, num_aps: int) -> Tensor:
    """Each UE served by its ``num_aps`` strongest APs.

    :param gain_db: ``(..., M, K)`` real, larger is stronger (e.g. the ``gain_db`` observation).
    :param num_aps: ``L`` in ``[1, M]``.
    :return: ``(..., M, K)`` bool with exactly ``L`` True entries per column (ties: lowest index).
    """
    num_bs = gain_db.shape[-2]
    num_aps = check_int_range("num_aps", num_aps, 1, num_bs)
    top = torch.topk(gain_db, num_aps, dim=-2).indices  # (..., L, K)
    association = torch.zeros(gain_db.shape, dtype=torch.bool, device=gain_db.device)
    return association.scatter(-2, top, True)


def partial_connection(
    sim: FronthaulSimulator, state: FronthaulState, *, max_rounds: int | None = None
) -> Tensor:
    """[EGAT]'s partial connection heuristic, batched over the instances of ``state``.

    Start from the all-ones association; each round, evaluate the association with the
    simulator's beamformer (no fronthaul scaling), and at every overloaded AP drop the served UE
    with the weakest channel ``‖h_mk‖²``; stop when no AP is overloaded. Every round drops at
    least one link in every instance that is still infeasible (an overloaded AP serves someone
    with a positive rate), so ``M·K`` rounds always reach a feasible association.

    :param sim: the env's simulator (its beamformer, capacities, bandwidth).
    :param state: ``B`` instances.
    :param max_rounds: cap on the rounds (default ``M·K``, which guarantees feasibility).
    :return: ``(B, M, K)`` bool association, fronthaul-feasible under ``sim``'s beams.
    """
    channels = state.channels
    batch, num_bs, num_ues = channels.shape[:3]
    rounds = (
        num_bs * num_ues if max_rounds is None else check_int_range("max_rounds", max_rounds, 0)
    )
    association = torch.ones(batch, num_bs, num_ues, dtype=torch.bool, device=channels.device)
    strength = (channels.real.square() + channels.imag.square()).sum(dim=-1)  # (B, M, K)
    with torch.no_grad():
        for _ in range(rounds):
            result = sim.score(state, association, enforce_fronthaul=None)
            over = result.load_bps > sim.capacity_bps  # (B, M)
            if not bool(over.any()):
                break
            key = torch.where(association, strength, torch.full_like(strength, torch.inf))
            weakest = key.argmin(dim=-1, keepdim=True)  # (B, M, 1)
            drop = torch.zeros_like(association).scatter(-1, weakest, True)
            association = association & ~(drop & over.unsqueeze(-1))
    return association


def _flat_action(association: Tensor) -> np.ndarray:
    return association.reshape(-1).to(torch.int8).cpu().numpy()


def _instance(env: gym.Env | None, name: str) -> Any:
    if env is None:
        raise ValueError(f"{name} needs the env (act(observation, info, env=env))")
    return env.unwrapped


class NearestAPsPolicy:
    """Each UE on its ``num_aps`` strongest APs by the observed ``gain_db`` (no instance access).

    :param num_aps: ``L >= 1`` serving APs per UE (at most ``M``), default 2.
    """

    def __init__(self, num_aps: int = DEFAULT_NUM_APS) -> None:
        self.num_aps = check_int_range("num_aps", num_aps, 1)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """``(M*K,)`` int8 association, row-major over APs (:meth:`act_batch` on a batch of
        one)."""
        gain_db = torch.as_tensor(np.asarray(observation["gain_db"]))[None]
        return self.act_batch({"gain_db": gain_db}, None)[0].cpu().numpy()

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """``(B, M*K)`` int8 associations (row-major over APs) of ``gain_db`` ``(B, M, K)``;
        ``mask`` is unused (every association is legal). On the observation's device."""
        gain_db = observation["gain_db"]
        association = nearest_aps_association(gain_db, self.num_aps)
        return association.reshape(gain_db.shape[0], -1).to(torch.int8)


class PartialConnectionPolicy:
    """[EGAT]'s PC-WMMSE association (:func:`partial_connection`) on the env's instance.

    Needs ``env`` in :meth:`act` (reads ``env.unwrapped.sim`` and ``.state``).
    """

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """``(M*K,)`` int8 association, fronthaul-feasible under the env's beamformer."""
        instance = _instance(env, "pc_wmmse")
        return _flat_action(partial_connection(instance.sim, instance.state)[0])

    def act_batch(
        self, observation: dict[str, Tensor], mask: Tensor | None, *, env: Any = None
    ) -> Tensor:
        """``(B, M*K)`` int8 associations of the vector env's ``B`` instances (the drop loop
        runs batched through ``env.sim``; rows already feasible stop changing)."""
        if env is None:
            raise ValueError("pc_wmmse needs the vector env (act_batch(..., env=envs))")
        association = partial_connection(env.sim, env.state)
        return association.reshape(association.shape[0], -1).to(torch.int8)


class FullConnectionPolicy:
    """Every AP serves every UE (all-ones association; FC-ZF with ``beamforming="fc_zf"``)."""

    def __init__(self, num_bs: int, num_ues: int) -> None:
        self.num_bs = check_int_range("num_bs", num_bs, 1)
        self.num_ues = check_int_range("num_ues", num_ues, 1)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """``(M*K,)`` int8 ones."""
        return np.ones(self.num_bs * self.num_ues, dtype=np.int8)

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """``(B, M*K)`` int8 ones, on the device of the observation's ``gain_db``."""
        gain_db = observation["gain_db"]
        size = (gain_db.shape[0], self.num_bs * self.num_ues)
        return torch.ones(size, dtype=torch.int8, device=gain_db.device)


def make_nearest_aps(
    env: gym.Env,
    checkpoint: str | None = None,
    seed: int | None = None,
    *,
    num_aps: int = DEFAULT_NUM_APS,
) -> NearestAPsPolicy:
    """``nearest_aps`` for ``env`` (``num_aps`` ≤ the env's number of APs)."""
    del checkpoint, seed
    num_bs = int(env.unwrapped.config.num_bs)  # type: ignore[attr-defined]
    return NearestAPsPolicy(check_int_range("num_aps", num_aps, 1, num_bs))


def make_pc_wmmse(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> PartialConnectionPolicy:
    """``pc_wmmse`` for ``env`` (declared with ``beamforming="wmmse"``)."""
    del checkpoint, seed
    return PartialConnectionPolicy()


def make_fc_zf(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> FullConnectionPolicy:
    """``fc_zf`` for ``env`` (declared with ``beamforming="fc_zf"``)."""
    del checkpoint, seed
    config = env.unwrapped.config  # type: ignore[attr-defined]
    return FullConnectionPolicy(config.num_bs, config.num_ues)


#: This module's policies (collected by :func:`agents.registry.load_builtin`).
POLICIES: tuple[PolicyEntry, ...] = family_policies(
    FRONTHAUL_IDS,
    ("nearest_aps", make_nearest_aps, "each UE on its 2 strongest APs (observed gain)"),
    (
        "pc_wmmse",
        make_pc_wmmse,
        "[EGAT] PC-WMMSE: all links, drop weakest UE of overloaded APs, WMMSE beams",
        {"beamforming": "wmmse"},
    ),
    (
        "fc_zf",
        make_fc_zf,
        "[EGAT] FC-ZF: every AP serves every UE, centralised ZF beams",
        {"beamforming": "fc_zf"},
    ),
)
