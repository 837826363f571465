"""API keys: hashed secrets with scopes."""
