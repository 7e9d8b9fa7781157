"""Cost of the math functions (libdevice's code, inlined): compile time, kernel size and threads/s.

    python benchmarks/math_functions.py [--n 65536] [--repeat 3] [--only NAME ...]

One kernel per function, `o[i] = f(x[i])` on n threads (x uniform in [-10, 10]; `sinf huge` and
`sin huge`: |x| up to 1e30, the Payne-Hanek reduction with its local array).  Prints, per kernel: the
seconds to compile the source (front end to machine code), the kernel's instruction count, its local
memory bytes per thread, and threads/s on the interpreter and on the compiled executor (best of
--repeat launches after a warm-up launch that also translates the kernel).  Run it with another
checkout's vgpu on PYTHONPATH to compare before/after.
"""
from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice

sys.path.insert(0, __import__("os").path.dirname(__file__))
from run import _put, params  # noqa: E402

CASES = [  # name, C type, call, input scale
    ("sinf", "float", "sinf(x[i])", 10.0), ("sinf huge", "float", "sinf(x[i])", 1e30),
    ("cosf", "float", "cosf(x[i])", 10.0), ("expf", "float", "expf(x[i])", 10.0),
    ("logf", "float", "logf(x[i])", 10.0), ("powf", "float", "powf(x[i], 1.7f)", 10.0),
    ("tanhf", "float", "tanhf(x[i])", 10.0), ("sin", "double", "sin(x[i])", 10.0),
    ("sin huge", "double", "sin(x[i])", 1e30), ("exp", "double", "exp(x[i])", 10.0),
    ("log", "double", "log(x[i])", 10.0), ("pow", "double", "pow(x[i], 1.7)", 10.0),
]


def source(t: str, call: str) -> str:
    return (f"__global__ void k(const {t} *x, {t} *o, int n) {{\n"
            f"    int i = blockIdx.x * blockDim.x + threadIdx.x;\n    if (i < n) o[i] = {call};\n}}\n")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1 << 16)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--only", nargs="*")
    a = ap.parse_args()
    rng = np.random.default_rng(3)
    print(f"{'kernel':10s} {'compile s':>9s} {'instrs':>6s} {'local B':>7s} {'interp thr/s':>12s} "
          f"{'compiled thr/s':>14s}")
    for name, t, call, scale in CASES:
        if a.only and name not in a.only:
            continue
        dt = np.float32 if t == "float" else np.float64
        x = (rng.uniform(-1, 1, a.n) * scale).astype(dt)
        t0 = time.perf_counter()
        program = compile_source(source(t, call), f"{name.replace(' ', '_')}.vk")
        ct = time.perf_counter() - t0
        kern = program.kernels["k"]
        rates = []
        for executor in ("interp", "compiled"):
            dev = SimDevice(workers=0, echo_printf=False, executor=executor)
            mod = dev.load(program)
            px, po = _put(dev, x), _put(dev, np.zeros_like(x))
            best = None
            for k in range(a.repeat + 1):
                s = time.perf_counter()
                dev.launch(mod, "k", params(mod, "k", [px, po, a.n]), grid=(a.n + 255) // 256, block=256)
                d = time.perf_counter() - s
                best = d if k == 1 or (best is not None and d < best) else best
            rates.append(a.n / best)
        local = sum(d.size for d in kern.locals.values())
        print(f"{name:10s} {ct:9.3f} {len(kern.instrs):6d} {local:7d} "
              f"{rates[0] / 1e6:11.2f}M {rates[1] / 1e6:13.2f}M")
    return 0


if __name__ == "__main__":
    sys.exit(main())
