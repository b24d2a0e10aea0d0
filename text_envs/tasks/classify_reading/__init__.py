"""classify_reading task: spec, Gymnasium env, torch vector env."""
