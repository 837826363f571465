"""Campaigns and journeys: audiences, triggers, steps, channels, guardrails, holdouts, results."""
