"""The ``tms`` command: a thin argparse front over importable functions (see :mod:`.main`)."""

from .main import build_parser, main

__all__ = ["build_parser", "main"]
