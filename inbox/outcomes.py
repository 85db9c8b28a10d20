"""Expected ways for a message's journey to end early; not bugs, handled by the runner."""


class Duplicate(Exception):
    """Already stored (same Message-ID, or same bytes when there is none)."""


class StepError(Exception):
    """A step found the message unusable; the message goes to quarantine with this text."""
