"""Simulator throughput: the benchmark kernels on vgpu, and (when numba is available) in Numba's
CUDA simulator for comparison.

    python benchmarks/run.py [--numba-python PATH] [--only NAME ...] [--sms N] [--repeat N]
                             [--executor interp|compiled|auto|both]
    python benchmarks/run.py --workers [--repeat N]
    python benchmarks/run.py --threads N [--big] [--repeat N]
    python benchmarks/run.py --checks [--baseline benchmarks/baseline.json] [--record FILE]

Prints per kernel and executor (--executor, default both: the numpy interpreter and the compiled
executor, docs/executor.md): seconds of the launch (wall) and CPU seconds of this process,
simulated threads/s, simulated thread-instructions/s (active threads per executed instruction),
both from the wall seconds, the ratio of vgpu's threads/s to Numba's, and numpy doing the same work
on the same data (NUMPY: np.add, a multiply and an add, bincount, A @ B with BLAS, a sum per 512
elements, Collatz on the still-running elements) in threads/s, with vgpu's rate over numpy's.  Every result is checked
against numpy.  vector_add, matmul 64, reduce and collatz mirror benchmarks/numba_sim.py (saxpy and
the global-atomic histogram have no Numba figure).  A compiled launch's first run (translation)
is not counted: each kernel runs once before it is timed.

--workers instead compares SM worker processes (vgpu.sim.pool): compute-heavy launches (tiled
matmul 512x512, the divergent Collatz kernel) with workers=0, 1 and 2 (best of --repeat: wall
seconds, CPU seconds of this process and its workers, speedup of 2 workers over 1, identical
bytes), and the launch overhead of a tiny kernel (1 block of 32 threads) with the pool warm.

--threads N compares the compiled executor on one thread (workers=0) and on N threads (workers=N,
vgpu/sim/compiled/threads.py), the modes taking turns in bursts of three launches: best wall time of
the launch itself, CPU time of the process on one thread and the threads' time in native chunks (all,
and the busiest thread's), the speedup on wall time and on idle cores (the one-thread wall time over
the busiest thread's time), identical bytes and
counters, and what ran the N-thread launch (LaunchResult.ran_on: its threads, privatized atomics);
--big at the many-core sizes.  Last, as a reference for the streaming kernels, how much
numpy's own np.add of vector_add's floats gains split into N parts on N threads of this machine.

--checks also runs each kernel under each sanitizer (docs/sanitizers.md) and prints the slowdown
factors; --baseline FILE compares the unchecked seconds with a file that --record FILE wrote (the
committed benchmarks/baseline.json was recorded before the sanitizers and tracer were added).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time
from pathlib import Path

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):    # before numpy: BLAS on one
    os.environ.setdefault(_var, "1")      # core, as vgpu's in-process figures; and no BLAS threads left spinning
import numpy as np  # noqa: E402

from vgpu.pipeline import compile_source
from vgpu.sim import SimDevice
from vgpu.sim.launch import encode_params
from vgpu.sim import CHECKS

KERNELS = r"""
#define TILE 16
#define BLOCK 256

__global__ void vector_add(const float *a, const float *b, float *c, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) c[i] = a[i] + b[i];
}

