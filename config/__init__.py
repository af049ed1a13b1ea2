"""Settings every package reads: one pydantic-settings object (env ``ORDERCMD_*`` + TOML)."""
