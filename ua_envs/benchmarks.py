"""Throughput benchmarks: the physics core, a single Gymnasium env and its native vector env.

Run from a shell (one intra-op torch thread on the CPU: on 2-core machines two threads make
small ops 50–150× slower)::

    python -m ua_envs.benchmarks core                      # sum_rate(mrt(...)) evaluations/s
    python -m ua_envs.benchmarks MultiCellAssoc-v0 --num-envs 1024 --steps 200

or through the command line, ``ua-envs bench core`` / ``ua-envs bench ENV``.

What is timed:

* ``core``: one call of ``sum_rate(channels, mrt(channels, association, tx_power),
  association, noise_power)`` with validation ON (the library defaults) on a batch of
  ``batch_size`` instances, at the sizes ``(M, N, K)`` of :data:`CORE_SIZES`. Channels are
  i.i.d. complex Gaussian and the association a fixed random one-hot map: channel drawing is not
  timed, only the physics evaluation. Rate = ``batch_size / median seconds per call``.
* a single env: ``env.step`` with a uniformly random *legal* action (under the observation's
  ``action_mask`` when it carries one), resets included: every step and
  every reset of an episode count, the drawing of the random actions does not;
  rate = steps / second.
* a native vector env (``gym.make_vec(id, n, vectorization_mode="vector_entry_point")``):
  batched random legal actions drawn on the env's device, ``SAME_STEP`` autoreset, so every
  call advances ``num_envs`` env-steps; rate = ``num_envs · steps / seconds``.

Figures depend on the machine and on what else runs on it; report them with the command.
This module never imports :mod:`agents` (the library never depends on the agents) and does
not change global torch state on import; :func:`main` sets ``torch.set_num_threads`` (default 1).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from ua_envs.core.beamforming import mrt
from ua_envs.core.signal import sum_rate
from ua_envs.core.validation import check_float_range, check_int_range
from ua_envs.spaces import action_mask_of, random_legal_action

#: ``(M, N, K)``: transmitters, antennas per transmitter, UEs.
CORE_SIZES: tuple[tuple[int, int, int], ...] = ((2, 4, 8), (4, 4, 16), (6, 4, 24))
#: Default batch of the core benchmark.
CORE_BATCH_SIZE = 4096
#: Target of the core benchmark at (2, 4, 8), batch 4096, one CPU thread.
CORE_TARGET_PER_S = 500_000


@dataclass(frozen=True)
class BenchResult:
    """One row of a benchmark table.

    :param name: what was timed, e.g. ``"sum_rate(mrt)"`` or an env id.
    :param kind: ``"core"``, ``"env"`` (single Gymnasium env) or ``"vector"``.
    :param size: problem size in words, e.g. ``"M=2 N=4 K=8"``.
    :param device: torch device string.
    :param batch: batch size (core), 1 (single env) or ``num_envs`` (vector env).
    :param calls: number of timed calls.
    :param seconds: total timed wall time [s].
    :param rate: throughput in ``unit`` from wall time.
    :param cpu_rate: throughput from this process's CPU time (``time.process_time``): with one
        thread, close to the wall-time rate on an idle machine and much less disturbed by other
        processes; meaningless for asynchronous CUDA work (NaN there).
    :param unit: ``"evaluations/s"``, ``"steps/s"`` or ``"env-steps/s"``.
    :param note: anything a reader needs to interpret the row (fallbacks, ...).
    """

    name: str
    kind: str
    size: str
    device: str
    batch: int
    calls: int
    seconds: float
    rate: float
    unit: str
    note: str = ""
    cpu_rate: float = float("nan")


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time_calls(
    fn: Callable[[], Any], device: torch.device, min_time_s: float, min_calls: int = 5
) -> tuple[float, float, int, float]:
    """Median wall and CPU seconds per call, number of calls and total wall seconds.

    After 3 warm-up calls, calls ``fn`` until ``min_time_s`` and ``min_calls`` are reached.
    """
    for _ in range(3):
        fn()
    _synchronize(device)
    durations: list[float] = []
    cpu_durations: list[float] = []
    total = 0.0
    while total < min_time_s or len(durations) < min_calls:
        start, cpu_start = time.perf_counter(), time.process_time()
        fn()
        _synchronize(device)
        elapsed = time.perf_counter() - start
        cpu_durations.append(time.process_time() - cpu_start)
        durations.append(elapsed)
        total += elapsed
    return statistics.median(durations), statistics.median(cpu_durations), len(durations), total


def core_inputs(
    num_bs: int,
    num_antennas: int,
    num_ues: int,
    batch_size: int,
    device: torch.device | str = "cpu",
    seed: int = 0,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Seeded inputs of the core benchmark.

    :return: ``channels`` ``(B, M, K, N)`` complex64 i.i.d. CN(0, 1), ``association``
        ``(B, M, K)`` float32 random one-hot (each UE to one transmitter), ``tx_power``
        ``(B, M)`` float32 = 1 W, ``noise_power`` ``(B, K)`` float32 = 0.1 W.
    """
    device = torch.device(device)
    generator = torch.Generator(device="cpu").manual_seed(seed)
    shape = (batch_size, num_bs, num_ues, num_antennas)
    channels = torch.complex(
        torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)
    ) / np.sqrt(2.0)
    serving = torch.randint(0, num_bs, (batch_size, num_ues), generator=generator)
    association = torch.nn.functional.one_hot(serving, num_bs).movedim(-1, -2).float()
    tx_power = torch.ones(batch_size, num_bs)
    noise_power = torch.full((batch_size, num_ues), 0.1)
    return (
        channels.to(device),
        association.to(device),
        tx_power.to(device),
        noise_power.to(device),
    )


