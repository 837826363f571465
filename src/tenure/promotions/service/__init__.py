"""Promotion services: offers, pricing a cart (quote), and reservations (hold, confirm, release)."""
