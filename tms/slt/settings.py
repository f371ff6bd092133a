"""Settings of the SLT testbed run (``tms llc run``, ``tms reproduce slt``): one frozen dataclass whose field
defaults are the reduced size that ``tms reproduce all`` runs, and shipped presets (TOML, package data in
``tms/slt/presets/``) for the full sizes.

A preset file is flat ``key = value`` lines naming :class:`SLTSettings` fields; a key it leaves out keeps the
field's default; an unknown key or a wrong type is an error that names the file and the key.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from ..errors import TmsError
from ..io import check_int, parse_toml
from .sampler import SGLDConfig


@dataclass(frozen=True)
class SLTSettings:
    """Everything one SLT testbed run uses.

    Args:
        seed: the root seed (every data set and chain key folds in from it).
        kgon_sizes: sample sizes n of the k-gon λ̂ table (a fresh high-sparsity set of n examples each).
        kgon_labels: the critical points of the table (n = 6, m = 2).
        chains, draws, burn_in: SGLD chains per point, draws kept per chain, burn-in steps (k-gon table).
        step_scale: ε · nβ for the k-gon table and calibration (ε = step_scale / nβ at each n).
        localization: γ for the k-gon table.
        calib_n, calib_label: sample size and point of the ε × γ calibration sweep.
        calib_step_scales, calib_localizations: its grid axes; calib_draws: draws per chain there.
        posterior_sizes: sample sizes of the posterior sampling at β = 1.
        posterior_chains, posterior_steps, posterior_step_scale, prior_precision: its chains, SGLD steps,
            ε · n, and the precision of the Gaussian prior N(0, 1/prior_precision).
        sgd_n, sgd_batch, sgd_lr, sgd_epochs: the SGD run of the dynamical side (the paper: 1000, 20, 0.005,
            4500).
        sgd_snapshots: log-spaced epochs at which λ̂ is estimated; sgd_draws: draws per chain there;
        sgd_localization: γ at the snapshots.
    """

    seed: int = 0
    kgon_sizes: tuple[int, ...] = (1_000, 10_000, 100_000)
    kgon_labels: tuple[str, ...] = ("4++", "5", "5+", "6")
    chains: int = 8
    draws: int = 2000
    burn_in: int = 1000
    step_scale: float = 0.1
    localization: float = 1.0
    calib_n: int = 10_000
    calib_label: str = "6"
    calib_step_scales: tuple[float, ...] = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0)
    calib_localizations: tuple[float, ...] = (0.0, 1.0, 10.0, 100.0, 1000.0)
    calib_draws: int = 1000
    posterior_sizes: tuple[int, ...] = (100, 300, 500, 700, 1000)
    posterior_chains: int = 32
    posterior_steps: int = 5000
    posterior_step_scale: float = 0.1
    prior_precision: float = 1.0
    sgd_n: int = 1000
    sgd_batch: int = 20
    sgd_lr: float = 0.005
    sgd_epochs: int = 4500
    sgd_snapshots: int = 24
    sgd_draws: int = 500
    sgd_localization: float = 1.0

    def __post_init__(self):
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if isinstance(v, list):
                object.__setattr__(self, f.name, tuple(v))
        for name in ("chains", "draws", "calib_draws", "posterior_chains", "posterior_steps", "sgd_snapshots",
                     "sgd_draws"):
            check_int(name, getattr(self, name), 1)
        for name in ("step_scale", "posterior_step_scale", "sgd_lr"):
            if not getattr(self, name) > 0:
                raise TmsError(f"{name} must be > 0; got {getattr(self, name)!r}")
        for name in ("localization", "prior_precision", "sgd_localization"):
            if not getattr(self, name) >= 0:
                raise TmsError(f"{name} must be >= 0; got {getattr(self, name)!r}")
        SGLDConfig(chains=self.chains, draws=self.draws, burn_in=self.burn_in)  # validates them

    @property
    def kgon_config(self) -> SGLDConfig:
        return SGLDConfig(chains=self.chains, draws=self.draws, burn_in=self.burn_in)

    @property
    def calib_config(self) -> SGLDConfig:
        return SGLDConfig(chains=max(2, self.chains // 2), draws=self.calib_draws, burn_in=self.calib_draws // 2)

    @property
    def sgd_config(self) -> SGLDConfig:
        return SGLDConfig(chains=4, draws=self.sgd_draws, burn_in=self.sgd_draws // 2)

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}


def _presets_dir():
    return resources.files(__package__) / "presets"


def presets() -> list[str]:
    """Names of the shipped presets (without ``.toml``)."""
    return sorted(p.name[:-5] for p in _presets_dir().iterdir() if p.name.endswith(".toml"))


def load_settings(name_or_path: str | None = None) -> SLTSettings:
    """The defaults (``None``), a shipped preset by name, or a TOML file by path."""
    if name_or_path is None:
        return SLTSettings()
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        text, where = path.read_text(), str(path)
    else:
        res = _presets_dir() / f"{name_or_path}.toml"
        if not res.is_file():
            raise TmsError(f"no SLT preset {name_or_path!r} and no such .toml file; presets: {', '.join(presets())}")
        text, where = res.read_text(), f"{name_or_path}.toml"
    doc = parse_toml(text, where)
    fields = {f.name: f for f in dataclasses.fields(SLTSettings)}
    default = SLTSettings()
    for key, value in doc.items():
        if key not in fields:
            raise TmsError(f"{where}: unknown key {key!r}; allowed: {', '.join(fields)}")
        want = type(getattr(default, key))
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        ok = isinstance(value, list) if want is tuple else isinstance(value, want) and not (
            want is int and isinstance(value, bool))
        if not ok:
            raise TmsError(f"{where}: {key} must be {'a list' if want is tuple else want.__name__}; got {value!r}")
        doc[key] = value
    return SLTSettings(**doc)
