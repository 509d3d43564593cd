"""stacking scenarios."""
