"""ua-envs: reinforcement-learning environments for user association in wireless networks.

Importing the package registers every Gymnasium id (single-env entry point, native vector entry
point, time limit). Entry points are strings, so no simulator is imported until ``gym.make``.
"""

from gymnasium.envs.registration import register

__version__ = "0.1.0"

#: Every registered id with a one-line description (``ua-envs list`` prints this).
ENV_IDS: dict[str, str] = {
    "MultiCellAssoc-v0": "one-shot multi-cell association, reward = sum rate (mmWave 28 GHz)",
    "MultiCellAssocBalanced-v0": "MultiCellAssoc-v0 with load limit = antennas, overload dropped",
    "CellFreeAssoc-v0": "sequential cell-free support-set construction with action masks and END",
    "FronthaulAssoc-v0": "Bernoulli cell-free association with fronthaul-capacity Lagrangian",
    "SlottedArrivalAssoc-v0": "GROWS slotted arrivals: associate each arriving user or reject",
}

register(
    id="MultiCellAssoc-v0",
    entry_point="ua_envs.envs.multicell.env:MultiCellAssocEnv",
    vector_entry_point="ua_envs.envs.multicell.vector:MultiCellAssocVectorEnv",
)
register(
    id="MultiCellAssocBalanced-v0",
    entry_point="ua_envs.envs.multicell.env:MultiCellAssocEnv",
    vector_entry_point="ua_envs.envs.multicell.vector:MultiCellAssocVectorEnv",
    kwargs={"load_limit": "num_antennas", "overload": "drop"},
)
register(
    id="CellFreeAssoc-v0",
    entry_point="ua_envs.envs.cellfree.env:CellFreeAssocEnv",
    vector_entry_point="ua_envs.envs.cellfree.vector:CellFreeAssocVectorEnv",
    # No max_episode_steps: episodes end by themselves within M·K + 1 steps at every size.
)
register(
    id="FronthaulAssoc-v0",
    entry_point="ua_envs.envs.fronthaul.env:FronthaulAssocEnv",
    vector_entry_point="ua_envs.envs.fronthaul.vector:FronthaulAssocVectorEnv",
)
register(
    id="SlottedArrivalAssoc-v0",
    entry_point="ua_envs.envs.slotted.env:SlottedArrivalAssocEnv",
    vector_entry_point="ua_envs.envs.slotted.vector:SlottedArrivalAssocVectorEnv",
    # No max_episode_steps: the env truncates itself after `horizon` slots (40 by default), so
    # that horizon=80 plays 80 slots.
)

__all__ = ["ENV_IDS", "__version__"]
