"""The SAE sweep kind (``kind = "sae"``): sparse autoencoders × dictionary size × sparsity knob × seed on one
activation source whose true features the lab owns, scored against them.

A sweep file (the shipped ``sae_pentagon.toml`` and ``sae_synthetic.toml``; docs/sae.md)::

    kind = "sae"
    [source]  type = "pentagon" | "synthetic" | "hierarchical", and that source's settings (:mod:`.sae_source`)
    [sae]     archs = ["relu", "topk", ...], ratios = [1.0, 2.0] (dictionary size / true feature count),
              penalties = { log = [1e-3, 0.3], num = 11 }   (α of the penalty architectures)
              ks = [1, 2, 3, 4]                          (k of TopK; of BatchTopK, where it may be fractional)
              or ks = { topk = [1, 2], batchtopk = [0.25, 0.5, 1] }   (one list per k architecture)
              decoder, resample, resample_every, dead_window, bandwidth, ... (any :class:`SaeConfig` field)
              per_arch = { jumprelu = { resample = "advanced", init_threshold = 0.1 } }   (those fields for one
              architecture only; or as a table ``[sae.per_arch.jumprelu]``)
    [train]   steps, batch, lr, seeds (or n_seeds), data_seed

**Chunks.** One compiled call trains every (knob, seed) SAE of one architecture at one dictionary size, so a
chunk is an (architecture, size) pair (chunk ``a · R + r``). A chunk depends only on the spec: the same data
stream (``data_seed``) and initialisations (the seeds) in any process, so a resumed or Ray-trained sweep
equals a local uninterrupted one.

**Arrays** (axes ``(A, R, C)`` = architecture, size, cell; a cell is one (knob, seed) SAE; architectures with
fewer cells than the largest are padded: ``valid`` is False there, knobs and metrics NaN, weights zero;
dictionaries are padded to the largest size with zero latents): ``valid``, ``penalty``, ``k``, ``seed``, the
training metrics at the last step (``final_loss``, ``final_mse``, ``final_l0``, ``final_dead``) and the total
``resampled``, ``W_enc: (A, R, C, d_in, d_max)``, ``b_enc: (A, R, C, d_max)``, ``W_dec: (A, R, C, d_max, d_in)``,
``b_dec: (A, R, C, d_in)``, and each architecture's own parameters (``threshold: (A, R, C)`` of BatchTopK,
``log_threshold``, ``r_mag``, ``b_mag: (A, R, C, d_max)`` of JumpReLU and Gated; zero for the others).

**Scores against the truth** (MMCS, recovered fractions, MCC, FVU on fresh inputs, ...) are analysis, a floor
above this one: :func:`tms.experiments.sae.score_results` computes them from a results object, and ``tms
plot`` writes them (``sae_scores.csv``) beside the figures.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import jax
import numpy as np
import pandas as pd

from ...engine.sae import ARCHITECTURES, SaeConfig, get_arch, sae_hparams, train_sae_sizes
from ...errors import TmsError
from ...io import check_int
from ..results import ArrayFields
from ..sections import SpecError, given, parse_section, seeds, spaced
from .registry import SweepKind, register_sweep_kind
from .sae_sections import CONFIG_FIELDS, SaeSection, SaeTop, SaeTrainSection, parse_ks, parse_per_arch
from .sae_source import SOURCE_KEYS, SOURCE_TYPES, SaeSourceSection, make_source, source_settings  # noqa: F401

AXES = ("arch", "size", "cell")
METRIC_NAMES = ("final_loss", "final_mse", "final_l0", "final_dead", "resampled")  # from the training loop
PARAM_NAMES = ("W_enc", "b_enc", "W_dec", "b_dec")
COORD_NAMES = ("valid", "penalty", "k", "seed")
ARRAY_NAMES = COORD_NAMES + METRIC_NAMES + PARAM_NAMES


ARCH_COST = {"relu": 1.0, "jumprelu": 1.2, "gated": 1.6, "topk": 2.5, "batchtopk": 3.5}
"""Seconds per SAE-step of each architecture relative to ReLU's, from whole runs on one core of the 2-core Intel
machine, 7 December 2026 (docs/sae.md#run-time-estimates): at Sharkey et al.'s size (d_in 256, 20,000 steps of 256) ReLU 178 s
per SAE of 1,024 latents (423 s at 2,048), JumpReLU 188, Gated 300, BatchTopK 537, TopK 1,069 s at 2,048 (their
AuxK loss over dead latents grows as latents die); on the pentagon (d_in 2) per SAE-step ReLU 3.1e-5 s, JumpReLU
and Gated 4.2e-5, TopK 1.1e-4, BatchTopK 1.5e-4. An architecture not listed counts as ReLU."""


def call_seconds(n_sae: int, steps: int, d_in: int, d_sae: int, batch: int, arch: str = "relu",
                 overhead: float = 6e-5, rate: float = 2e10, compile_s: float = 5.0) -> float:
    """Rough wall time of one compiled call training ``n_sae`` SAEs of one size on one core of a 2-core AVX2 CPU
    (the slower machine class of docs/performance.md; an AVX-512 core was about 3× as fast): per SAE and step
    ``overhead`` seconds plus its FLOPs (about 12 per weight per example: encoder and decoder, forward and backward)
    at ``rate`` per second, both times :data:`ARCH_COST` of ``arch``, plus ``compile_s`` of compilation.
    ``rate``: ReLU at 512 and 1,024 latents on that core, 2.7e10 and 2.3e10 FLOP/s (``sae_synthetic_full_relu``'s
    slices, 6 December 2026); ``overhead``: ``sae_pentagon`` there took 181 s for 1.56 million SAE-steps of every
    architecture on both cores, 1.2e-4 s per SAE-step at a mix costing 1.6× ReLU's, so about 7e-5 for ReLU; on a
    core of the Intel machine ReLU needs 3.1e-5."""
    per_step = (overhead + 12 * d_in * d_sae * batch / rate) * ARCH_COST.get(arch, 1.0)
    return n_sae * steps * per_step + compile_s


@dataclass(frozen=True)
class SaeSpec:
    """A parsed SAE sweep: the source settings, the base :class:`SaeConfig` (at the first size), the axes."""

    name: str
    description: str
    source_settings: dict
    base: SaeConfig
    archs: tuple[str, ...]
    sizes: tuple[int, ...]
    ratios: tuple[float, ...]
    penalties: tuple[float, ...]
    ks: tuple[float, ...]
    seeds: tuple[int, ...]
    lr: float = 1e-3
    data_seed: int = 0
    source: str = ""
    arch_ks: tuple[tuple[str, tuple[float, ...]], ...] = ()  # ks given per architecture (``ks`` a table)
    arch_config: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()  # ``sae.per_arch``: fields by architecture
    kind: ClassVar[str] = "sae"

    def config_of(self, arch: str) -> dict:
        """The :class:`SaeConfig` fields ``sae.per_arch`` sets for one architecture (empty if none)."""
        return dict(dict(self.arch_config).get(arch, ()))

    def ks_of(self, arch: str) -> tuple[float, ...]:
        """The k values of one k architecture: its own list where the file gave ``ks`` as a table."""
        return dict(self.arch_ks).get(arch, self.ks)

    def knobs(self, arch: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
        """``(penalties, ks)`` of one architecture: its knob's values, the other one fixed."""
        return ((0.0,), self.ks_of(arch)) if get_arch(arch).knob == "k" else (self.penalties, (1,))

    def coords(self, arch: str) -> np.ndarray:
        """``(cells, 3)``: penalty, k, seed of each SAE of one chunk of ``arch``, in training order."""
        penalties, ks = self.knobs(arch)
        return np.array(list(itertools.product(penalties, ks, self.seeds)), dtype=np.float64)

    def config(self, arch: str, size: int) -> SaeConfig:
        return dataclasses.replace(self.base, arch=arch, d_sae=int(size), **self.config_of(arch))

    @property
    def chunk_list(self) -> list[tuple[int, int]]:
        return [(a, r) for a in range(len(self.archs)) for r in range(len(self.sizes))]

    @property
    def n_chunks(self) -> int:
        return len(self.chunk_list)

    @property
    def max_cells(self) -> int:
        return max(len(self.coords(a)) for a in self.archs)

    def cells(self, chunk) -> int:
        return len(self.coords(self.archs[chunk[0]]))

    @property
    def work_per_cell(self) -> int:
        return self.base.steps * self.base.batch

    @property
    def loop_steps(self) -> int:
        """Training steps of one chunk's compiled call (all its SAEs side by side), for progress ticks."""
        return self.base.steps

    def summary(self) -> str:
        return (f"{len(self.archs)} architecture(s) x {len(self.sizes)} dictionary size(s) {list(self.sizes)} x "
                f"knob x {len(self.seeds)} seed(s), {self.base.steps} steps of {self.base.batch}; "
                f"{self.n_chunks} chunk(s) of up to {self.max_cells} SAEs")

    def resolved(self) -> dict:
        return {"name": self.name, "source": self.source_settings, "config": self.base.to_dict(),
                "archs": list(self.archs), "sizes": list(self.sizes), "ratios": list(self.ratios),
                "penalties": list(self.penalties), "ks": list(self.ks), "seeds": list(self.seeds), "lr": self.lr,
                "data_seed": self.data_seed, **({"ks_by_arch": {a: list(k) for a, k in self.arch_ks}}
                                                if self.arch_ks else {}),
                **({"config_by_arch": {a: dict(c) for a, c in self.arch_config}} if self.arch_config else {})}

    def estimate_seconds(self) -> float:
        """Rough wall time on an idle 2-core AVX2 CPU: each chunk's :func:`call_seconds` (one core), the chunks two
        at a time (side by side, one per device, as ``tms sweep run`` trains them)."""
        d_in, b, steps = self.base.d_in, self.base.batch, self.base.steps
        total = sum(call_seconds(len(self.coords(a)), steps, d_in, d, b, a) for a in self.archs for d in self.sizes)
        return total / min(2, self.n_chunks)

    def quick(self) -> SaeSpec:
        """A reduced-cost version for smoke tests: 100 steps, one seed, at most 3 knob values."""
        base = dataclasses.replace(self.base, steps=100, resample_every=min(self.base.resample_every, 50),
                                   dead_window=min(self.base.dead_window, 25))
        pick = lambda a: tuple(a[j] for j in np.unique(np.round(np.linspace(0, len(a) - 1, 3)).astype(int)))
        short = {"resample_every": 50, "dead_window": 25}
        arch_config = tuple((a, tuple((k, min(v, short[k]) if k in short else v) for k, v in c))
                            for a, c in self.arch_config)
        return dataclasses.replace(self, base=base, seeds=self.seeds[:1], penalties=pick(self.penalties),
                                   ks=pick(self.ks), arch_ks=tuple((a, pick(k)) for a, k in self.arch_ks),
                                   arch_config=arch_config)


def parse_sae_spec(doc: dict, where: str = "<spec>", source: str = "") -> SaeSpec:
    """Validate an SAE sweep file; every error names ``where`` and the key, before anything compiles."""
    top = parse_section(SaeTop, doc, "", where)
    src = parse_section(SaeSourceSection, top.source or {}, "source", where)
    sae = parse_section(SaeSection, top.sae or {}, "sae", where)
    tr = parse_section(SaeTrainSection, top.train or {}, "train", where)
    try:
        settings = source_settings(src, where)
        activations = make_source(settings)
        archs = tuple(sae.archs or ["relu"])
        for a in archs:
            if a not in ARCHITECTURES:
                raise SpecError(f"{where}: sae.archs: unknown architecture {a!r}; known: {', '.join(ARCHITECTURES)}")
        if len(set(archs)) != len(archs):
            raise SpecError(f"{where}: sae.archs lists an architecture twice: {list(archs)}")
        ratios = tuple(float(r) for r in spaced(sae.ratios if sae.ratios is not None else 1.0, f"{where}: sae.ratios"))
        sizes = tuple(round(r * activations.n_true) for r in ratios)
        if min(sizes) < 1 or len(set(sizes)) != len(sizes):
            raise SpecError(f"{where}: sae.ratios × {activations.n_true} true features must give distinct "
                            f"dictionary sizes >= 1; got {list(sizes)}")
        penalties = tuple(float(p) for p in spaced(sae.penalties if sae.penalties is not None else 0.01,
                                                   f"{where}: sae.penalties"))
        if min(penalties) < 0 or not np.all(np.isfinite(penalties)):
            raise SpecError(f"{where}: sae.penalties (α) must be finite and >= 0; got {list(penalties)}")
        ks, arch_ks = parse_ks(sae.ks, archs, sizes, where)
        extras = {k: v for k, v in given(sae).items() if k in CONFIG_FIELDS}
        extras.update({k: v for k, v in given(tr).items() if k in ("steps", "batch")})
        base = SaeConfig(archs[0], activations.d_in, sizes[0], **extras)
        arch_config = parse_per_arch(sae.per_arch, archs, where)
        for a, fields in arch_config:
            try:
                dataclasses.replace(base, arch=a, **dict(fields))
            except TmsError as e:
                raise SpecError(f"{where}: sae.per_arch.{a}: {e}") from None
        lr = float(tr.lr if tr.lr is not None else 1e-3)
        if not (np.isfinite(lr) and lr > 0):
            raise SpecError(f"{where}: train.lr must be a number > 0; got {tr.lr!r}")
        data_seed = 0 if tr.data_seed is None else check_int(f"{where}: train.data_seed", tr.data_seed, 0,
                                                              error=SpecError)
        spec = SaeSpec(top.name or Path(where).stem, top.description, settings, base, archs, sizes, ratios,
                       penalties, ks, seeds(tr, where), lr, int(data_seed), source, arch_ks, arch_config)
        for a in archs:  # every (size, knob) the training call will see, checked now
            for d in sizes:
                sae_hparams(spec.config(a, d), *spec.knobs(a), [lr])
    except SpecError:
        raise
    except TmsError as e:  # the engine's checks (SaeError, a sparsity out of range): named, with the file
        raise SpecError(f"{where}: {e}") from None
    return spec


def sae_chunks(spec: SaeSpec, devices: int = 1) -> list[tuple[int, int]]:
    if devices != 1:
        raise SpecError(f"{spec.name}: an SAE sweep trains each chunk on one device; got devices={devices}")
    return spec.chunk_list


def train_sae_chunk(spec: SaeSpec, chunk: tuple[int, int], devices: int = 1) -> dict:
    """Train every (knob, seed) SAE of architecture ``archs[a]`` at size ``sizes[r]``; numpy arrays."""
    a, r = chunk
    arch, size = spec.archs[a], spec.sizes[r]
    source = make_source(spec.source_settings)
    config = spec.config(arch, size)
    penalties, ks = spec.knobs(arch)
    (grid,) = train_sae_sizes(config, source, [size], penalties=penalties, ks=ks, seeds=spec.seeds, lr=spec.lr,
                              data_seed=spec.data_seed)
    coords, metrics = grid.coords, jax.device_get(grid.output.metrics)
    params = jax.device_get(grid.output.params)
    out = {"valid": np.ones(len(coords), bool), "penalty": coords[:, 0], "k": coords[:, 1], "seed": coords[:, 2],
           "resampled": np.asarray(metrics["resampled"], np.float64).sum(axis=1)}
    out.update({f"final_{name}": np.asarray(metrics[name], np.float64)[:, -1] for name in ("loss", "mse", "l0", "dead")})
    out.update({name: np.asarray(v, np.float32) for name, v in params.items()})  # the architecture's extras too
    return out


def merge_sae_chunks(spec: SaeSpec, parts: list[dict]) -> dict:
    """Chunk arrays -> ``(A, R, C, ...)``: cells padded to the largest chunk (``valid`` False, NaN scores, zero
    weights) and dictionaries to the largest size (zero latents)."""
    A, R, C, d = len(spec.archs), len(spec.sizes), spec.max_cells, max(spec.sizes)
    latent_axis = {"W_enc": 2, "b_enc": 1, "W_dec": 1}  # the d_sae axis of each chunk array (cells first)
    extras = sorted({name for part in parts for name in part} - set(ARRAY_NAMES))  # e.g. log_threshold, r_mag
    for name in extras:  # an architecture's own parameters: (cells,) or (cells, d_sae), zero where it has none
        latent_axis.update({name: 1} if any(np.ndim(p[name]) == 2 for p in parts if name in p) else {})
    merged = {}
    for name in ARRAY_NAMES + tuple(extras):
        rows = []
        for part in parts:
            x = np.asarray(part[name]) if name in part else np.zeros((len(part["valid"]),) + (
                (part["b_enc"].shape[1],) if name in latent_axis else ()), np.float32)
            width = [(0, C - x.shape[0])] + [(0, 0)] * (x.ndim - 1)
            if name in latent_axis:
                width[latent_axis[name]] = (0, d - x.shape[latent_axis[name]])
            fill = False if name == "valid" else (np.nan if name in COORD_NAMES + METRIC_NAMES else 0.0)
            rows.append(np.pad(x, width, constant_values=fill))
        merged[name] = np.stack(rows).reshape((A, R) + rows[0].shape)
    return merged


@dataclass(frozen=True)
class SaeResults(ArrayFields):
    """Merged arrays of an SAE sweep (leading axes ``(A, R, C)``) and the settings that made them."""

    settings: dict
    arrays: dict
    kind: ClassVar[str] = "sae"

    @property
    def archs(self) -> list[str]:
        return list(self.settings["archs"])

    @property
    def sizes(self) -> list[int]:
        return list(self.settings["sizes"])

    def directions(self) -> np.ndarray:
        """The true feature directions ``(n_true, d_in)`` of the sweep's source (rebuilt from its settings)."""
        return make_source(self.settings["source"]).directions

    def to_frame(self) -> pd.DataFrame:
        """One row per trained SAE: architecture, size, knob, seed and its training metrics at the end."""
        rows = []
        for a, arch in enumerate(self.archs):
            for r, size in enumerate(self.sizes):
                for c in np.flatnonzero(self.arrays["valid"][a, r]):
                    row = {"arch": arch, "d_sae": size, "ratio": self.settings["ratios"][r],
                           "penalty": float(self.arrays["penalty"][a, r, c]), "k": float(self.arrays["k"][a, r, c]),
                           "seed": int(self.arrays["seed"][a, r, c])}
                    row.update({name: float(self.arrays[name][a, r, c]) for name in METRIC_NAMES})
                    rows.append(row)
        return pd.DataFrame(rows)

    def summary_lines(self) -> list[str]:
        """One line per (architecture, size): the SAEs trained, the range of their final MSE and L0 and dead
        latents (scores against the truth: :func:`tms.experiments.sae.score_results`, or ``tms plot``)."""
        df = self.to_frame()
        return [f"{arch}, d_sae={d}: {len(rows)} SAEs; final MSE {rows.final_mse.min():.4g} .. {rows.final_mse.max():.4g}, "
                f"L0 {rows.final_l0.min():.3g} .. {rows.final_l0.max():.3g}, dead latents "
                f"{int(rows.final_dead.min())} .. {int(rows.final_dead.max())}"
                for (arch, d), rows in df.groupby(["arch", "d_sae"], sort=False)]

    def table_text(self) -> str:
        return "\n".join(self.summary_lines())

    def describe(self) -> str:
        s = self.settings
        return (f"SAE sweep on {s['source']['type']} activations, {len(s['archs'])} architecture(s), sizes "
                f"{s['sizes']}, {s['config']['steps']} steps of {s['config']['batch']}")

    def config(self) -> dict:
        return {"kind": self.kind, "sae": self.settings}

    @staticmethod
    def load(folder) -> SaeResults:
        """Read an SAE sweep's folder, checked as :meth:`ArrayFields.read_folder` does, shapes included."""
        cfg, arrays = ArrayFields.read_folder(folder, ARRAY_NAMES)
        res = ArrayFields.from_config(folder, lambda: SaeResults(dict(cfg["sae"]), arrays))
        s = res.settings
        d_in, d = int(s["config"]["d_in"]), max(s["sizes"])
        lead = (len(s["archs"]), len(s["sizes"]), arrays["valid"].shape[-1] if "valid" in arrays else 0)
        res.check_shapes(folder, {name: lead for name in COORD_NAMES + METRIC_NAMES}
                         | {"W_enc": (*lead, d_in, d), "b_enc": (*lead, d), "W_dec": (*lead, d, d_in),
                            "b_dec": (*lead, d_in)})
        return res


SAE = register_sweep_kind(SweepKind(
    name="sae", axes=AXES, parse=parse_sae_spec, chunks=sae_chunks, train_chunk=train_sae_chunk,
    merge=merge_sae_chunks, results=lambda spec, arrays: SaeResults(spec.resolved(), arrays),
    load=SaeResults.load))
