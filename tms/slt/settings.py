"""Settings of the SLT testbed (``tms llc ...``, ``tms reproduce slt``) as small frozen records, each passed
whole to the code that uses it: the SGLD chains (:class:`SamplerSettings`), the k-gon table, the calibration
sweep, the posterior sampling and the SGD dynamics (one record each), gathered in :class:`SLTSettings`; and
:class:`ChallengeLLCSettings` for λ̂ of the challenge transformer.

Every field's default, bound and help text are written once, here (field metadata ``min`` / ``help``); the
command line builds its options from them (:func:`record_fields`) and holds no default or rule of its own.
The field defaults are the reduced size that ``tms reproduce all`` runs; shipped presets (TOML, package data
in ``tms/slt/presets/``) hold the full sizes. A preset is ``seed = ...`` plus one table per record
(``[sampler]``, ``[kgon]``, ``[calibration]``, ``[posterior]``, ``[dynamics]``); a key it leaves out keeps
its default; an unknown table or key, or a wrong type, is an error naming the file and the key.
"""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from ..errors import MAX_SEED
from ..io import SettingsFileError, check_float, check_int, parse_toml
from .sampler import SGLDConfig


def _f(default, help: str, lo=None, strict: bool = False):
    """A record field with its help text and lower bound (``strict``: > lo, else >= lo)."""
    return field(default=default, metadata={"help": help, "min": lo, "strict": strict})


SettingsError = SettingsFileError  # a preset or command line with a bad key or type (bounds: tms.io.BoundsError)


def _field_types(cls) -> dict:
    return typing.get_type_hints(cls)


def check_record(record) -> None:
    """Tuples for lists, then every field's type and bound (from its metadata); a named error otherwise."""
    hints = _field_types(type(record))
    for f in dataclasses.fields(record):
        v = getattr(record, f.name)
        if isinstance(v, list):
            v = tuple(v)
            object.__setattr__(record, f.name, v)
        want, lo, strict = hints[f.name], f.metadata.get("min"), f.metadata.get("strict", False)
        if typing.get_origin(want) is tuple:
            if not v:
                raise SettingsError(f"{f.name} needs at least one value; got {v!r}")
            want, vals = typing.get_args(want)[0], v
        else:
            vals = (v,)
        for x in vals:
            if want is int:
                check_int(f.name, x, lo)
            elif want is float:
                check_float(f.name, x, lo, lo_open=strict)


@dataclass(frozen=True)
class SamplerSettings:
    """SGLD chains around a critical point (the k-gon table, the trace figure, the SGD snapshots' ε)."""

    chains: int = _f(8, "SGLD chains per point", 2)
    draws: int = _f(2000, "draws kept per chain", 1)
    burn_in: int = _f(1000, "burn-in steps before the first draw", 0)
    step_scale: float = _f(0.1, "step size as ε·nβ (ε = step_scale / nβ at each n)", 0.0, True)
    localization: float = _f(1.0, "localization γ", 0.0)

    def __post_init__(self):
        check_record(self)

    @property
    def config(self) -> SGLDConfig:
        return SGLDConfig(chains=self.chains, draws=self.draws, burn_in=self.burn_in)


@dataclass(frozen=True)
class KgonSettings:
    """The k-gon λ̂ table: a fresh high-sparsity set of n examples per size, the points of n = 6, m = 2."""

    sizes: tuple[int, ...] = _f((1_000, 10_000, 100_000), "sample sizes n", 2)
    labels: tuple[str, ...] = _f(("4++", "5", "5+", "6"), "critical points (k-gon labels)")

    def __post_init__(self):
        check_record(self)


