"""Operator accounts, their sign-in sessions and CSRF tokens."""
