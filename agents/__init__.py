"""Agents: policies, baselines, learners, evaluation and the ua-envs command line."""
