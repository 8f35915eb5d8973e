"""Support and beams, jointly and apart: a ``reinforce`` checkpoint against greedy association.

``python -m agents.reinforce_beams reinforce:pretrained --episodes 1000`` scores, on the same
``CellFreeAssoc-v0`` instances (episode ``j`` on seed ``seed + j``, batches of the native
vector env), the greedy support and the checkpoint's greedy-decoded support each with the
partial RZF (the env's default) and with WMMSE, and the checkpoint's support with its own
learned beams (the optional beamforming head, ``beam_head_instances`` > 0 at training) —
[SupportSet]'s joint claim against Greedy+WMMSE. Prints a markdown table of mean sum rate
± 95 % CI [bit/s/Hz]. Kept apart from :mod:`agents.reinforce`, which the registry imports,
because it resolves ``reinforce:pretrained`` through the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agents.episodes import Stat, summarize

#: The table's rows: (support, beams).
ROWS: tuple[tuple[str, str], ...] = (
    ("greedy", "rzf"),
    ("greedy", "wmmse"),
    ("reinforce", "rzf"),
    ("reinforce", "wmmse"),
    ("reinforce", "head"),
)


def beam_table(
    checkpoint: str,
    *,
    episodes: int = 1000,
    seed: int = 2_000_000_000,
    env_kwargs: Mapping[str, Any] | None = None,
    batch_size: int = 250,
) -> dict[tuple[str, str], Stat]:
    """Mean sum rate ± CI of every row of :data:`ROWS` (module docstring).

    :param checkpoint: a ``reinforce`` checkpoint path, or ``pretrained``.
    :param episodes: instances, ≥ 1.
    :param seed: seed of instance 0.
    :param env_kwargs: ``CellFreeAssoc-v0`` kwargs (the default size and power if empty).
    :param batch_size: instances per vector-env batch.
    :return: one :class:`~agents.episodes.Stat` per row; the ``("reinforce", "head")`` row is
        missing when the checkpoint has no beamforming head.
    :raises ValueError: not a ``reinforce`` checkpoint, ``episodes < 1``.
    """
    from agents.baselines.cellfree import greedy_priorities
    from agents.checkpoint import load_checkpoint
    from agents.pretrained import resolve_checkpoint
    from agents.reinforce import ALGORITHM, ENV_ID, decode, head_beams, load_beam_head, load_net

    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ValueError(f"episodes must be an integer >= 1, got {episodes!r}")
    path = resolve_checkpoint(ALGORITHM, ENV_ID, checkpoint)
    assert path is not None
    loaded = load_checkpoint(path, algorithm=ALGORITHM, env_id=ENV_ID)
    kwargs = dict(env_kwargs or {})
    head = load_beam_head(loaded)
    net = None
    values: dict[tuple[str, str], list[float]] = {row: [] for row in ROWS}
    for start in range(0, episodes, batch_size):
        size = min(batch_size, episodes - start)
        envs = gym.make_vec(ENV_ID, size, vectorization_mode="vector_entry_point", **kwargs)
        envs.reset(seed=seed + start)
        base: Any = envs.unwrapped
        sim, state, config = base.sim, base.state, base.config
        if net is None:  # the caps come from the env; every batch has the same kwargs
            net = load_net(loaded, int(config.max_ues_per_ap), int(config.max_aps_per_ue))
        shape = state.support.shape
        with torch.no_grad():
            plan = greedy_priorities(state.gain_db, config.max_ues_per_ap, config.max_aps_per_ue)
            supports = {
                "greedy": (plan < shape[1] * shape[2]).view(shape),
                "reinforce": decode(net, sim, state, greedy=True).support,
            }
            for name, beams in ROWS:
                support = supports[name]
                if beams == "head":
                    if head is None:
                        continue
                    own = head_beams(head, sim, state, support)
                    rates = sim.evaluate(state, support, beams=own).rates
                else:
                    rates = sim.rates_of(
                        state.channels, support, state.tx_power, state.noise_power, beams
                    )
                values[(name, beams)].extend(rates.sum(-1).double().tolist())
        envs.close()
    return {row: summarize(np.asarray(v)) for row, v in values.items() if v}


def main(argv: list[str] | None = None) -> int:
    """``python -m agents.reinforce_beams [reinforce:]CKPT --episodes N --seed S``."""
    import argparse

    from agents.cli import parse_env_kwargs
    from agents.evaluate import format_stat

    parser = argparse.ArgumentParser(
        prog="python -m agents.reinforce_beams", description=__doc__.split("\n")[0]
    )
    parser.add_argument("checkpoint", help="reinforce:PATH, PATH or reinforce:pretrained")
    parser.add_argument("--episodes", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=2_000_000_000)
    parser.add_argument("--env-kwargs", nargs="+", metavar="K=V", help="env kwargs")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    checkpoint = args.checkpoint.removeprefix("reinforce:")
    try:
        table = beam_table(
            checkpoint,
            episodes=args.episodes,
            seed=args.seed,
            env_kwargs=parse_env_kwargs(args.env_kwargs),
        )
    except ValueError as error:
        parser.exit(2, f"python -m agents.reinforce_beams: error: {error}\n")
    print("| support | beams | sum rate [bit/s/Hz] |")
    print("|---|---|---:|")
    names = {"rzf": "partial RZF", "wmmse": "WMMSE", "head": "own (beamforming head)"}
    for (support, beams), stat in table.items():
        print(f"| {support} | {names[beams]} | {format_stat(stat)} |")
    print(
        f"\nCellFreeAssoc-v0 {parse_env_kwargs(args.env_kwargs)}, {args.episodes} instances "
        f"(seeds {args.seed} + j), mean ± 95 % CI; checkpoint {args.checkpoint}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
