"""The GROWS slotted arrival family (``SlottedArrivalAssoc-v0``): simulator, Gymnasium env,
native vector env, PettingZoo parallel env and viewer."""

from ua_envs.envs.slotted.sim import SlottedConfig, SlottedInstance, SlottedSimulator, SlottedState

__all__ = ["SlottedConfig", "SlottedInstance", "SlottedSimulator", "SlottedState"]
