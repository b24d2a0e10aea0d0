"""Classify: label a text in one step (spec, Gymnasium env, torch vector env)."""
