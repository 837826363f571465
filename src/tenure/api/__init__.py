"""HTTP API: app factory, auth, problem+json errors."""
