"""ua-envs: reinforcement-learning environments for user association in wireless networks."""

__version__ = "0.1.0"