def benchmark_core(
    sizes: Sequence[tuple[int, int, int]] = CORE_SIZES,
    batch_size: int = CORE_BATCH_SIZE,
    device: torch.device | str = "cpu",
    *,
    min_time_s: float = 1.0,
    seed: int = 0,
) -> list[BenchResult]:
    """Evaluations/s of ``sum_rate(mrt(...))`` (validation on) at each ``(M, N, K)`` in ``sizes``.

    :param sizes: ``(num_bs, num_antennas, num_ues)`` triples.
    :param batch_size: instances per call.
    :param device: torch device; the caller sets the number of CPU threads.
    :param min_time_s: time each size for at least this long [s] (after 3 warm-up calls).
    """
    batch_size = check_int_range("batch_size", batch_size, 1)
    min_time_s = check_float_range("min_time_s", min_time_s, 0.0)
    device = torch.device(device)
    rows = []
    for num_bs, num_antennas, num_ues in sizes:
        channels, association, tx_power, noise_power = core_inputs(
            num_bs, num_antennas, num_ues, batch_size, device, seed
        )

        def call(
            h: Tensor = channels,
            a: Tensor = association,
            p: Tensor = tx_power,
            s: Tensor = noise_power,
        ) -> Tensor:
            return sum_rate(h, mrt(h, a, p), a, s)

        with torch.no_grad():
            median_s, cpu_s, calls, total_s = _time_calls(call, device, min_time_s)
        rows.append(
            BenchResult(
                name="sum_rate(mrt)",
                kind="core",
                size=f"M={num_bs} N={num_antennas} K={num_ues}",
                device=str(device),
                batch=batch_size,
                calls=calls,
                seconds=total_s,
                rate=batch_size / median_s,
                unit="evaluations/s",
                cpu_rate=batch_size / cpu_s if device.type == "cpu" and cpu_s > 0 else math.nan,
            )
        )
    return rows


