"""Exceptions for problems caused by the user's input rather than by a bug."""


class DefocusError(ValueError):
    """A user-facing error: the CLI prints its message on one line and exits non-zero.

    It is a :class:`ValueError`, so library callers can catch bad input (an unreadable
    file, a PSF larger than the image, NaN pixels) the usual way.

    The message should name the offending file or option and the problem, e.g.
    ``"photo.png: cannot read image (file is truncated)"``.
    """
