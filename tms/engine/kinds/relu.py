"""The ReLU output model (Elhage et al. 2022): x' = ReLU(WᵀW x + b); see :mod:`.tied` for its parameters,
data and fast path."""

from .tied import tied_kind

KIND = tied_kind("relu", "ReLU(W^T W x + b)", relu=True)
