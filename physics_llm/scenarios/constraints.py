"""constraints scenarios."""
