"""Segment-compatible HTTP tracking: messages land in a durable inbox, then flush to the warehouse."""
