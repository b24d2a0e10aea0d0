"""SummarizeTokens: write a summary token by token from a copy vocabulary (spec, Gymnasium env,
torch vector env)."""
