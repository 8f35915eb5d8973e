"""Baselines of the multicell family (SPEC §5), declared in ``POLICIES``.

Every policy maps one observation of ``MultiCellAssoc-v0`` / ``MultiCellAssocBalanced-v0`` to an
action ``(K,)`` of BS indices. ``random`` (uniform) is registered generically in
``generic.py``.

* ``argmax``: each UE to the BS with the strongest received power ``tx_power_dbm[m] +
  gain_db[m, k]`` (= the strongest gain when all BSs have the same power).
* ``exhaustive``: every action of the instance (``M^K`` of them, ``K ≤ 10``, ``M ≤ 3``) scored in
  one batched call of the env's own simulator (same beamformer, same overload handling), the
  best returned. Its served associations are load-feasible wherever the env drops overloads, and
  it is optimal for the env's reward by construction, so it is ≥ every policy on every instance.
  With ``overload="drop"`` the sum rate often *rises* when weak UEs are dropped, so this optimum
  usually overloads a BS on purpose (see the docs' compare table).
* ``exhaustive_feasible``: the same search restricted to the load-feasible actions (at most
  ``L`` UEs per BS, ``L`` = the env's ``load_limit``, or ``N`` without one): [AttSKGS]'s "ES",
  the reference for load-balanced association. It can lose to a policy whose drops pay off.
* ``random_balanced``: a random load-feasible association ([AttSKGS] RandInt): the ``M · L``
  BS slots (``L`` = the env's ``load_limit``, or ``N`` without one) are shuffled and UE k takes
  slot k. Each BS gets at most ``L`` UEs.
* ``dual_decomposition``: Ye et al., "User association for load balancing in heterogeneous
  cellular networks", IEEE TWC 2013. With the per-link rate proxy
  ``c_{km} = log2(1 + P_m ‖h_{m,k}‖² / σ_k²)`` (UE k's rate if BS m served it alone at full
  power, MRT; read from the observation) it iterates: user step ``x_k = argmax_m (log c_{km} −
  μ_m)``; BS step ``K_m = min(e^{μ_m − 1}, K)``; dual step ``μ_m ← μ_m − δ_t (K_m − Σ_k
  x_{km})`` with ``δ_t = 0.1 / sqrt(t)``, ``t = 1..200``, from ``μ_m = 1 + ln(K / M)`` (the
  balanced point). The last user step is the action. It balances loads softly (no hard limit).
* ``capacitated_assignment``: the exact maximiser of ``Σ_k c_{k, m(k)}`` (same proxy) subject to
  at most ``L`` UEs per BS, by ``scipy.optimize.linear_sum_assignment`` with each BS column
  repeated ``L`` times (``ua_envs.core.assignment.capacitated_assignment``).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.entries import PolicyEntry, family_policies
from ua_envs.core import assignment
from ua_envs.envs.base import select_rows

#: The env ids these baselines apply to.
MULTICELL_IDS: tuple[str, ...] = ("MultiCellAssoc-v0", "MultiCellAssocBalanced-v0")
#: Largest instance :class:`ExhaustivePolicy` accepts (``M^K ≤ 3^10 = 59049`` candidates).
EXHAUSTIVE_MAX_UES = 10
EXHAUSTIVE_MAX_BS = 3
#: Candidates per batched call are capped so that the candidate channels stay below this many
#: complex entries (the defaults score all 256 candidates in one call).
EXHAUSTIVE_MAX_ENTRIES = 2**24


def _multicell(env: gym.Env | None) -> Any:
    """``env.unwrapped`` if it is a multicell env (has ``sim`` and ``state``), else ValueError."""
    if env is None:
        raise ValueError("env is required: this baseline reads the instance from env.unwrapped")
    base = env.unwrapped
    if not (hasattr(base, "sim") and hasattr(base, "config") and hasattr(base.config, "num_bs")):
        raise ValueError(f"env must be a MultiCellAssoc env, got {type(base).__name__}")
    return base


def rate_proxy(observation: dict[str, np.ndarray]) -> np.ndarray:
    """``c_{km} = log2(1 + P_m ‖h_{m,k}‖² / σ_k²)`` ``(M, K)`` [bit/s/Hz] from an observation.

    ``gain_db + tx_power_dbm − 30`` is the single-link SNR in dB (the observation's gain is per
    watt of transmit power).
    """
    snr_db = observation["gain_db"].astype(np.float64) + (
        observation["tx_power_dbm"].astype(np.float64)[:, None] - 30.0
    )
    return np.log2(1.0 + np.power(10.0, snr_db / 10.0))


def _limit(base: Any) -> int:
    """The env's load limit, or ``N`` (the [AttSKGS] quota) when it has none."""
    return int(base.load_limit) if base.load_limit is not None else int(base.config.num_antennas)


