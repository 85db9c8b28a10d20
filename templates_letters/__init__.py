"""Jinja2 letter and email templates, nothing else: one folder per kind of letter."""

from pathlib import Path

TEMPLATES_DIR = Path(__file__).parent
