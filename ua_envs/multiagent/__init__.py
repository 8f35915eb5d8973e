"""PettingZoo parallel environments.

Import a versioned module, e.g. ``from ua_envs.multiagent import multicell_assoc_v0``.
"""
