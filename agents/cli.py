"""The ``ua-envs`` command line: list, bench, compare, train, evaluate.

::

    ua-envs list                                   # ids, descriptions, spaces; policies; trainers
    ua-envs bench core                             # sum_rate(mrt) evaluations/s (CPU, and CUDA)
    ua-envs bench MultiCellAssoc-v0 --num-envs 1024
    ua-envs compare MultiCellAssoc-v0 --policies random,argmax --episodes 100 --seed 0 \\
        --out results/mc --plot --reference exhaustive
    ua-envs train q_learning --env SlottedArrivalAssoc-v0 --steps 200000 --seed 0 --out q.pt
    ua-envs evaluate q_learning:q.pt --env SlottedArrivalAssoc-v0 --episodes 100 --seed 0

User errors (unknown env, policy or trainer, bad kwarg, bad number) print one line naming the
valid choices on stderr and exit with status 2, without a traceback (``--debug`` shows it).
So do, before any training or evaluation starts: an ``--out`` that cannot be written (``train
--out FILE``: a missing parent directory, a directory, a parent that is a file; ``compare`` /
``evaluate --out DIR``: a file, or a directory that cannot be created; missing parents of DIR
are created), an ``--env-module`` that fails to import (syntax error included), a checkpoint
given to a policy that takes none (``random:model.npz``), a checkpoint that cannot be loaded
(missing, empty, truncated, corrupted, wrong metadata, another algorithm's, a Q-table with
NaN / inf entries), and a policy or trainer whose algorithm cannot serve the env's action
space (``dqn`` on a non-``Discrete`` env). An env whose module cannot be imported, and an
operating-system error while writing, exit with status 1. ``compare`` / ``evaluate`` print one
``ua-envs: warning:`` line on stderr per policy with episodes cut by truncation (the table and
its files carry the counts). The CPU path runs one torch thread unless ``--threads`` says
otherwise.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from gymnasium import spaces

EXIT_USAGE = 2
EXIT_UNAVAILABLE = 1


class UsageError(ValueError):
    """A mistake in the command line, reported in one line with exit status 2."""


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose errors are one line (no usage block) with exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {_one_line(message)}\n")


def _one_line(message: str) -> str:
    return " ".join(str(message).split())


# --------------------------------------------------------------------------------------------
# Argument types
# --------------------------------------------------------------------------------------------


def _arg_type(
    name: str,
    convert: Callable[[str], Any],
    valid: Callable[[Any], bool],
    must: str,
    *,
    show_value: bool = False,
) -> Callable[[str], Any]:
    """An argparse type: ``convert(text)``, refused unless ``valid`` of the result.

    Both errors say ``must {must}, got {text!r}`` (``got {value}`` for an invalid result when
    ``show_value``).
    """

    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must {must}, got {text!r}") from None
        if not valid(value):
            shown = value if show_value else repr(text)
            raise argparse.ArgumentTypeError(f"must {must}, got {shown}")
        return value

    parse.__name__ = name
    return parse


def _int_at_least(low: int) -> Callable[[str], Any]:
    return _arg_type(
        f"integer >= {low}", int, lambda v: v >= low, f"be an integer >= {low}", show_value=True
    )


def _comma_parts(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


_int_list = _arg_type(
    "_int_list",
    lambda text: [int(part) for part in _comma_parts(text)],
    lambda values: bool(values) and min(values) >= 1,
    "be comma-separated integers >= 1",
)
_positive_float = _arg_type("_positive_float", float, lambda v: v > 0, "be a number > 0")


def _policy_specs(text: str) -> list[str]:
    # A part "KEY=VALUE" after a spec with "@" settings continues them (A,B@k=v,l=w,C).
    from agents.registry import split_policy_list

    return split_policy_list(text)


_split_policies = _arg_type("_split_policies", _policy_specs, bool, "name at least one policy")


def _parse_value(text: str) -> Any:
    # The one reader of KEY=VALUE values (policy specs' @ settings use it too).
    from agents.values import parse_value

    return parse_value(text)


def parse_env_kwargs(items: Sequence[str] | None, flag: str = "--env-kwargs") -> dict[str, Any]:
    """``['{"num_ues": 6}']`` or ``['num_ues=6', 'beamforming=zf']`` → a kwargs dict.

    :param flag: the option's name, for error messages (also parses ``--trainer-kwargs``).

    Values are read as JSON, else as Python literals (``None``, ``(1, 2)``), else as strings.

    >>> parse_env_kwargs(["num_ues=6", "beamforming=zf", "load_limit=None"])
    {'num_ues': 6, 'beamforming': 'zf', 'load_limit': None}
    """
    kwargs: dict[str, Any] = {}
    for item in items or []:
        text = item.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as error:
                raise UsageError(f"{flag}: invalid JSON {text!r}: {error}") from None
            if not isinstance(value, dict):
                raise UsageError(f"{flag}: JSON must be an object, got {text!r}")
            kwargs.update(value)
            continue
        key, sep, raw = text.partition("=")
        if not sep or not key.strip().isidentifier():
            raise UsageError(f"{flag} entries must be KEY=VALUE or a JSON object, got {item!r}")
        kwargs[key.strip()] = _parse_value(raw.strip())
    return kwargs


# --------------------------------------------------------------------------------------------
# Parser
# --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    """The argparse parser of ``ua-envs`` (every sub-command accepts the common options)."""
    common = _Parser(add_help=False)
    group = common.add_argument_group("common options")
    group.add_argument("-q", "--quiet", action="store_true", help="no progress bars or notes")
    group.add_argument(
        "--threads",
        type=_int_at_least(1),
        default=1,
        help="torch intra-op CPU threads (default 1: faster for small ops)",
    )
    group.add_argument(
        "--env-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="import MODULE (dotted name or path/to/file.py) that registers extra env ids "
        "or policies; repeatable",
    )
    group.add_argument("--debug", action="store_true", help="show tracebacks of errors")

    parser = _Parser(
        prog="ua-envs",
        description="User-association environments: list, benchmark, compare, train, evaluate.",
        epilog="Run 'ua-envs COMMAND --help' for the options of a command.",
    )
    from ua_envs import __version__

    parser.add_argument("--version", action="version", version=f"ua-envs {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(
        name: str, func: Callable[[argparse.Namespace], int], summary: str
    ) -> argparse.ArgumentParser:
        """Sub-command ``name`` running ``func``, with the common options."""
        sub = commands.add_parser(name, parents=[common], help=summary)
        sub.set_defaults(func=func)
        return sub

    p_list = command("list", cmd_list, "registered env ids, policies and trainers")
    p_list.add_argument(
        "what",
        nargs="?",
        default="all",
        choices=("all", "envs", "policies", "trainers", "presets"),
        help="what to list (default: all)",
    )
    p_list.add_argument(
        "--env", help="only the policies, trainers and presets usable on this env id"
    )

    p_bench = command("bench", cmd_bench, "throughput of the core, an env and its vector env")
    p_bench.add_argument("target", metavar="core|ENV", help="'core' or a registered env id")
    p_bench.add_argument(
        "--num-envs",
        type=_int_list,
        default=[1024],
        metavar="N[,N...]",
        help="vector-env sizes (default 1024)",
    )
    p_bench.add_argument(
        "--steps", type=_int_at_least(1), default=100, help="timed vector-env steps (100)"
    )
    p_bench.add_argument(
        "--single-steps", type=_int_at_least(1), default=2000, help="timed single-env steps"
    )
    p_bench.add_argument(
        "--batch-size", type=_int_at_least(1), default=4096, help="core batch size (4096)"
    )
    p_bench.add_argument(
        "--min-time", type=_positive_float, default=1.0, help="core: seconds per size (1)"
    )
    p_bench.add_argument(
        "--device", default=None, help="torch device (core default: cpu, and cuda if present)"
    )
    p_bench.add_argument("--env-kwargs", nargs="+", metavar="K=V", help="env kwargs")

    def add_eval_options(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--episodes", type=_int_at_least(1), default=100, help="episodes per policy (100)"
        )
        p.add_argument(
            "--seed", type=_int_at_least(0), default=0, help="episode j uses seed + j (0)"
        )
        p.add_argument(
            "--env-kwargs",
            nargs="+",
            metavar="K=V",
            help="env kwargs: KEY=VALUE ... or one JSON object",
        )
        p.add_argument("--out", metavar="DIR", help="write summary.csv/json and episodes.csv")
        p.add_argument("--plot", action="store_true", help="also write DIR/compare.png")
        p.add_argument(
            "--aggregate",
            choices=("final", "mean", "sum"),
            default="final",
            help="per-episode aggregation of info metrics (default: final step)",
        )

    p_compare = command("compare", cmd_compare, "evaluate several policies on the same seeds")
    p_compare.add_argument("env", metavar="ENV", help="registered env id")
    p_compare.add_argument(
        "--policies",
        type=_split_policies,
        required=True,
        metavar="A,B,...",
        help="policy specs NAME[:CHECKPOINT][@KEY=VALUE,...], comma-separated; each row's env "
        "is built with --env-kwargs, then the policy's declared settings (e.g. pc_wmmse: "
        "beamforming=wmmse), then the spec's @ overrides (e.g. greedy@beamforming=mrt)",
    )
    p_compare.add_argument(
        "--reference", metavar="NAME", help="add a '%% of NAME' column (ratio of mean returns)"
    )
    add_eval_options(p_compare)

    p_train = command("train", cmd_train, "run a registered trainer")
    p_train.add_argument("policy", metavar="POLICY", help="trainer name (see 'ua-envs list')")
    p_train.add_argument(
        "--env",
        required=True,
        help="registered env id (rllib_ppo: also a PettingZoo module, e.g. multicell_assoc_v0)",
    )
    p_train.add_argument(
        "--episodes",
        type=_int_at_least(1),
        help="budget in episodes (default: the trainer's, 1000 if it has no --steps)",
    )
    p_train.add_argument(
        "--steps", type=_int_at_least(1), metavar="N", help="budget in env steps (one sub-env step)"
    )
    p_train.add_argument("--seed", type=_int_at_least(0), default=0, help="(0)")
    p_train.add_argument(
        "--out", required=True, metavar="FILE", help="checkpoint path (rllib_ppo: a directory)"
    )
    p_train.add_argument(
        "--num-envs", type=_int_at_least(1), metavar="N", help="sub-envs stepped together"
    )
    p_train.add_argument(
        "--tensorboard", metavar="DIR", help="write TensorBoard scalars to DIR (extra: tensorboard)"
    )
    p_train.add_argument(
        "--resume", metavar="CKPT", help="continue a run from its checkpoint up to the budget"
    )
    p_train.add_argument(
        "--eval-every",
        type=_int_at_least(0),
        metavar="N",
        help="evaluate on held-out seeds every N env steps, keep OUT-stem.best.pt (0: never)",
    )
    p_train.add_argument(
        "--eval-episodes", type=_int_at_least(1), metavar="N", help="episodes per evaluation"
    )
    p_train.add_argument(
        "--num-env-runners",
        type=_int_at_least(0),
        metavar="N",
        help="Ray env runners (rllib_ppo; 0: sample in the learner process)",
    )
    p_train.add_argument(
        "--address",
        metavar="auto|HOST:PORT",
        help="a running Ray cluster (rllib_ppo; default: a local Ray)",
    )
    p_train.add_argument("--env-kwargs", nargs="+", metavar="K=V", help="env kwargs")
    p_train.add_argument(
        "--trainer-kwargs",
        nargs="+",
        metavar="K=V",
        help="learner hyper-parameters, e.g. gamma=0.9 (defaults: the trainer's documented ones)",
    )

    p_board = command(
        "scoreboard",
        cmd_scoreboard,
        "baselines and learned agents on all five env ids, one table each (make demo)",
    )
    p_board.add_argument("--paper", action="store_true", help="run each id at its paper's preset")
    p_board.add_argument(
        "--env",
        action="append",
        metavar="ID",
        help="only this env id (repeatable; default: all five)",
    )
    p_board.add_argument(
        "--episodes",
        type=_int_at_least(1),
        help="episodes per method on every env (default: each env's own, 300-1000)",
    )
    p_board.add_argument(
        "--seed",
        type=_int_at_least(0),
        default=None,
        help="episode j uses seed + j (default 2000000000: no training run uses it)",
    )
    p_board.add_argument(
        "--train",
        action="store_true",
        help="retrain every learned agent with its documented command first (slow)",
    )
    p_board.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="where scoreboard.png (and --train's checkpoints) go (results/scoreboard)",
    )
    p_board.add_argument(
        "--readme",
        metavar="FILE",
        help="also rewrite FILE's generated scoreboard section (README.md)",
    )
    p_board.add_argument(
        "--workers",
        type=_int_at_least(1),
        default=None,
        help="boards scored at once, one process each, one torch thread each (default: 2, or "
        "1 on a one-core machine); the numbers do not depend on it",
    )

    p_sweep = command(
        "sweep",
        cmd_sweep,
        "every policy at every value of one env kwarg (sum rate vs power, vs UEs), table + PNG",
    )
    p_sweep.add_argument("env", metavar="ENV", help="registered env id")
    p_sweep.add_argument(
        "--policies",
        type=_policy_specs,
        required=True,
        metavar="A,B,...",
        help="policy specs, comma-separated",
    )
    p_sweep.add_argument(
        "--vary", required=True, metavar="KEY=V1,V2,...", help="the env kwarg and its values"
    )
    p_sweep.add_argument(
        "--episodes", type=_int_at_least(1), default=300, help="episodes per point (300)"
    )
    p_sweep.add_argument(
        "--seed",
        type=_int_at_least(0),
        default=None,
        help="episode j uses seed + j at every point (default 2000000000)",
    )
    p_sweep.add_argument("--env-kwargs", nargs="+", metavar="K=V", help="fixed env kwargs")
    p_sweep.add_argument("--png", metavar="FILE", help="also draw the figure into FILE")

    p_eval = command("evaluate", cmd_evaluate, "evaluate one (trained) policy")
    p_eval.add_argument(
        "policy",
        metavar="POLICY[:CKPT][@K=V,...]",
        help="policy spec; the env is built with --env-kwargs, the policy's declared settings "
        "and the spec's @ overrides",
    )
    p_eval.add_argument("--env", required=True, help="registered env id")
    p_eval.add_argument("--checkpoint", metavar="CKPT", help="checkpoint (same as POLICY:CKPT)")
    p_eval.add_argument("--reference", metavar="NAME", help="add a '%% of NAME' column")
    add_eval_options(p_eval)
    return parser


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _note(args: argparse.Namespace, message: str) -> None:
    if not args.quiet:
        print(message, file=sys.stderr)


def import_env_module(name: str) -> None:
    """Import a dotted module name or a ``.py`` file (it registers ids/policies on import).

    :raises UsageError: no such file, or the module cannot be imported: a missing module, a
        syntax error, or any exception its code raises (one line; ``--debug`` shows the cause).
    """
    added: str | None = None
    try:
        if name.endswith(".py") or os.sep in name or "/" in name:
            path = Path(name)
            if not path.is_file():
                raise UsageError(f"--env-module: no such file {name!r}")
            loaded = sys.modules.get(path.stem)
            if loaded is not None and Path(getattr(loaded, "__file__", "")) == path.resolve():
                return  # already imported (registrations are done)
            spec = importlib.util.spec_from_file_location(path.stem, path)
            if spec is None or spec.loader is None:
                raise UsageError(f"--env-module: cannot import {name!r}")
            module = importlib.util.module_from_spec(spec)
            sys.modules[path.stem] = module
            added = path.stem
            spec.loader.exec_module(module)
        else:
            importlib.import_module(name)
    except UsageError:
        raise
    except SyntaxError as error:
        _forget(added)
        where = f"{error.filename or name}, line {error.lineno}" if error.lineno else name
        raise UsageError(f"--env-module: syntax error in {where}: {error.msg or error}") from error
    except ImportError as error:
        _forget(added)
        raise UsageError(f"--env-module: cannot import {name!r}: {error}") from error
    except Exception as error:  # the module's own code failed: the user's error, in one line
        _forget(added)
        raise UsageError(
            f"--env-module: importing {name!r} failed: {type(error).__name__}: {error}"
        ) from error


def _forget(module: str | None) -> None:
    """Drop a half-imported module from ``sys.modules``."""
    if module is not None:
        sys.modules.pop(module, None)


def _check_env(env_id: str) -> None:
    from agents.evaluate import check_env_id

    check_env_id(env_id)


def _space_str(space: spaces.Space[Any]) -> str:
    if isinstance(space, spaces.Dict):
        return "Dict(" + ", ".join(f"{k}: {_space_str(v)}" for k, v in space.spaces.items()) + ")"
    if isinstance(space, spaces.Box):
        return f"Box{tuple(space.shape)} {space.dtype}"
    if isinstance(space, spaces.Discrete):
        return f"Discrete({int(space.n)})"
    if isinstance(space, spaces.MultiDiscrete):
        return f"MultiDiscrete({np_list(space.nvec)})"
    if isinstance(space, spaces.MultiBinary):
        return f"MultiBinary({np_list(space.n)})"
    return str(space)


def np_list(value: Any) -> Any:
    """A numpy value as a plain Python list/int for printing."""
    return value.tolist() if hasattr(value, "tolist") else value


# --------------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------------


def cmd_list(args: argparse.Namespace) -> int:
    """``ua-envs list``: env ids (description, spaces), policies, trainers and paper presets."""
    import ua_envs
    from agents.envs import env_traits, known_env_ids, make_env
    from agents.registry import entry_supports, policy_entries, trainer_entries
    from ua_envs.presets import preset_rows

    if args.env is not None:
        _check_env(args.env)
    if args.what in ("all", "envs"):
        print("Environments:")
        for env_id in known_env_ids():
            description = ua_envs.ENV_IDS.get(env_id, "")
            print(f"  {env_id}" + (f"  {description}" if description else ""))
            try:
                env = make_env(env_id)
            except Exception as error:  # any failure to build is reported, not raised
                print(f"      (not available: {type(error).__name__}: {_one_line(str(error))})")
                continue
            print(f"      observation: {_space_str(env.observation_space)}")
            print(f"      action:      {_space_str(env.action_space)}")
            env.close()

    def where(entry: Any) -> str:
        if entry.env_ids is not None:
            return ", ".join(entry.env_ids)
        if entry.action_spaces is None and not getattr(entry, "needs_action_masks", False):
            return "all envs"
        # Restricted to some action spaces (or to envs with masks): name the ids that fit.
        ids = [
            env_id
            for env_id in known_env_ids()
            if env_traits(env_id) is not None and entry_supports(entry, env_id)
        ]
        return ", ".join(ids) or "no registered env"

    if args.what in ("all", "policies"):
        print("Policies (NAME or NAME:CHECKPOINT):")
        for entry in policy_entries(args.env):
            checkpoint = ", needs checkpoint" if entry.needs_checkpoint else ""
            print(f"  {entry.name:<24} {entry.description} [{where(entry)}{checkpoint}]")
    if args.what in ("all", "trainers"):
        print("Trainers (ua-envs train NAME --env ENV ...):")
        for tentry in trainer_entries(args.env):
            print(f"  {tentry.name:<24} {tentry.description} [{where(tentry)}]")
    if args.what in ("all", "presets"):
        print("Presets (--env-kwargs preset=NAME; explicit kwargs override its values):")
        for name, ids, settings, description in preset_rows():
            if args.env is None or args.env in ids.split(", "):
                print(f"  {name:<24} {description} [{ids}]")
                print(f"      sets: {settings}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """``ua-envs bench core|ENV``: a markdown table of throughputs."""
    import torch

    from ua_envs import benchmarks

    _set_threads(args.threads)

    if args.device is not None:
        try:
            device = torch.device(args.device)
        except RuntimeError:
            raise UsageError(f"--device: unknown torch device {args.device!r}") from None
        if device.type == "cuda" and not torch.cuda.is_available():
            raise UsageError("--device: CUDA is not available; valid: cpu")
    if args.target == "core":
        _note(args, "timing sum_rate(mrt(...)) ...")
        rows = benchmarks.run_core(
            [args.device] if args.device else None, args.batch_size, args.min_time
        )
    else:
        _check_env(args.target)
        kwargs = parse_env_kwargs(args.env_kwargs)
        _check_kwargs(args.target, kwargs)
        _note(args, f"timing {args.target} ...")
        rows = benchmarks.run_env(
            args.target,
            args.num_envs,
            args.steps,
            args.single_steps,
            args.device or "cpu",
            kwargs,
        )
    print(benchmarks.format_table(rows))
    _note(args, f"torch {torch.__version__}, {torch.get_num_threads()} CPU thread(s)")
    return 0


def _check_kwargs(env_id: str, kwargs: dict[str, Any]) -> None:
    from agents.evaluate import make_env

    make_env(env_id, kwargs).close()


def _run_table(args: argparse.Namespace, specs: list[str], reference: str | None) -> int:
    from agents.evaluate import OUTPUT_FILES, compare
    from agents.paths import check_output_dir

    _check_env(args.env)
    kwargs = parse_env_kwargs(args.env_kwargs)
    import torch  # noqa: F401  (so that the thread count is set explicitly)

    _set_threads(args.threads)
    if args.plot and not args.out:
        raise UsageError("--plot needs --out DIR (the figure is written to DIR/compare.png)")
    if args.out is not None:
        check_output_dir(args.out, "--out", OUTPUT_FILES if args.plot else OUTPUT_FILES[:-1])
    table = compare(
        specs,
        args.env,
        args.episodes,
        args.seed,
        kwargs,
        out_dir=args.out,
        plot=args.plot,
        reference=reference,
        aggregate=args.aggregate,
        progress=not args.quiet,
        print_table=True,
    )
    for warning in table.warnings():  # shown even with --quiet: the numbers need it
        print(f"ua-envs: warning: {warning}", file=sys.stderr)
    for path in table.files.values():
        _note(args, f"wrote {path}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    """``ua-envs compare ENV --policies a,b``: mean ± CI table, optional files and figure."""
    return _run_table(args, args.policies, args.reference)


def cmd_scoreboard(args: argparse.Namespace) -> int:
    """``ua-envs scoreboard``: every env's baselines and learned agents, tables and a PNG."""
    from agents import scoreboard

    for env_id in args.env or []:
        _check_env(env_id)
    import torch  # noqa: F401  (so that the thread count is set explicitly)

    _set_threads(args.threads)
    try:
        board = scoreboard.run_scoreboard(
            paper=args.paper,
            env_ids=args.env,
            episodes=args.episodes,
            seed=scoreboard.SCOREBOARD_SEED if args.seed is None else args.seed,
            train=args.train,
            out_dir=scoreboard.DEFAULT_OUT if args.out is None else args.out,
            progress=not args.quiet,
            printer=lambda message: _note(args, message),
            workers=min(2, os.cpu_count() or 1) if args.workers is None else args.workers,
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    print(board.to_markdown())
    _note(args, f"figure: {board.figure}; {board.seconds:.0f} s")
    if args.readme is not None:
        _note(args, f"wrote {scoreboard.write_readme(args.readme, board)}")
    return 0


def cmd_sweep(args: argparse.Namespace) -> int:
    """``ua-envs sweep ENV --policies A,B --vary KEY=V1,V2``: one table (and figure)."""
    from agents import sweep

    _check_env(args.env)
    _set_threads(args.threads)
    try:
        key, values = sweep.parse_vary(args.vary)
        result = sweep.run_sweep(
            args.env,
            args.policies,
            key,
            values,
            episodes=args.episodes,
            seed=sweep.SWEEP_SEED if args.seed is None else args.seed,
            env_kwargs=parse_env_kwargs(args.env_kwargs),
        )
    except ValueError as error:
        raise UsageError(str(error)) from error
    print(result.to_markdown())
    if args.png is not None:
        _note(args, f"wrote {result.plot(args.png)}")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    """``ua-envs evaluate POLICY[:CKPT] --env ENV``: one policy's table."""
    from agents.registry import parse_policy_spec

    spec = args.policy
    if args.checkpoint is not None:
        name, checkpoint = parse_policy_spec(spec)
        if checkpoint is not None:
            raise UsageError("give the checkpoint either as POLICY:CKPT or with --checkpoint")
        # Without a checkpoint in it, the spec is NAME or NAME@SETTINGS: keep the settings.
        spec = f"{name}:{args.checkpoint}{spec[len(name) :]}"
    return _run_table(args, [spec], args.reference)


def cmd_train(args: argparse.Namespace) -> int:
    """``ua-envs train POLICY --env ENV``: run the registered trainer, print the checkpoint."""
    import ua_envs
    from agents.registry import trainer_entry

    # A trainer that takes more than the Gymnasium ids (rllib_ppo: PettingZoo modules) checks
    # such a name itself; the env kwargs of such a name are checked when the trainer builds it.
    check_other_name: Callable[[str], None] | None = None
    if args.env not in ua_envs.ENV_IDS:
        try:
            check_other_name = trainer_entry(args.policy).check_env
        except ValueError:
            pass  # an unknown trainer: the env's error below comes first, as for any trainer
    other_name = check_other_name is not None
    if check_other_name is not None:
        check_other_name(args.env)
        entry = trainer_entry(args.policy)
    else:
        _check_env(args.env)
        entry = trainer_entry(args.policy, args.env)
    import torch  # noqa: F401  (so that the thread count is set explicitly)

    _set_threads(args.threads)
    kwargs = parse_env_kwargs(args.env_kwargs)
    if not other_name:
        _check_kwargs(args.env, kwargs)
    hyperparameters = parse_env_kwargs(args.trainer_kwargs, "--trainer-kwargs")
    reserved = sorted(set(hyperparameters) & (_TRAIN_FIELDS | set(_TRAIN_OPTIONS)))
    if reserved:
        raise UsageError(f"--trainer-kwargs: set {', '.join(reserved)} with its own option")
    options = {
        name: getattr(args, name) for name in _TRAIN_OPTIONS if getattr(args, name) is not None
    }
    refused = entry.refused_options(options)
    if refused:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in refused)
        honoured = ", ".join(f"--{name.replace('_', '-')}" for name in sorted(entry.options))
        raise UsageError(
            f"trainer {args.policy!r} does not support {flags} (it supports: {honoured or 'none'})"
        )
    if "steps" not in entry.options and "episodes" not in options:
        options["episodes"] = _DEFAULT_TRAIN_EPISODES  # a trainer that counts episodes only
    if not entry.out_is_directory:  # a directory is checked by its trainer
        _check_train_out(args.out, entry.default_suffix)
    path = entry.trainer(
        args.env,
        seed=args.seed,
        out=args.out,
        env_kwargs=kwargs,
        quiet=args.quiet,
        **options,
        **hyperparameters,
    )
    print(path)
    _note(args, f"evaluate with: ua-envs evaluate {args.policy}:{path} --env {args.env}")
    return 0


