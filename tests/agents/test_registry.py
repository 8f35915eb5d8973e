"""Policy and trainer registry: lookup by name and env id, specs, errors naming valid names."""

from __future__ import annotations

import gymnasium as gym
import pytest
import tiny_envs
from tiny_envs import TINY_ID, FirstLegalPolicy

from agents import registry
from agents.policy import RandomPolicy
from agents.registry import (
    make_policy,
    parse_policy_spec,
    policy_entry,
    policy_names,
    register_policy,
    register_trainer,
    trainer_entry,
    trainer_names,
)

assert tiny_envs  # imported for its registrations


@pytest.fixture
def isolated(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations made in a test do not leak into the others."""
    registry._load_builtin()
    monkeypatch.setattr(registry, "_POLICIES", {k: list(v) for k, v in registry._POLICIES.items()})
    monkeypatch.setattr(registry, "_TRAINERS", {k: list(v) for k, v in registry._TRAINERS.items()})


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("random", ("random", None)),
        ("q_learning:q.npz", ("q_learning", "q.npz")),
        ("ppo:C:/models/a.zip", ("ppo", "C:/models/a.zip")),  # only the first ':' splits
        ("ppo:", ("ppo", "")),
    ],
)
def test_parse_policy_spec(spec: str, expected: tuple[str, str | None]) -> None:
    assert parse_policy_spec(spec) == expected


def test_parse_policy_spec_rejects_an_empty_name() -> None:
    with pytest.raises(ValueError, match="NAME or NAME:CHECKPOINT"):
        parse_policy_spec(":x.zip")


def test_builtin_names() -> None:
    names = policy_names()
    assert {"random", "ppo", "maskable_ppo"} <= set(names)
    assert names == sorted(names)
    assert {"ppo", "maskable_ppo"} <= set(trainer_names())
    assert policy_entry("ppo").needs_checkpoint
    assert not policy_entry("random").needs_checkpoint


def test_env_specific_entry_wins_over_generic(isolated: None) -> None:
    def generic(env, checkpoint=None, seed=None):
        return RandomPolicy(env.action_space, seed=seed)

    def specific(env, checkpoint=None, seed=None):
        return FirstLegalPolicy()

    register_policy("both", generic, description="generic")
    register_policy("both", specific, env_ids=[TINY_ID], description="tiny")
    assert policy_entry("both", TINY_ID).description == "tiny"
    assert policy_entry("both", "CartPole-v1").description == "generic"
    env = gym.make(TINY_ID)
    assert isinstance(make_policy("both", env), FirstLegalPolicy)


def test_reregistering_replaces_the_entry(isolated: None) -> None:
    register_policy("dup", lambda env, checkpoint=None, seed=None: None, description="old")
    register_policy("dup", lambda env, checkpoint=None, seed=None: None, description="new")
    assert len(registry._POLICIES["dup"]) == 1
    assert policy_entry("dup").description == "new"


def test_env_filter_of_names(isolated: None) -> None:
    register_policy("only_tiny", lambda env, checkpoint=None, seed=None: None, env_ids=[TINY_ID])
    assert "only_tiny" in policy_names(TINY_ID)
    assert "only_tiny" not in policy_names("CartPole-v1")
    assert "only_tiny" in policy_names()  # no filter: every name


def test_unknown_policy_error_names_valid_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown policy 'nope' for env 'UATiny-v0'; valid: .*"):
        policy_entry("nope", TINY_ID)
    with pytest.raises(ValueError, match=r"first_legal"):
        policy_entry("nope", TINY_ID)
    with pytest.raises(ValueError, match=r"not registered for|unknown policy 'first_legal'"):
        policy_entry("first_legal", "CartPole-v1")


def test_checkpoint_is_passed_and_required(isolated: None) -> None:
    seen = {}

    def factory(env, checkpoint=None, seed=None):
        seen.update(checkpoint=checkpoint, seed=seed)
        return FirstLegalPolicy()

    register_policy("trained", factory, needs_checkpoint=True)
    env = gym.make(TINY_ID)
    make_policy("trained:model.bin", env, seed=7)
    assert seen == {"checkpoint": "model.bin", "seed": 7}
    with pytest.raises(ValueError, match=r"needs a checkpoint: use trained:PATH"):
        make_policy("trained", env)


def test_trainer_lookup(isolated: None) -> None:
    def trainer(env_id, **kwargs):
        return "out.bin"

    register_trainer("tiny_trainer", trainer, env_ids=[TINY_ID], description="tiny")
    assert trainer_entry("tiny_trainer", TINY_ID).trainer(TINY_ID) == "out.bin"
    assert "tiny_trainer" in trainer_names(TINY_ID)
    with pytest.raises(ValueError, match=r"unknown trainer 'nope'.*valid: .*tiny_trainer"):
        trainer_entry("nope", TINY_ID)