class ArgmaxPolicy:
    """Each UE to the BS with the strongest received power (max SNR); single and batched."""

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """``(K,)`` int64: :meth:`act_batch` on a batch of one."""
        batch = {
            key: torch.from_numpy(np.asarray(observation[key]))[None]
            for key in ("gain_db", "tx_power_dbm")
        }
        return self.act_batch(batch, None)[0].numpy()

    def act_batch(
        self, observation: dict[str, torch.Tensor], mask: torch.Tensor | None
    ) -> torch.Tensor:
        """``argmax_m (tx_power_dbm[b, m] + gain_db[b, m, k])`` for every row b and UE k.

        :param observation: ``gain_db`` ``(B, M, K)`` and ``tx_power_dbm`` ``(B, M)`` [dBm].
        :param mask: unused (every association is legal).
        :return: ``(B, K)`` int64 BS indices (ties: lowest m), on the observation's device.
        """
        received = observation["gain_db"] + observation["tx_power_dbm"].unsqueeze(-1)
        return received.argmax(dim=-2)


class ExhaustivePolicy:
    """Scores every candidate action of the instance with the env's simulator; returns the best.

    :param env: the env (its ``unwrapped`` simulator and current state are used).
    :param feasible_only: search only the actions with at most ``L`` UEs per BS (``L`` = the
        env's ``load_limit``, or ``N`` without one).
    :raises ValueError: ``K > 10`` or ``M > 3`` (too many candidates), or a non-multicell env.
    """

    def __init__(self, env: gym.Env, feasible_only: bool = False) -> None:
        base = _multicell(env)
        num_bs, num_ues = int(base.config.num_bs), int(base.config.num_ues)
        if num_ues > EXHAUSTIVE_MAX_UES or num_bs > EXHAUSTIVE_MAX_BS:
            raise ValueError(
                f"exhaustive search needs num_ues <= {EXHAUSTIVE_MAX_UES} and num_bs <= "
                f"{EXHAUSTIVE_MAX_BS}, got num_ues={num_ues}, num_bs={num_bs}"
            )
        limit = _limit(base) if feasible_only else None
        self.candidates = assignment.enumerate_associations(num_bs, num_ues, limit)
        if self.candidates.shape[0] == 0:
            raise ValueError(f"no association of {num_ues} UEs fits {num_bs} BSs x {limit}")
        per_candidate = num_bs * num_ues * int(base.config.num_antennas)
        self.chunk = max(1, EXHAUSTIVE_MAX_ENTRIES // per_candidate)

    def scores(self, env: gym.Env) -> torch.Tensor:
        """The env reward of every candidate on the current instance, ``(A,)``."""
        base = _multicell(env)
        state = base.state
        out = []
        with torch.no_grad():
            for start in range(0, self.candidates.shape[0], self.chunk):
                actions = self.candidates[start : start + self.chunk].to(state.channels.device)
                rows = torch.zeros(actions.shape[0], dtype=torch.long, device=actions.device)
                *_, reward = base.sim.outcome(select_rows(state, rows), actions)
                out.append(reward)
        return torch.cat(out)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """The best candidate (first one on ties)."""
        best = int(torch.argmax(self.scores(_env_or_raise(env))))
        return self.candidates[best].numpy().copy()


def neighbour_actions(action: torch.Tensor, num_bs: int, limit: int | None) -> torch.Tensor:
    """The one-change neighbours of ``(B, K)`` actions: ``(B, C, K)`` int64.

    Every single-UE move to another BS (``C = K (M − 1)``); with a load ``limit`` also every swap
    of two UEs (``+ K (K − 1) / 2``: a swap keeps the loads, so it is how a load-feasible
    action changes when no BS has a free seat). Candidate ``c`` of row ``b`` differs from
    ``action[b]`` in one UE's BS (a move) or in two UEs' (a swap).
    """
    num_ues = action.shape[1]
    ues = torch.arange(num_ues, device=action.device)
    shifts = torch.arange(1, num_bs, device=action.device)
    # move (k, s): UE k goes from BS a_k to (a_k + s) mod M
    moved_ue = ues.repeat_interleave(num_bs - 1)  # (K(M-1),)
    shift = shifts.repeat(num_ues)
    changed = moved_ue[:, None] == ues  # (C, K)
    moves = torch.where(changed, (action[:, None, :] + shift[:, None]) % num_bs, action[:, None])
    if limit is None:
        return moves
    first, second = torch.triu_indices(num_ues, num_ues, offset=1, device=action.device)
    swaps = action[:, None, :].repeat(1, first.numel(), 1)  # (B, K(K-1)/2, K)
    pair = torch.arange(first.numel(), device=action.device)
    swaps[:, pair, first] = action[:, second]
    swaps[:, pair, second] = action[:, first]
    return torch.cat([moves, swaps], dim=1)


@torch.no_grad()
def improve_by_moves(
    sim: Any, state: Any, action: torch.Tensor, *, limit: int | None, passes: int = 1
) -> torch.Tensor:
    """Local search: ``passes`` rounds of "take the best one-change neighbour if it is better".

    Each round scores every neighbour of :func:`neighbour_actions` with the env's own simulator
    (``sim.outcome``: the same beamformer and overload rule as the env's reward) on the same
    instances, and each row moves to its best neighbour when that raises the reward. With a
    ``limit``, neighbours that put more than ``limit`` UEs on a BS are never taken, so a
    load-feasible start stays feasible. Never lowers the reward of a row.

    :param sim: the env's simulator (``env.unwrapped.sim``).
    :param state: its batched torch state (``B`` instances).
    :param action: ``(B, K)`` int64 start actions.
    :param limit: max UEs per BS for the candidates (``None``: none).
    :param passes: rounds, ≥ 0 (a row that no neighbour improves stops early).
    :return: ``(B, K)`` int64 improved actions.
    """
    batch, num_ues = action.shape
    num_bs = int(sim.num_bs)
    rows = torch.arange(batch, device=action.device)
    reward = sim.outcome(state, action)[-1]
    for _ in range(passes):
        candidates = neighbour_actions(action, num_bs, limit)  # (B, C, K)
        count = candidates.shape[1]
        repeated = select_rows(state, rows.repeat_interleave(count))
        scores = sim.outcome(repeated, candidates.reshape(-1, num_ues))[-1].view(batch, count)
        if limit is not None:
            loads = torch.nn.functional.one_hot(candidates, num_bs).sum(-2)  # (B, C, M)
            scores = scores.masked_fill((loads > limit).any(-1), -torch.inf)
        best, index = scores.max(dim=1)
        better = best > reward
        if not bool(better.any()):
            break
        action = torch.where(better[:, None], candidates[rows, index], action)
        reward = torch.where(better, best, reward)
    return action


def _env_or_raise(env: gym.Env | None) -> gym.Env:
    if env is None:
        raise ValueError("env is required: this baseline reads the instance from env.unwrapped")
    return env


class RandomBalancedPolicy:
    """A random association with at most ``L`` UEs per BS (shuffled BS slots).

    :param num_bs: ``M``.
    :param num_ues: ``K``.
    :param limit: ``L`` UEs per BS; if ``M · L < K`` the UEs beyond the slots pick a BS
        uniformly (no load-feasible association exists; the env then handles the overload).
    :param seed: seed of the policy's generator.
    """

    def __init__(self, num_bs: int, num_ues: int, limit: int, seed: int | None = None) -> None:
        self.num_bs, self.num_ues, self.limit = num_bs, num_ues, limit
        self._slots = np.repeat(np.arange(num_bs, dtype=np.int64), limit)
        self._rng = np.random.default_rng(seed)

    def reset(self, seed: int | None = None) -> None:
        """Re-seed the policy's generator."""
        self._rng = np.random.default_rng(seed)

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """UE k takes the k-th of the shuffled BS slots."""
        slots = self._rng.permutation(self._slots)[: self.num_ues]
        if slots.size < self.num_ues:
            extra = self._rng.integers(0, self.num_bs, self.num_ues - slots.size)
            slots = np.concatenate([slots, extra])
        return slots.astype(np.int64)


class DualDecompositionPolicy:
    """Ye et al. 2013 load-balancing dual decomposition on the rate proxy (module docstring).

    :param iterations: dual iterations ``T``.
    :param step_size: ``δ_0`` of the diminishing step ``δ_t = δ_0 / sqrt(t)``.
    """

    def __init__(self, iterations: int = 200, step_size: float = 0.1) -> None:
        if iterations < 1 or not step_size > 0:
            raise ValueError(
                f"iterations must be >= 1 and step_size > 0, got {iterations}, {step_size}"
            )
        self.iterations = iterations
        self.step_size = step_size

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """The user step at the final multipliers."""
        log_c = np.log(np.maximum(rate_proxy(observation), 1e-12))  # (M, K)
        num_bs, num_ues = log_c.shape
        mu = np.full(num_bs, 1.0 + math.log(num_ues / num_bs))
        choice = np.argmax(log_c - mu[:, None], axis=0)
        for t in range(1, self.iterations + 1):
            choice = np.argmax(log_c - mu[:, None], axis=0)
            load = np.bincount(choice, minlength=num_bs)
            target = np.minimum(np.exp(mu - 1.0), num_ues)
            mu = mu - self.step_size / math.sqrt(t) * (target - load)
        return np.argmax(log_c - mu[:, None], axis=0).astype(np.int64)


class CapacitatedAssignmentPolicy:
    """Max ``Σ_k c_{k, m(k)}`` with at most ``limit`` UEs per BS (exact, Hungarian method)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit

    def act(
        self, observation: Any, info: dict[str, Any] | None = None, *, env: gym.Env | None = None
    ) -> np.ndarray:
        """``capacitated_assignment(c, limit)``."""
        scores = rate_proxy(observation)
        return assignment.capacitated_assignment(scores, self.limit).numpy().astype(np.int64)


# ---- factories (``factory(env, checkpoint=None, seed=None) -> Policy``) ----------------------


def make_argmax(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """:class:`ArgmaxPolicy`."""
    return ArgmaxPolicy()


def make_exhaustive(env: gym.Env, checkpoint: str | None = None, seed: int | None = None) -> Any:
    """:class:`ExhaustivePolicy` over every action (optimal for the env's reward)."""
    return ExhaustivePolicy(env)


def make_exhaustive_feasible(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> Any:
    """:class:`ExhaustivePolicy` over the load-feasible actions only ([AttSKGS] ES)."""
    return ExhaustivePolicy(env, feasible_only=True)


def make_random_balanced(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> Any:
    """:class:`RandomBalancedPolicy` with the env's load limit (``N`` without one)."""
    base = _multicell(env)
    return RandomBalancedPolicy(base.config.num_bs, base.config.num_ues, _limit(base), seed)


def make_dual_decomposition(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> Any:
    """:class:`DualDecompositionPolicy` with the defaults."""
    return DualDecompositionPolicy()


def make_capacitated_assignment(
    env: gym.Env, checkpoint: str | None = None, seed: int | None = None
) -> Any:
    """:class:`CapacitatedAssignmentPolicy` with the env's load limit (``N`` without one)."""
    base = _multicell(env)
    limit = _limit(base)
    if base.config.num_bs * limit < base.config.num_ues:
        raise ValueError(
            f"capacitated_assignment needs num_bs * load_limit >= num_ues, got "
            f"{base.config.num_bs} * {limit} < {base.config.num_ues}"
        )
    return CapacitatedAssignmentPolicy(limit)


#: This module's policies (collected by :func:`agents.registry.load_builtin`).
POLICIES: tuple[PolicyEntry, ...] = family_policies(
    MULTICELL_IDS,
    ("argmax", make_argmax, "each UE to its max-SNR BS"),
    (
        "exhaustive",
        make_exhaustive,
        "all M^K actions scored in one batched call; optimal (K<=10, M<=3)",
    ),
    (
        "exhaustive_feasible",
        make_exhaustive_feasible,
        "best load-feasible association (<= load_limit, else N, UEs per BS) (K<=10, M<=3)",
    ),
    (
        "random_balanced",
        make_random_balanced,
        "random association with at most load_limit (else N) UEs per BS",
    ),
    (
        "dual_decomposition",
        make_dual_decomposition,
        "Ye et al. 2013 load-balancing dual decomposition on log2(1+SNR)",
    ),
    (
        "capacitated_assignment",
        make_capacitated_assignment,
        "max sum log2(1+SNR) with at most load_limit (else N) UEs per BS (Hungarian)",
    ),
)
