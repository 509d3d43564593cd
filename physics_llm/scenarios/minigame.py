"""minigame scenarios."""
