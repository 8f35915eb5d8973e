"""The training convention of our learners: budget, logging, held-out evaluation, resume.

Every trainer (``ua-envs train NAME``) follows it, with the pieces of this module:

* **Budget** (:func:`step_budget`): ``--steps N`` env steps (one step = one transition of one
  sub-env: a vector step of ``n`` sub-envs is ``n`` steps); ``--episodes N`` keeps its meaning
  for trainers whose episodes have a fixed length (``N × slots`` steps).
* **Log** (:class:`TrainingLog`): a tqdm bar over env steps (steps/s, and the running mean
  return of the last :data:`RETURN_WINDOW` finished episodes as postfix); the learning curve
  ``<out stem>.curve.csv`` (``step``, ``wall_time_s``, ``episodes``, ``mean_return``, then the
  trainer's scalars such as ``loss``, ``epsilon``, ``eval_return``) and its figure
  ``<out stem>.curve.png``; TensorBoard scalars under ``--tensorboard DIR``. See
  :func:`run_files` for the paths.
* **Held-out evaluation** (:class:`PeriodicEvaluation`): every ``--eval-every`` steps the
  policy is evaluated with :func:`agents.evaluate.evaluate` on ``--eval-episodes`` episodes
  whose seeds are disjoint from the training seeds (:func:`evaluation_seed`); the best
  evaluated weights are kept in ``<out stem>.best.pt``, the last in ``out``.
* **Checkpoints** (:mod:`agents.checkpoint`): one ``.pt`` file, loaded ``weights_only``.
* **Resume** (``--resume CKPT``, :func:`load_resume`): weights, optimiser and generator states,
  step and episode counts and the learning curve come from the checkpoint; training continues
  to the budget, and the curve continues (rows appended, steps increasing).
* **Reproducibility**: every random stream of a run is a ``torch.Generator`` seeded from the
  training seed and a stream name (:func:`make_generator`), never the global generator, and no
  wall time goes into a state dict, so the same ``--seed`` on the CPU writes byte-identical
  state dicts (:func:`state_digest` compares them).

Seeds. Training resets its native vector env with seeds derived from ``--seed`` (a vector env
of ``n`` sub-envs reset with seed ``s`` draws sub-env ``i`` as a single env reset with
``s + i``; its autoresets draw from its own generator, seeded from ``s``). Evaluation episode
``j`` is reset with seed ``EVAL_SEED_BASE + j`` = ``10**9 + j``, whatever the training seed:
every run of every learner is evaluated on the same held-out instances, and a trainer refuses a
seed whose training resets would reach ``10**9`` (:func:`evaluation_seed`).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from agents.checkpoint import Checkpoint, KwargsCheck, load_checkpoint, save_checkpoint
from agents.entries import TrainJob
from agents.policy import Policy

#: First seed of the held-out evaluation episodes (episode ``j``: ``EVAL_SEED_BASE + j``).
EVAL_SEED_BASE = 10**9
#: Finished training episodes averaged in the running ``mean_return``.
RETURN_WINDOW = 100
#: The first curve columns, in this order (the trainer's scalars follow).
CURVE_COLUMNS = ("step", "wall_time_s", "episodes", "mean_return")


def evaluation_seed(training_seed: int, training_resets: int = 1) -> int:
    """The seed of the first held-out evaluation episode (episode ``j``: that seed + ``j``).

    :param training_seed: the run's ``--seed``, ≥ 0.
    :param training_resets: how many consecutive single-env seeds from ``training_seed`` the
        run's training resets may use (``n`` for one reset of an ``n``-env vector env).
    :return: :data:`EVAL_SEED_BASE`, the same for every run (so runs are compared on the same
        instances), disjoint from ``[training_seed, training_seed + training_resets)``.
    :raises ValueError: ``training_seed + training_resets`` exceeds :data:`EVAL_SEED_BASE`.

    >>> evaluation_seed(0, 256)
    1000000000
    """
    if training_seed < 0 or training_resets < 0:
        raise ValueError(
            f"training_seed and training_resets must be >= 0, got {training_seed}, "
            f"{training_resets}"
        )
    if training_seed + training_resets > EVAL_SEED_BASE:
        raise ValueError(
            f"seed must be <= {EVAL_SEED_BASE - training_resets} for this run (its training "
            f"resets use seeds up to seed + {training_resets}; seeds from {EVAL_SEED_BASE} on "
            f"are the held-out evaluation episodes), got {training_seed}"
        )
    return EVAL_SEED_BASE


@dataclass(frozen=True)
class RunFiles:
    """The files of one training run, all next to ``checkpoint`` (``out``).

    :param checkpoint: the last checkpoint (``out``).
    :param best: the best evaluated checkpoint, ``<out stem>.best.pt``.
    :param curve_csv: the learning curve, ``<out stem>.curve.csv``.
    :param curve_png: its figure, ``<out stem>.curve.png``.
    """

    checkpoint: Path
    best: Path
    curve_csv: Path
    curve_png: Path


def run_files(out: str | Path) -> RunFiles:
    """The :class:`RunFiles` of checkpoint path ``out``.

    >>> run_files("runs/q.pt").best.as_posix(), run_files("runs/q.pt").curve_csv.name
    ('runs/q.best.pt', 'q.curve.csv')
    """
    path = Path(out)
    stem = path.with_suffix("") if path.suffix else path
    return RunFiles(
        checkpoint=path,
        best=stem.with_name(f"{stem.name}.best.pt"),
        curve_csv=stem.with_name(f"{stem.name}.curve.csv"),
        curve_png=stem.with_name(f"{stem.name}.curve.png"),
    )


def make_generator(seed: int, stream: str) -> torch.Generator:
    """A CPU ``torch.Generator`` for one named random stream of a run seeded with ``seed``.

    Streams with different names are independent (the seed is numpy's ``SeedSequence`` of
    ``seed`` and the name's bytes), so adding a stream never shifts another one's numbers.

    >>> a = torch.rand(2, generator=make_generator(0, "exploration"))
    >>> torch.equal(a, torch.rand(2, generator=make_generator(0, "exploration")))
    True
    """
    entropy = np.random.SeedSequence([int(seed), *stream.encode()]).generate_state(1, np.uint64)
    generator = torch.Generator()
    generator.manual_seed(int(entropy[0]) & ((1 << 63) - 1))
    return generator


def state_digest(state: Any) -> str:
    """SHA-256 (hex) of a nested state (dicts by sorted key, tensors by dtype, shape, bytes).

    Two runs are reproducible when their checkpoints' ``state`` digests are equal.
    """
    digest = hashlib.sha256()

    def feed(value: Any) -> None:
        if isinstance(value, Tensor):
            tensor = value.detach().cpu().contiguous()
            digest.update(f"T{tensor.dtype}{tuple(tensor.shape)}".encode())
            # reshape: a 0-d tensor (a scalar parameter) has no byte view of its own.
            raw = tensor.reshape(-1).view(torch.uint8) if tensor.numel() else None
            digest.update(raw.numpy().tobytes() if raw is not None else b"")
        elif isinstance(value, Mapping):
            digest.update(b"{")
            for key in sorted(value, key=repr):
                digest.update(repr(key).encode())
                feed(value[key])
            digest.update(b"}")
        elif isinstance(value, (list, tuple)):
            digest.update(b"[")
            for item in value:
                feed(item)
            digest.update(b"]")
        else:
            digest.update(repr(value).encode())

    feed(state)
    return digest.hexdigest()


def step_budget(
    job: TrainJob,
    *,
    episode_steps: int | None,
    default_steps: int,
    resumed: Checkpoint | None = None,
) -> int:
    """The run's budget in env steps from ``--steps`` / ``--episodes`` (module docstring).

    :param job: the training job (``steps`` and ``episodes`` as given, ``None`` if not).
    :param episode_steps: steps of every episode if fixed, else ``None`` (``--episodes`` is
        then refused).
    :param default_steps: the budget when neither is given (a resumed run: the target of the
        run it continues).
    :param resumed: the checkpoint resumed from; the budget must exceed its step.
    :raises ValueError: both given, ``--episodes`` without fixed-length episodes, a budget < 1,
        or one not beyond the resumed checkpoint's step.
    """
    if job.steps is not None and job.episodes is not None:
        raise ValueError(
            f"give the budget as --steps or as --episodes, not both "
            f"(got steps={job.steps}, episodes={job.episodes})"
        )
    if job.steps is not None:
        steps = job.steps
    elif job.episodes is not None:
        if episode_steps is None:
            raise ValueError("this trainer's episodes have no fixed length: give --steps")
        steps = job.episodes * episode_steps
    else:
        steps = default_steps
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    if resumed is not None and steps <= resumed.step:
        raise ValueError(
            f"--resume: the checkpoint has already trained {resumed.step:,} steps; "
            f"give a budget beyond it (--steps > {resumed.step}), got {steps:,}"
        )
    return steps


def job_budget(
    job: TrainJob,
    *,
    episode_steps: int | None,
    default_steps: int,
    batch_field: str = "batch_size",
) -> dict[str, Any]:
    """The hyper-parameter fields a trainer's command line sets itself: ``total_steps`` from
    ``--steps`` / ``--episodes`` (:func:`step_budget`), ``seed`` from ``--seed`` and, when
    ``--num-envs`` is given, ``batch_field`` (the instances stepped together).

    >>> job = TrainJob("CellFreeAssoc-v0", None, 3, "x.pt", steps=100, num_envs=8)
    >>> job_budget(job, episode_steps=None, default_steps=10)
    {'total_steps': 100, 'seed': 3, 'batch_size': 8}
    """
    fixed: dict[str, Any] = {
        "total_steps": step_budget(job, episode_steps=episode_steps, default_steps=default_steps),
        "seed": job.seed,
    }
    if job.num_envs is not None:
        fixed[batch_field] = job.num_envs
    return fixed


def report_done(job: TrainJob, text: str) -> None:
    """Print a trainer's one-line summary on stderr unless ``--quiet``."""
    if not job.quiet:
        import sys

        print(text, file=sys.stderr)


def load_resume(
    job: TrainJob, algorithm: str, compatible_kwargs: KwargsCheck | None = None
) -> Checkpoint | None:
    """The checkpoint of ``--resume`` (``None`` without it), checked against the job.

    :raises ValueError: see :func:`agents.checkpoint.load_checkpoint` (another algorithm or
        env id, incompatible env kwargs, a damaged file).
    """
    if job.resume is None:
        return None
    return load_checkpoint(
        job.resume,
        algorithm=algorithm,
        env_id=job.env_id,
        env_kwargs=job.env_kwargs or {},
        compatible_kwargs=compatible_kwargs,
    )


class TrainingLog:
    """Progress bar, learning curve (CSV, PNG) and TensorBoard scalars of one run.

    Use as a context manager; call :meth:`advance` after every batch of env steps and
    :meth:`record` for a curve row. On exit the bar is closed, the CSV is complete and the PNG
    is drawn (also after an exception, so an interrupted run keeps its curve).

    :param total_steps: the budget in env steps (the bar's total).
    :param curve_csv: the CSV path (``None``: no files); the PNG is ``curve_csv`` with suffix
        ``.png``.
    :param rows: the curve so far (a resumed checkpoint's ``curve``): kept, and continued.
    :param start_step: steps already trained (a resumed checkpoint's ``step``).
    :param start_episodes: episodes already finished (a resumed checkpoint's ``episodes``).
    :param tensorboard: directory of TensorBoard event files (``None``: none).
    :param quiet: no progress bar.
    :param description: the bar's label.
    """

    def __init__(
        self,
        total_steps: int,
        *,
        curve_csv: str | Path | None = None,
        rows: Sequence[Mapping[str, Any]] = (),
        start_step: int = 0,
        start_episodes: int = 0,
        tensorboard: str | Path | None = None,
        quiet: bool = False,
        description: str = "training",
    ) -> None:
        self.total_steps = total_steps
        self.curve_csv = Path(curve_csv) if curve_csv is not None else None
        self.rows: list[dict[str, Any]] = [dict(row) for row in rows]
        self.step = start_step
        self.episodes = start_episodes
        self.tensorboard = tensorboard
        self.quiet = quiet
        self.description = description
        self._returns: deque[float] = deque(maxlen=RETURN_WINDOW)
        self._time_offset = float(self.rows[-1].get("wall_time_s") or 0.0) if self.rows else 0.0
        self._started = time.perf_counter()
        self._columns: list[str] = list(CURVE_COLUMNS)
        for row in self.rows:
            self._columns.extend(k for k in row if k not in self._columns)
        self._written = 0  # rows already in the CSV file
        self._bar: Any = None
        self._writer: Any = None

    def __enter__(self) -> TrainingLog:
        if not self.quiet:
            from tqdm.auto import tqdm

            self._bar = tqdm(
                total=self.total_steps,
                initial=self.step,
                desc=self.description,
                unit="step",
                unit_scale=True,
                dynamic_ncols=True,
            )
        if self.tensorboard is not None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError as error:
                raise ImportError(
                    "--tensorboard needs the tensorboard package: "
                    "pip install 'ua-envs[tensorboard]'"
                ) from error
            self._writer = SummaryWriter(log_dir=str(self.tensorboard))
        if self.curve_csv is not None:
            self._write_csv(rewrite=True)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bar is not None:
            self._bar.close()
        if self._writer is not None:
            self._writer.close()
        if self.curve_csv is not None:
            self._write_csv(rewrite=False)
            if self.rows:
                self.plot(self.curve_csv.with_suffix(".png"))

    @property
    def mean_return(self) -> float | None:
        """Mean return of the last :data:`RETURN_WINDOW` finished episodes (``None``: none)."""
        return float(np.mean(self._returns)) if self._returns else None

    @property
    def wall_time_s(self) -> float:
        """Seconds of training, the resumed run's included [s]."""
        return self._time_offset + time.perf_counter() - self._started

    def advance(self, steps: int, returns: Iterable[float] = (), **postfix: float) -> None:
        """Count ``steps`` env steps and the ``returns`` of the episodes finished in them.

        :param postfix: scalars shown on the bar after the mean return (e.g. ``epsilon``).
        """
        self.step += steps
        finished = [float(r) for r in returns]
        self.episodes += len(finished)
        self._returns.extend(finished)
        if self._bar is not None:
            shown = {"return": f"{self.mean_return:.3g}" if self._returns else "n/a"}
            shown.update({k: f"{v:.3g}" for k, v in postfix.items()})
            self._bar.set_postfix(shown, refresh=False)
            self._bar.update(steps)

    def record(self, **scalars: float | int | None) -> dict[str, Any]:
        """Append a curve row at the current step: the fixed columns and ``scalars``.

        Written to the CSV at once and to TensorBoard (every numeric value but ``step``, at
        global step ``step``). Returns the row.

        :raises ValueError: a scalar is NaN or infinite, or its name is a fixed column.
        """
        for name, value in scalars.items():
            if name in CURVE_COLUMNS:
                raise ValueError(f"curve scalar {name!r} is a fixed column; use another name")
            if value is not None and not math.isfinite(float(value)):
                raise ValueError(f"curve scalar {name!r} must be finite, got {value!r}")
        row: dict[str, Any] = {
            "step": int(self.step),
            "wall_time_s": round(self.wall_time_s, 6),
            "episodes": int(self.episodes),
            "mean_return": self.mean_return,
        }
        row.update(
            {k: (v if isinstance(v, int) or v is None else float(v)) for k, v in scalars.items()}
        )
        self.rows.append(row)
        new_columns = [k for k in row if k not in self._columns]
        self._columns.extend(new_columns)
        if self.curve_csv is not None:
            self._write_csv(rewrite=bool(new_columns))
        if self._writer is not None:
            for name, value in row.items():
                if name != "step" and value is not None:
                    self._writer.add_scalar(name, value, global_step=row["step"])
        return row

    def _write_csv(self, *, rewrite: bool) -> None:
        """Append the rows not yet written, or rewrite the file (new columns, first call)."""
        assert self.curve_csv is not None
        if rewrite or self._written == 0:
            self.curve_csv.parent.mkdir(parents=True, exist_ok=True)
            with self.curve_csv.open("w", newline="") as handle:
                writer = csv.DictWriter(handle, self._columns, restval="")
                writer.writeheader()
                writer.writerows(self._csv_rows(self.rows))
        else:
            with self.curve_csv.open("a", newline="") as handle:
                writer = csv.DictWriter(handle, self._columns, restval="")
                writer.writerows(self._csv_rows(self.rows[self._written :]))
        self._written = len(self.rows)

    @staticmethod
    def _csv_rows(rows: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
        return [{k: ("" if v is None else v) for k, v in row.items()} for row in rows]

    def plot(self, path: str | Path) -> Path:
        """PNG of the curve: returns (running mean, evaluations) over steps, then one panel per
        other scalar. Matplotlib's object API with the Agg canvas (no global backend change)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        path = Path(path)
        others = [c for c in self._columns if c not in CURVE_COLUMNS and c != "eval_return"]
        figure = Figure(figsize=(7.0, 2.6 * (1 + len(others))), layout="constrained")
        FigureCanvasAgg(figure)
        axes = figure.subplots(1 + len(others), 1, sharex=True, squeeze=False)[:, 0]
        panels = [["mean_return", "eval_return"], *[[other] for other in others]]
        for axis, names in zip(axes, panels, strict=True):
            for name in names:
                points = [(r["step"], r[name]) for r in self.rows if r.get(name) is not None]
                if points:
                    steps, values = zip(*points, strict=True)
                    marker = "o" if name == "eval_return" else None
                    axis.plot(steps, values, marker=marker, markersize=3, label=name)
            axis.set_ylabel(names[0] if len(names) == 1 else "episode return")
            axis.grid(alpha=0.3)
            if len(names) > 1:
                axis.legend(loc="lower right")
        axes[0].set_title(self.description)
        axes[-1].set_xlabel("env steps")
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(path, dpi=100)
        return path


class PeriodicEvaluation:
    """Evaluation on the held-out seeds every ``every`` env steps, tracking the best return.

    :param env_id: the env to evaluate on (the training env's id).
    :param env_kwargs: its kwargs.
    :param every: evaluate when the step count reaches the next multiple of ``every``
        (``0``: never).
    :param episodes: episodes per evaluation (seeds ``EVAL_SEED_BASE + j``).
    :param start_step: steps already trained (resume: the next evaluation is the next
        multiple after it).
    :param rows: the curve so far; the best ``eval_return`` in it is the one to beat.
    """

    def __init__(
        self,
        env_id: str,
        env_kwargs: Mapping[str, Any] | None,
        every: int,
        episodes: int,
        *,
        start_step: int = 0,
        rows: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        if isinstance(every, bool) or not isinstance(every, int) or every < 0:
            raise ValueError(f"eval_every must be an integer >= 0, got {every!r}")
        if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
            raise ValueError(f"eval_episodes must be an integer >= 1, got {episodes!r}")
        self.env_id = env_id
        self.env_kwargs = dict(env_kwargs or {})
        self.every = every
        self.episodes = episodes
        self.next_step = (start_step // every + 1) * every if every else 0
        previous = [r["eval_return"] for r in rows if r.get("eval_return") is not None]
        self.best_return: float | None = max(previous) if previous else None
        self.last_step: int | None = None

    def due(self, step: int, *, final: bool = False) -> bool:
        """Whether to evaluate at ``step`` (``final``: the run's last step, evaluated unless
        it just was, so that the best checkpoint has seen the final weights)."""
        if not self.every:
            return False
        if final:
            return self.last_step != step
        return step >= self.next_step

    def __call__(self, policy: Policy, step: int) -> tuple[float, bool]:
        """Evaluate ``policy`` at ``step``: ``(mean return, whether it is the best so far)``."""
        returns = held_out_returns(policy, self.env_id, self.env_kwargs, self.episodes)
        mean = float(np.mean(returns))
        self.last_step = step
        self.next_step = (step // self.every + 1) * self.every
        best = self.best_return is None or mean > self.best_return
        if best:
            self.best_return = mean
        return mean, best


def held_out_returns(
    policy: Policy, env_id: str, env_kwargs: Mapping[str, Any] | None, episodes: int
) -> np.ndarray:
    """``(episodes,)`` float64 returns of ``policy`` on the held-out episodes ``10**9 + j``.

    Exactly what :func:`agents.evaluate.evaluate` reports with ``seed = EVAL_SEED_BASE``: it
    runs :func:`agents.episodes.run_episodes` (batched on the native vector env when the policy
    has ``act_batch``), the runner ``evaluate`` itself uses.
    """
    from agents.episodes import run_episodes

    seed = evaluation_seed(0, 0)
    return run_episodes(policy, env_id, episodes, seed, env_kwargs).returns


def check_fields(
    args: Any,
    *,
    integers: Sequence[str] = (),
    flags: Sequence[str] = (),
    positive: Sequence[str] = (),
    nonnegative: Sequence[str] = (),
) -> None:
    """Check a hyper-parameter dataclass's fields, in this order, with the learners' messages.

    :param integers: fields that must be integers ≥ 1 (booleans are not integers here).
    :param flags: fields that must be ``True`` or ``False``.
    :param positive: fields that must be finite numbers > 0.
    :param nonnegative: fields that must be finite numbers ≥ 0.
    :raises ValueError: the first field that breaks its rule, e.g. ``"batch_size must be an
        integer >= 1, got 0"``.
    """
    for name in integers:
        value = getattr(args, name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    for name in flags:
        value = getattr(args, name)
        if not isinstance(value, bool):
            raise ValueError(f"{name} must be true or false, got {value!r}")
    for name in positive:
        value = getattr(args, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    for name in nonnegative:
        value = getattr(args, name)
        if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")


def check_hyperparameters(
    trainer: str,
    args_class: type,
    given: Iterable[str],
    *,
    set_by_options: Iterable[str] = (),
    extra: Sequence[str] = (),
    note: str = "",
) -> None:
    """Refuse ``--trainer-kwargs`` names that are not fields of the trainer's hyper-parameter
    dataclass.

    :param trainer: the trainer's name (for the message).
    :param args_class: its hyper-parameter dataclass.
    :param given: the names given.
    :param set_by_options: fields the command line sets with its own options (not valid here).
    :param extra: other names the trainer accepts (listed first in the message).
    :param note: appended to the message.
    :raises ValueError: one line naming the unknown names and listing the valid ones.
    """
    valid = {f.name for f in dataclasses.fields(args_class)} - set(set_by_options)
    unknown = sorted(set(given) - valid - set(extra))
    if unknown:
        listed = ", ".join([*extra, *sorted(valid)])
        raise ValueError(
            f"unknown {trainer} hyper-parameter(s) {', '.join(unknown)}; valid: {listed}{note}"
        )


def evaluate_and_save(
    evaluation: PeriodicEvaluation,
    policy: Policy,
    log: TrainingLog,
    files: RunFiles | None,
    checkpoint: Callable[[], Checkpoint],
    net: torch.nn.Module | None = None,
    **scalars: float,
) -> None:
    """One periodic evaluation of a network learner: evaluate ``policy`` on the held-out seeds,
    add a curve row with ``eval_return`` and ``scalars``, write ``checkpoint()`` to
    ``files.checkpoint`` and, if it is the best so far, to ``files.best``.

    :param net: the network the policy evaluates with (put back in training mode after).
    :raises ValueError: ``files`` is ``None`` (an evaluation keeps files).
    """
    if files is None:
        raise ValueError("evaluate_and_save needs the run's files (an out path)")
    mean, best = evaluation(policy, log.step)
    if net is not None:
        net.train()
    log.record(eval_return=mean, **scalars)
    saved = checkpoint()
    save_checkpoint(files.checkpoint, saved)
    if best:
        save_checkpoint(files.best, saved)
