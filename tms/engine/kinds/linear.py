"""The linear model, the paper's comparison: x' = WᵀW x + b; see :mod:`.tied` for its parameters, data and
fast path."""

from .tied import tied_kind

KIND = tied_kind("linear", "W^T W x + b", relu=False)
