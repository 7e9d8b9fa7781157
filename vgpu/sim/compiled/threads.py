"""A compiled launch on several threads of this process.

In:  `run_chunks(natives, blocks, wave, nwaves, per_chunk, new_result)` with one `runtime._Native` per
     thread (each its own registers, shared and local memory, counters and undo log; global memory is
     the device's, shared by all).
Out: run_chunks returns (the per-thread results, to merge; the chunks, as (first wave, waves), that
     did not run natively: one bailed out (and was undone) or came after the stop).

The native code releases the GIL (a ctypes call), so N threads run N waves' native code on N cores
at once, with no process start-up, no messages and no copies.  Chunks of a few waves are handed out
in order from a shared counter, so every thread stays busy however uneven the waves are.  When a
chunk bails out (a fault, anything only the interpreter reproduces) the threads stop taking chunks
and the caller runs every chunk that did not finish in order, as the one-thread path does (so the
fault reported is the interpreter's; as with SM worker processes, later waves that already ran may
have written memory).  Race-free kernels give the same bytes and counters as one thread: per wave
nothing changes, and the counters are sums.  Global atomics (the compiled executor runs only those
whose result does not depend on the order: integer add, and, or, xor, min, max with the old value
unused) are real atomics while threads run (`ctx[C_MT]`), so no update is lost and the final value
is the one-thread value; a bail-out's undo takes an add or xor back (subtracts or xors its operand)
instead of restoring an old value that other threads have since changed, and leaves the others
alone (doing an and, or, min or max a second time when the chunk reruns changes nothing).  Undo
waits until every thread has stopped.  Atomics on a few counters from every thread (a histogram)
contend for the same cache lines, and two threads are then slower than one: a kernel with global
atomics runs on one thread at first and on several only once a launch showed them rare (at most
ATOMIC_SHARE_MAX per thread instruction, e.g. one counter update per block).
"""
from __future__ import annotations

import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from ...isa import spec

_pool: list = []                 # [ThreadPoolExecutor, its size]
ATOMIC_SHARE_MAX = 1 / 128       # more atomics per thread instruction than this: one thread (contention)


def global_atomics(code) -> bool:
    """Whether the kernel has an atomic on global memory."""
    return any(spec.family(ins).machine == "atomic" and "shared" not in ins.mods for ins in code.instrs)


def note_atomics(ck, result) -> None:
    """Record a launch's atomics (the stats count shared ones too) per thread instruction on the
    CompiledKernel (ck.atomic_share): the next launch runs on threads only if they are rare enough."""
    if ck.global_atomics:
        st = result.stats
        ck.atomic_share = st.get("atomics", 0) / max(st.get("thread_instructions", 0), 1)
LAST_CPU: list[float] = []       # CPU seconds of each thread in the last run_chunks (benchmarks)


def _executor(n: int) -> ThreadPoolExecutor:
    if not _pool or _pool[1] < n:
        if _pool:
            _pool[0].shutdown(wait=False)
        _pool[:] = [ThreadPoolExecutor(max_workers=n, thread_name_prefix="vgpu-compiled"), n]
    return _pool[0]


def run_chunks(natives, blocks, wave: int, nwaves: int, per_chunk: int, new_result):
    """Run the waves natively on len(natives) threads (this one included), chunks of at most
    `per_chunk` waves, at least about two per thread; see the module docstring."""
    nthreads = len(natives)
    step = max(1, min(per_chunk, nwaves // (2 * nthreads)))
    nchunks = -(-nwaves // step)
    counter = itertools.count()
    stop = threading.Event()
    done: set[int] = set()
    parts = [new_result() for _ in natives]
    cpu = [0.0] * nthreads

    def work(t: int) -> None:
        c0 = time.thread_time()
        try:
            loop(t)
        finally:
            cpu[t] = time.thread_time() - c0

    def loop(t: int) -> None:
        nat, part = natives[t], parts[t]
        while not stop.is_set():
            c = next(counter)                       # atomic under the GIL
            if c >= nchunks:
                return
            i = c * step
            n = min(step, nwaves - i)
            if nat.run(blocks[i * wave:(i + n) * wave], part, log=True, threads=True) != 0:
                stop.set()                          # undone below, once no thread runs; the caller reruns it
                return
            done.add(c)

    futures = [_executor(nthreads - 1).submit(work, t) for t in range(1, nthreads)]
    try:
        work(0)
    except BaseException:
        stop.set()
        raise
    finally:
        for f in futures:
            f.result()
        for nat in natives:
            nat.undo_pending()
    LAST_CPU[:] = cpu
    left = [(c * step, min(step, nwaves - c * step)) for c in range(nchunks) if c not in done]
    return parts, left
