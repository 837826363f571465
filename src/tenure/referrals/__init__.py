"""Referrals (invite codes, attribution, two-sided rewards, abuse rules) and group buying."""
