"""What every benchmark here shares: interleaved timing, medians, the machine line and the CPU's peak.

Timing rules (why they are these):

- trainers are **interleaved** (A, B, A, B, ...), so a change in the machine's load (other processes on a
  shared CPU) falls on both; each trainer is warmed up (and compiled) before the first timed trial;
- each figure is the **median** of the trials, and a ratio is given two ways: the ratio of the medians and
  the median of the per-trial ratios (trial ``i`` of A against trial ``i`` of B, timed back to back), which
  is the headline because each pair saw the same load;
- wall-clock seconds are the measure; the process's CPU seconds are printed beside them (a figure that
  contention inflates less, but that also counts threads spinning while they wait);
- the load average is printed before and after, so a reader can tell a busy machine from a quiet one.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Trial:
    """One timed trial: ``wall`` and ``cpu`` seconds (process CPU time, all threads)."""

    wall: float
    cpu: float


@dataclass(frozen=True)
class OtherCpu:
    """What a timed function returns when other processes did part of its work: their CPU seconds."""

    seconds: float


def timed(fn: Callable[[], object]) -> Trial:
    """Run ``fn()`` once; its wall-clock and CPU seconds (this process's, plus other processes' when ``fn`` returns
    :class:`OtherCpu`)."""
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    other = out.seconds if isinstance(out, OtherCpu) else 0.0
    return Trial(time.perf_counter() - w, time.process_time() - c + other)


def interleave(trials: dict[str, Callable[[], object]], repeats: int,
               on_round: Callable[[int, dict[str, Trial]], None] | None = None) -> dict[str, list[Trial]]:
    """Time every entry of ``trials`` once per round, in order, for ``repeats`` rounds."""
    out: dict[str, list[Trial]] = {k: [] for k in trials}
    for r in range(repeats):
        row = {}
        for name, fn in trials.items():
            row[name] = timed(fn)
            out[name].append(row[name])
        if on_round is not None:
            on_round(r, row)
    return out


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def ratios(fast: Sequence[float], slow: Sequence[float]) -> tuple[float, float]:
    """``(median of paired ratios, ratio of medians)`` of two rate lists (higher is faster)."""
    paired = median([f / s for f, s in zip(fast, slow)])
    return paired, median(fast) / median(slow)


def load_average() -> str:
    try:
        return "/".join(f"{x:.1f}" for x in os.getloadavg()) + " (1/5/15 min)"
    except OSError:  # not available on this platform
        return "n/a"


# ------------------------------------------------------------------------------------------ the CPU


@dataclass(frozen=True)
class CpuPeak:
    """An **estimate** of the CPU's peak float32 arithmetic: cores × clock × lanes × FMA pipes × 2.

    ``lanes``: float32 lanes of the widest vector unit the flags show (avx512f: 16, avx2: 8, else 4);
    ``fma_pipes``: FMA units per core, assumed 2 (true of recent server x86 cores; not readable from
    /proc/cpuinfo); ``ghz``: the highest clock the system reports (a VM usually shows the nominal clock;
    turbo and AVX-512 frequency offsets are ignored). The factor 2 counts an FMA as two FLOPs.
    """

    model: str
    cores: int
    ghz: float
    isa: str
    lanes: int
    fma_pipes: int = 2

    @property
    def gflops(self) -> float:
        return self.cores * self.ghz * self.lanes * self.fma_pipes * 2

    def describe(self) -> str:
        return (f"{self.cores} cores x {self.ghz:.2f} GHz x {self.lanes} fp32 lanes ({self.isa}) x "
                f"{self.fma_pipes} FMA pipes x 2 = {self.gflops:.0f} GFLOP/s")


def cpu_peak(cpuinfo: str | None = None, cores: int | None = None) -> CpuPeak:
    """Read /proc/cpuinfo (model, flags, clock) and /sys cpufreq (max clock) into a :class:`CpuPeak`."""
    if cpuinfo is None:
        try:
            with open("/proc/cpuinfo") as f:
                cpuinfo = f.read()
        except OSError:
            cpuinfo = ""
    if cores is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    model = re.search(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    flags = re.search(r"^flags\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    flags = set(flags.group(1).split()) if flags else set()
    mhz = [float(x) for x in re.findall(r"^cpu MHz\s*:\s*([\d.]+)", cpuinfo, re.MULTILINE)]
    try:
        with open("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq") as f:
            mhz.append(int(f.read()) / 1000)
    except (OSError, ValueError):
        pass
    if "avx512f" in flags:
        isa, lanes = "avx512f", 16
    elif "avx2" in flags and "fma" in flags:
        isa, lanes = "avx2+fma", 8
    else:
        isa, lanes = "sse/other", 4
    return CpuPeak(model.group(1).strip() if model else platform.processor() or "unknown",
                   cores, max(mhz) / 1000 if mhz else float("nan"), isa, lanes)


ADAM_FLOPS_PER_PARAM = 14


def flops_per_instance_sample(n: int, m: int, batch: int) -> float:
    """FLOPs of one training step per instance per example: ``10·n·m + 9·n + 14·(n·m + n) / batch``.

    Counted for ``x' = ReLU(WᵀW x + b)``, ``W: (m, n)``, loss Σ_i I_i (x_i − x'_i)² averaged over the batch;
    an FMA is 2 FLOPs, any other elementwise op (add, multiply, max, select) is 1:

    forward, ``4mn + 6n``:
      ``h = W x`` (m·n FMAs: 2mn); ``y = Wᵀh + b`` (2mn + n); ``ReLU`` (n); ``e = x' − x`` (n);
      ``Σ I e²`` (square, weight, sum: 3n);
    backward, ``6mn + 3n``:
      ``dy = (2 I / batch) e`` masked where ``y <= 0`` (multiply, select: 2n); ``∂b += dy`` (n);
      ``∂W += h ⊗ dy`` (2mn); ``dh = W dy`` (2mn); ``∂W += dh ⊗ x`` (2mn);
    Adam, per parameter per step, shared by the batch: ``14 (mn + n) / batch``
      (g², two moment updates of 3 each, two bias corrections, sqrt, + eps, divide, lr, update).

    Not counted: drawing the data (uniforms, thresholding at the density), the loss's batch mean and the
    loss curve. At n=5, m=2, batch 1024: 100 + 45 + 0.2 = 145.2 FLOPs.
    """
    return 10 * n * m + 9 * n + ADAM_FLOPS_PER_PARAM * (n * m + n) / batch
