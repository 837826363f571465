"""Behaviour of the experiment statistics, beyond their parity with gbstats."""