@dataclass(frozen=True)
class CalibrationSettings:
    """The ε × γ calibration sweep at one point and sample size."""

    n: int = _f(10_000, "sample size", 2)
    label: str = _f("6", "critical point")
    step_scales: tuple[float, ...] = _f((0.01, 0.03, 0.1, 0.3, 1.0, 3.0), "ε·nβ values", 0.0, True)
    localizations: tuple[float, ...] = _f((0.0, 1.0, 10.0, 100.0, 1000.0), "γ values", 0.0)
    chains: int = _f(4, "chains per cell", 2)
    draws: int = _f(1000, "draws per chain (burn-in: half as many)", 2)

    def __post_init__(self):
        check_record(self)

    @property
    def config(self) -> SGLDConfig:
        return SGLDConfig(chains=self.chains, draws=self.draws, burn_in=self.draws // 2)


@dataclass(frozen=True)
class PosteriorSettings:
    """Posterior sampling at β = 1 across n (prior N(0, 1/prior_precision) on every parameter)."""

    sizes: tuple[int, ...] = _f((100, 300, 500, 700, 1000), "sample sizes n", 2)
    chains: int = _f(32, "chains per n", 2)
    steps: int = _f(5000, "SGLD steps per chain", 1)
    step_scale: float = _f(0.1, "step size as ε·n", 0.0, True)
    prior_precision: float = _f(1.0, "precision of the Gaussian prior", 0.0, True)

    def __post_init__(self):
        check_record(self)


@dataclass(frozen=True)
class DynamicsSettings:
    """The SGD run of the dynamical side (the paper: n 1000, batch 20, lr 0.005, 4500 epochs) and the λ̂
    snapshots along it."""

    n: int = _f(1000, "examples of the fixed training set", 2)
    batch: int = _f(20, "SGD batch size", 1)
    lr: float = _f(0.005, "SGD learning rate", 0.0, True)
    epochs: int = _f(4500, "SGD epochs", 1)
    snapshots: int = _f(24, "log-spaced epochs where λ̂ is estimated", 1)
    draws: int = _f(500, "draws per chain at a snapshot (4 chains, burn-in half the draws)", 2)
    localization: float = _f(1.0, "γ at the snapshots", 0.0)

    def __post_init__(self):
        check_record(self)

    def sampler(self, step_scale: float) -> SamplerSettings:
        """The snapshots' chains: 4, ``draws`` each after half as many burn-in steps, γ = ``localization``."""
        return SamplerSettings(chains=4, draws=self.draws, burn_in=self.draws // 2, step_scale=step_scale,
                               localization=self.localization)


@dataclass(frozen=True)
class ChallengeLLCSettings:
    """λ̂ of the challenge #2 transformer at its shipped weights (``tms llc challenge``)."""

    chains: int = _f(4, "SGLD chains", 2)
    draws: int = _f(500, "draws kept per chain", 1)
    burn_in: int = _f(250, "burn-in steps", 0)
    # 1e-6: MALA acceptance 0.97 at the shipped weights (docs/slt.md); 1e-5 gave 0.43 with minibatches of 512
    step_size: float = _f(1e-6, "ε", 0.0, True)
    localization: float = _f(100.0, "γ", 0.0)
    batch_size: int = _f(0, "minibatch size (0: full batch, exact MALA)", 0)
    seed: int = _f(0, "root seed", 0)

    def __post_init__(self):
        check_record(self)

    @property
    def config(self) -> SGLDConfig:
        return SGLDConfig(chains=self.chains, draws=self.draws, burn_in=self.burn_in,
                          batch_size=self.batch_size or None)


SECTIONS = {"sampler": SamplerSettings, "kgon": KgonSettings, "calibration": CalibrationSettings,
            "posterior": PosteriorSettings, "dynamics": DynamicsSettings}


@dataclass(frozen=True)
class SLTSettings:
    """Everything one SLT testbed run uses: the root seed (every data set and chain key folds in from it)
    and one record per stage."""

    seed: int = _f(0, "root seed", 0)
    sampler: SamplerSettings = field(default_factory=SamplerSettings)
    kgon: KgonSettings = field(default_factory=KgonSettings)
    calibration: CalibrationSettings = field(default_factory=CalibrationSettings)
    posterior: PosteriorSettings = field(default_factory=PosteriorSettings)
    dynamics: DynamicsSettings = field(default_factory=DynamicsSettings)

    def __post_init__(self):
        check_int("seed", self.seed, 0, MAX_SEED)
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise SettingsError(f"{name} must be a {cls.__name__}; got {getattr(self, name)!r}")

    def to_dict(self) -> dict:
        def plain(d):
            return {k: plain(v) if isinstance(v, dict) else list(v) if isinstance(v, tuple) else v
                    for k, v in d.items()}

        return plain(dataclasses.asdict(self))

    @staticmethod
    def from_dict(doc: dict, where: str = "settings") -> SLTSettings:
        """From ``{"seed": ..., "sampler": {...}, ...}``; unknown keys and wrong types are named errors."""
        out = {}
        for key, value in doc.items():
            if key == "seed":
                out[key] = value
            elif key in SECTIONS:
                if not isinstance(value, dict):
                    raise SettingsError(f"{where}: [{key}] must be a table of keys; got {value!r}")
                out[key] = record_from_dict(SECTIONS[key], value, f"{where} [{key}]")
            else:
                raise SettingsError(f"{where}: unknown key {key!r}; allowed: seed, {', '.join(SECTIONS)}")
        try:
            return SLTSettings(**out)
        except ValueError as e:
            raise SettingsError(f"{where}: {e}") from None


def record_fields(cls) -> list[tuple[str, type, object, str]]:
    """``(name, type, default, help)`` of each field of a record (the CLI builds its options from these)."""
    hints = _field_types(cls)
    return [(f.name, hints[f.name], f.default, f.metadata.get("help", "")) for f in dataclasses.fields(cls)]


def record_from_dict(cls, values: dict, where: str):
    """``cls(**values)`` with ints accepted for floats; unknown keys and wrong types named with ``where``."""
    hints = _field_types(cls)
    kw = {}
    for key, value in values.items():
        if key not in hints:
            raise SettingsError(f"{where}: unknown key {key!r}; allowed: {', '.join(hints)}")
        want = hints[key]
        if want is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if typing.get_origin(want) is tuple:
            if not isinstance(value, list | tuple):
                raise SettingsError(f"{where}: {key} must be a list; got {value!r}")
            inner = typing.get_args(want)[0]
            value = tuple(float(v) if inner is float and isinstance(v, int) and not isinstance(v, bool) else v
                          for v in value)
            if not all(isinstance(v, inner) and not isinstance(v, bool) for v in value):
                raise SettingsError(f"{where}: {key} must be a list of {inner.__name__}; got {values[key]!r}")
        elif not isinstance(value, want) or (want is int and isinstance(value, bool)):
            raise SettingsError(f"{where}: {key} must be {want.__name__}; got {value!r}")
        kw[key] = value
    try:
        return cls(**kw)
    except ValueError as e:
        raise SettingsError(f"{where}: {e}") from None


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
            raise SettingsError(f"no SLT preset {name_or_path!r} and no such .toml file; presets: "
                                f"{', '.join(presets())}")
        text, where = res.read_text(), f"{name_or_path}.toml"
    return SLTSettings.from_dict(parse_toml(text, where), where)
