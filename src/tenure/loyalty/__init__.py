"""Loyalty: points ledger, earning rules, tiers, check-in, tasks, member day, paid membership."""
