"""Argument types shared by the commands: values checked where argparse reads them, with the allowed range."""

from __future__ import annotations

import argparse

from ..errors import MAX_SEED, TmsError, check_seeds


def seed(text: str) -> int:
    """A seed in [0, 2**32 - 1]: larger ones would repeat smaller ones' random keys (:data:`tms.errors.MAX_SEED`)."""
    try:
        return check_seeds([int(text)], "seed")[0]
    except (ValueError, TmsError):
        raise argparse.ArgumentTypeError(f"a seed is an integer in [0, {MAX_SEED}]; got {text!r}") from None
