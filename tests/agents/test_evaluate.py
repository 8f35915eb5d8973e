"""The evaluation harness on a tiny env with known returns (tests/agents/tiny_envs.py)."""

from __future__ import annotations

import csv
import json
import math

import gymnasium as gym
import numpy as np
import pytest
import tiny_envs
from tiny_envs import TINY_ID, FirstLegalPolicy, TinyBanditEnv

from agents.evaluate import (
    Results,
    Table,
    check_env_id,
    compare,
    evaluate,
    format_stat,
    known_env_ids,
    make_env,
    summarize,
)
from agents.policy import RandomPolicy

assert tiny_envs  # imported for its registrations


# --- statistics ---------------------------------------------------------------------------


def test_summarize_hand_computed() -> None:
    """x = [1, 2, 4, 5]: mean 3, squared deviations 4+1+1+4 = 10, var 10/3, std 1.8257;
    t_{0.975, 3} = 3.182446, half width = 3.182446 · 1.8257 / 2 = 2.9051."""
    stat = summarize([1.0, 2.0, 4.0, 5.0])
    assert stat.mean == pytest.approx(3.0)
    assert stat.std == pytest.approx(math.sqrt(10.0 / 3.0))
    assert stat.half_width == pytest.approx(3.182446305284263 * math.sqrt(10.0 / 3.0) / 2.0)
    assert stat.ci_low == pytest.approx(3.0 - stat.half_width)
    assert stat.n == 4


def test_summarize_constant_is_zero_width_exactly() -> None:
    # 0.1 summed ten times is not 1.0 in floating point; the interval must still be exact.
    stat = summarize([0.1] * 10)
    assert stat.std == 0.0
    assert stat.ci_low == stat.ci_high == stat.mean == 0.1


def test_summarize_drops_nan_and_handles_tiny_samples() -> None:
    assert summarize([1.0, math.nan, 3.0]).n == 2
    one = summarize([2.5])
    assert one.mean == 2.5 and math.isnan(one.half_width)
    empty = summarize([])
    assert empty.n == 0 and math.isnan(empty.mean)
    assert format_stat(one) == "2.5 ± n/a"
    assert format_stat(empty) == "n/a"
    with pytest.raises(ValueError, match="confidence"):
        summarize([1.0, 2.0], confidence=1.5)


def test_format_stat_rounds_to_the_half_width() -> None:
    # mean 6.25, std 0.0707, hw = t_{0.975,1} · std / sqrt(2) = 12.706 · 0.0707 / 1.414 = 0.635
    assert format_stat(summarize([6.2, 6.3])) == "6.25 ± 0.64"
    assert format_stat(summarize([3.0, 3.0])) == "3 ± 0"


# --- evaluate() ---------------------------------------------------------------------------


def test_constant_return_has_zero_width_interval() -> None:
    """3 steps of reward 1.5 per episode: every return is 4.5."""
    results = evaluate("random", TINY_ID, 20, 0, {"reward": "constant", "value": 1.5, "horizon": 3})
    np.testing.assert_array_equal(results.returns, np.full(20, 4.5))
    stat = results.summary()["return"]
    assert (stat.mean, stat.std, stat.ci_low, stat.ci_high) == (4.5, 0.0, 4.5, 4.5)
    np.testing.assert_array_equal(results.lengths, np.full(20, 3))


def test_gaussian_interval_covers_the_true_mean() -> None:
    """Returns ~ N(0.7, 1): the 95 % interval at seed 0 covers 0.7, and over 100 seeds the
    interval covers the truth in about 95 % of the runs (deterministic given the seeds)."""
    kwargs = {"reward": "gaussian", "value": 0.7}
    stat = evaluate("random", TINY_ID, 200, 0, kwargs).summary()["return"]
    assert stat.ci_low < 0.7 < stat.ci_high
    assert stat.half_width == pytest.approx(1.96 / math.sqrt(200), rel=0.15)
    covered = 0
    env = gym.make(TINY_ID, **kwargs)
    for run in range(100):
        s = evaluate(FirstLegalPolicy(), env, 20, 1000 * run).summary()["return"]
        covered += s.ci_low <= 0.7 <= s.ci_high
    assert 88 <= covered <= 100


