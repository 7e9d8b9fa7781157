"""Python kernels: the benchmark kernels written as Numba kernels, run on vgpu.cuda and in Numba's CUDA
simulator in the same run, and the time to compile a Python kernel.

    python benchmarks/python_kernels.py [--repeat 3]

Prints per kernel: threads/s on vgpu (best wall time of at least --repeat launches, repeated until
they took MIN_SECONDS: short launches on a shared machine vary), threads per CPU second of that
launch (all threads of the process), threads/s in Numba's simulator (NUMBA_ENABLE_CUDASIM=1, when
numba is installed), and the ratio of the wall rates (target >= 1,000x); then the compile time of
each kernel (best of --repeat, a fresh dispatcher each time; target < 0.3 s).  Each side runs in its own process (the
simulator must be chosen before numba.cuda is imported); the kernel source below is shared, written
exactly as for Numba (`from numba import cuda`).  vgpu's results are checked against NumPy.
"""
import json
import os
import subprocess
import sys
import time

MODE = sys.argv[sys.argv.index("--mode") + 1] if "--mode" in sys.argv else None
if MODE == "sim":
    os.environ["NUMBA_ENABLE_CUDASIM"] = "1"
elif MODE == "vgpu":
    import vgpu.cuda
    vgpu.cuda.install_as_numba()

if MODE:
    import numpy as np
    from numba import cuda, float32, int32

    TILE, BLOCK = 16, 256

    @cuda.jit
    def vector_add(a, b, c, n):
        i = cuda.grid(1)
        if i < n:
            c[i] = a[i] + b[i]

    @cuda.jit
    def saxpy(a, x, y, n):
        i = cuda.grid(1)
        if i < n:
            y[i] = a * x[i] + y[i]

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
        i = cuda.grid(1)
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

    @cuda.jit
    def histogram(data, bins, n):
        i = cuda.grid(1)
        if i < n:
            cuda.atomic.add(bins, data[i] % 64, 1)


