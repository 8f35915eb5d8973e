"""Baselines of the cellfree family (docs/model.md §5), declared in ``POLICIES``.

* ``greedy`` ([SupportSet]'s greedy association, its ref. [6]): UEs in index order take their
  strongest APs (largest ``‖h_{m,k}‖²``, i.e. ``gain_db``) up to ``max_aps_per_ue``; an AP that
  already serves ``max_ues_per_ap`` UEs is skipped and the UE passes to its next strongest AP.
  As a sequential policy it emits that support one link per step (UE 0's links first, each UE's
  strongest AP first), then END. The episode reward is the sum rate of the greedy support with
  the env's beamformer (partial RZF by default: the paper's "Greedy+P-RZF").
* ``greedy_wmmse`` ("Greedy+WMMSE"): the same links, scored with WMMSE beams. Choice: the
  factory switches the env it is built for to ``beamforming="wmmse"``
  (``env.unwrapped.set_beamforming``), so the env's reward and ``info["sum_rate"]`` are the
  WMMSE sum rate of the greedy support. ``agents.evaluate.evaluate`` / ``compare`` build one env
  per policy, so the other policies of a comparison keep their beamformer; do not share an env
  instance between ``greedy_wmmse`` and other policies. WMMSE costs ~0.1–0.2 s per episode on
  one CPU thread at the default size.
* ``random`` is the generic masked uniform policy (``agents.baselines.generic``).
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agents.entries import PolicyEntry, family_policies

__all__ = ["GreedyPolicy", "greedy_links", "make_greedy", "make_greedy_wmmse"]

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
        gain_db = np.asarray(observation["gain_db"])
        mask = np.asarray(observation["action_mask"]).astype(bool)
        end = mask.size - 1
        for action in self.plan(gain_db):
            if mask[action]:
                return np.int64(action)
        if mask[end]:
            return np.int64(end)
        legal = np.flatnonzero(mask[:end])
        return np.int64(legal[np.argmax(gain_db.reshape(-1)[legal])])


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
    """Greedy links evaluated with WMMSE beams: switches ``env`` to ``beamforming="wmmse"``."""
    del checkpoint, seed
    unwrapped = _cellfree_env(env)
    unwrapped.set_beamforming("wmmse")
    config = unwrapped.config
    return GreedyPolicy(config.max_ues_per_ap, config.max_aps_per_ue, name="greedy_wmmse")


#: This module's policies (collected by :func:`agents.registry.load_builtin`).
POLICIES: tuple[PolicyEntry, ...] = family_policies(
    CELLFREE_IDS,
    ("greedy", make_greedy, "UEs in turn take their strongest APs up to the caps, then END"),
    (
        "greedy_wmmse",
        make_greedy_wmmse,
        "greedy links scored with WMMSE beams (switches the env to beamforming=wmmse)",
    ),
)
