"""The compiled executor against the interpreter: threads/s and thread-instructions/s per kernel.

    python benchmarks/compiled.py [--repeat N] [--only NAME ...]

For vector_add 2^20, saxpy 2^20, reduce_shared 2^20, matmul_tiled 256, histogram_atomic 2^20 and the
divergent Collatz kernel (the kernels of benchmarks/run.py, plus a shared-memory histogram),
in-process on one core: seconds of the launch (best of --repeat, after a warm-up launch that also
translates the kernel), threads/s and thread-instructions/s on each executor, the speed-up, whether
both left identical bytes, and the translation time of each kernel (LLVM IR -> native code).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import KERNELS, _get, _put, collatz_ref, params  # noqa: E402

from vgpu.pipeline import compile_source  # noqa: E402
from vgpu.sim import SimDevice  # noqa: E402

EXTRA = r"""
__global__ void histogram_shared(const unsigned *data, unsigned *bins, int n) {
    __shared__ unsigned local[256];
    local[threadIdx.x] = 0;
    __syncthreads();
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += blockDim.x * gridDim.x)
        atomicAdd(&local[data[i] & 255], 1u);
    __syncthreads();
    atomicAdd(&bins[threadIdx.x], local[threadIdx.x]);
}
"""


def cases(dev, mod, rng):
    """(name, kernel, threads, args, grid, block, check)."""
    n = 1 << 20
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    pa, pb, pc = _put(dev, a), _put(dev, b), _put(dev, np.zeros(n, np.float32))
    yield ("vector_add 2^20", "vector_add", n, [pa, pb, pc, n], n // 256, 256,
           lambda: np.array_equal(_get(dev, pc, np.float32, n), a + b))
    py = _put(dev, b)
    yield ("saxpy 2^20", "saxpy", n, [2.5, pa, py, n], n // 256, 256, lambda: True)
    px, pp = _put(dev, a), _put(dev, np.zeros(n // 512, np.float32))
    yield ("reduce_shared 2^20", "reduce", n // 2, [px, pp, n], n // 512, 256,
           lambda: np.isclose(_get(dev, pp, np.float32, n // 512).sum(dtype=np.float64), a.sum(dtype=np.float64),
                              rtol=1e-5))
    m = 256
    A, B = rng.random((m, m), dtype=np.float32), rng.random((m, m), dtype=np.float32)
    pA, pB, pC = _put(dev, A), _put(dev, B), _put(dev, np.zeros(m * m, np.float32))
    yield ("matmul_tiled 256", "matmul", m * m, [pA, pB, pC, m], (m // 16, m // 16), (16, 16),
           lambda: np.allclose(_get(dev, pC, np.float32, m * m).reshape(m, m), A @ B, rtol=1e-4))
    d = rng.integers(0, 1 << 30, n).astype(np.uint32)
    pd, ph, ph2 = _put(dev, d), _put(dev, np.zeros(256, np.uint32)), _put(dev, np.zeros(256, np.uint32))
    yield ("histogram_atomic 2^20", "histogram", n, [pd, ph, n], n // 256, 256, lambda: True)
    yield ("histogram_shared 2^20", "histogram_shared", n, [pd, ph2, n], 256, 256, lambda: True)
    k = 1 << 16
    st = rng.integers(1, 100_000, k).astype(np.uint32)
    ps, po = _put(dev, st), _put(dev, np.zeros(k, np.int32))
    yield ("divergent (Collatz) 2^16", "collatz", k, [ps, po, k], k // 256, 256,
           lambda: np.array_equal(_get(dev, po, np.int32, k), collatz_ref(st)))


def measure(executor: str, only, repeat: int):
    """{name: (seconds, threads, thread_instructions, ok, bytes)} on one executor."""
    program = compile_source(KERNELS + EXTRA, "bench.vk")
    dev = SimDevice(workers=0, echo_printf=False, executor=executor)
    mod = dev.load(program)
    out = {}
    for name, kern, threads, args, grid, block, check in cases(dev, mod, np.random.default_rng(7)):
        if only and not any(o in name for o in only):
            continue
        best = None
        for _ in range(repeat + 1):          # the first launch translates the kernel: not counted
            t0 = time.perf_counter()
            res = dev.launch(mod, kern, params(mod, kern, args), grid=grid, block=block)
            dt = time.perf_counter() - t0
            best = dt if best is None or (_ > 0 and dt < best) else best
        out[name] = (best, threads, res.stats["thread_instructions"], check(),
                     bytes(dev.glob.arena[:dev.glob.top]), kern)
    return out, program


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    from vgpu.sim import compiled
    from vgpu.sim.compiled import runtime
    ri, _ = measure("interp", a.only, a.repeat)
    runtime.COUNTS.clear()
    rc, program = measure("compiled", a.only, a.repeat)
    print(f"{'kernel':26s} {'interp s':>9s} {'compiled s':>10s} {'speed-up':>8s} {'thr/s':>9s} "
          f"{'thr-instr/s':>12s} {'interp thr-instr/s':>18s}  ok  same bytes")
    ok = True
    for name in ri:
        si, th, ti, oki, bi, _ = ri[name]
        sc, _, tc, okc, bc, kern = rc[name]
        same = bi == bc and ti == tc
        ok &= oki and okc and same
        print(f"{name:26s} {si:9.4f} {sc:10.4f} {si / sc:7.1f}x {th / sc / 1e6:8.1f}M {tc / sc / 1e6:11.1f}M "
              f"{ti / si / 1e6:17.1f}M  {'yes' if oki and okc else 'NO '} {'yes' if same else 'NO'}")
    print("translation (LLVM IR -> native code) per kernel:")
    for name in program.kernels:
        ck = compiled.compile_kernel(program, name)
        print(f"  {name:12s} {ck.seconds:.3f} s  ({len(program.kernels[name].instrs)} instructions)")
    print(f"run_blocks calls: {dict(runtime.COUNTS)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
