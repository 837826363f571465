"""User profiles: attributes, computed features, scores, RFM, lifecycle, segments and a timeline."""
