"""Tiers: qualification on rolling spend or points, immediate upgrades, graceful downgrades."""