def test_bernoulli_interval_covers_p() -> None:
    stat = evaluate("random", TINY_ID, 400, 3, {"reward": "bernoulli", "value": 0.3})
    summary = stat.summary()["return"]
    assert set(np.unique(stat.returns)) <= {0.0, 1.0}
    assert summary.ci_low < 0.3 < summary.ci_high


def test_same_seed_identical_and_different_seed_different() -> None:
    kwargs = {"reward": "gaussian", "value": 0.0, "horizon": 2}
    a = evaluate("random", TINY_ID, 10, 5, kwargs)
    b = evaluate("random", TINY_ID, 10, 5, kwargs)
    c = evaluate("random", TINY_ID, 10, 6, kwargs)
    np.testing.assert_array_equal(a.returns, b.returns)
    assert not np.array_equal(a.returns, c.returns)


def test_episode_j_is_reset_with_seed_plus_j() -> None:
    """Episode j of a run with seed s equals the only episode of a run with seed s + j (the
    first 'gaussian' draw comes from the env's np_random after reset(seed=s + j))."""
    kwargs = {"reward": "gaussian", "value": 0.0}
    run = evaluate(FirstLegalPolicy(), TINY_ID, 5, 10, kwargs)
    for j in range(5):
        single = evaluate(FirstLegalPolicy(), TINY_ID, 1, 10 + j, kwargs)
        assert single.returns[0] == run.returns[j]


def test_policy_object_is_reset_with_the_seed() -> None:
    """A RandomPolicy object is re-seeded by evaluate, so reusing it reproduces the run."""
    policy = RandomPolicy(spaces_of_tiny().action_space, seed=123)
    kwargs = {"reward": "action", "horizon": 4}
    first = evaluate(policy, TINY_ID, 8, 2, kwargs)
    second = evaluate(policy, TINY_ID, 8, 2, kwargs)
    np.testing.assert_array_equal(first.returns, second.returns)
    assert first.policy == "RandomPolicy"


def spaces_of_tiny() -> TinyBanditEnv:
    return TinyBanditEnv()


@pytest.mark.parametrize(
    ("aggregate", "step", "pair", "even"),
    [
        # steps t = 1, 2, 3: step = t, pair = mean(t, 2t) = 1.5 t, even = t % 2 == 0
        ("final", 3.0, 4.5, 0.0),
        ("mean", 2.0, 3.0, 1.0 / 3.0),
        ("sum", 6.0, 9.0, 1.0),
    ],
)
def test_info_metric_aggregates(aggregate: str, step: float, pair: float, even: float) -> None:
    results = evaluate("random", TINY_ID, 3, 0, {"horizon": 3}, aggregate=aggregate)
    assert list(results.metrics) == ["step", "even", "pair"]  # association, label skipped
    np.testing.assert_allclose(results.metrics["step"], step)
    np.testing.assert_allclose(results.metrics["pair"], pair)
    np.testing.assert_allclose(results.metrics["even"], even)
    assert list(results.summary()) == ["return", "length", "step", "even", "pair"]


def test_explicit_metric_selection() -> None:
    results = evaluate("random", TINY_ID, 2, 0, {"horizon": 2}, metrics=["association"])
    assert list(results.metrics) == ["association"]
    np.testing.assert_array_equal(results.metrics["association"], [1.0, 1.0])


def test_env_instance_is_accepted_and_not_closed() -> None:
    env = gym.make(TINY_ID, reward="constant", value=2.0)
    results = evaluate(FirstLegalPolicy(), env, 3, 0)
    np.testing.assert_array_equal(results.returns, [2.0, 2.0, 2.0])
    assert results.env_id == TINY_ID
    env.reset(seed=0)  # still usable
    with pytest.raises(ValueError, match="env_kwargs"):
        evaluate(FirstLegalPolicy(), env, 3, 0, {"value": 1.0})


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"episodes": 0}, "episodes must be an integer >= 1"),
        ({"episodes": 2.5}, "episodes must be an integer >= 1"),
        ({"seed": -1}, "seed must be an integer >= 0"),
        ({"aggregate": "median"}, "aggregate must be one of final, mean, sum"),
    ],
)
def test_invalid_arguments(kwargs: dict, match: str) -> None:
    args = {"episodes": 2, "seed": 0, **kwargs}
    with pytest.raises(ValueError, match=match):
        evaluate("random", TINY_ID, args.pop("episodes"), args.pop("seed"), **args)


