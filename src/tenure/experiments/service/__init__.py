"""Experiment services: documents and their lifecycle, assignment, results."""