def benchmark_env(
    env_id: str,
    steps: int = 2000,
    *,
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> BenchResult:
    """Steps/s of a single Gymnasium env with random legal actions, resets included.

    Only the env's ``step`` and ``reset`` calls are timed, not the drawing of the actions.

    :param env_id: a registered id (``gym.make(env_id, **env_kwargs)``).
    :param steps: timed steps (after a warm-up episode).
    :param seed: seeds the first reset and the action sampler.
    """
    steps = check_int_range("steps", steps, 1)
    env = gym.make(env_id, **(env_kwargs or {}))
    rng = np.random.default_rng(seed)
    observation, _ = env.reset(seed=seed)
    done = False
    while not done:  # warm-up episode (imports, first allocations)
        action = random_legal_action(env.action_space, rng, action_mask_of(observation))
        observation, _, terminated, truncated, _ = env.step(action)
        done = terminated or truncated
    observation, _ = env.reset()
    # Only env.step / env.reset are timed: drawing the random action is the benchmark's own
    # policy, not the env's cost (a masked MultiDiscrete draw costs ~100 µs in Python).
    elapsed = cpu_elapsed = 0.0
    for _ in range(steps):
        action = random_legal_action(env.action_space, rng, action_mask_of(observation))
        start, cpu_start = time.perf_counter(), time.process_time()
        observation, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated:
            observation, _ = env.reset()
        elapsed += time.perf_counter() - start
        cpu_elapsed += time.process_time() - cpu_start
    env.close()
    return BenchResult(
        name=env_id,
        kind="env",
        size=_size_words(env_kwargs),
        device="cpu",
        batch=1,
        calls=steps,
        seconds=elapsed,
        rate=steps / elapsed,
        unit="steps/s",
        cpu_rate=steps / cpu_elapsed if cpu_elapsed > 0 else math.nan,
    )


def random_legal_actions(
    space: spaces.Space[Any],
    num_envs: int,
    generator: torch.Generator,
    device: torch.device,
    mask: Tensor | None = None,
) -> Tensor:
    """A batch of uniformly random legal actions for a vector env whose single space is ``space``.

    Uniform over legal actions by taking the argmax of i.i.d. uniform scores where illegal
    actions score -1.

    :param mask: ``(num_envs, n)`` bool (``Discrete``), ``(num_envs, sum(nvec))`` or
        ``(num_envs, d, max(nvec))`` (``MultiDiscrete``), or ``None``.
    :return: ``(num_envs,)`` int64, ``(num_envs, d)`` int64 or ``(num_envs, *shape)`` int8
        (``MultiBinary``) on ``device``.
    """
    if isinstance(space, spaces.Discrete):
        n = int(space.n)
        scores = torch.rand(num_envs, n, generator=generator, device=device)
        if mask is not None:
            scores = scores.masked_fill(~mask.reshape(num_envs, -1)[:, :n].bool(), -1.0)
        return scores.argmax(dim=-1) + int(space.start)
    if isinstance(space, spaces.MultiDiscrete):
        nvec = [int(n) for n in np.asarray(space.nvec).reshape(-1)]
        width = max(nvec)
        scores = torch.rand(num_envs, len(nvec), width, generator=generator, device=device)
        allowed = torch.tensor(
            [[j < n for j in range(width)] for n in nvec], dtype=torch.bool, device=device
        ).expand(num_envs, -1, -1)
        if mask is not None:
            mask = mask.bool()
            if mask.shape[1:] == (sum(nvec),):
                padded = torch.zeros(num_envs, len(nvec), width, dtype=torch.bool, device=device)
                for i, piece in enumerate(torch.split(mask, nvec, dim=1)):
                    padded[:, i, : nvec[i]] = piece
                mask = padded
            allowed = allowed & mask.reshape(num_envs, len(nvec), -1)[..., :width]
        actions = scores.masked_fill(~allowed, -1.0).argmax(dim=-1)
        start = torch.as_tensor(np.asarray(space.start).reshape(-1), device=device)
        return (actions + start).reshape(num_envs, *space.shape)
    if isinstance(space, spaces.MultiBinary):
        shape = (num_envs, *space.shape)
        return torch.randint(0, 2, shape, generator=generator, device=device, dtype=torch.int8)
    raise ValueError(
        f"random_legal_actions supports Discrete, MultiDiscrete and MultiBinary spaces, "
        f"got {type(space).__name__}"
    )


def benchmark_vector_env(
    env_id: str,
    num_envs: int = 1024,
    steps: int = 100,
    *,
    device: torch.device | str = "cpu",
    seed: int = 0,
    env_kwargs: dict[str, Any] | None = None,
) -> BenchResult:
    """Env-steps/s of the native vector env of ``env_id`` (``num_envs · steps / seconds``).

    Actions are sampled as one batch on ``device`` (uniform over the legal ones when the
    observation carries an ``action_mask``); ``SAME_STEP`` autoreset makes every call advance
    every sub-env, so resets are included.

    :param num_envs: sub-envs of the vector env.
    :param steps: timed ``step`` calls (after 3 warm-up calls).
    """
    num_envs = check_int_range("num_envs", num_envs, 1)
    steps = check_int_range("steps", steps, 1)
    device = torch.device(device)
    envs = gym.make_vec(
        env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        device=device,
        **(env_kwargs or {}),
    )
    generator = torch.Generator(device=device).manual_seed(seed)
    observation, _ = envs.reset(seed=seed)
    space = envs.single_action_space

    def mask_of(obs: Any) -> Tensor | None:
        if isinstance(obs, dict) and "action_mask" in obs:
            return torch.as_tensor(obs["action_mask"], device=device).bool()
        return None

    for _ in range(3):
        actions = random_legal_actions(space, num_envs, generator, device, mask_of(observation))
        observation, *_ = envs.step(actions)
    _synchronize(device)
    start, cpu_start = time.perf_counter(), time.process_time()
    with torch.no_grad():
        for _ in range(steps):
            actions = random_legal_actions(space, num_envs, generator, device, mask_of(observation))
            observation, *_ = envs.step(actions)
    _synchronize(device)
    elapsed = time.perf_counter() - start
    cpu_elapsed = time.process_time() - cpu_start
    envs.close()
    return BenchResult(
        name=env_id,
        kind="vector",
        size=_size_words(env_kwargs),
        device=str(device),
        batch=num_envs,
        calls=steps,
        seconds=elapsed,
        rate=num_envs * steps / elapsed,
        unit="env-steps/s",
        cpu_rate=(
            num_envs * steps / cpu_elapsed if device.type == "cpu" and cpu_elapsed > 0 else math.nan
        ),
    )


def _size_words(env_kwargs: dict[str, Any] | None) -> str:
    if not env_kwargs:
        return "defaults"
    return " ".join(f"{key}={value}" for key, value in env_kwargs.items())


def _format_rate(rate: float) -> str:
    if math.isnan(rate):
        return "–"
    return f"{float(f'{rate:.3g}'):,.0f}" if rate >= 100 else f"{rate:.3g}"


def format_table(rows: Sequence[BenchResult]) -> str:
    """Markdown table of benchmark rows (rates rounded to 3 significant digits).

    ``rate`` is from wall time; ``rate (CPU time)`` from the process's CPU time (see
    :class:`BenchResult`): a large gap between them means other processes were competing.
    """
    lines = [
        "| benchmark | kind | size | device | batch | rate | rate (CPU time) | unit | note |",
        "|---|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row.name} | {row.kind} | {row.size} | {row.device} | {row.batch} "
            f"| {_format_rate(row.rate)} | {_format_rate(row.cpu_rate)} | {row.unit} "
            f"| {row.note} |"
        )
    return "\n".join(lines)


def default_devices() -> list[str]:
    """``["cpu"]``, plus ``"cuda"`` when a CUDA device is available."""
    return ["cpu", "cuda"] if torch.cuda.is_available() else ["cpu"]


def run_core(
    devices: Sequence[str] | None = None,
    batch_size: int = CORE_BATCH_SIZE,
    min_time_s: float = 1.0,
) -> list[BenchResult]:
    """The ``core`` command: :func:`benchmark_core` on each device (default: CPU, and CUDA)."""
    rows: list[BenchResult] = []
    for device in devices or default_devices():
        rows.extend(benchmark_core(batch_size=batch_size, device=device, min_time_s=min_time_s))
    return rows


def run_env(
    env_id: str,
    num_envs: Sequence[int] = (1024,),
    steps: int = 100,
    single_steps: int = 2000,
    device: str = "cpu",
    env_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
) -> list[BenchResult]:
    """The ``ENV`` command: the single env, then the vector env at each size in ``num_envs``.

    An id registered without a ``vector_entry_point`` gets the single-env row only (noted).
    """
    rows = [benchmark_env(env_id, single_steps, seed=seed, env_kwargs=env_kwargs)]
    if gym.spec(env_id).vector_entry_point is None:
        return [dataclasses.replace(rows[0], note="no native vector env")]
    for n in num_envs:
        rows.append(
            benchmark_vector_env(env_id, n, steps, device=device, seed=seed, env_kwargs=env_kwargs)
        )
    return rows


def _positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {value}")
    return value


def _positive_int_list(text: str) -> list[int]:
    """argparse type: comma-separated integers >= 1."""
    return [_positive_int(part) for part in text.split(",")]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ua_envs.benchmarks core|ENV [...]``: print a markdown table of throughputs.

    The same tables as ``ua-envs bench`` (which adds ``--min-time`` and ``--env-kwargs``). A bad
    argument or an unknown env id prints one line and exits with status 2.
    """
    import ua_envs  # noqa: F401  (registers the ids)

    prog = "python -m ua_envs.benchmarks"
    parser = argparse.ArgumentParser(prog=prog, description=main.__doc__)
    parser.add_argument("target", help="'core' or a registered env id")
    parser.add_argument("--num-envs", type=_positive_int_list, default=[1024], help="e.g. 256,1024")
    parser.add_argument("--steps", type=_positive_int, default=100, help="timed vector-env steps")
    parser.add_argument("--single-steps", type=_positive_int, default=2000, help="single-env steps")
    parser.add_argument("--batch-size", type=_positive_int, default=CORE_BATCH_SIZE, help="core")
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (core default: both)")
    parser.add_argument("--threads", type=_positive_int, default=1, help="torch CPU threads (1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    try:
        if args.target == "core":
            rows = run_core([args.device] if args.device else None, args.batch_size)
        else:
            gym.spec(args.target)  # unknown id: gymnasium's error, reported below
            rows = run_env(
                args.target, args.num_envs, args.steps, args.single_steps, args.device or "cpu"
            )
    except (ValueError, gym.error.Error) as error:
        print(f"{prog}: error: {str(error).splitlines()[0]}", file=sys.stderr)
        return 2
    print(format_table(rows))
    print(f"\ntorch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
