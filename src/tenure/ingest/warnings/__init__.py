"""Ingestion warnings: what ingestion clamped or refused because of an implausible time, and
orders arriving in a second currency."""