def test_unknown_env_id_names_the_valid_ids() -> None:
    with pytest.raises(ValueError, match=r"unknown env id 'NoSuchEnv-v0'; valid: .*MultiCell"):
        evaluate("random", "NoSuchEnv-v0", 1, 0)
    assert TINY_ID in known_env_ids()
    assert "CartPole-v1" not in known_env_ids()  # Gymnasium's own ids are not listed
    check_env_id("CartPole-v1")  # ... but they are accepted


def test_unknown_env_kwarg_names_the_valid_kwargs() -> None:
    with pytest.raises(ValueError, match=r"unknown env kwarg\(s\) bogus .*valid: reward, value"):
        make_env(TINY_ID, {"bogus": 1})


def test_unknown_policy_names_the_valid_policies() -> None:
    with pytest.raises(ValueError, match=r"unknown policy 'nope'.*first_legal.*random"):
        evaluate("nope", TINY_ID, 1, 0)


# --- compare() and Table --------------------------------------------------------------------


def test_compare_writes_csv_json_png(tmp_path: pytest.TempPathFactory, capsys) -> None:
    kwargs = {"reward": "action", "horizon": 3}
    table = compare(
        ["random", FirstLegalPolicy()],
        TINY_ID,
        12,
        0,
        kwargs,
        out_dir=tmp_path,
        plot=True,
        reference="FirstLegalPolicy",
    )
    printed = capsys.readouterr().out
    assert "| random |" in printed and "% of FirstLegalPolicy" in printed and "±" in printed
    assert set(table.files) == {"csv", "episodes", "json", "png"}
    assert table.files["png"].read_bytes()[:4] == b"\x89PNG"

    rows = list(csv.DictReader(table.files["csv"].open()))
    assert [r["policy"] for r in rows] == ["random", "FirstLegalPolicy"]
    first_legal = table.results[1]
    assert float(rows[1]["return_mean"]) == first_legal.returns.mean()
    assert float(rows[1]["return_pct_of_FirstLegalPolicy"]) == 100.0
    expected_pct = 100.0 * table.results[0].returns.mean() / first_legal.returns.mean()
    assert float(rows[0]["return_pct_of_FirstLegalPolicy"]) == pytest.approx(expected_pct)

    data = json.loads(table.files["json"].read_text())
    assert data["env_id"] == TINY_ID and data["episodes"] == 12 and data["seed"] == 0
    assert data["env_kwargs"] == kwargs
    assert data["policies"][0]["returns"] == table.results[0].returns.tolist()
    assert data["policies"][1]["summary"]["return"]["n"] == 12

    episodes = list(csv.DictReader(table.files["episodes"].open()))
    assert len(episodes) == 24 and episodes[13]["seed"] == "1"


def test_compare_adds_a_missing_reference_and_labels_duplicates() -> None:
    table = compare(["random", "random"], TINY_ID, 4, 0, reference="first_legal", print_table=False)
    assert [r.policy for r in table.results] == ["random", "random#2", "first_legal"]
    assert table.reference == "first_legal"


def test_compare_is_reproducible(tmp_path) -> None:
    kwargs = {"reward": "gaussian", "horizon": 2}
    for name in ("a", "b"):
        out = tmp_path / name
        compare(["random", "first_legal"], TINY_ID, 10, 7, kwargs, out_dir=out, print_table=False)
    for file in ("summary.csv", "summary.json", "episodes.csv"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_compare_rejects_bad_input() -> None:
    with pytest.raises(ValueError, match="at least one policy"):
        compare([], TINY_ID, 1, 0)
    with pytest.raises(ValueError, match="out_dir"):
        compare(["random"], TINY_ID, 1, 0, plot=True)
    with pytest.raises(ValueError, match="needs a checkpoint"):
        compare(["ppo"], TINY_ID, 1, 0)
    with pytest.raises(ValueError, match="unknown policy"):
        compare(["random", "nope"], TINY_ID, 1, 0)


def test_markdown_shows_length_only_for_multi_step_envs() -> None:
    one = Table([evaluate("random", TINY_ID, 3, 0)])
    three = Table([evaluate("random", TINY_ID, 3, 0, {"horizon": 3})])
    assert "| length |" not in one.to_markdown()
    assert "length" in three.to_markdown().splitlines()[0]
    assert isinstance(one.results[0], Results)
