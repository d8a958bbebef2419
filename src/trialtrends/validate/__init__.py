"""Validate: the table contracts (pandera models), per-study quarantine and the run gates."""
