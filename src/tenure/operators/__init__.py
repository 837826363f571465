"""Operator accounts for the console: passwords, roles, sign-in sessions and CSRF tokens,
weekly-review subscriptions. Below `web` so that jobs can reach the subscribers."""
