"""The one checkpoint format of our learners: a ``.pt`` file of plain containers and tensors.

A checkpoint is a :class:`Checkpoint`, written by :func:`save_checkpoint` with ``torch.save``
as one ``dict`` and read by :func:`load_checkpoint` with ``torch.load(path, weights_only=True)``:
only tensors, ``dict`` / ``list`` / ``tuple`` and ``str`` / ``int`` / ``float`` / ``bool`` /
``None`` are stored, so loading a file runs no code from it. Saving refuses anything else (a
numpy array, a numpy scalar, a custom object) with a ``ValueError`` naming where it is: convert
it to a tensor or a Python number first.

Contents (the keys of the stored dict):

==================  ==================================================================
``format``          ``"ua-envs-checkpoint"``, what the file is
``format_version``  :data:`FORMAT_VERSION`; another version is refused at load
``algorithm``       the learner's registry name (``"q_learning"``)
``hyperparameters`` its hyper-parameters (the fields of its ``Args`` dataclass)
``env_id``          the env id it was trained on
``env_kwargs``      the env kwargs it was trained with (as given, ``{}``: the defaults)
``state``           named state dicts / tensors: weights, tables, optimiser states
``rng``             named random-generator states (``torch.Generator.get_state()``)
``step``            env steps trained so far
``episodes``        training episodes finished so far
``curve``           the learning curve rows (:class:`agents.training.TrainingLog`), for resume
``extra``           anything else the algorithm needs to use the weights (plain values)
``package_version`` ``ua_envs.__version__`` of the writer
``seed``            the ``--seed`` of the run that wrote it
==================  ==================================================================

Wall time lives in the curve only, never in ``state``: two runs with the same seed write
byte-identical state dicts on CPU (:func:`agents.training.state_digest`).

Validation at load: a missing or damaged file (empty, truncated, not a torch archive, holding
objects other than tensors and plain containers), a dict that is not a checkpoint, another
format version, malformed fields, another algorithm, another env id, or env kwargs the
algorithm cannot use (``compatible_kwargs`` decides; by default every kwarg must be equal) are
all one ``ValueError`` whose one-line message names the file and the reason; the command line
turns it into exit status 2.

Files are written atomically: to a temporary file in the target directory, then renamed over
the target, so a crash never leaves half a checkpoint under the final name.
"""

from __future__ import annotations

import os
import secrets
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

#: What the ``format`` key of every checkpoint holds.
FORMAT_NAME = "ua-envs-checkpoint"
#: The version this code writes and reads; bumped when the layout changes incompatibly.
FORMAT_VERSION = 1

#: ``compatible_kwargs(trained, given) -> reason or None``: why a checkpoint trained with env
#: kwargs ``trained`` cannot be used with ``given`` (``None``: it can).
KwargsCheck = Callable[[Mapping[str, Any], Mapping[str, Any]], str | None]


@dataclass
class Checkpoint:
    """The content of one checkpoint file (module docstring).

    :param algorithm: the learner's registry name.
    :param env_id: the env id it was trained on.
    :param hyperparameters: the learner's hyper-parameters (plain values).
    :param state: named state dicts (``dict[str, Tensor]``, optimiser state dicts) or tensors.
    :param env_kwargs: env kwargs of training (``{}``: the env's defaults).
    :param step: env steps trained so far, ≥ 0.
    :param episodes: training episodes finished so far, ≥ 0.
    :param seed: the training seed, ≥ 0.
    :param curve: learning-curve rows (``dict[str, float | int]``), oldest first.
    :param rng: named ``torch.Generator`` states (``uint8`` tensors), for resume.
    :param extra: other plain values the algorithm needs (e.g. the resolved env config).
    :param package_version: ``ua_envs.__version__`` of the writer (filled in when empty).
    :param format_version: the layout version (:data:`FORMAT_VERSION`).
    """

    algorithm: str
    env_id: str
    hyperparameters: dict[str, Any]
    state: dict[str, Any]
    env_kwargs: dict[str, Any] = field(default_factory=dict)
    step: int = 0
    episodes: int = 0
    seed: int = 0
    curve: list[dict[str, Any]] = field(default_factory=list)
    rng: dict[str, Tensor] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)
    package_version: str = ""
    format_version: int = FORMAT_VERSION

    def to_dict(self) -> dict[str, Any]:
        """The stored dict (module docstring), with ``package_version`` filled in."""
        import ua_envs

        return {
            "format": FORMAT_NAME,
            "format_version": self.format_version,
            "algorithm": self.algorithm,
            "hyperparameters": self.hyperparameters,
            "env_id": self.env_id,
            "env_kwargs": self.env_kwargs,
            "state": self.state,
            "rng": self.rng,
            "step": self.step,
            "episodes": self.episodes,
            "curve": self.curve,
            "extra": self.extra,
            "package_version": self.package_version or ua_envs.__version__,
            "seed": self.seed,
        }


