"""Tenure: a self-hosted user-retention platform for e-commerce."""

__version__ = "0.1.0"
