"""Baselines of the cellfree family (docs/model.md §5), declared in ``POLICIES``.

* ``greedy`` ([SupportSet]'s greedy association, its ref. [6]): UEs in index order take their
  strongest APs (largest ``‖h_{m,k}‖²``, i.e. ``gain_db``) up to ``max_aps_per_ue``; an AP that
  already serves ``max_ues_per_ap`` UEs is skipped and the UE passes to its next strongest AP.
  As a sequential policy it emits that support one link per step (UE 0's links first, each UE's
  strongest AP first), then END. The episode reward is the sum rate of the greedy support with
  the env's beamformer (partial RZF by default: the paper's "Greedy+P-RZF").
* ``greedy_wmmse`` ("Greedy+WMMSE"): the same links, scored with WMMSE beams: the entry
  declares ``beamforming="wmmse"`` (``PolicyEntry.env_settings``), so ``agents.evaluate.compare``
  builds its env with it and the env's reward and ``info["sum_rate"]`` are the WMMSE sum rate
  of the greedy support, beside the other rows' beamformers on the same instances. It is
  ``greedy@beamforming=wmmse`` under a name of its own. WMMSE costs ~0.1–0.2 s per episode on
  one CPU thread at the default size.
* ``random`` is the generic masked uniform policy (``agents.baselines.generic``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from agents.entries import PolicyEntry, family_policies

__all__ = [
    "GreedyPolicy",
    "greedy_actions",
    "greedy_links",
    "greedy_priorities",
    "make_greedy",
    "make_greedy_wmmse",
]

CELLFREE_IDS = ("CellFreeAssoc-v0",)


def greedy_links(gain_db: np.ndarray, max_ues_per_ap: int, max_aps_per_ue: int) -> list[int]:
    """The greedy support as link actions ``m·K + k``, in the order the greedy adds them.

    :param gain_db: ``(M, K)`` link strengths (any monotone measure of ``‖h_{m,k}‖²``).
    :param max_ues_per_ap: cap on the UEs per AP, ≥ 1.
    :param max_aps_per_ue: cap on the APs per UE, ≥ 1.
    :return: link actions; UE 0's links first (strongest AP first), then UE 1's, ...

    Hand example (M = 2 APs, K = 3 UEs, one AP per UE, one UE per AP): every UE prefers AP 0;
    UE 0 takes AP 0 (action 0·3 + 0 = 0); AP 0 is full, so UE 1 passes to AP 1 (1·3 + 1 = 4);
    UE 2 finds both APs full and stays unserved.

    >>> greedy_links(np.array([[9.0, 8.0, 7.0], [1.0, 2.0, 3.0]]), 1, 1)
    [0, 4]
    """
    gains = np.asarray(gain_db, dtype=np.float64)
    if gains.ndim != 2:
        raise ValueError(f"gain_db must have shape (M, K), got {gains.shape}")
    num_aps, num_ues = gains.shape
    load = np.zeros(num_aps, dtype=np.int64)
    links: list[int] = []
    for ue in range(num_ues):
        taken = 0
        # Stable sort: ties go to the lower AP index.
        for ap in np.argsort(-gains[:, ue], kind="stable"):
            if taken == max_aps_per_ue:
                break
            if load[ap] < max_ues_per_ap:
                links.append(int(ap) * num_ues + ue)
                load[ap] += 1
                taken += 1
    return links


def greedy_priorities(gain_db: Tensor, max_ues_per_ap: int, max_aps_per_ue: int) -> Tensor:
    """:func:`greedy_links` of a batch of instances, as each link's position in its plan.

    The UEs are processed in index order as in :func:`greedy_links`, all rows at once: UE k
    takes, in its order of APs (strongest first, ties to the lower index), the first
    ``max_aps_per_ue`` APs that still serve fewer than ``max_ues_per_ap`` UEs.

    :param gain_db: ``(B, M, K)`` link strengths (any monotone measure of ``‖h_{m,k}‖²``).
    :param max_ues_per_ap: cap on the UEs per AP, ≥ 1.
    :param max_aps_per_ue: cap on the APs per UE, ≥ 1.
    :return: ``(B, M·K)`` int64: entry ``m·K + k`` is the link's index in row b's plan
        (``greedy_links(gain_db[b])[p] == m·K + k`` for ``p`` the entry), ``M·K`` for the links
        the greedy does not take; on ``gain_db``'s device.

    >>> greedy_priorities(torch.tensor([[[9.0, 8.0, 7.0], [1.0, 2.0, 3.0]]]), 1, 1).tolist()
    [[0, 6, 6, 6, 1, 6]]
    """
    if gain_db.dim() != 3:
        raise ValueError(f"gain_db must have shape (B, M, K), got {tuple(gain_db.shape)}")
    batch, num_aps, num_ues = (int(d) for d in gain_db.shape)
    device = gain_db.device
    absent = num_aps * num_ues
    priority = torch.full((batch, absent), absent, dtype=torch.int64, device=device)
    load = torch.zeros(batch, num_aps, dtype=torch.int64, device=device)
    placed = torch.zeros(batch, dtype=torch.int64, device=device)
    # Sort by the negated gain, stably, as greedy_links does (ties: lower AP index first).
    order = torch.sort(-gain_db.to(torch.float64), dim=1, stable=True).indices  # (B, M, K)
    for ue in range(num_ues):
        aps = order[:, :, ue]  # (B, M), strongest first
        # Within one UE each AP appears once, so its free slots do not change while it picks.
        free = load.gather(1, aps) < max_ues_per_ap
        take = free & (free.cumsum(dim=1) <= max_aps_per_ue)
        rank = take.cumsum(dim=1) - 1 + placed.unsqueeze(1)
        links = aps * num_ues + ue
        current = priority.gather(1, links)
        priority.scatter_(1, links, torch.where(take, rank, current))
        load.scatter_add_(1, aps, take.to(torch.int64))
        placed += take.sum(dim=1)
    return priority


def greedy_actions(gain_db: Tensor, mask: Tensor, priority: Tensor) -> Tensor:
    """The greedy's next action in each row: its first planned link that is still legal, else
    END if legal, else the legal link with the largest gain.

    :param gain_db: ``(B, M, K)`` link strengths.
    :param mask: ``(B, M·K + 1)`` legal actions (bool or 0/1), the last one END.
    :param priority: ``(B, M·K)`` plan positions from :func:`greedy_priorities`.
    :return: ``(B,)`` int64 actions.
    """
    legal = mask.to(torch.bool)
    links = legal[:, :-1]
    end = links.shape[1]
    key = torch.where(links, priority, end)
    planned = key.argmin(dim=1)
    has_plan = key.gather(1, planned.unsqueeze(1)).squeeze(1) < end
    strength = torch.where(links, gain_db.reshape(gain_db.shape[0], -1), -torch.inf)
    fallback = torch.where(legal[:, -1], torch.full_like(planned, end), strength.argmax(dim=1))
    return torch.where(has_plan, planned, fallback)


def _cellfree_env(env: gym.Env) -> Any:
    unwrapped = env.unwrapped
    config = getattr(unwrapped, "config", None)
    if config is None or not hasattr(config, "max_aps_per_ue"):
        raise ValueError(
            f"the greedy baselines need a CellFreeAssoc env, got {type(unwrapped).__name__}"
        )
    return unwrapped


class GreedyPolicy:
    """Emits the greedy support (:func:`greedy_links`) one link per step, then END.

    Deterministic, stateless between calls: each call recomputes (or reuses) the plan of the
    observed instance and returns its first link that is still legal and not yet chosen, so it
    also completes a support that someone else started. When the plan is exhausted it returns
    END, or, if END is masked (``require_coverage=True``), the legal link with the largest gain.

    Batched (:meth:`act_batch`, a :class:`~agents.policy.BatchPolicy` of the vector env) and
    single (:meth:`act`, the batched rule on a batch of one): both decide alike. Plans are
    cached per row and recomputed for the rows whose ``gain_db`` changed (a new instance).

    :param max_ues_per_ap: the env's cap.
    :param max_aps_per_ue: the env's cap.
    :param name: label in comparison tables.
    """

    def __init__(self, max_ues_per_ap: int, max_aps_per_ue: int, name: str = "greedy") -> None:
        self.max_ues_per_ap = int(max_ues_per_ap)
        self.max_aps_per_ue = int(max_aps_per_ue)
        self.name = name
        self._key: bytes | None = None
        self._plan: list[int] = []
        self._gain: Tensor | None = None  # (B, M, K) gains of the cached plans
        self._priority: Tensor | None = None  # (B, M·K) their plan positions

    def plan(self, gain_db: np.ndarray) -> list[int]:
        """The greedy link actions of the instance with link strengths ``gain_db`` ``(M, K)``."""
        gains = np.ascontiguousarray(gain_db)
        key = gains.tobytes() + str(gains.shape).encode()
        if key != self._key:
            self._plan = greedy_links(gains, self.max_ues_per_ap, self.max_aps_per_ue)
            self._key = key
        return self._plan

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.int64:
        """The next greedy link that is legal, else END (see the class docstring)."""
        batch = {
            "gain_db": torch.as_tensor(np.asarray(observation["gain_db"]))[None],
            "action_mask": torch.as_tensor(np.asarray(observation["action_mask"]))[None],
        }
        return np.int64(int(self.act_batch(batch, None)[0]))

    def act_batch(self, observation: dict[str, Tensor], mask: Tensor | None) -> Tensor:
        """The next greedy action of every row (:func:`greedy_actions`).

        :param observation: ``gain_db`` ``(B, M, K)`` (and ``action_mask`` ``(B, M·K + 1)``).
        :param mask: ``(B, M·K + 1)`` legal actions; ``None``: ``observation["action_mask"]``.
        :return: ``(B,)`` int64 actions on the observation's device.
        """
        gain_db = observation["gain_db"]
        legal = observation["action_mask"] if mask is None else mask
        return greedy_actions(gain_db, legal, self._priorities(gain_db))

    def _priorities(self, gain_db: Tensor) -> Tensor:
        """The cached plan positions, recomputed for the rows whose instance changed."""
        cached, priority = self._gain, self._priority
        if (
            cached is None
            or priority is None
            or cached.shape != gain_db.shape
            or cached.device != gain_db.device
        ):
            priority = greedy_priorities(gain_db, self.max_ues_per_ap, self.max_aps_per_ue)
        else:
            changed = (cached != gain_db).flatten(1).any(dim=1)
            if bool(changed.any()):
                priority = priority.clone()
                priority[changed] = greedy_priorities(
                    gain_db[changed], self.max_ues_per_ap, self.max_aps_per_ue
                )
        self._gain, self._priority = gain_db.clone(), priority
        return priority


def make_greedy(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> GreedyPolicy:
    """Greedy association with the env's beamformer (docs/model.md §5; deterministic, ``seed``
    unused)."""
    del checkpoint, seed
    config = _cellfree_env(env).config
    return GreedyPolicy(config.max_ues_per_ap, config.max_aps_per_ue, name="greedy")


def make_greedy_wmmse(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> GreedyPolicy:
    """Greedy links evaluated with WMMSE beams (declared with ``beamforming="wmmse"``: the
    env is built with it)."""
    del checkpoint, seed
    config = _cellfree_env(env).config
    return GreedyPolicy(config.max_ues_per_ap, config.max_aps_per_ue, name="greedy_wmmse")


#: This module's policies (collected by :func:`agents.registry.load_builtin`).
POLICIES: tuple[PolicyEntry, ...] = family_policies(
    CELLFREE_IDS,
    ("greedy", make_greedy, "UEs in turn take their strongest APs up to the caps, then END"),
    (
        "greedy_wmmse",
        make_greedy_wmmse,
        "greedy links scored with WMMSE beams",
        {"beamforming": "wmmse"},
    ),
)
