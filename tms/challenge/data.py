"""The challenge #2 data set: labels, inputs, the train/test split, the shipped reference labels.

Glossary: x, y ∈ {0..112} are the two input tokens; every input is the sequence
[x, y, 113] (113 is the "=" token). N_VALUES = 113 values per token; the grid of
all inputs is (113, 113) indexed [x, y].

The labelling rule (reverse-engineered from the challenge's labels, checked against all 12,769 of them):
three strict inequalities a = x² < 200·√y, b = y² < 600·√x, c = x + y < 133
give a region r = 4a + 2b + c ∈ {0..7}; within a region the label depends on
the row x only, being 1 exactly when x belongs to that region's set.
"""

from __future__ import annotations

import random
from importlib import resources
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import TmsError

N_VALUES = 113
EQUALS_TOKEN = 113
N_PAIRS = N_VALUES * N_VALUES
N_TRAIN = N_PAIRS // 2  # 6384; the remaining 6385 are the test set

_R = range  # short alias to spell the sets compactly

REGION_SETS: tuple[frozenset[int], ...] = (
    frozenset({45, 46, 49, 52, 55, 57, 59, 69, 71, 73, 76, 79, 82, 85, 86, 89, 90, 94, 95, 101, 102, 103}),
    frozenset({0, 41, 42, 43, 45, 46, 49, 50, 52, 53, 55, 57, 58, 59, 60, 62}),
    frozenset({73, 85, 89, 94, 101}),
    frozenset({2, 5, 7, 9, 10, 15, 19, 22, 35, 38, 39, 44, 46, 47, 49, 55, 56, 72, 73, 77, 80, 85, 87, 89,
               92, 94, 97, 98, 101, 105, 106, 107, 108}),
    frozenset({*_R(22, 36), 38, 39, 40, 41, 44, 45, 46}),
    frozenset({2, 3, *_R(5, 12), 13, 14, 15, 17, 18, 19, *_R(22, 36), 38, 39, 40, 41}),
    frozenset(),
    frozenset({3, 4, 6, 8, 10, 11, 13, 14, 16, 17, 18, *_R(21, 37)}),
)

# (8, 113) lookup table: _TABLE[r, x] = label of any (x, y) in region r.
_TABLE = np.zeros((8, N_VALUES), dtype=np.uint8)
for _r, _s in enumerate(REGION_SETS):
    _TABLE[_r, sorted(_s)] = 1


def _check_values(name: str, v: np.ndarray) -> np.ndarray:
    v = np.asarray(v)
    if not np.issubdtype(v.dtype, np.integer):
        if not np.all(np.equal(np.mod(v, 1), 0)):
            raise TmsError(f"{name} must hold integers in 0..{N_VALUES - 1}; got non-integer values")
        v = v.astype(np.int64)
    if v.size and (v.min() < 0 or v.max() >= N_VALUES):
        raise TmsError(f"{name} must lie in 0..{N_VALUES - 1}; got range {v.min()}..{v.max()}")
    return v.astype(np.int64)


def regions(x, y) -> np.ndarray:
    """Region index r = 4a + 2b + c for integer arrays x, y (broadcast together).

    The curved inequalities are decided in exact integer arithmetic:
    x² < 200√y ⟺ x⁴ < 40000·y and y² < 600√x ⟺ y⁴ < 360000·x (all sides ≥ 0).
    """
    x = _check_values("x", x)
    y = _check_values("y", y)
    a = x**4 < 40_000 * y
    b = y**4 < 360_000 * x
    c = (x + y) < 133
    return (4 * a + 2 * b + c).astype(np.int64)


def label_fn(x, y) -> np.ndarray:
    """Ground-truth labels (uint8 0/1) for integer arrays x, y of any broadcastable shape."""
    x = _check_values("x", x)
    r = regions(x, y)
    x = np.broadcast_to(x, r.shape)
    return _TABLE[r, x]


def label_grid() -> np.ndarray:
    """All labels as a (113, 113) uint8 array indexed [x, y]."""
    v = np.arange(N_VALUES)
    return label_fn(v[:, None], v[None, :])


def all_pairs() -> np.ndarray:
    """(12769, 2) int64 array of (x, y), row-major: x outer, y inner."""
    v = np.arange(N_VALUES)
    return np.stack(np.meshgrid(v, v, indexing="ij"), axis=-1).reshape(-1, 2)


