"""Recommendations: bought together, for you, and what to show a new customer.

See docs/recommendations.md. `service` is the surface other domains, the API and the CLI call.
"""
