"""JAX port of Casper's mechanistic interpretability challenge #2 transformer.

Submodules: data (labels, split, reference data), model (pure forward pass with
hooks), weights (npz I/O, import of original checkpoints), train (AdamW full
batch), bench (JAX vs PyTorch epochs/s), cli (the `tms challenge` command);
diagnostics, plots, reproduce (the analyses).
"""
