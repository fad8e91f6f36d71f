"""Exceptions for problems caused by the user's input rather than by a bug."""


class DefocusError(Exception):
    """A user-facing error: the CLI prints its message on one line and exits non-zero.

    The message should name the offending file or option and the problem, e.g.
    ``"photo.png: cannot read image (file is truncated)"``.
    """
