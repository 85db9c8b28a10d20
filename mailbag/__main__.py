"""`python -m mailbag` runs the command line."""

from mailbag.cli import main

main()
