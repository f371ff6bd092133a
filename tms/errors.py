"""The one base class of every error the lab raises for bad input or a bad file.

The command line turns a :class:`TmsError` into a one-line message (exit code 2); any other exception is a bug
and keeps its traceback. Subclasses name what went wrong (a sweep file, a results folder, a backend); their
messages name the file, the key and the allowed range.
"""

from __future__ import annotations


class TmsError(ValueError):
    """Bad user input or a bad file: the message says which field or path, and what is allowed."""
