"""Composition root: the command line and the wiring that starts each part."""