def check_storable(value: Any, where: str = "checkpoint") -> None:
    """``ValueError`` unless ``value`` holds only what a ``weights_only`` load accepts here.

    Allowed: tensors; ``None``, ``bool``, ``int``, finite or not ``float``, ``str``; ``dict``
    with ``str`` / ``int`` keys, ``list`` and ``tuple`` of allowed values.

    :param where: the path of ``value`` in the checkpoint, for the message.
    :raises ValueError: a numpy array or scalar, or any other object, naming its path and type.

    >>> check_storable({"q": torch.zeros(2), "args": {"gamma": 0.5}})
    >>> import numpy as np
    >>> check_storable({"q": np.zeros(2)})
    Traceback (most recent call last):
    ...
    ValueError: checkpoint['q'] is a numpy.ndarray; a checkpoint holds only tensors, ...
    """
    # Exact types: subclasses such as numpy.float64 (a float) pickle as other classes, which
    # a weights_only load refuses.
    if value is None or type(value) in (bool, int, float, str) or isinstance(value, Tensor):
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) not in (str, int):
                raise ValueError(
                    f"{where} has a key {key!r} of type {type(key).__name__}; "
                    "checkpoint dict keys must be str or int"
                )
            check_storable(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for index, item in enumerate(value):
            check_storable(item, f"{where}[{index}]")
        return
    kind = type(value)
    raise ValueError(
        f"{where} is a {kind.__module__}.{kind.__qualname__}; a checkpoint holds only tensors, "
        "dicts, lists, tuples, str, int, float, bool and None (convert it, e.g. "
        "torch.as_tensor(array) or float(x))"
    )


def save_checkpoint(path: str | os.PathLike[str], checkpoint: Checkpoint) -> Path:
    """Write ``checkpoint`` to ``path`` atomically (temp file + rename); return the path.

    Missing parent directories are created. Tensors are saved as they are (``state`` of a GPU
    model: move it to the CPU first if the file must load without CUDA; :func:`load_checkpoint`
    maps everything to the CPU anyway).

    :raises ValueError: a field holds something other than tensors and plain containers
        (:func:`check_storable`), or a metadata field has the wrong type.
    """
    _check_fields(checkpoint.to_dict(), "checkpoint")
    data = checkpoint.to_dict()
    check_storable(data)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name next to the target (same file system: the rename is atomic), created with
    # the default permissions (umask applies, unlike tempfile.mkstemp's 0600).
    temp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    handle = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(handle, "wb") as stream:
            torch.save(data, stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path


def same_kwargs(trained: Mapping[str, Any], given: Mapping[str, Any]) -> str | None:
    """The default :data:`KwargsCheck`: every kwarg must be equal (none missing or added).

    >>> same_kwargs({"num_bs": 3}, {"num_bs": 3}) is None
    True
    >>> same_kwargs({"num_bs": 3}, {"num_bs": 4})
    'num_bs=3 when trained, 4 now'
    """
    for name in sorted(set(trained) | set(given), key=str):
        before = _shown(trained, name)
        now = _shown(given, name)
        if before != now:
            return f"{name}={before} when trained, {now} now"
    return None


def _shown(kwargs: Mapping[str, Any], name: str) -> str:
    """``repr`` of ``kwargs[name]`` (tuples as lists), or ``"<default>"`` when absent."""
    if name not in kwargs:
        return "<default>"
    value = kwargs[name]
    return repr(list(value) if isinstance(value, tuple) else value)


def env_settings(env: Any, keys: tuple[str, ...]) -> dict[str, Any]:
    """The values of ``keys`` in the resolved config of an env or native vector env (``None``
    where the config has no such field): what a learner stores in ``extra["settings"]`` and
    checks with :func:`check_env_settings`."""
    config = getattr(env.unwrapped, "config")  # noqa: B009 (Env and VectorEnv alike)
    return {key: getattr(config, key, None) for key in keys}


def check_env_settings(
    checkpoint: str | os.PathLike[str], loaded: Checkpoint, env: Any, keys: tuple[str, ...]
) -> None:
    """Refuse an env whose ``keys`` differ from the settings ``loaded`` was trained with.

    :param checkpoint: the checkpoint as the user named it (for the message).
    :raises ValueError: one line naming the first setting that differs and both values.
    """
    trained = loaded.extra.get("settings", {})
    for key, value in env_settings(env, keys).items():
        if trained.get(key) != value:
            raise ValueError(
                f"checkpoint {str(checkpoint)!r} was trained with {key}={trained.get(key)!r}, "
                f"the env has {key}={value!r}"
            )


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    algorithm: str | None = None,
    env_id: str | None = None,
    env_kwargs: Mapping[str, Any] | None = None,
    compatible_kwargs: KwargsCheck | None = None,
) -> Checkpoint:
    """Read and check a checkpoint written by :func:`save_checkpoint` (on the CPU).

    :param algorithm: the algorithm it must hold (``None``: any).
    :param env_id: the env id it must have been trained on (``None``: any).
    :param env_kwargs: env kwargs it will be used with (``None``: not checked).
    :param compatible_kwargs: decides whether the trained kwargs fit ``env_kwargs``
        (default :func:`same_kwargs`: all equal).
    :raises ValueError: one line naming the file and the reason (module docstring).
    """
    path = Path(path)
    where = f"checkpoint {str(path)!r}"
    if path.is_dir():
        raise ValueError(f"{where} is a directory, not a checkpoint file")
    if not path.is_file():
        raise ValueError(f"{where} does not exist")
    try:
        with warnings.catch_warnings():  # e.g. "pickle protocol 4": the file is refused anyway
            warnings.simplefilter("ignore")
            data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # zip, pickle, EOF, unpickler refusals: all "not readable"
        detail = _first_line(str(error))
        raise ValueError(
            f"{where} is not a readable ua-envs checkpoint ({type(error).__name__}: {detail})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != FORMAT_NAME:
        raise ValueError(
            f"{where} is not a ua-envs checkpoint (no format {FORMAT_NAME!r} marker; "
            "a file of another program or of an old ua-envs version?)"
        )
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{where} has checkpoint format version {version!r}; this ua-envs reads version "
            f"{FORMAT_VERSION}"
        )
    _check_fields(data, where)
    checkpoint = Checkpoint(
        algorithm=data["algorithm"],
        env_id=data["env_id"],
        hyperparameters=data["hyperparameters"],
        state=data["state"],
        env_kwargs=data["env_kwargs"],
        step=data["step"],
        episodes=data["episodes"],
        seed=data["seed"],
        curve=data["curve"],
        rng=data["rng"],
        extra=data["extra"],
        package_version=data["package_version"],
        format_version=version,
    )
    if algorithm is not None and checkpoint.algorithm != algorithm:
        raise ValueError(f"{where} holds a {checkpoint.algorithm!r} checkpoint, not {algorithm!r}")
    if env_id is not None and checkpoint.env_id != env_id:
        raise ValueError(f"{where} was trained on {checkpoint.env_id!r}, not {env_id!r}")
    if env_kwargs is not None:
        check = compatible_kwargs or same_kwargs
        reason = check(checkpoint.env_kwargs, env_kwargs)
        if reason is not None:
            raise ValueError(f"{where} was trained with incompatible env kwargs: {reason}")
    return checkpoint


#: Metadata fields and their types (the content of ``rng`` and ``curve`` is checked apart).
_FIELD_TYPES: dict[str, type] = {
    "algorithm": str,
    "env_id": str,
    "hyperparameters": dict,
    "env_kwargs": dict,
    "state": dict,
    "rng": dict,
    "curve": list,
    "extra": dict,
    "package_version": str,
    "step": int,
    "episodes": int,
    "seed": int,
}


def _check_fields(data: Mapping[str, Any], where: str) -> None:
    """``ValueError`` naming the first field of ``data`` with a missing or wrong value."""
    for name, kind in _FIELD_TYPES.items():
        if name not in data:
            raise ValueError(f"{where} has no {name!r} field")
        value = data[name]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(
                f"{where}: field {name!r} must be a {getattr(kind, '__name__', kind)}, "
                f"got {type(value).__name__}"
            )
        if isinstance(value, int) and value < 0:
            raise ValueError(f"{where}: field {name!r} must be >= 0, got {value}")
    if not data["algorithm"] or not data["env_id"]:
        raise ValueError(f"{where}: fields 'algorithm' and 'env_id' must not be empty")
    for name, value in data["rng"].items():
        if not isinstance(value, Tensor) or value.dtype != torch.uint8:
            raise ValueError(f"{where}: rng[{name!r}] must be a uint8 generator-state tensor")
    for index, row in enumerate(data["curve"]):
        if not isinstance(row, dict) or not isinstance(row.get("step"), int):
            raise ValueError(f"{where}: curve[{index}] must be a dict with an integer 'step'")
        for key, value in row.items():
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, (int, float))
            ):
                raise ValueError(
                    f"{where}: curve[{index}][{key!r}] must be a number, got {value!r}"
                )


def _first_line(text: str, limit: int = 160) -> str:
    """The first non-empty line of ``text``, at most ``limit`` characters."""
    for line in text.splitlines():
        if line.strip():
            line = " ".join(line.split())
            return line if len(line) <= limit else line[: limit - 3] + "..."
    return "no detail"
