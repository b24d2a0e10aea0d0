"""Summarize: pick document sentences one at a time, or STOP (spec, Gymnasium env, torch vector
env, and the ROUGE reward scoring that SummarizeTokens shares)."""
