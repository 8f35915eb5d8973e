"""Checks that an output path can be written, run before any long work (training, evaluation).

Without side effects: nothing is created. A directory output (``--out DIR`` of ``compare`` /
``evaluate``) may name a directory that does not exist yet, with missing parents (it is created
as ``mkdir -p`` would); a file output (``--out FILE`` of ``train``) needs its parent directory
to exist. Both fail with one ``ValueError`` naming the argument, the path and what is wrong:
a file where a directory is needed, a directory where a file is needed, a parent that is a file,
a directory that is not writable.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path


def _writable_dir(directory: Path, name: str, path: Path) -> None:
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(
            f"{name}: cannot write {str(path)!r}: directory {str(directory)!r} is not writable"
        )


def check_output_dir(path: str | os.PathLike[str], name: str, files: Sequence[str] = ()) -> Path:
    """Check that directory ``path`` exists and is writable, or can be created.

    :param path: the directory (created later by the writer, with its missing parents).
    :param name: the argument's name for messages (``"--out"``, ``"out_dir"``).
    :param files: names of the files that will be written inside it; each must not be an
        existing directory.
    :return: ``path`` as a :class:`~pathlib.Path`.
    :raises ValueError: ``path`` is empty or an existing non-directory, an existing ancestor is
        not a directory or not writable, or one of ``files`` is a directory.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     ok = check_output_dir(Path(tmp) / "new" / "deeper", "--out")  # created later
    ...     (Path(tmp) / "f").write_text("")
    ...     check_output_dir(Path(tmp) / "f", "--out")
    Traceback (most recent call last):
    ...
    ValueError: --out: '.../f' is a file, not a directory
    """
    if not str(path).strip():
        raise ValueError(f"{name}: the output directory path is empty")
    target = Path(path)
    if target.exists():
        if not target.is_dir():
            raise ValueError(f"{name}: {str(target)!r} is a file, not a directory")
        _writable_dir(target, name, target)
        for file in files:
            if (target / file).is_dir():
                raise ValueError(
                    f"{name}: cannot write {str(target / file)!r}: it is a directory, not a file"
                )
        return target
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise ValueError(
            f"{name}: cannot create directory {str(target)!r}: {str(ancestor)!r} is a file"
        )
    _writable_dir(ancestor, name, target)
    return target


def check_output_file(path: str | os.PathLike[str], name: str) -> Path:
    """Check that file ``path`` can be written: its parent directory exists and is writable.

    :param path: the file (overwritten if it exists).
    :param name: the argument's name for messages.
    :return: ``path`` as a :class:`~pathlib.Path`.
    :raises ValueError: ``path`` is empty or an existing directory, or its parent does not
        exist, is not a directory or is not writable.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     check_output_file(Path(tmp) / "missing" / "q.npz", "--out")
    Traceback (most recent call last):
    ...
    ValueError: --out: cannot write '.../missing/q.npz': directory '.../missing' does not exist
    """
    if not str(path).strip():
        raise ValueError(f"{name}: the output file path is empty")
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{name}: {str(target)!r} is a directory, not a file")
    parent = target.parent
    if not parent.exists():
        raise ValueError(
            f"{name}: cannot write {str(target)!r}: directory {str(parent)!r} does not exist"
        )
    if not parent.is_dir():
        raise ValueError(
            f"{name}: cannot write {str(target)!r}: {str(parent)!r} is not a directory"
        )
    _writable_dir(parent, name, target)
    return target
