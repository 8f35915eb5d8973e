"""PettingZoo's own API tests on every multi-agent env (fronthaul_assoc_v0, multicell_assoc_v0,
slotted_arrival_v0): parallel_api_test on the parallel env, api_test on the AEC env (``env()``
and ``parallel_to_aec(parallel_env())``); they pass, and the only warnings raised while building
and testing an env are PettingZoo's generic remarks on its spaces."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from types import ModuleType
from typing import Any

import pytest
from pettingzoo.test import api_test, parallel_api_test
from pettingzoo.utils.conversions import parallel_to_aec

import ua_envs  # noqa: F401  (registers the ids)
from ua_envs.multiagent import fronthaul_assoc_v0, multicell_assoc_v0, slotted_arrival_v0

#: fronthaul: the remark on MultiBinary actions in the AEC test.
FRONTHAUL_REMARKS = ("should be gymnasium.spaces.box",)
#: multicell: the remarks on the SPEC §4.5 {"observation", "action_mask"} dict layout.
MULTICELL_REMARKS = ("should be gymnasium.spaces.box", "Observation is not a NumPy array")
#: slotted: the same dict layout, whose observation may be all zeros (no arrival).
SLOTTED_REMARKS = (*MULTICELL_REMARKS, "Observation numpy array is all zeros")

PARALLEL_CASES = [
    pytest.param(fronthaul_assoc_v0, {}, FRONTHAUL_REMARKS, 20, id="fronthaul"),
    pytest.param(
        fronthaul_assoc_v0,
        {"reward": "local", "horizon": 3, "num_ues": 5, "reward_mode": "penalty"},
        FRONTHAUL_REMARKS,
        20,
        id="fronthaul-local",
    ),
    pytest.param(multicell_assoc_v0, {}, MULTICELL_REMARKS, 20, id="multicell"),
    pytest.param(
        multicell_assoc_v0,
        {"reward": "individual", "load_limit": 2, "overload": "penalty", "num_ues": 5},
        MULTICELL_REMARKS,
        20,
        id="multicell-individual",
    ),
    pytest.param(slotted_arrival_v0, {}, SLOTTED_REMARKS, 100, id="slotted"),
]

AEC_CASES = [
    pytest.param(fronthaul_assoc_v0, {"horizon": 2}, FRONTHAUL_REMARKS, 20, id="fronthaul"),
    pytest.param(multicell_assoc_v0, {"num_ues": 4}, MULTICELL_REMARKS, 20, id="multicell"),
    pytest.param(slotted_arrival_v0, {}, SLOTTED_REMARKS, 100, id="slotted"),
]


def _assert_only_remarks(run: Callable[[], None], remarks: tuple[str, ...]) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run()
    for w in caught:
        assert any(text in str(w.message) for text in remarks), str(w.message)


@pytest.mark.parametrize(("module", "kwargs", "remarks", "num_cycles"), PARALLEL_CASES)
def test_parallel_api_test(
    module: ModuleType, kwargs: dict[str, Any], remarks: tuple[str, ...], num_cycles: int
) -> None:
    _assert_only_remarks(
        lambda: parallel_api_test(module.parallel_env(**kwargs), num_cycles=num_cycles), remarks
    )


@pytest.mark.parametrize("make", ["env", "parallel_to_aec"])
@pytest.mark.parametrize(("module", "kwargs", "remarks", "num_cycles"), AEC_CASES)
def test_aec_api_test(
    module: ModuleType,
    kwargs: dict[str, Any],
    remarks: tuple[str, ...],
    num_cycles: int,
    make: str,
) -> None:
    def run() -> None:
        if make == "env":
            env = module.env(**kwargs)
        else:
            env = parallel_to_aec(module.parallel_env(**kwargs))
        api_test(env, num_cycles=num_cycles)

    _assert_only_remarks(run, remarks)
