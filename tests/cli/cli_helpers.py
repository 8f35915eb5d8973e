"""Shared by the command-line tests: run the console script, check one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The tiny test env module (made visible with ``--env-module TINY``).
TINY = str(ROOT / "tests" / "agents" / "tiny_envs.py")
SCRIPT = Path(sys.executable).with_name("ua-envs")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the installed console script (or ``python -m agents.cli`` without one)."""
    command = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "agents.cli"]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    env.pop("UA_ENVS_DEBUG", None)
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def one_line(err: str, *needles: str) -> str:
    """The only line of ``err`` (no traceback), which contains every one of ``needles``."""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]
