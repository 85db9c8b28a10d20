"""Jinja2 letter and email templates, nothing else."""
