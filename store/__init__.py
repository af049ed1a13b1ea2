"""The command store in Redis: keys, scripts, admission, claims, flow gate, dead letters, search."""
