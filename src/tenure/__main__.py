"""`python -m tenure` runs the CLI."""

from tenure.cli.main import app

app()
