"""Background work: dramatiq actors, the broker they use and the periodic scheduler."""
