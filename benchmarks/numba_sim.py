"""The benchmark kernels in Numba's CUDA simulator (NUMBA_ENABLE_CUDASIM=1), for comparison.

    python benchmarks/numba_sim.py            # prints one JSON line per kernel: name, threads, seconds

Numba's simulator runs a Python thread per CUDA thread, so the sizes here are small; rates (threads/s)
are what `benchmarks/run.py` compares.  Run it with an interpreter that has numba installed
(`run.py --numba-python PATH`).
"""
import json
import os
import sys
import time

os.environ["NUMBA_ENABLE_CUDASIM"] = "1"

import numpy as np  # noqa: E402
from numba import cuda, float32, int32  # noqa: E402


@cuda.jit
def vector_add(a, b, c, n):
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i < n:
        c[i] = a[i] + b[i]


TILE = 16


@cuda.jit
def matmul(A, B, C, n):
    As = cuda.shared.array((TILE, TILE), float32)
    Bs = cuda.shared.array((TILE, TILE), float32)
    tx, ty = cuda.threadIdx.x, cuda.threadIdx.y
    row, col = cuda.blockIdx.y * TILE + ty, cuda.blockIdx.x * TILE + tx
    acc = float32(0.0)
    for t in range((n + TILE - 1) // TILE):
        As[ty, tx] = A[row, t * TILE + tx] if row < n and t * TILE + tx < n else 0.0
        Bs[ty, tx] = B[t * TILE + ty, col] if t * TILE + ty < n and col < n else 0.0
        cuda.syncthreads()
        for k in range(TILE):
            acc += As[ty, k] * Bs[k, tx]
        cuda.syncthreads()
    if row < n and col < n:
        C[row, col] = acc


BLOCK = 256


@cuda.jit
def reduce_sum(inp, partial, n):
    s = cuda.shared.array(BLOCK, float32)
    t = cuda.threadIdx.x
    i = cuda.blockIdx.x * (2 * BLOCK) + t
    v = float32(0.0)
    if i < n:
        v = inp[i]
    if i + BLOCK < n:
        v += inp[i + BLOCK]
    s[t] = v
    cuda.syncthreads()
    stride = BLOCK // 2
    while stride > 0:
        if t < stride:
            s[t] += s[t + stride]
        cuda.syncthreads()
        stride //= 2
    if t == 0:
        partial[cuda.blockIdx.x] = s[0]


@cuda.jit
def collatz(start, steps, n):
    i = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if i >= n:
        return
    x = start[i]
    s = int32(0)
    while x > 1 and s < 1000:
        if x % 2 == 0:
            x = x // 2
        else:
            x = 3 * x + 1
        s += 1
    steps[i] = s


def timed(name, threads, launch):
    t0 = time.perf_counter()
    launch()
    secs = time.perf_counter() - t0
    print(json.dumps({"kernel": name, "threads": threads, "seconds": secs}), flush=True)


def main():
    rng = np.random.default_rng(1)
    n = 1 << 12
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c = np.zeros(n, np.float32)
    timed("vector_add", n, lambda: vector_add[n // 256, 256](a, b, c, n))
    m = 64                     # benchmarks/run.py's "matmul 64" (a thread's work grows with m)
    A, B = rng.random((m, m), dtype=np.float32), rng.random((m, m), dtype=np.float32)
    C = np.zeros((m, m), np.float32)
    timed("matmul 64", m * m, lambda: matmul[(m // TILE, m // TILE), (TILE, TILE)](A, B, C, m))
    r = 1 << 12
    x = rng.random(r, dtype=np.float32)
    part = np.zeros(r // (2 * BLOCK), np.float32)
    timed("reduce", r // 2, lambda: reduce_sum[r // (2 * BLOCK), BLOCK](x, part, r))
    k = 1 << 10
    st = rng.integers(1, 100_000, k).astype(np.uint32)
    out = np.zeros(k, np.int32)
    timed("collatz", k, lambda: collatz[k // 256, 256](st, out, k))


if __name__ == "__main__":
    sys.exit(main())
