"""Tests of the shop simulator."""
