"""ramps scenarios."""
