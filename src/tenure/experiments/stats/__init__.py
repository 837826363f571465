"""Experiment statistics as pure functions over per-variant sufficient statistics."""
