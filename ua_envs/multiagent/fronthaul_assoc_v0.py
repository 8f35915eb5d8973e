"""PettingZoo entry module ``fronthaul_assoc_v0`` (docs/model.md §4.5): AP agents choose their UEs.

``parallel_env(**kwargs)`` is the parallel env (see
:mod:`ua_envs.envs.fronthaul.parallel`), ``env(**kwargs)`` its AEC version
(``parallel_to_aec``, order-enforcing), ``raw_env(**kwargs)`` the AEC version without
PettingZoo's order-enforcing wrapper (PettingZoo's convention).
"""

from __future__ import annotations

from typing import Any

from pettingzoo import AECEnv
from pettingzoo.utils.conversions import parallel_to_aec, parallel_to_aec_wrapper

from ua_envs.envs.fronthaul.parallel import FronthaulAssocParallelEnv

__all__ = ["FronthaulAssocParallelEnv", "env", "parallel_env", "raw_env"]


def parallel_env(**kwargs: Any) -> FronthaulAssocParallelEnv:
    """The parallel env; kwargs: ``reward``, ``render_mode`` and the FronthaulAssoc-v0 kwargs."""
    return FronthaulAssocParallelEnv(**kwargs)


def raw_env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC version without PettingZoo's order-enforcing wrapper (same kwargs)."""
    return parallel_to_aec_wrapper(parallel_env(**kwargs))


def env(**kwargs: Any) -> AECEnv[str, Any, Any]:
    """The AEC version of :func:`parallel_env` (agents act in turn; same kwargs)."""
    return parallel_to_aec(parallel_env(**kwargs))
