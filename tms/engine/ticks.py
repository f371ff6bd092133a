"""Progress ticks from inside a compiled training loop, so a progress bar can move during a long call.

:func:`scan` runs a training loop as blocks of ``EVERY`` steps and, after each block, makes a host call
(``jax.debug.callback``) that reaches whoever is :func:`listening` in this process with the number of steps
done, and nobody otherwise (a Ray worker, a plain ``train`` call). Between ticks the loop is the plain
``lax.scan`` of the steps (no per-step branch), and the tick changes no value the loop computes (tested bit
for bit against the loop compiled with ``ENABLED = False``).
"""

from __future__ import annotations

import contextlib
from typing import Callable

import jax
import jax.numpy as jnp

EVERY = 250  # steps between ticks: at 1 ms per step, four host calls a second; at 50 ms, one per 12 s
ENABLED = True  # read when a loop is traced; False compiles loops without ticks

_listener: Callable[[int], None] | None = None


def _heard(steps) -> None:
    if _listener is not None:
        _listener(int(steps))


def tell(steps) -> None:
    """Inside a traced loop: tell the listener that ``steps`` more training steps are done."""
    if ENABLED:
        jax.debug.callback(_heard, steps)


def scan(step_fn, carry, steps: int):
    """``lax.scan`` of ``step_fn(carry, step) -> (carry, _)`` over ``step = 0 .. steps - 1`` (outputs dropped),
    ticking as :func:`scan_outputs` does."""
    return scan_outputs(lambda c, s: (step_fn(c, s)[0], None), carry, jnp.arange(steps))[0]


def scan_outputs(step_fn, carry, ts):
    """``lax.scan(step_fn, carry, ts)`` with its per-step outputs kept (``ts``: 1-d step indices of static length),
    as blocks of ``EVERY`` steps with a tick after each block, then the remaining steps and a last tick. Returns
    ``(carry, outputs)``, the outputs stacked over all of ``ts`` as the plain scan stacks them."""
    length = ts.shape[0]
    blocks, rest = divmod(length, EVERY) if ENABLED else (0, length)
    parts = []

    def block(c, tb):
        c, y = jax.lax.scan(step_fn, c, tb)
        tell(EVERY)
        return c, y

    if blocks:
        carry, y = jax.lax.scan(block, carry, ts[:blocks * EVERY].reshape(blocks, EVERY))
        parts.append(jax.tree.map(lambda a: a.reshape((blocks * EVERY,) + a.shape[2:]), y))
    if rest or not blocks:  # (a zero-length ts: an empty scan, so the outputs keep their shapes)
        carry, y = jax.lax.scan(step_fn, carry, ts[blocks * EVERY:])
        if blocks:
            tell(rest)
        parts.append(y)
    if len(parts) == 1:
        return carry, parts[0]
    return carry, jax.tree.map(lambda a, b: jnp.concatenate([a, b]), *parts)


def every_blocks(block_steps: int) -> int:
    """For a loop already in blocks of ``block_steps`` (a loss curve's): tick every this many blocks."""
    return max(1, EVERY // block_steps)


@contextlib.contextmanager
def listening(fn: Callable[[int], None]):
    """Call ``fn(steps)`` on every tick of the training loops this process runs inside the ``with`` block."""
    global _listener
    previous, _listener = _listener, fn
    try:
        yield
    finally:
        _listener = previous
