"""Whole episodes of every id are unchanged by refactors (see ``golden_cases.py``; its
``RERECORDED`` lists the cases re-recorded for a deliberate change, and its ``OLD_NAMES`` cases
replay a past recording with the old beamformers under their new names).

Bit-identical unless a key is listed in ``RELATIVE``; those are compared at the relative
tolerance given there (documented where the arithmetic changed on purpose).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.golden.golden_cases import (
    CASES,
    DATA,
    OLD_NAMES,
    RERECORDED,
    run_case,
    run_vector_case,
)

#: Case -> (key suffixes whose arithmetic changed on purpose, relative tolerance).
RELATIVE: dict[str, tuple[tuple[str, ...], float]] = {
    # The partial RZF forms its Grams with matmuls instead of einsum (speed, issue #13): the
    # same sums in another order; float32 solves of near-singular Grams amplify the last-bit
    # change to a few 1e-6 in a rate.
    "cellfree": (("rates", "sum_rate", "reward"), 1e-5),
}


@pytest.mark.parametrize(("name", "env_id", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_golden_episodes_unchanged(name: str, env_id: str, kwargs: dict) -> None:
    expected = np.load(DATA / f"{name}.npz")
    actual = {**run_case(env_id, kwargs), **run_vector_case(env_id, kwargs)}
    assert sorted(actual) == sorted(expected.files)
    loose, rtol = RELATIVE.get(name, ((), 0.0))
    for key in expected.files:
        if loose and key.endswith(loose):
            np.testing.assert_allclose(actual[key], expected[key], rtol=rtol, err_msg=key)
        else:
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)


def test_provenance_names_are_cases() -> None:
    """Every re-recorded or old-name case exists, and each old-name case replays a case."""
    names = {name for name, _, _ in CASES}
    assert set(RERECORDED) <= names and set(OLD_NAMES) <= names
    assert set(OLD_NAMES.values()) <= names
    assert not set(RERECORDED) & set(OLD_NAMES)
