"""Checkpoints shipped in the package, used as ``NAME:pretrained`` in every policy spec.

Each entry of :data:`PRETRAINED` names the policy, the env id and kwargs it was trained on, the
file (in this directory, installed as package data) and the ``ua-envs train`` arguments with
their seed that produced it: ``ua-envs train POLICY --env ID ARGS --out FILE`` reproduces it,
and ``ua-envs scoreboard --train`` runs exactly that command for every entry.

>>> from agents.pretrained import PRETRAINED, find_pretrained
>>> find_pretrained("no_such_policy", "CellFreeAssoc-v0") is None
True
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The directory of the shipped files.
DIRECTORY = Path(__file__).resolve().parent

#: The checkpoint argument of a spec that selects the shipped file (``reinforce:pretrained``).
PRETRAINED_NAME = "pretrained"


@dataclass(frozen=True)
class PretrainedCheckpoint:
    """One shipped checkpoint and the command that produced it.

    :param policy: policy (and trainer) name, e.g. ``"reinforce"``.
    :param env_id: the env id it was trained on.
    :param filename: the file in :data:`DIRECTORY`.
    :param train_args: the arguments of ``ua-envs train POLICY`` after ``--env ID`` and before
        ``--out`` (budget, ``--seed``, ``--env-kwargs`` ...).
    :param train_minutes: measured wall time of that command on the reference machine
        (2 cores, one torch thread) [min].
    :param env_kwargs: the env kwargs it was trained with (``{}``: the id's defaults).
    :param best: the shipped file is the command's best held-out checkpoint (``<out
        stem>.best.pt``, :func:`agents.training.run_files`), not its last.
    :param aliases: other policies that act with the same file (``reinforce_sampled``:
        another decoding of the ``reinforce`` network); ``ALIAS:pretrained`` selects it too,
        and the scoreboard shows a row for each.
    """

    policy: str
    env_id: str
    filename: str
    train_args: tuple[str, ...]
    train_minutes: float
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    best: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def policies(self) -> tuple[str, ...]:
        """The policy and its aliases."""
        return (self.policy, *self.aliases)

    @property
    def path(self) -> Path:
        """The shipped file."""
        return DIRECTORY / self.filename

    def train_argv(self, out: str | Path) -> list[str]:
        """``ua-envs`` arguments that retrain it into ``out``."""
        return ["train", self.policy, "--env", self.env_id, *self.train_args, "--out", str(out)]

    def command(self, out: str | Path | None = None) -> str:
        """The documented training command (``out`` defaults to the shipped file's name)."""
        argv = self.train_argv(self.filename if out is None else out)
        return "ua-envs " + " ".join(shlex.quote(arg) for arg in argv)

    def describe(self) -> str:
        """The command as markdown, saying which of its files is the shipped one."""
        shipped = " (ships the run's best held-out checkpoint, `<out stem>.best.pt`)"
        return f"`{self.command()}`" + (shipped if self.best else "")

    def produced(self, out: str | Path) -> Path:
        """The file of a run of :meth:`train_argv` into ``out`` that corresponds to the
        shipped one (``out`` itself, or its ``.best.pt`` sibling with :attr:`best`)."""
        out = Path(out)
        return out.with_name(out.stem + ".best.pt") if self.best else out


def _grows_per_configuration(
    suffix: str, env_kwargs: dict[str, Any], train_minutes: float
) -> PretrainedCheckpoint:
    """A ``grows`` file trained at one configuration of ``SlottedArrivalAssoc-v0``: 3,000,000
    steps with γ = 0.9 (docs/agents.md: why γ = 0.9 on congested cells), best held-out."""
    return PretrainedCheckpoint(
        policy="grows",
        env_id="SlottedArrivalAssoc-v0",
        filename=f"grows-SlottedArrivalAssoc-v0-{suffix}.pt",
        train_args=(
            "--steps",
            "3000000",
            "--seed",
            "0",
            "--eval-every",
            "500000",
            "--eval-episodes",
            "200",
            "--env-kwargs",
            *(f"{key}={value}" for key, value in env_kwargs.items()),
            "--trainer-kwargs",
            "gamma=0.9",
        ),
        train_minutes=train_minutes,
        env_kwargs=env_kwargs,
        best=True,
    )


#: Every shipped checkpoint.
PRETRAINED: tuple[PretrainedCheckpoint, ...] = (
    PretrainedCheckpoint(
        policy="l2o",
        env_id="MultiCellAssoc-v0",
        filename="l2o-MultiCellAssoc-v0.pt",
        train_args=(
            "--steps",
            "640000",
            "--seed",
            "0",
            "--eval-every",
            "64000",
            "--eval-episodes",
            "500",
            "--trainer-kwargs",
            "head=gs",
            "temperature_start=3.0",
            "temperature_end=3.0",
            "gumbel_samples=4",
            "layers=4",
            "correlation_mixing=true",
            "passes=2",
            "lr_schedule=cosine",
        ),
        train_minutes=13.2,
        best=True,
        aliases=("l2o_refined",),
    ),
    PretrainedCheckpoint(
        policy="l2o",
        env_id="MultiCellAssocBalanced-v0",
        filename="l2o-MultiCellAssocBalanced-v0.pt",
        train_args=(
            "--steps",
            "256000",
            "--seed",
            "0",
            "--eval-every",
            "25600",
            "--eval-episodes",
            "500",
            "--trainer-kwargs",
            "head=softmax",
            "correlation_mixing=true",
            "passes=2",
            "multiplier_lr=0.03",
        ),
        train_minutes=4.0,
        best=True,
        aliases=("l2o_refined",),
    ),
    PretrainedCheckpoint(
        policy="grows",
        env_id="SlottedArrivalAssoc-v0",
        filename="grows-SlottedArrivalAssoc-v0.pt",
        train_args=(
            "--steps",
            "600000",
            "--seed",
            "0",
            "--eval-every",
            "100000",
            "--eval-episodes",
            "200",
        ),
        train_minutes=0.8,
        best=True,
    ),
    _grows_per_configuration("p1.0-d14", {"arrival_prob": 1.0, "mean_demand": 14}, 6.9),
    # The preset's p = 0.7 file first: the preset's cells with another p fall back to it.
    *(
        _grows_per_configuration(
            f"preset-grows-p{p}-d14",
            {"preset": "grows", "arrival_prob": p, "mean_demand": 14},
            minutes,
        )
        for p, minutes in ((0.7, 6.5), (0.5, 6.8), (1.0, 6.7))
    ),
    PretrainedCheckpoint(
        policy="reinforce",
        env_id="CellFreeAssoc-v0",
        filename="reinforce-CellFreeAssoc-v0.pt",
        train_args=(
            "--steps",
            "1000000",
            "--seed",
            "0",
            "--eval-every",
            "100000",
            "--eval-episodes",
            "500",
            "--trainer-kwargs",
            "beam_head_instances=25600",
        ),
        train_minutes=7.4,
        best=True,
        aliases=("reinforce_sampled",),
    ),
    PretrainedCheckpoint(
        policy="egat",
        env_id="FronthaulAssoc-v0",
        filename="egat-FronthaulAssoc-v0.pt",
        train_args=("--steps", "1200000", "--seed", "0", "--trainer-kwargs", "beam_head=direct"),
        train_minutes=6.9,
        aliases=("egat_assoc",),
    ),
    PretrainedCheckpoint(
        policy="egat",
        env_id="FronthaulAssoc-v0",
        filename="egat-FronthaulAssoc-v0-preset-egat.pt",
        train_args=(
            "--steps",
            "1200000",
            "--seed",
            "1",
            "--env-kwargs",
            "preset=egat",
            "--trainer-kwargs",
            "capacity_margin=0.22,0.18,0.15,0.15,0.15,0.15",
        ),
        train_minutes=8.8,
        env_kwargs={"preset": "egat"},
        aliases=("egat_assoc",),
    ),
)


def find_pretrained(
    policy: str,
    env_id: str | None,
    table: tuple[PretrainedCheckpoint, ...] | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> PretrainedCheckpoint | None:
    """The shipped checkpoint of ``policy`` on ``env_id`` for an env built with ``env_kwargs``
    (``None`` if none is shipped for the id).

    Among the entries of ``policy`` on ``env_id`` trained at the env's ``preset`` (``None``:
    the id's defaults), one whose :attr:`~PretrainedCheckpoint.env_kwargs` the env all shares
    wins, the one naming the most of them first; where none does, the one sharing the most
    values with the env (the nearest configuration shipped); ties go to the first listed. So
    an env built with ``preset="egat"`` gets the checkpoint trained at that preset and one at
    the defaults the defaults' checkpoint, and ``grows`` at ``preset="grows"``,
    ``arrival_prob=0.5`` gets the preset's checkpoint trained at ``arrival_prob=0.5`` whatever
    the demand. Where no entry has the env's preset (or ``env_kwargs`` is ``None``: the env is
    not known yet), the first entry of the id is returned, and its loader explains in one line
    what differs.

    :param env_kwargs: the kwargs in force in the env (its ``spec.kwargs`` and config).
    """
    candidates = [
        entry
        for entry in (PRETRAINED if table is None else table)
        if (policy == entry.policy or policy in entry.aliases) and entry.env_id == env_id
    ]
    if not candidates:
        return None
    if env_kwargs is not None:
        preset = env_kwargs.get("preset")
        same_preset = [entry for entry in candidates if entry.env_kwargs.get("preset") == preset]
        if same_preset:  # max keeps the first of equally near entries

            def nearness(entry: PretrainedCheckpoint) -> tuple[bool, int]:
                shared = sum(
                    key in env_kwargs and env_kwargs[key] == value
                    for key, value in entry.env_kwargs.items()
                )
                return shared == len(entry.env_kwargs), shared

            return max(same_preset, key=nearness)
    return candidates[0]


def resolve_checkpoint(
    policy: str,
    env_id: str | None,
    checkpoint: str | None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> str | None:
    """``checkpoint``, with ``"pretrained"`` replaced by the shipped file's path (chosen by
    :func:`find_pretrained` for an env built with ``env_kwargs``).

    :raises ValueError: ``"pretrained"`` where no checkpoint of ``policy`` for ``env_id`` is
        shipped (the message lists the shipped ones), or a shipped file that is missing.
    """
    if checkpoint != PRETRAINED_NAME:
        return checkpoint
    entry = find_pretrained(policy, env_id, env_kwargs=env_kwargs)
    if entry is None:
        shipped = ", ".join(
            f"{name}:pretrained on {e.env_id}" for e in PRETRAINED for name in e.policies
        )
        raise ValueError(
            f"no pretrained checkpoint of {policy!r} for {env_id}; shipped: {shipped or 'none'}"
        )
    if not entry.path.is_file():
        raise ValueError(
            f"the shipped checkpoint {entry.path} is missing (a broken install?); "
            f"retrain it with: {entry.command()}"
        )
    return str(entry.path)
