"""complex scenarios."""
