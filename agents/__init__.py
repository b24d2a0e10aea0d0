"""Agents for text-envs: transformer actor-critic policies and their trainers."""
