"""`python -m mailbag` runs the command line."""

from mailbag.cli import main

if __name__ == "__main__":  # parse workers are spawned and import this module too
    main()
