"""``python -m agents.demo`` (``make demo``): the GROWS slotted-arrival comparison.

:func:`main` (the main job, :func:`slotted_demo`) trains tabular Q-learning on
``SlottedArrivalAssoc-v0`` for each arrival probability p = 0.5, 0.7, 1.0 at mean demand 14
(the paper's hyper-parameters, 100,000 episodes each by default, about one minute in all on
one CPU thread), then evaluates random, argmax and Q-learning on the same 300 seeded episodes
and prints mean utility per episode ± 95 % CI (also per slot, the paper's Table I unit) and
rejections per episode, and saves a plot (``results/demo/slotted_demo.png``).

:func:`physics_demo` is a small, seeded physics demo: sum rates of MRT, ZF, RZF and WMMSE on
seeded 28 GHz mmWave instances (SPEC §3.1 defaults: 2 BSs × 4 antennas, 8 UEs), every UE
served by the BS with the strongest channel gain (unique association).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

from agents.evaluate import Stat, format_stat, summarize


def physics_demo(
    instances: int = 64,
    seed: int = 0,
    num_bs: int = 2,
    num_antennas: int = 4,
    num_ues: int = 8,
) -> str:
    """Markdown table: mean sum rate ± 95 % CI [bit/s/Hz] per beamformer over ``instances``.

    :param instances: seeded ``mmwave28`` instances (one batch drawn from ``seed``).
    :param seed: seed of the ``torch.Generator`` the instances are drawn from.
    :return: the table (also the text :func:`main` prints).
    """
    from ua_envs.core import beamforming
    from ua_envs.core.assignment import one_hot
    from ua_envs.core.channels import mmwave28
    from ua_envs.core.signal import sum_rate

    generator = torch.Generator().manual_seed(seed)
    sample = mmwave28(
        generator, instances, num_bs=num_bs, num_antennas=num_antennas, num_ues=num_ues
    )
    channels, tx_power, noise_power = sample.channels, sample.tx_power, sample.noise_power
    gain = channels.abs().square().sum(dim=-1)  # (B, M, K) |h_{m,k}|²
    association = one_hot(gain.argmax(dim=-2), num_bs)  # each UE to its strongest BS
    precoders = {
        "MRT": lambda: beamforming.mrt(channels, association, tx_power),
        "ZF": lambda: beamforming.zf(channels, association, tx_power, noise_power),
        "RZF": lambda: beamforming.rzf(channels, association, tx_power, noise_power),
        "WMMSE": lambda: beamforming.wmmse(channels, association, tx_power, noise_power),
    }
    lines = ["| beamformer | sum rate [bit/s/Hz] |", "|---|---:|"]
    for name, precoder in precoders.items():
        rate = sum_rate(channels, precoder(), association, noise_power)
        lines.append(f"| {name} | {format_stat(summarize(rate.double().numpy()))} |")
    lines.append("")
    lines.append(
        f"mmwave28, M={num_bs} BSs x N={num_antennas} antennas, K={num_ues} UEs, argmax-gain "
        f"association, {instances} instances (seed {seed}), mean ± 95 % CI"
    )
    return "\n".join(lines)


SLOTTED_ID = "SlottedArrivalAssoc-v0"
DEMO_POLICIES = ("random", "argmax", "q_learning")


def slotted_demo(
    arrival_probs: tuple[float, ...] = (0.5, 0.7, 1.0),
    mean_demand: int = 14,
    train_episodes: int = 100_000,
    eval_episodes: int = 300,
    seed: int = 0,
    eval_seed: int = 100_000,
    out_dir: str | Path = "results/demo",
    progress: bool = True,
) -> str:
    """Train Q-learning per arrival probability, compare random / argmax / Q-learning.

    :param arrival_probs: arrival probabilities p (one Q-table each).
    :param mean_demand: mean demand D̄ [data units].
    :param train_episodes: Q-learning training episodes per p.
    :param eval_episodes: evaluation episodes per policy and p (episode j: ``eval_seed + j``).
    :param seed: training seed.
    :param out_dir: where the Q-tables (``q_p{p}_d{D}.pt``) and the plot go.
    :param progress: print progress lines on stderr.
    :return: the markdown table (also what :func:`main` prints).
    """
    from agents.evaluate import compare
    from agents.q_learning import QLearningArgs, train
    from ua_envs.envs.slotted.sim import SlottedConfig

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    horizon = SlottedConfig().horizon  # slots per episode (the env truncates there)
    stats: dict[tuple[str, float], tuple[Stat, Stat]] = {}
    for p in arrival_probs:
        env_kwargs = {"arrival_prob": p, "mean_demand": mean_demand}
        args = QLearningArgs(total_steps=train_episodes * horizon, seed=seed)
        table = train(env_kwargs, args)
        path = table.save(out / f"q_p{p}_d{mean_demand}.pt")
        if progress:
            print(
                f"demo: p={p}: Q-learning, {train_episodes:,} episodes in {table.seconds:.0f} s",
                file=sys.stderr,
            )
        specs = [*DEMO_POLICIES[:2], f"q_learning:{path}"]
        result = compare(specs, SLOTTED_ID, eval_episodes, eval_seed, env_kwargs, print_table=False)
        for name, res in zip(DEMO_POLICIES, result.results, strict=True):
            stats[(name, p)] = (summarize(res.returns), summarize(res.metrics["rejections"]))
    lines = [
        "| policy | p | utility / episode | utility / slot | rejections / episode |",
        "|---|---:|---:|---:|---:|",
    ]
    for p in arrival_probs:
        for name in DEMO_POLICIES:
            utility, rejections = stats[(name, p)]
            per_slot = utility.mean / horizon
            lines.append(
                f"| {name} | {p} | {format_stat(utility)} | {per_slot:.2f} "
                f"| {format_stat(rejections)} |"
            )
    figure = _plot_slotted(stats, arrival_probs, out / "slotted_demo.png", mean_demand)
    lines.append("")
    lines.append(
        f"{SLOTTED_ID}, mean demand {mean_demand}, {eval_episodes} episodes per cell (seeds "
        f"{eval_seed}...{eval_seed + eval_episodes - 1}), mean ± 95 % CI; Q-learning: "
        f"{train_episodes:,} training episodes per p (lr 0.5, gamma 0.5). "
        f"Plot: {figure}. Total {time.perf_counter() - started:.0f} s."
    )
    return "\n".join(lines)


def _plot_slotted(
    stats: dict[tuple[str, float], tuple[Stat, Stat]],
    arrival_probs: tuple[float, ...],
    path: Path,
    mean_demand: int,
) -> Path:
    """Grouped bars: utility per episode and rejections per episode (95 % CI) against p."""
    import numpy as np
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 3.6), layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots(1, 2)
    x = np.arange(len(arrival_probs))
    width = 0.8 / len(DEMO_POLICIES)
    for k, (title, ax) in enumerate(
        zip(("utility per episode", "rejections per episode"), axes, strict=True)
    ):
        for i, name in enumerate(DEMO_POLICIES):
            values = [stats[(name, p)][k] for p in arrival_probs]
            errors = [0.0 if np.isnan(s.half_width) else s.half_width for s in values]
            ax.bar(
                x + (i - 1) * width,
                [s.mean for s in values],
                width,
                yerr=errors,
                capsize=3,
                label=name,
                color=f"C{i}",
            )
        ax.set_xticks(x, [f"p = {p}" for p in arrival_probs])
        ax.set_title(f"{title} (mean demand {mean_demand})")
    axes[0].legend(loc="upper left")
    figure.savefig(path, dpi=110)
    return path


def main() -> None:
    """``make demo``: :func:`slotted_demo` with one CPU thread (about one minute)."""
    torch.set_num_threads(1)
    print(slotted_demo())


if __name__ == "__main__":
    main()
