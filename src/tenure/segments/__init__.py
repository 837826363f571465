"""Segments: RFM, lifecycle stages, the segment rule language, saved segments and tags."""
