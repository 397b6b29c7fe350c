"""Learning-rate schedulers (below)."""
