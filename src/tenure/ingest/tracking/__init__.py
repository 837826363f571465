"""Segment-compatible HTTP tracking: a durable inbox, flushed into the warehouse."""
