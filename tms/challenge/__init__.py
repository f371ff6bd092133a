"""JAX port of Casper's mechanistic interpretability challenge #2 transformer, and its diagnostics.

Submodules: data (labels, split, the shipped reference labels), model (pure forward pass with
TransformerLens hook names), weights (npz I/O, torch-free import of original checkpoints), interop
(TransformerLens HookedTransformer export and import), train (full-batch AdamW), diagnostics (one module
per diagnostic, a registry, the report), plots (figures), reproduce (every diagnostic, files written).
The command line is ``tms challenge``; the benchmark is ``tms.bench.challenge``. Reference: docs/challenge.md.

Importing this package (or data, model, weights, interop) needs neither torch nor transformer_lens.
"""
