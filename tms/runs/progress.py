"""Progress of long work between compiled chunks: cells done, throughput and ETA.
"""

from __future__ import annotations

import time


class Progress:
    """A tqdm bar over cells (a line per chunk without tqdm): cells done, model-samples/s and ETA."""

    def __init__(self, total_cells: int, samples_per_cell: int, enabled: bool = True, desc="train"):
        self.total, self.done, self.trained, self.enabled = total_cells, 0, 0, enabled
        self.partials: dict = {}  # cells' worth of each chunk in training, from the engine's ticks (tms.engine.ticks)
        self.work_per_cell = samples_per_cell
        self.t0 = time.perf_counter()
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm

                # whole cells in the count ({n:.0f}): ticks move the bar by fractions of a chunk
                self.bar = tqdm(total=total_cells, desc=desc, unit="cell", dynamic_ncols=True,
                                bar_format="{l_bar}{bar}| {n:.0f}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}{postfix}]")
            except ImportError:  # pragma: no cover
                self.bar = None

    @property
    def partial(self) -> float:
        """Cells' worth the ticks have moved the bar for the chunks still in training."""
        return sum(self.partials.values())

    def update(self, cells: int, skipped: bool = False, chunk=None):
        """Count ``cells`` (of ``chunk``, a key as given to :meth:`advance`) as done; ``skipped`` (resumed from
        the store) cells count toward the total but not toward the throughput or the ETA."""
        self.done += cells
        self.trained += 0 if skipped else cells
        partial = self.partials.pop(chunk, 0.0)
        if not self.enabled:
            return
        dt = time.perf_counter() - self.t0
        rate = self.trained * self.work_per_cell / max(dt, 1e-9)
        if self.bar is not None:
            if skipped:  # advance the bar without feeding its rate estimate
                self.bar.n += cells
                self.bar.initial += cells
                self.bar.set_postfix_str("resumed", refresh=True)
            else:
                self.bar.update(cells - partial)
                self.bar.n = self.done + self.partial  # exact (float sums of ticks drift), never past the total
                self.bar.set_postfix_str(f"{rate:.3g} model-samples/s")
        else:  # pragma: no cover
            eta = dt / max(self.trained, 1) * (self.total - self.done)
            print(f"{self.done}/{self.total} cells, {rate:.3g} model-samples/s, ETA {eta:.0f}s", flush=True)

    def advance(self, cells: float, limit: float, chunk=None):
        """Move the bar by ``cells`` (a fraction of ``chunk``, any key, in training), never past ``limit`` cells
        of it: the chunk's own :meth:`update` settles the count when it finishes."""
        step = min(cells, 0.999 * limit - self.partials.get(chunk, 0.0))
        if step <= 0:
            return
        self.partials[chunk] = self.partials.get(chunk, 0.0) + step
        if self.enabled and self.bar is not None:
            self.bar.update(step)

    def close(self):
        if self.bar is not None:
            self.bar.close()


class WorkBar:
    """A tqdm bar over work measured in estimated seconds, for long work made of unequal calls (the SAE
    experiment's stages): each call advances the bar by its estimate, so the ETA is the measured pace applied to
    the estimated work left. Shows the percentage, elapsed time and ETA (the estimates' unit is not shown); a line
    per call without tqdm."""

    def __init__(self, total: float, desc: str, enabled: bool = True):
        self.total, self.done, self.desc, self.enabled = float(total), 0.0, desc, enabled
        self.t0 = time.perf_counter()
        self.bar = None
        if enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=self.total, desc=desc, dynamic_ncols=True,
                                bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]")
            except ImportError:  # pragma: no cover
                self.bar = None

    def update(self, work: float, note: str = ""):
        """Count ``work`` (estimated seconds) as done; ``note`` (e.g. what just finished) is shown beside it."""
        work = min(float(work), self.total - self.done)
        self.done += work
        if not self.enabled:
            return
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(work)
        else:  # pragma: no cover
            dt = time.perf_counter() - self.t0
            eta = dt / max(self.done, 1e-9) * (self.total - self.done)
            print(f"{self.desc}: {100 * self.done / self.total:.0f}% {note} ETA {eta:.0f}s", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
