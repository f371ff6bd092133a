"""Saving figures reproducibly (fixed DPI, no timestamp in the file's metadata)."""

from __future__ import annotations

from pathlib import Path

DPI = 130
FORMATS = ("png", "svg", "pdf")  # figure formats the command line offers (the first is the default)


def save_figure(fig, path: Path, dpi: int = DPI) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix) and close it; returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Software": None} if path.suffix == ".png" else ({"CreationDate": None} if path.suffix == ".pdf" else None)
    fig.savefig(path, dpi=dpi, bbox_inches="tight", metadata=metadata)
    return path
