"""Simulator throughput: the benchmark kernels on vgpu, and (when numba is available) in Numba's
CUDA simulator for comparison.

    python benchmarks/run.py [--numba-python PATH] [--only NAME ...] [--sms N] [--repeat N]

Prints per kernel: seconds of the launch, simulated threads/s, simulated thread-instructions/s
(active threads per executed instruction), and the ratio of vgpu's threads/s to Numba's.  Every
result is checked against numpy.  The kernels mirror benchmarks/numba_sim.py.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice

KERNELS = r"""
#define TILE 16
#define BLOCK 256

__global__ void vector_add(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

__global__ void matmul(const float *A, const float *B, float *C, int n) {
    __shared__ float As[TILE][TILE];
    __shared__ float Bs[TILE][TILE];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int t = 0; t < (n + TILE - 1) / TILE; t++) {
        As[ty][tx] = (row < n && t * TILE + tx < n) ? A[row * n + t * TILE + tx] : 0.0f;
        Bs[ty][tx] = (t * TILE + ty < n && col < n) ? B[(t * TILE + ty) * n + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < TILE; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < n && col < n) C[row * n + col] = acc;
}

__global__ void reduce(const float *in, float *partial, int n) {
    __shared__ float s[BLOCK];
    unsigned t = threadIdx.x;
    unsigned i = blockIdx.x * (2 * BLOCK) + t;
    float v = 0.0f;
    if (i < n) v = in[i];
    if (i + BLOCK < n) v += in[i + BLOCK];
    s[t] = v;
    __syncthreads();
    for (unsigned stride = BLOCK / 2; stride > 0; stride >>= 1) {
        if (t < stride) s[t] += s[t + stride];
        __syncthreads();
    }
    if (t == 0) partial[blockIdx.x] = s[0];
}

__global__ void collatz(const unsigned *start, int *steps, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    unsigned x = start[i];
    int s = 0;
    while (x > 1 && s < 1000) {
        if (x % 2 == 0) x = x / 2;
        else x = 3 * x + 1;
        s++;
    }
    steps[i] = s;
}
"""


def _put(dev, arr):
    addr = dev.malloc(arr.nbytes)
    dev.write(addr, arr)
    return addr


def _get(dev, addr, dtype, n):
    return np.frombuffer(dev.read(addr, np.dtype(dtype).itemsize * n), dtype)


def collatz_ref(start):
    out = np.zeros(start.size, np.int32)
    for k, x in enumerate(start.tolist()):
        s = 0
        while x > 1 and s < 1000:
            x = x // 2 if x % 2 == 0 else (3 * x + 1) & 0xFFFFFFFF
            s += 1
        out[k] = s
    return out


def cases(dev, mod, rng):
    """(name, threads, launch, check) for each benchmark."""
    n = 1 << 20
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    pa, pb, pc = _put(dev, a), _put(dev, b), _put(dev, np.zeros(n, np.float32))
    yield ("vector_add", n, lambda: dev.launch(mod, "vector_add", [pa, pb, pc, n], grid=n // 256, block=256),
           lambda: np.array_equal(_get(dev, pc, np.float32, n), a + b))
    m = 256
    A, B = rng.random((m, m), dtype=np.float32), rng.random((m, m), dtype=np.float32)
    pA, pB, pC = _put(dev, A), _put(dev, B), _put(dev, np.zeros(m * m, np.float32))
    yield ("matmul", m * m, lambda: dev.launch(mod, "matmul", [pA, pB, pC, m], grid=(m // 16, m // 16),
                                               block=(16, 16)),
           lambda: np.allclose(_get(dev, pC, np.float32, m * m).reshape(m, m), A @ B, rtol=1e-4))
    r = 1 << 20
    x = rng.random(r, dtype=np.float32)
    px, pp = _put(dev, x), _put(dev, np.zeros(r // 512, np.float32))
    yield ("reduce", r // 2, lambda: dev.launch(mod, "reduce", [px, pp, r], grid=r // 512, block=256),
           lambda: np.isclose(_get(dev, pp, np.float32, r // 512).sum(dtype=np.float64), x.sum(dtype=np.float64),
                              rtol=1e-5))
    k = 1 << 16
    st = rng.integers(1, 100_000, k).astype(np.uint32)
    ps, po = _put(dev, st), _put(dev, np.zeros(k, np.int32))
    yield ("collatz", k, lambda: dev.launch(mod, "collatz", [ps, po, k], grid=k // 256, block=256),
           lambda: np.array_equal(_get(dev, po, np.int32, k), collatz_ref(st)))


def numba_rates(python: str | None) -> dict[str, float]:
    """threads/s per kernel in Numba's CUDA simulator, or {} when numba is not available."""
    script = Path(__file__).with_name("numba_sim.py")
    if python is None:
        if importlib.util.find_spec("numba") is None:
            return {}
        python = sys.executable
    try:
        out = subprocess.run([python, str(script)], capture_output=True, text=True, timeout=1800, check=True).stdout
    except (OSError, subprocess.SubprocessError) as e:
        print(f"(numba comparison skipped: {e})")
        return {}
    rates = {}
    for line in out.splitlines():
        if line.startswith("{"):
            d = json.loads(line)
            rates[d["kernel"]] = d["threads"] / d["seconds"]
    return rates


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numba-python", help="an interpreter with numba installed (default: this one, if it has numba)")
    ap.add_argument("--only", nargs="*", help="kernels to run")
    ap.add_argument("--sms", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1, help="launches per kernel; the fastest counts")
    args = ap.parse_args(argv)
    dev = SimDevice(num_sms=args.sms, echo_printf=False)
    mod = dev.load(compile_source(KERNELS, "benchmarks.vk"))
    rng = np.random.default_rng(1)
    numba = numba_rates(args.numba_python) if not args.only else {}
    print(f"{'kernel':12s} {'seconds':>8s} {'threads/s':>12s} {'thread-inst/s':>14s} {'vs numba':>9s}  ok")
    ok_all = True
    for name, threads, launch, check in cases(dev, mod, rng):
        if args.only and name not in args.only:
            continue
        res = min((launch() for _ in range(args.repeat)), key=lambda r: r.seconds)
        ok = bool(check())
        ok_all &= ok
        rate = threads / res.seconds
        ratio = f"{rate / numba[name]:8.0f}x" if name in numba else "        -"
        print(f"{name:12s} {res.seconds:8.3f} {rate:12.3e} {res.thread_instructions / res.seconds:14.3e} "
              f"{ratio}  {'yes' if ok else 'NO'}", flush=True)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