#: ``ua-envs train`` options passed to the trainer only when given (TrainJob field names; the
#: trainer's entry must honour them, ``TrainerEntry.options``).
_TRAIN_OPTIONS = (
    "episodes",
    "steps",
    "num_envs",
    "tensorboard",
    "resume",
    "eval_every",
    "eval_episodes",
    "num_env_runners",
    "address",
)
#: TrainJob fields that always come from their own option.
_TRAIN_FIELDS = {"seed", "out", "env_kwargs", "quiet"}
#: ``--episodes`` of a trainer without a step budget when neither option is given.
_DEFAULT_TRAIN_EPISODES = 1000


def _check_train_out(out: str, default_suffix: str) -> None:
    """``--out FILE`` of ``train``: the path the trainer will write must be writable."""
    from agents.paths import check_output_file

    check_output_file(out, "--out")
    if default_suffix and Path(out).suffix == "":
        check_output_file(f"{out}{default_suffix}", "--out")


def _set_threads(threads: int) -> None:
    """One (or ``threads``) intra-op torch threads, without importing torch just for that.

    Before torch is imported the environment variables decide its thread pool; after, the
    explicit call does. Commands that only report a usage error never pay torch's import.
    """
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["MKL_NUM_THREADS"] = str(threads)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ua-envs`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or bool(os.environ.get("UA_ENVS_DEBUG"))
    prog = "ua-envs"
    try:
        _set_threads(args.threads)
        import ua_envs  # noqa: F401  (registers the ids)

        for module in args.env_module:
            import_env_module(module)
        status: int = args.func(args)
        return status
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except ImportError as error:
        if debug:
            raise
        print(f"{prog}: error: not available: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    except ValueError as error:
        if debug:
            raise
        print(f"{prog}: error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as error:  # e.g. a disk that fills up while the results are written
        if debug:
            raise
        print(f"{prog}: error: {_one_line(str(error))}", file=sys.stderr)
        return EXIT_UNAVAILABLE


if __name__ == "__main__":
    sys.exit(main())
