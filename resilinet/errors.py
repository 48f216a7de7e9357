"""The error type for bad user input: the scripts print its message and exit non-zero."""


class UserError(Exception):
    """Missing or corrupt data, a wrong constant or a bad flag; the message says what and where."""


class Interrupted(Exception):
    """Ctrl-C during a run: the scripts say what was kept and exit 130."""