def cases(big: bool):
    """(name, threads, launch, check) with sizes for vgpu (big: benchmarks/run.py's sizes; matmul 64x64 on
    both sides) or the simulator.  On vgpu the arrays live on the device (cuda.to_device), as a Numba
    user keeps them between launches; the check reads them back after the first launch."""
    rng = np.random.default_rng(1)
    dev = {}

    def d(host):        # the device copy of `host` on vgpu (the simulator takes host arrays)
        if not big:
            return host
        dev[id(host)] = cuda.to_device(host)
        return dev[id(host)]

    def back(host):
        return dev[id(host)].copy_to_host() if big else host

    n = 1 << (20 if big else 12)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c, y = np.zeros(n, np.float32), b.copy()
    da, db, dc, dy = d(a), d(b), d(c), d(y)
    yield "vector_add", n, lambda: vector_add[n // 256, 256](da, db, dc, n), \
        lambda: np.array_equal(back(c), a + b)
    yield "saxpy", n, lambda: saxpy[n // 256, 256](np.float32(2), da, dy, n), \
        lambda: np.array_equal(back(y), np.float32(2) * a + b)
    m = 64              # both sides: a thread's work grows with m, so the rates compare only at one size
    A, B = rng.random((m, m), dtype=np.float32), rng.random((m, m), dtype=np.float32)
    C = np.zeros((m, m), np.float32)
    dA, dB, dC = d(A), d(B), d(C)
    yield "matmul", m * m, lambda: matmul[(m // TILE, m // TILE), (TILE, TILE)](dA, dB, dC, m), \
        lambda: np.allclose(back(C), A @ B, rtol=1e-4)
    r = 1 << (20 if big else 12)
    x = rng.random(r, dtype=np.float32)
    part = np.zeros(r // (2 * BLOCK), np.float32)
    dx, dp = d(x), d(part)
    yield "reduce", r // 2, lambda: reduce_sum[r // (2 * BLOCK), BLOCK](dx, dp, r), \
        lambda: np.isclose(back(part).sum(dtype=np.float64), x.sum(dtype=np.float64), rtol=1e-5)
    k = 1 << (16 if big else 10)
    st = rng.integers(1, 100_000, k).astype(np.uint32)
    out = np.zeros(k, np.int32)
    ds, do = d(st), d(out)
    yield "collatz", k, lambda: collatz[k // 256, 256](ds, do, k), \
        lambda: back(out)[st == 1].sum() == 0 and back(out)[st == 27].tolist() in ([], [111] * (st == 27).sum())
    h = 1 << (20 if big else 12)
    data = rng.integers(0, 1 << 20, h).astype(np.int32)
    bins = np.zeros(64, np.int32)
    dd, dbins = d(data), d(bins)
    yield "histogram", h, lambda: histogram[h // 256, 256](dd, dbins, h), \
        lambda: np.array_equal(back(bins), np.bincount(data % 64, minlength=64))


def child(repeat: int) -> None:
    big = MODE == "vgpu"
    for name, threads, launch, check in cases(big):
        launch()                                       # compiles (vgpu) / warms up
        ok = check() if big else True                  # after exactly one launch
        warm = time.perf_counter()
        while big and time.perf_counter() - warm < WARM_SECONDS:   # 'auto' interprets, then translates
            launch()
        runs = [_timed(launch) for _ in range(repeat)]
        while big and len(runs) < 200 and sum(w for w, _ in runs) < MIN_SECONDS:   # short launches: more tries
            runs.append(_timed(launch))
        best, cpu = min(runs)
        rec = {"kernel": name, "threads": threads, "seconds": best, "cpu": cpu, "runs": len(runs), "ok": bool(ok)}
        if big:
            from vgpu.cuda.compiler import Dispatcher
            disp = globals()[{"reduce": "reduce_sum"}.get(name, name)]
            types = list(disp._cache)[0]
            rec["compile"] = min(_time(lambda: Dispatcher(disp.py_func)._compile(list(types)))
                                 for _ in range(repeat))
        print(json.dumps(rec), flush=True)


MIN_SECONDS = 0.5        # vgpu's launches are repeated until they took this long (at least --repeat, at most 200)
WARM_SECONDS = 1.5       # vgpu's launches before the timed ones: the executor 'auto' translates a kernel once
                         # interpreting it took AUTO_PAYBACK_SECONDS (docs/executor.md), as a JIT warms up


def _timed(fn) -> tuple[float, float]:
    """(wall seconds, CPU seconds of this process) of one call."""
    t0, c0 = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t0, time.process_time() - c0


def _time(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def run(mode: str, repeat: int) -> dict:
    env = dict(os.environ)
    env.pop("NUMBA_ENABLE_CUDASIM", None)
    r = subprocess.run([sys.executable, __file__, "--mode", mode, "--repeat", str(repeat)], env=env,
                       capture_output=True, text=True, timeout=3600)
    if r.returncode != 0:
        print(f"({mode} run failed: {r.stderr.strip().splitlines()[-1:]})")
        return {}
    return {d["kernel"]: d for d in map(json.loads, filter(lambda s: s.startswith("{"), r.stdout.splitlines()))}


def main() -> int:
    repeat = int(sys.argv[sys.argv.index("--repeat") + 1]) if "--repeat" in sys.argv else 3
    if MODE:
        child(repeat)
        return 0
    vg = run("vgpu", repeat)
    sim = run("sim", 1)
    print(f"{'kernel':12s} {'vgpu thr/s':>12s} {'cpu thr/s':>12s} {'numba-sim thr/s':>16s} {'ratio':>9s} "
          f"{'compile s':>10s}  ok")
    good = True
    for name, d in vg.items():
        rate = d["threads"] / d["seconds"]
        s = sim.get(name)
        srate = s["threads"] / s["seconds"] if s else None
        ratio = f"{rate / srate:8.0f}x" if srate else "      n/a"
        print(f"{name:12s} {rate:12.3g} {d['threads'] / max(d['cpu'], 1e-9):12.3g} "
              f"{srate if srate else float('nan'):16.3g} {ratio} {d['compile']:10.3f}  {'yes' if d['ok'] else 'NO'}")
        good &= d["ok"] and d["compile"] < 0.3 and (srate is None or rate / srate >= 1000)
    print("targets: >= 1,000x the simulator's threads/s, compile < 0.3 s:", "met" if good else "NOT met")
    return 0 if vg else 1


if __name__ == "__main__":
    sys.exit(main())