__global__ void saxpy(float a, const float *x, float *y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

__global__ void histogram(const unsigned *x, unsigned *bins, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) atomicAdd(&bins[x[i] & 255], 1u);
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


def params(mod, kernel: str, values) -> bytes:
    """The kernel's packed .param bytes for `values` (as vgpu.runtime packs them)."""
    return encode_params(kernel, mod.kernel(kernel).code.params, values)


def collatz_ref(start):
    out = np.zeros(start.size, np.int32)
    for k, x in enumerate(start.tolist()):
        s = 0
        while x > 1 and s < 1000:
            x = x // 2 if x % 2 == 0 else (3 * x + 1) & 0xFFFFFFFF
            s += 1
        out[k] = s
    return out


def collatz_numpy(start):
    """collatz_ref with numpy: the still-running elements as one array per step."""
    x, s = start.astype(np.uint32), np.zeros(start.size, np.int32)
    act = np.flatnonzero(x > 1)
    while act.size:
        xa = x[act]
        xa = np.where(xa & 1, xa * np.uint32(3) + np.uint32(1), xa >> 1)
        x[act] = xa
        s[act] += 1
        act = act[(xa > 1) & (s[act] < 1000)]
    return s


NUMPY: dict = {}     # kernel -> the same work done with numpy on the same data (filled by cases)


def cases(dev, mod, rng, big: bool = False):
    """(name, threads, launch, check) for each benchmark; NUMPY[name] does its work with numpy.
    big: the sizes of the issue's many-core figures (2^22 elements, matmul 512, Collatz 2^18)."""
    n = 1 << (22 if big else 20)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c, t = np.empty_like(a), np.empty_like(a)
    NUMPY["vector_add"] = lambda: np.add(a, b, out=c)
    pa, pb, pc = _put(dev, a), _put(dev, b), _put(dev, np.zeros(n, np.float32))
    yield ("vector_add", n, lambda **kw: dev.launch(mod, "vector_add", params(mod, "vector_add", [pa, pb, pc, n]),
                                                   grid=n // 256, block=256, **kw),
           lambda: np.array_equal(_get(dev, pc, np.float32, n), a + b))
    y = rng.random(n, dtype=np.float32)
    py = _put(dev, y)
    NUMPY["saxpy"] = lambda: np.add(np.multiply(np.float32(2.5), a, out=t), y, out=c)
    saxpy = params(mod, "saxpy", [2.5, pa, py, n])

    def run_saxpy(**kw):
        dev.write(py, y)
        return dev.launch(mod, "saxpy", saxpy, grid=n // 256, block=256, **kw)
    yield ("saxpy", n, run_saxpy, lambda: np.array_equal(_get(dev, py, np.float32, n), np.float32(2.5) * a + y))
    hx = rng.integers(0, 1 << 32, n, dtype=np.uint32)
    phx, pbins = _put(dev, hx), _put(dev, np.zeros(256, np.uint32))
    NUMPY["histogram"] = lambda: np.bincount(hx & 255, minlength=256)
    hist = params(mod, "histogram", [phx, pbins, n])

    def run_hist(**kw):
        dev.memset(pbins, 0, 1024)
        return dev.launch(mod, "histogram", hist, grid=n // 256, block=256, **kw)
    yield ("histogram", n, run_hist,
           lambda: np.array_equal(_get(dev, pbins, np.uint32, 256), np.bincount(hx & 255, minlength=256)))
    m = 512 if big else 256
    A, B = rng.random((m, m), dtype=np.float32), rng.random((m, m), dtype=np.float32)
    pA, pB, pC = _put(dev, A), _put(dev, B), _put(dev, np.zeros(m * m, np.float32))
    NUMPY["matmul"] = lambda: A @ B
    yield ("matmul", m * m, lambda **kw: dev.launch(mod, "matmul", params(mod, "matmul", [pA, pB, pC, m]), grid=(m // 16, m // 16),
                                                    block=(16, 16), **kw),
           lambda: np.allclose(_get(dev, pC, np.float32, m * m).reshape(m, m), A @ B, rtol=1e-4))
    # the size Numba's simulator runs (a thread's work grows with the matrix: rates compare at one size)
    A64, B64 = rng.random((64, 64), dtype=np.float32), rng.random((64, 64), dtype=np.float32)
    qA, qB, qC = _put(dev, A64), _put(dev, B64), _put(dev, np.zeros(64 * 64, np.float32))
    NUMPY["matmul 64"] = lambda: A64 @ B64
    yield ("matmul 64", 64 * 64, lambda **kw: dev.launch(mod, "matmul", params(mod, "matmul", [qA, qB, qC, 64]),
                                                         grid=(4, 4), block=(16, 16), **kw),
           lambda: np.allclose(_get(dev, qC, np.float32, 64 * 64).reshape(64, 64), A64 @ B64, rtol=1e-4))
    r = 1 << (22 if big else 20)
    x = rng.random(r, dtype=np.float32)
    px, pp = _put(dev, x), _put(dev, np.zeros(r // 512, np.float32))
    NUMPY["reduce"] = lambda: x.reshape(-1, 512).sum(1)
    yield ("reduce", r // 2, lambda **kw: dev.launch(mod, "reduce", params(mod, "reduce", [px, pp, r]), grid=r // 512, block=256, **kw),
           lambda: np.isclose(_get(dev, pp, np.float32, r // 512).sum(dtype=np.float64), x.sum(dtype=np.float64),
                              rtol=1e-5))
    k = 1 << (18 if big else 16)
    st = rng.integers(1, 100_000, k).astype(np.uint32)
    ps, po = _put(dev, st), _put(dev, np.zeros(k, np.int32))
    NUMPY["collatz"] = lambda: collatz_numpy(st)
    yield ("collatz", k, lambda **kw: dev.launch(mod, "collatz", params(mod, "collatz", [ps, po, k]), grid=k // 256, block=256, **kw),
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


def _best_seconds(fn, repeat: int) -> float:
    """The fastest of `repeat` calls of fn (after one warm-up call)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def cpu_seconds(pids) -> list[float]:
    """User + system CPU seconds of this process, then of each process in `pids` (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = [time.process_time()]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            out.append((int(fields[11]) + int(fields[12])) / tick)
        except (OSError, IndexError, ValueError):
            out.append(0.0)
    return out


def compiled_threads_comparison(repeat: int, workers: int = 2, big: bool = False) -> bool:
    """The kernels on the compiled executor with workers=0 and `workers` (threads of this process,
    vgpu/sim/compiled/threads.py), the modes taking turns in bursts of three launches (each device's
    data warm in the cache; after a burst on threads, their spin runs out before the next burst, so
    that it does not compete with one thread's launches): best wall time; CPU time of the process on
    one thread, and the threads' time in native chunks (all, and the busiest thread's); the speedups,
    identical bytes and counters."""
    from vgpu.sim.compiled import pool, threads
    program = compile_source(KERNELS, "benchmarks.vk")
    modes = (0, workers)
    devs = {w: SimDevice(workers=w, echo_printf=False, executor="compiled") for w in modes}
    runs = {w: list(cases(d, d.load(program), np.random.default_rng(1), big)) for w, d in devs.items()}
    print(f"compiled executor, {os.cpu_count()} cores, best of {repeat} (load average {os.getloadavg()[0]:.1f} "
          f"at the start){', big sizes' if big else ''}")
    wn = f"w{workers}"
    print(f"{'kernel':12s} {'w0 wall':>8s} {wn + ' wall':>8s} {'w0 cpu':>8s} {wn + ' work':>8s} {'busiest':>8s} "
          f"{'wall x':>7s} {'idle-core x':>11s}  same   {wn} ran on   (milliseconds)")
    ok = True
    for i, (name, _, _, _) in enumerate(runs[0]):
        best, outs = {}, {}
        for w in modes:
            runs[w][i][2]()                                    # translation, not counted
            runs[w][i][2]()                                    # what the first launch learnt (atomics)
        for _ in range(repeat):
            for w in modes:
                launch = runs[w][i][2]
                for _ in range(3):                             # a burst: the device's data warm in the cache
                    c0 = time.process_time()
                    threads.LAST_CPU[:] = []
                    res = launch()
                    wall, cpu = res.seconds, time.process_time() - c0      # wall: the launch's own (saxpy
                    # rewrites y before each launch: its copy counts in cpu, not in wall)
                    if threads.LAST_CPU:
                        cpu, busiest = sum(threads.LAST_CPU), max(threads.LAST_CPU)
                    else:
                        busiest = cpu
                    best[w] = min(best.get(w, (wall, cpu, busiest)), (wall, cpu, busiest))
                outs[w] = (bool(runs[w][i][3]()), res.op_counts, res.stats["thread_instructions"])
                how = res.ran_on.replace("compiled executor, ", "")
                if w:
                    time.sleep(3 * pool.SPIN_SECONDS)        # the threads' spin runs out
        same = outs[0] == outs[workers] and outs[0][0]
        ok &= same
        (w0, c0, _), (w2, c2, b2) = best[0], best[workers]
        print(f"{name:12s} {w0 * 1e3:8.3f} {w2 * 1e3:8.3f} {c0 * 1e3:8.3f} {c2 * 1e3:8.3f} {b2 * 1e3:8.3f} "
              f"{w0 / w2:6.2f}x {w0 / b2:10.2f}x  "
              f"{'yes' if same else 'NO ':4s}  {how}", flush=True)
    for d in devs.values():
        d.close()
    size = 22 if big else 20
    print(f"memory reference: numpy's np.add of 2^{size} floats, split into {workers} parts on as many threads, "
          f"runs {numpy_threads_speedup(workers, repeat, 1 << size):.2f}x as fast as on one thread", flush=True)
    return ok


def numpy_threads_speedup(workers: int, repeat: int, n: int = 1 << 20) -> float:
    """How much faster numpy's np.add of n floats runs split into `workers` contiguous parts on as many
    threads (numpy releases the GIL) than whole on one: the work of vector_add, and this machine's
    ceiling for streaming kernels."""
    import threading
    rng = np.random.default_rng(0)
    a, b = rng.random(n, dtype=np.float32), rng.random(n, dtype=np.float32)
    c = np.empty_like(a)
    cuts = np.linspace(0, n, workers + 1).astype(int)
    reps = max(1, (1 << 24) // n)

    def work(s, e):
        for _ in range(reps):
            np.add(a[s:e], b[s:e], out=c[s:e])
    work(0, n)
    one = many = float("inf")
    for _ in range(max(repeat, 3)):
        t0 = time.perf_counter()
        work(0, n)
        one = min(one, time.perf_counter() - t0)
        ts = [threading.Thread(target=work, args=(int(cuts[i]), int(cuts[i + 1]))) for i in range(workers)]
        t0 = time.perf_counter()
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        many = min(many, time.perf_counter() - t0)
    return one / many


def workers_comparison(repeat: int) -> bool:
    """Wall and CPU seconds of compute-heavy launches with 0, 1 and 2 workers, the modes taking
    turns (so that load from other programs hits them alike); the tiny-launch overhead."""
    rng = np.random.default_rng(2)
    m, k = 512, 1 << 17
    A, B = rng.random((m, m), dtype=np.float32), rng.random((m, m), dtype=np.float32)
    start = rng.integers(1, 100_000, k).astype(np.uint32)
    jobs = {"matmul 512x512": ("matmul", [A, B, np.zeros(m * m, np.float32), m], (m // 16, m // 16), (16, 16)),
            "collatz 128Ki": ("collatz", [start, np.zeros(k, np.int32), k], k // 256, 256)}
    program = compile_source(KERNELS, "benchmarks.vk")
    print(f"best of {repeat}; cpu: this process and its workers; busiest: the process with the most cpu")
    print(f"{'launch':16s} {'workers':>7s} {'wall s':>8s} {'cpu s':>8s} {'busiest':>8s} {'waves':>6s}  same bytes")
    ok = True
    for label, (kernel, args, grid, block) in jobs.items():
        runs, outs = {}, {}
        devs = {w: SimDevice(workers=w, echo_printf=False, executor="interp") for w in (0, 1, 2)}
        mods = {w: d.load(program) for w, d in devs.items()}
        ptrs = {w: [_put(d, a) if isinstance(a, np.ndarray) else a for a in args] for w, d in devs.items()}
        for rep in range(repeat + 1):                    # round 0 starts the pools and is not counted
            for w, dev in devs.items():
                pids = dev.pool.pids if dev.pool else []
                c0, t0 = cpu_seconds(pids), time.perf_counter()
                res = dev.launch(mods[w], kernel, params(mods[w], kernel, ptrs[w]), grid=grid, block=block)
                wall, c1 = time.perf_counter() - t0, cpu_seconds(pids)
                cpu = [b - a for a, b in zip(c0, c1)]
                if rep:
                    runs.setdefault(w, []).append((wall, sum(cpu), max(cpu), res.stats["waves"]))
                outs[w] = (dev.read(ptrs[w][-2], args[-2].nbytes), dict(res.stats))
        for w, dev in devs.items():
            wall, cpu, busiest, waves = min(runs[w])
            same = outs[w] == outs[0]
            ok &= same
            print(f"{label:16s} {w:7d} {wall:8.3f} {cpu:8.3f} {busiest:8.3f} {waves:6d}  {'yes' if same else 'NO'}")
            dev.close()
        (w1, c1, _, _), (w2, _, b2, _) = min(runs[1]), min(runs[2])
        print(f"{label:16s} 2 workers over 1: {w1 / w2:.2f}x wall; {c1 / b2:.2f}x on idle cores "
              "(cpu with 1 worker / cpu of the busiest process with 2)", flush=True)
    ok &= compiled_threads_comparison(repeat)
    dev = SimDevice(workers=2, echo_printf=False, executor="interp")
    mod = dev.load(program)
    p = _put(dev, np.zeros(64, np.float32))
    dev.launch(mod, "vector_add", params(mod, "vector_add", [p, p, p, 64]), grid=64, block=256)  # starts the pool
    tiny = params(mod, "vector_add", [p, p, p, 32])
    for label, grid in (("tiny launch (1 block of 32 threads, in-process)", 1),
                        ("two-wave launch (256 blocks of 32 threads, on the pool)", 256)):
        times = []
        for _ in range(200):
            t0 = time.perf_counter()
            dev.launch(mod, "vector_add", tiny, grid=grid, block=32)
            times.append(time.perf_counter() - t0)
        times.sort()
        print(f"{label}, pool warm: median {times[100] * 1e3:.2f} ms, best {times[0] * 1e3:.2f} ms")
    dev.close()
    print(f"Ctrl-C of an endless launch on 2 workers: the process exits {ctrl_c_seconds():.2f} s after SIGINT")
    return ok


CTRL_C_CHILD = """
import numpy as np, vgpu
mod = vgpu.compile('__global__ void spin(int *o) { int x = 0; while (o[0] == 0) x++; o[1] = x; }')
dev = vgpu.Device(num_sms=1, workers=2, global_bytes=1 << 20, max_steps=10 ** 12, max_instructions=10 ** 15)
o = vgpu.zeros(16, np.int32, device=dev)
print("ready", flush=True)
mod.get_function("spin")(o, grid=16, block=256, device=dev)
"""


def ctrl_c_seconds() -> float:
    """Seconds from SIGINT to the exit of a process running an endless launch on the worker pool."""
    import signal
    p = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                         text=True)
    p.stdout.readline()
    time.sleep(1.0)
    t0 = time.perf_counter()
    p.send_signal(signal.SIGINT)
    p.wait(timeout=60)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--numba-python", help="an interpreter with numba installed (default: this one, if it has numba)")
    ap.add_argument("--only", nargs="*", help="kernels to run")
    ap.add_argument("--sms", type=int, default=4)
    ap.add_argument("--repeat", type=int, default=1, help="launches per kernel; the fastest counts")
    ap.add_argument("--executor", choices=("interp", "compiled", "auto", "both"), default="both",
                    help="who runs the launches (default both: the interpreter, then the compiled executor)")
    ap.add_argument("--workers", action="store_true", help="compare SM worker processes (0, 1, 2) instead")
    ap.add_argument("--threads", type=int, metavar="N",
                    help="compare the compiled executor on one thread and on N (workers=N) instead")
    ap.add_argument("--big", action="store_true", help="with --threads: 2^22 elements, matmul 512, Collatz 2^18")
    ap.add_argument("--checks", action="store_true", help="also print each sanitizer's slowdown factor")
    ap.add_argument("--baseline", help="a JSON file of unchecked seconds per kernel (--record) to compare with")
    ap.add_argument("--record", help="write the unchecked seconds per kernel to this JSON file")
    args = ap.parse_args(argv)
    if args.workers:
        return 0 if workers_comparison(max(args.repeat, 1)) else 1
    if args.threads:
        return 0 if compiled_threads_comparison(max(args.repeat, 1), args.threads, args.big) else 1
    numba = numba_rates(args.numba_python) if not args.only else {}
    print(f"{'kernel':12s} {'executor':8s} {'seconds':>8s} {'cpu s':>7s} {'threads/s':>12s} {'thread-inst/s':>14s} "
          f"{'vs numba':>9s} {'numpy thr/s':>12s} {'vs numpy':>9s}  ok")
    ok_all = True
    baseline = json.loads(Path(args.baseline).read_text()) if args.baseline else {}
    recorded = {}
    executors = ("interp", "compiled") if args.executor == "both" else (args.executor,)
    devs = {e: SimDevice(num_sms=args.sms, echo_printf=False, workers=0, executor=e) for e in executors}
    mods = {e: d.load(compile_source(KERNELS, "benchmarks.vk")) for e, d in devs.items()}
    runs = {e: list(cases(d, mods[e], np.random.default_rng(1))) for e, d in devs.items()}
    for i, (name, threads, _, _) in enumerate(runs[executors[0]]):
        if args.only and name not in args.only:
            continue
        for e in executors:
            _, _, launch, check = runs[e][i]
            if e != "interp":
                launch()                         # translation, not counted
            timed = []
            for _ in range(args.repeat):
                c0 = time.process_time()
                r = launch()
                timed.append((r.seconds, time.process_time() - c0, r))
            seconds, cpu, res = min(timed, key=lambda t: t[0])
            ok = bool(check())
            ok_all &= ok
            rate = threads / seconds
            ratio = f"{rate / numba[name]:8.0f}x" if name in numba else "        -"
            nrate = threads / _best_seconds(NUMPY[name], max(args.repeat, 3))
            print(f"{name:12s} {e:8s} {seconds:8.3f} {cpu:7.3f} {rate:12.3e} "
                  f"{res.stats['thread_instructions'] / seconds:14.3e} {ratio} {nrate:12.3e} {rate / nrate:8.3f}x  "
                  f"{'yes' if ok else 'NO'}", flush=True)
            if e == executors[0]:
                recorded[name] = seconds
        if name in baseline:
            print(f"{'':12s} baseline {baseline[name]:.3f} s: {recorded[name] / baseline[name]:.3f}x", flush=True)
        if args.checks:
            launch = runs[executors[0]][i][2]
            factors = []
            for tool in CHECKS:
                checked = min((launch(check=tool) for _ in range(args.repeat)), key=lambda r: r.seconds)
                factors.append(f"{tool} {checked.seconds / recorded[name]:.1f}x")
            print(f"{'':12s} slowdown: {', '.join(factors)}", flush=True)
    if args.record:
        Path(args.record).write_text(json.dumps(recorded, indent=1) + "\n")
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main())
