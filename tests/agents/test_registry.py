"""Policy and trainer registry: lookup by name and env id, specs, errors naming valid names;
explicit (cycle-free) registration of the built-ins; action-space filters of the SB3 entries."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import pytest
import tiny_envs
from gymnasium import spaces
from tiny_envs import BITS_ID, TINY_ID, FirstLegalPolicy

from agents import registry
from agents.entries import has_action_masks
from agents.policy import RandomPolicy
from agents.registry import (
    check_policy_spec,
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
    registry.load_builtin()
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


# ---- explicit registration, no import cycle ------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (nothing of agents imported before it)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120
    )


def _module_names() -> dict[str, Path]:
    out = {}
    for path in sorted((ROOT / "agents").rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _import_graph() -> dict[str, set[str]]:
    """``agents`` module → the ``agents`` modules it imports anywhere (functions included).

    Importing ``a.b.c`` also runs the packages ``a`` and ``a.b``, so those count too.
    """
    modules = _module_names()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    base = f"{anchor}.{base}" if base else anchor
                targets = [base, *(f"{base}.{alias.name}" for alias in node.names)]
            else:
                continue
            for target in targets:
                parts = target.split(".")
                for i in range(1, len(parts) + 1):
                    dep = ".".join(parts[:i])
                    # A module's own packages are initialised before it: not a dependency.
                    if dep in modules and dep != name and not name.startswith(dep + "."):
                        deps.add(dep)
        graph[name] = deps
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                return [*stack[stack.index(dep) :], dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_agents_import_graph_has_no_cycle() -> None:
    """Regression: registry -> baselines -> registry (and registry -> sb3 -> registry) was a
    cycle held together by import side effects."""
    graph = _import_graph()
    assert "agents.registry" in graph and "agents.baselines.multicell" in graph
    assert _find_cycle(graph) is None, " -> ".join(_find_cycle(graph) or [])
    for module in registry.BUILTIN_MODULES:
        assert "agents.registry" not in graph[module], module


def test_builtin_modules_are_the_ones_load_builtin_collects() -> None:
    """BUILTIN_MODULES names exactly the modules load_builtin imports, each with POLICIES."""
    registry.load_builtin()
    source = ast.parse(Path(registry.__file__).read_text())
    function = next(
        n for n in source.body if isinstance(n, ast.FunctionDef) and n.name == "load_builtin"
    )
    imported = {
        f"{node.module}.{alias.name}"
        for node in ast.walk(function)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert imported == set(registry.BUILTIN_MODULES)
    for name in registry.BUILTIN_MODULES:
        assert sys.modules[name].POLICIES, name


def test_lookup_in_a_fresh_interpreter_without_importing_baselines() -> None:
    """The acceptance check of issue #11: the registry alone finds the built-in baselines."""
    result = _python(
        "import sys, agents.registry as r\n"
        "assert 'agents.baselines.multicell' not in sys.modules  # loaded on first lookup\n"
        "print(r.policy_entry('argmax', 'MultiCellAssoc-v0').factory.__module__)\n"
        "print(r.policy_entry('argmax', 'SlottedArrivalAssoc-v0').factory.__module__)\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["agents.baselines.multicell", "agents.baselines.slotted"]


@pytest.mark.parametrize(
    "first", ["agents.baselines.multicell", "agents.sb3", "agents.evaluate", "agents.cli"]
)
def test_any_import_order_gives_the_same_registry(first: str) -> None:
    result = _python(
        f"import {first}\nfrom agents.registry import policy_names, trainer_names\n"
        "print(policy_names('MultiCellAssoc-v0'), trainer_names())"
    )
    assert result.returncode == 0, result.stderr
    assert "'argmax'" in result.stdout and "'ppo'" in result.stdout
    assert "'q_learning'" in result.stdout


def test_a_user_entry_registered_before_the_first_lookup_replaces_the_builtin() -> None:
    """Regression: the built-ins used to be loaded on the first lookup and then silently
    replaced a user's entry registered earlier for the same name and ids."""
    result = _python(
        "from agents.registry import register_policy, policy_entry\n"
        "ids = ('MultiCellAssoc-v0', 'MultiCellAssocBalanced-v0')\n"
        "register_policy('argmax', lambda env, checkpoint=None, seed=None: None, env_ids=ids,"
        " description='mine')\n"
        "print(policy_entry('argmax', 'MultiCellAssoc-v0').description)\n"
        "print(policy_entry('argmax', 'SlottedArrivalAssoc-v0').description != 'mine')"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split("\n")[:2] == ["mine", "True"]


@pytest.mark.parametrize("name", ["", "a:b", "a,b"])
def test_register_rejects_names_that_cannot_be_specs(isolated: None, name: str) -> None:
    with pytest.raises(ValueError, match="name must be non-empty without"):
        register_policy(name, lambda env, checkpoint=None, seed=None: None)


# ---- checkpoints given to policies that take none ------------------------------------------


def test_checkpoint_for_a_policy_that_takes_none_is_refused() -> None:
    """Regression: 'random:model.npz' silently ignored the checkpoint."""
    env = gym.make(TINY_ID)
    with pytest.raises(ValueError, match=r"policy 'random' takes no checkpoint.*'random:m.npz'"):
        make_policy("random:m.npz", env)
    with pytest.raises(ValueError, match="takes no checkpoint"):
        check_policy_spec("first_legal:x", TINY_ID)
    assert check_policy_spec("first_legal", TINY_ID).name == "first_legal"


def test_accepts_checkpoint_allows_an_optional_one(isolated: None) -> None:
    seen = []

    def factory(env, checkpoint=None, seed=None):
        seen.append(checkpoint)
        return FirstLegalPolicy()

    register_policy("optional", factory, accepts_checkpoint=True)
    env = gym.make(TINY_ID)
    make_policy("optional", env)
    make_policy("optional:w.bin", env)
    assert seen == [None, "w.bin"]


def test_empty_checkpoint_path_is_refused() -> None:
    env = gym.make(TINY_ID)
    with pytest.raises(ValueError, match="empty checkpoint path"):
        make_policy("ppo:", env)


# ---- action spaces of the SB3 loaders and trainers -----------------------------------------

SB3_LOADERS = {"ppo", "a2c", "dqn", "maskable_ppo"}
SB3_ALL = SB3_LOADERS
SB3_NON_DISCRETE = {"ppo", "a2c", "maskable_ppo"}


@pytest.mark.parametrize(
    ("env_id", "loaders"),
    [
        ("MultiCellAssoc-v0", SB3_NON_DISCRETE),  # MultiDiscrete
        ("MultiCellAssocBalanced-v0", SB3_NON_DISCRETE),
        ("CellFreeAssoc-v0", SB3_ALL),  # Discrete
        ("FronthaulAssoc-v0", SB3_NON_DISCRETE),  # MultiBinary
        ("SlottedArrivalAssoc-v0", SB3_ALL),  # Discrete
    ],
)
def test_sb3_entries_follow_the_action_space(env_id: str, loaders: set[str]) -> None:
    """Regression: dqn:PATH was listed and accepted for every env, though SB3's DQN serves only
    Discrete action spaces (MultiCell is MultiDiscrete, Fronthaul MultiBinary)."""
    env = gym.make(env_id)
    assert ("dqn" in loaders) == isinstance(env.action_space, spaces.Discrete)
    assert set(policy_names(env_id)) & SB3_LOADERS == loaders
    trainers = set(trainer_names(env_id))
    assert "ppo" in trainers
    assert ("maskable_ppo" in trainers) == has_action_masks(env)  # sb3-contrib needs them
    for name in SB3_LOADERS - loaders:
        with pytest.raises(ValueError, match=rf"policy '{name}' cannot be used.*it serves"):
            policy_entry(name, env_id)
        with pytest.raises(ValueError, match=r"it serves .*Discrete.* action spaces"):
            make_policy(f"{name}:no_such_file.zip", env)  # refused before any file is read


def test_sb3_entries_on_an_env_without_masks() -> None:
    """MultiBinary actions, no action_masks(): no dqn, no maskable_ppo trainer."""
    assert set(policy_names(BITS_ID)) & SB3_LOADERS == SB3_NON_DISCRETE
    assert {"ppo"} <= set(trainer_names(BITS_ID))
    assert "maskable_ppo" not in trainer_names(BITS_ID)
    with pytest.raises(ValueError, match=r"trainer 'maskable_ppo' cannot be used.*action_masks"):
        trainer_entry("maskable_ppo", BITS_ID)
    assert trainer_entry("ppo", BITS_ID).name == "ppo"
    with pytest.raises(ValueError, match=r"it serves Discrete action spaces, the env has Multi"):
        make_policy("dqn:x.zip", gym.make(BITS_ID))


def test_action_space_filter_of_a_user_entry(isolated: None) -> None:
    register_policy(
        "box_only", lambda env, checkpoint=None, seed=None: None, action_spaces=(spaces.Box,)
    )
    assert "box_only" not in policy_names(TINY_ID)  # Discrete(4)
    assert "box_only" in policy_names()  # no env: every name
    with pytest.raises(ValueError, match=r"it serves Box action spaces, the env has Discrete"):
        make_policy("box_only", gym.make(TINY_ID))
