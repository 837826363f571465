"""Getting data in: file imports and Segment-compatible HTTP tracking."""
