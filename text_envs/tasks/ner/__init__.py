"""ner task: spec, Gymnasium env, torch vector env."""
