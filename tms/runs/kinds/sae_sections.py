"""The tables of an SAE sweep file (``[sae]``, ``[train]``, the top level) and the parsing of its per-architecture
parts (``sae.ks`` as a table, ``sae.per_arch``); :mod:`.sae` builds the spec from them."""

from __future__ import annotations

from dataclasses import dataclass

from ...engine.sae import get_arch
from ...io import check_float
from ..sections import SpecError, Values


@dataclass(frozen=True)
class SaeTop:
    name: str | None = None
    description: str = ""
    kind: str | None = None
    source: dict | None = None
    sae: dict | None = None
    train: dict | None = None


@dataclass(frozen=True)
class SaeSection:
    archs: list | None = None
    ratios: Values | None = None
    penalties: Values | None = None
    ks: list | dict | None = None
    decoder: str | None = None
    resample: str | None = None
    resample_every: int | None = None
    dead_window: int | None = None
    resample_batch: int | None = None
    aux_k: int | None = None
    aux_coef: float | None = None
    bandwidth: float | None = None
    init_threshold: float | None = None
    threshold_lr: float | None = None
    per_arch: dict | None = None


@dataclass(frozen=True)
class SaeTrainSection:
    steps: int | None = None
    batch: int | None = None
    lr: float | None = None
    seeds: list | None = None
    n_seeds: int | None = None
    data_seed: int | None = None


CONFIG_FIELDS = ("decoder", "resample", "resample_every", "dead_window", "resample_batch", "aux_k", "aux_coef",
                 "bandwidth", "init_threshold", "threshold_lr")


def parse_per_arch(value, archs, where):
    """``sae.per_arch``: a table of tables, ``{architecture: {SaeConfig field: value}}``, for settings that suit one
    architecture (JumpReLU's threshold, resampling for one of them). Returns the sorted, hashable pairs."""
    if value is None:
        return ()
    out = []
    for a, fields in value.items():
        if a not in archs:
            raise SpecError(f"{where}: sae.per_arch.{a}: not an architecture of this sweep; sae.archs = {list(archs)}")
        if not isinstance(fields, dict) or not fields:
            raise SpecError(f"{where}: sae.per_arch.{a} must be a non-empty table of settings; got {fields!r}")
        for k in fields:
            if k not in CONFIG_FIELDS:
                raise SpecError(f"{where}: sae.per_arch.{a}.{k}: not a setting that may differ by architecture; "
                                f"allowed: {', '.join(CONFIG_FIELDS)}")
        out.append((a, tuple(sorted(fields.items()))))
    return tuple(out)


def parse_ks(value, archs, sizes, where):
    """``sae.ks``: one list for every k architecture, or a table of lists by architecture (TopK's k is a count,
    BatchTopK's an average that may be fractional, so one list rarely suits both). Returns ``(ks, arch_ks)``:
    the shared list (the default ``[1]`` where a table is given) and the per-architecture pairs."""
    table = value if isinstance(value, dict) else {}
    if table:
        for a, v in table.items():
            if a not in archs or get_arch(a).knob != "k":
                k_archs = [x for x in archs if get_arch(x).knob == "k"]
                raise SpecError(f"{where}: sae.ks.{a}: not a k architecture of this sweep; ks tables take "
                                f"{k_archs or 'none (no k architecture in sae.archs)'}")
            if not isinstance(v, list) or not v:
                raise SpecError(f"{where}: sae.ks.{a} must be a non-empty list of k values; got {v!r}")
    lists = {a: tuple(v) for a, v in table.items()} if table else {"": tuple(value or [1])}
    for a, kk in lists.items():
        name = f"sae.ks.{a}" if a else "sae.ks"
        for k in kk:
            check_float(f"{where}: {name} (each; integers for topk, fractions allowed for batchtopk)", k, 0,
                        lo_open=True, error=SpecError)
        if (a or any(get_arch(x).knob == "k" for x in archs)) and max(kk) > min(sizes):
            raise SpecError(f"{where}: {name}: k = {max(kk)} exceeds the smallest dictionary size {min(sizes)}")
    if table:
        return (1,), tuple((a, tuple(table[a])) for a in archs if a in table)
    return lists[""], ()
