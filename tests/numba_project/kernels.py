"""A small Numba CUDA project, written exactly as a Numba user writes one (`from numba import cuda`).

tests/test_python_numba_compat.py runs it unmodified on vgpu (install_as_numba) and on Numba's own CUDA
simulator (NUMBA_ENABLE_CUDASIM=1), and compares the bytes of every result.
"""
import math

import numpy as np
from numba import cuda, float32, int32

TPB = 64


@cuda.jit(device=True)
def sigmoid(x):
    return 1.0 / (1.0 + math.exp(-x))


@cuda.jit
def vector_add(a, b, out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = a[i] + b[i]


@cuda.jit
def scale_sigmoid(x, out, factor):
    i = cuda.grid(1)
    if i < x.shape[0]:
        out[i] = sigmoid(x[i] * factor)


@cuda.jit
def block_sum(x, out):
    tile = cuda.shared.array(TPB, dtype=float32)
    t = cuda.threadIdx.x
    i = cuda.grid(1)
    tile[t] = x[i] if i < x.size else 0
    cuda.syncthreads()
    s = TPB // 2
    while s > 0:
        if t < s:
            tile[t] += tile[t + s]
        cuda.syncthreads()
        s //= 2
    if t == 0:
        out[cuda.blockIdx.x] = tile[0]


@cuda.jit
def histogram(data, bins):
    i = cuda.grid(1)
    stride = cuda.gridsize(1)
    for j in range(i, data.shape[0], stride):
        cuda.atomic.add(bins, data[j] % bins.shape[0], 1)


@cuda.jit
def matmul(a, b, c):
    row, col = cuda.grid(2)
    if row < c.shape[0] and col < c.shape[1]:
        tmp = 0.0
        for k in range(a.shape[1]):
            tmp += a[row, k] * b[k, col]
        c[row, col] = tmp


@cuda.jit
def integer_ops(a, out):
    i = cuda.grid(1)
    if i < a.size:
        v = a[i]
        out[i, 0] = v // 3
        out[i, 1] = v % 7
        out[i, 2] = (v << 2) ^ (v >> 1)
        out[i, 3] = abs(v) + min(v, 5) - max(v, -5)
        out[i, 4] = v ** 2


@cuda.jit
def stencil(x, out):
    i = cuda.grid(1)
    n = x.shape[0]
    if 0 < i < n - 1:
        out[i] = 0.25 * x[i - 1] + 0.5 * x[i] + 0.25 * x[i + 1]
    elif i == 0 or i == n - 1:
        out[i] = x[i]


@cuda.jit("void(int32[:], int32[:])")
def prefix_in_block(x, out):
    tmp = cuda.shared.array(TPB, dtype=int32)
    t = cuda.threadIdx.x
    tmp[t] = x[cuda.grid(1)]
    cuda.syncthreads()
    d = 1
    while d < TPB:
        v = tmp[t - d] if t >= d else 0
        cuda.syncthreads()
        tmp[t] += v
        cuda.syncthreads()
        d *= 2
    out[cuda.grid(1)] = tmp[t]


def cases():
    """(kernel, grid, block, arguments): deterministic launches; the arrays are the results."""
    rng = np.random.default_rng(42)
    a = rng.standard_normal(300).astype(np.float32)
    b = rng.standard_normal(300).astype(np.float32)
    ints = rng.integers(-1000, 1000, 256).astype(np.int64)
    m1, m2 = rng.standard_normal((9, 7)), rng.standard_normal((7, 5))
    return [
        ("vector_add", vector_add, 3, 128, [a, b, np.zeros(300, np.float32)]),
        ("scale_sigmoid", scale_sigmoid, 3, 128, [a, np.zeros(300, np.float32), 1.5]),
        ("block_sum", block_sum, 5, TPB, [a, np.zeros(5, np.float32)]),
        ("histogram", histogram, 2, 32, [rng.integers(0, 100, 500).astype(np.int32), np.zeros(10, np.int32)]),
        ("matmul", matmul, (2, 2), (8, 8), [m1, m2, np.zeros((9, 5))]),
        ("integer_ops", integer_ops, 2, 128, [ints, np.zeros((256, 5), np.int64)]),
        ("stencil", stencil, 3, 128, [b.astype(np.float64), np.zeros(300)]),
        ("prefix_in_block", prefix_in_block, 2, TPB,
         [rng.integers(0, 50, 128).astype(np.int32), np.zeros(128, np.int32)]),
    ]


def run_all():
    """Run every case; {name: [result arrays]}."""
    out = {}
    for name, kernel, grid, block, args in cases():
        kernel[grid, block](*args)
        out[name] = [x for x in args if isinstance(x, np.ndarray)]
    return out
