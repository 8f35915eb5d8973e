"""Whole episodes of every id are unchanged by refactors (see ``golden_cases.py``).

Bit-identical unless a key is listed in ``RELATIVE``; those are compared at 1e-6 relative
(documented where the arithmetic changed on purpose).
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.golden.golden_cases import CASES, DATA, run_case, run_vector_case

#: Keys (suffixes) whose arithmetic changed on purpose and that match to 1e-6 relative.
RELATIVE: dict[str, tuple[str, ...]] = {}


@pytest.mark.parametrize(("name", "env_id", "kwargs"), CASES, ids=[c[0] for c in CASES])
def test_golden_episodes_unchanged(name: str, env_id: str, kwargs: dict) -> None:
    expected = np.load(DATA / f"{name}.npz")
    actual = {**run_case(env_id, kwargs), **run_vector_case(env_id, kwargs)}
    assert sorted(actual) == sorted(expected.files)
    loose = RELATIVE.get(name, ())
    for key in expected.files:
        if key.endswith(loose) and loose:
            np.testing.assert_allclose(actual[key], expected[key], rtol=1e-6, err_msg=key)
        else:
            np.testing.assert_array_equal(actual[key], expected[key], err_msg=key)