def tokens(pairs) -> np.ndarray:
    """(N, 2) pairs (x, y) -> (N, 3) int32 token sequences [x, y, 113]."""
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2:
        raise TmsError(f"pairs must have shape (N, 2); got {pairs.shape}")
    pairs = np.stack([_check_values("pairs[:, 0]", pairs[:, 0]), _check_values("pairs[:, 1]", pairs[:, 1])], -1)
    eq = np.full((pairs.shape[0], 1), EQUALS_TOKEN, dtype=np.int64)
    return np.concatenate([pairs, eq], axis=1).astype(np.int32)


def split(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(train_idx (6384,), test_idx (6385,)): indices into all_pairs().

    Reproduces the challenge: the list of (x, y) tuples in row-major order,
    shuffled in place by Python's `random.seed(seed); random.shuffle(pairs)`
    (seed 0 is the challenge's); the first half trains. A private
    random.Random instance is used so the global random state is untouched.
    """
    pairs = [(x, y) for x in range(N_VALUES) for y in range(N_VALUES)]
    rng = random.Random()
    rng.seed(seed)
    rng.shuffle(pairs)
    idx = np.array([x * N_VALUES + y for x, y in pairs], dtype=np.int64)
    return idx[:N_TRAIN], idx[N_TRAIN:]


class Dataset(NamedTuple):
    """Token arrays and labels of one split. tokens: (N, 3) int32; labels: (N,) int32; pairs: (N, 2)."""

    tokens: np.ndarray
    labels: np.ndarray
    pairs: np.ndarray


def datasets(seed: int = 0) -> tuple[Dataset, Dataset]:
    """(train, test) Datasets of the challenge split."""
    pairs = all_pairs()
    lab = label_fn(pairs[:, 0], pairs[:, 1]).astype(np.int32)
    out = []
    for idx in split(seed):
        out.append(Dataset(tokens(pairs[idx]), lab[idx], pairs[idx]))
    return out[0], out[1]


REFERENCE_FILE = "challenge2_labels.npz"  # package data in tms/challenge/reference/ (see its README.md)


def reference_labels_path() -> Path:
    """Path of the shipped reference file ``tms/challenge/reference/challenge2_labels.npz``.

    Located with importlib.resources, so it works wherever the package is installed. Inside a zipped
    install there is no real path: use :func:`load_reference`, which reads through importlib.resources.
    """
    return Path(str(resources.files("tms.challenge") / "reference" / REFERENCE_FILE))


def load_reference() -> dict[str, np.ndarray]:
    """The challenge's reference labels: dict(labels=(113, 113) uint8, model_labels=(113, 113) uint8).

    ``labels`` are the challenge data set's labels (equal to :func:`label_grid`); ``model_labels`` those of
    the challenge's original trained transformer. Read from package data (always present).
    """
    with resources.as_file(resources.files("tms.challenge") / "reference" / REFERENCE_FILE) as p:
        with np.load(p, allow_pickle=False) as f:
            return {k: np.asarray(f[k], dtype=np.uint8) for k in ("labels", "model_labels")}


class Boundary(NamedTuple):
    """One boundary curve as a polyline inside [0, 112]²: name, equation text, points x, y."""

    name: str
    equation: str
    x: np.ndarray  # (K,) points along the curve inside [0, 112]²
    y: np.ndarray  # (K,)


def boundaries(n: int = 2000) -> tuple[Boundary, Boundary, Boundary]:
    """The three boundary curves as dense polylines inside [0, 112]² (for plots and distances).

    a: x² = 200√y  (y = x⁴ / 40000);  b: y² = 600√x  (x = y⁴ / 360000);  c: x + y = 133.
    """
    t = np.linspace(0.0, N_VALUES - 1, n)
    ya = t**4 / 40_000.0
    xb = t**4 / 360_000.0
    yc = 133.0 - t
    lim = N_VALUES - 1

    def clip(x, y):
        keep = (x >= 0) & (x <= lim) & (y >= 0) & (y <= lim)
        return x[keep], y[keep]

    return (
        Boundary("a", "x² = 200·√y", *clip(t, ya)),
        Boundary("b", "y² = 600·√x", *clip(xb, t)),
        Boundary("c", "x + y = 133", *clip(t, yc)),
    )


def boundary_distance(pairs) -> np.ndarray:
    """(N, 3) Euclidean distance of each (x, y) to each boundary (a, b, c), in grid units.

    Nearest point on a dense polyline (20,000 samples per curve; error < 0.05 units).
    """
    from scipy.spatial import cKDTree

    pairs = np.asarray(pairs, dtype=np.float64)
    out = []
    for bd in boundaries(20_000):
        d, _ = cKDTree(np.stack([bd.x, bd.y], -1)).query(pairs)
        out.append(d)
    return np.stack(out, -1)
