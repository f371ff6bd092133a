"""tms: a lab for toy models of superposition (Elhage et al., 2022)."""
