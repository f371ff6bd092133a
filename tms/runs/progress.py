"""Progress of long work between compiled chunks: cells done, throughput and ETA.
"""

from __future__ import annotations

import threading
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


_now = time.perf_counter  # WorkBar's clock for the calls' start and end (a test sets its own)


def running_credit(pace: float, running: dict, now: float) -> float:
    """Work to count for calls still running: each its elapsed seconds times ``pace`` (estimated work per second of
    the calls finished so far), at most 90% of its own estimate. ``running``: ``{key: (work, start time)}``."""
    return sum(min(max(now - t0, 0.0) * pace, 0.9 * work) for work, t0 in running.values())


class WorkBar:
    """A tqdm bar over work measured in estimated seconds, for long work made of unequal calls (the SAE
    experiment's stages): each call advances the bar by its estimate, so the ETA is the measured pace applied to
    the estimated work left. Shows the percentage, elapsed time and ETA (the estimates' unit is not shown); a line
    per call without tqdm. Calls running side by side may say when they start (:meth:`started`) and finish with
    the same ``key``: then, at each finish, the calls still running count for their elapsed time at the pace of
    those finished (:func:`running_credit`), so the ETA does not wait for a long call to end before counting it."""

    def __init__(self, total: float, desc: str, enabled: bool = True):
        self.total, self.done, self.desc, self.enabled = float(total), 0.0, desc, enabled
        self.t0 = time.perf_counter()
        self.bar = None
        self._lock = threading.Lock()
        self._running: dict = {}
        self._finished = [0.0, 0.0]  # estimated work and seconds of the calls that said when they started
        self._shown = 0.0
        if enabled:
            try:
                from tqdm.auto import tqdm

                self.bar = tqdm(total=self.total, desc=desc, dynamic_ncols=True,
                                bar_format="{l_bar}{bar}| [{elapsed}<{remaining}{postfix}]")
            except ImportError:  # pragma: no cover
                self.bar = None

    def started(self, key, work: float):
        """A call of ``work`` estimated seconds started now (any thread); finish it with ``update(work, key=key)``."""
        with self._lock:
            self._running[key] = (float(work), _now())

    def update(self, work: float, note: str = "", key=None):
        """Count ``work`` (estimated seconds) as done; ``note`` (e.g. what just finished) is shown beside it;
        ``key``: the call's key given to :meth:`started`, if it was."""
        with self._lock:
            work = min(float(work), self.total - self.done)
            self.done += work
            now = _now()
            if key in self._running:
                _, t0 = self._running.pop(key)
                self._finished[0] += work
                self._finished[1] += now - t0
            pace = self._finished[0] / self._finished[1] if self._finished[1] > 0 else 0.0
            shown = min(self.total, max(self._shown, self.done + running_credit(pace, self._running, now)))
            step, self._shown = shown - self._shown, shown
        if not self.enabled:
            return
        if self.bar is not None:
            if note:
                self.bar.set_postfix_str(note, refresh=False)
            self.bar.update(step)
        else:  # pragma: no cover
            dt = time.perf_counter() - self.t0
            eta = dt / max(shown, 1e-9) * (self.total - shown)
            print(f"{self.desc}: {100 * shown / self.total:.0f}% {note} ETA {eta:.0f}s", flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
