"""Hand-built polytopes and rotations shared by the measures and polytope tests."""

import numpy as np


def ngon(k, radius=1.0, offset=0.0):
    """``(2, k)``: a regular k-gon written out with cos/sin."""
    t = offset + 2 * np.pi * np.arange(k) / k
    return radius * np.stack([np.cos(t), np.sin(t)])


def tetrahedron():
    """Alternate corners of the cube, normalised: pairwise cosines −1/3."""
    return np.array([[1.0, 1, -1, -1], [1, -1, 1, -1], [1, -1, -1, 1]]) / np.sqrt(3)


def antiprism(h):
    """``(3, 8)`` unit vectors: a square at height h and one at −h rotated by 45°."""
    rho = np.sqrt(1 - h * h)
    cols = []
    for j in range(4):
        a = j * np.pi / 2
        cols.append([rho * np.cos(a), rho * np.sin(a), h])
    for j in range(4):
        a = j * np.pi / 2 + np.pi / 4
        cols.append([rho * np.cos(a), rho * np.sin(a), -h])
    return np.array(cols).T


def random_rotation(m, rng):
    q, r = np.linalg.qr(rng.normal(size=(m, m)))
    return q * np.sign(np.diag(r))[None, :]
