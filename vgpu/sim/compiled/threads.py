"""A compiled launch on several threads of this process.

In:  `plan(...)`: the chunks of a launch; `run_chunks(natives, blocks, wave, chunks, split, counts)` with
     one `runtime._Native` per thread (each its own registers, shared and local memory, counters and
     undo log; global memory is the device's, shared by all) and `counts(native)`, a copy of a
     native's counts (`runtime.Counts`; a native's counts add up over its runs since its clear()).
Out: run_chunks returns (the per-thread Counts, to add to the launch's result; the chunks, block
     ranges [s, e) from `plan`, that did not run natively: one bailed out (and was undone) or came
     after the stop; the threads' CPU seconds in all).

The native code releases the GIL (a ctypes call), so N threads run N waves' native code on N cores
at once, with no process start-up, no messages and no copies.  Chunks of a few waves (or, in a
launch of few waves, parts of a wave: runs of consecutive blocks, each with its share of the wave's
watchdog budget) are handed out in order from a shared counter, so every thread stays busy however
uneven the waves are; the threads are a crew kept between launches (`_Crew`).  When a chunk bails
out (a fault, anything only the interpreter reproduces) the threads stop taking chunks and the
caller runs every chunk that did not finish in order, as the one-thread path does (so the
fault reported is the interpreter's; as with SM worker processes, later waves that already ran may
have written memory).  Race-free kernels give the same bytes and counters as one thread: per wave
nothing changes, and the counters are sums.  Global atomics (the compiled executor runs only those
whose result does not depend on the order: integer add, and, or, xor, min, max with the old value
unused) are real atomics while threads run (`ctx[C_MT]`), so no update is lost and the final value
is the one-thread value; a bail-out's undo takes an add or xor back (subtracts or xors its operand)
instead of restoring an old value that other threads have since changed, and leaves the others
alone (doing an and, or, min or max a second time when the chunk reruns changes nothing).  Undo
waits until every thread has stopped.  Atomics on a few counters from every thread (a histogram)
would contend for the same cache lines, so once a launch showed that the kernel's atomics (one op,
one type) all hit one small allocation, threads privatize it (`Atomics`): each does those atomics
in a copy of its own, folded into memory (op by op, under a lock) when a chunk finishes and dropped
when it bails out; any other access to that allocation bails out (memops' allocation search refuses
it) and the kernel is not privatized again.  Other kernels with global atomics run on several
threads only once a launch showed them rare (at most ATOMIC_SHARE_MAX per thread instruction, e.g.
one counter update per block); kernels with atomics on generic addresses stay on one thread.  A
launch that the kernel's last launch says takes under MIN_SECONDS on one thread stays there too.
"""
from __future__ import annotations

import functools
import itertools
import os
import threading
import time

import numpy as np

from ...isa import spec
from .undo import undo

ATOMIC_SHARE_MAX = 1 / 128       # more atomics per thread instruction than this: one thread (contention)
MIN_SECONDS = 3e-4               # a launch expected (from the last one) to take less on one thread stays
                                 # there: waking threads and gathering their counts costs ~25 us more
PRIV_MAX_BYTES = 1 << 16         # atomics on larger allocations stay real atomics (spread out, they rarely
                                 # contend; folding a copy in costs its size)
LAST_CPU: list[float] = []       # CPU seconds of each thread in the last run_chunks (benchmarks)
_merge = threading.Lock()        # folding privatized copies into memory


class Atomics:
    """What threads need to know of a kernel's atomics on global memory (`of(code)`; None: it has
    none): `pcs` (their pcs), `generic` (some take a generic address: those run on one thread),
    `kind` ((op, numpy dtype) when all share one op and type, else None: no privatization),
    `share` (atomics per thread instruction in the last launch) and `priv` (the allocation (lo, hi)
    the last launch's atomics all hit, small enough to privatize; None: none)."""

    def __init__(self, pcs, generic: bool, kind):
        self.pcs, self.generic, self.kind = pcs, generic, kind
        self.share: float | None = None
        self.priv: tuple[int, int] | None = None
        self.priv_failed = False          # a privatized launch bailed out: never privatize again

    @staticmethod
    def of(code) -> "Atomics | None":
        pcs, kinds, generic = [], set(), False
        for pc, ins in enumerate(code.instrs):
            fam = spec.family(ins)
            if fam.machine != "atomic" or "shared" in ins.mods:
                continue
            pcs.append(pc)
            generic |= "global" not in ins.mods
            op, t = next(x for x in ins.mods if x in fam.sem), ins.types[0]
            signed = t[0] == "s" and op in ("min", "max")
            kinds.add((op, np.dtype(f"{'i' if signed else 'u'}{spec.type_bits(t) // 8}")))
        if not pcs:
            return None
        return Atomics(np.array(pcs, np.int64), generic, kinds.pop() if len(kinds) == 1 else None)

    def threads_ok(self) -> bool:
        """Whether a launch may run on several threads: privatized, or atomics rare enough."""
        if self.generic:
            return False
        if self.kind is not None and self.priv is not None and not self.priv_failed:
            return True
        return self.share is not None and self.share <= ATOMIC_SHARE_MAX

    def note(self, result, natives, priv) -> None:
        """After a launch: its atomics per thread instruction (the stats count shared ones too) and the
        allocation its atomics hit (natives' SITES at the atomic pcs, memops.note_site)."""
        st = result.stats
        self.share = st.get("atomics", 0) / max(st.get("thread_instructions", 0), 1)
        seen = set()
        for nat in natives:
            lo, hi = nat.sites[2 * self.pcs], nat.sites[2 * self.pcs + 1]
            seen |= {(int(a), int(b)) for a, b in zip(lo, hi) if a != 0}
        if not seen and priv is not None:         # every atomic went to the privatized copies
            seen = {priv}
        one = next(iter(seen)) if len(seen) == 1 else None
        small = one is not None and one[0] > 0 and one[0] % 8 == 0 and one[1] - one[0] <= PRIV_MAX_BYTES
        self.priv = one if small else None


def identity(kind) -> np.ndarray:
    """The value a privatized copy starts from: op(identity, x) == x."""
    op, dt = kind
    if op in ("add", "or", "xor"):
        return np.zeros((), dt)
    if op == "and":
        return np.array(-1).astype(dt)
    info = np.iinfo(dt)
    return np.array(info.max if op == "min" else info.min, dt)


MERGE = {"add": np.add, "or": np.bitwise_or, "xor": np.bitwise_xor, "and": np.bitwise_and,
         "min": np.minimum, "max": np.maximum}


def merge_private(arena, lo: int, copy: np.ndarray, kind, base: int) -> None:
    """Fold a thread's privatized copy of global [lo, lo + copy.nbytes) into the arena (op by op:
    add, or, xor, and, min, max commute, so the order of the threads does not matter) and reset it."""
    op, dt = kind
    mine = copy.view(dt)
    with _merge:
        whole = arena[lo - base:lo - base + mine.nbytes].view(dt)
        MERGE[op](whole, mine, out=whole)
    mine.fill(identity(kind))


class _Crew:
    """Threads kept for threaded launches.  `run(fn, n)` calls fn(1), ..., fn(n - 1) on them and fn(0)
    on the calling thread, returns once all have returned and re-raises the first exception.  A
    lock per thread wakes it (a few microseconds, where a pool's submit took ~15; but a wake is a
    system call made holding the GIL, ~10 us on a virtual machine): the calling thread wakes thread
    1 and starts its own work, and thread t wakes threads 2t and 2t + 1 before starting its own, so
    the wakes spread over the crew (a tree) instead of delaying the caller by one wake per thread.
    One launch at a time: a launch from another thread meanwhile runs fn(0) .. fn(n - 1) on its own
    thread."""

    def __init__(self):
        self.busy = threading.Lock()
        self.go: list = []
        self.done: list = []
        self.fn = None
        self.n = 0
        self.errors: list = []

    def _grow(self, n: int) -> None:
        while len(self.go) < n:
            go, done = threading.Lock(), threading.Lock()
            go.acquire()
            done.acquire()
            i = len(self.go)
            self.go.append(go)
            self.done.append(done)
            threading.Thread(target=self._loop, args=(i + 1, go, done), daemon=True,
                             name=f"vgpu-compiled-{i + 1}").start()

    def _wake(self, t: int) -> None:
        """Wake thread t (1, 2, ...) if this launch uses it."""
        if t < self.n:
            self.go[t - 1].release()

    def _loop(self, t: int, go, done) -> None:
        while True:
            go.acquire()
            try:
                self._wake(2 * t)
                self._wake(2 * t + 1)
                self.fn(t)
            except BaseException as e:       # noqa: BLE001 - handed to the launching thread
                self.errors.append(e)
            finally:
                done.release()

    def run(self, fn, n: int) -> None:
        if not self.busy.acquire(blocking=False):
            for t in range(n):
                fn(t)
            return
        try:
            self._grow(n - 1)
            self.fn, self.n, self.errors = fn, n, []
            self._wake(1)
            try:
                fn(0)
            finally:
                for t in range(n - 1):
                    self.done[t].acquire()
            if self.errors:
                raise self.errors[0]
        finally:
            self.fn = None
            self.busy.release()


_crew = _Crew()
os.register_at_fork(after_in_child=_crew.__init__)      # a forked child has none of the threads


def plan(nblocks: int, wave: int, nthreads: int, per_chunk: int, block_seconds: float | None,
         split: bool = True):
    """(The chunks of a launch as block ranges [s, e), whether they split waves).  Whole waves while
    the launch has two waves per thread (splitting more cost Collatz's 8 waves 5% on 2 threads):
    chunks of about a CHUNKS_PER_THREAD-th of a thread's share, at least CHUNK_SECONDS of work by
    the last launch's measure (the Python around a chunk costs ~2 us; with many threads, at least
    threads x GIL_SECONDS, so that the threads seldom wait for the GIL) and at most `per_chunk`
    waves (the undo log's room), smaller towards the end, down to a quarter of that (guided: the
    threads finish together however uneven the waves).  Fewer waves (down to one): each wave split
    into runs of consecutive blocks, unless `split` is False."""
    seconds = max(CHUNK_SECONDS, nthreads * GIL_SECONDS)      # many threads: the GIL-held part stays small
    least = int(-(-seconds // block_seconds)) if block_seconds else 1       # blocks per chunk
    return _plan(nblocks, wave, nthreads, per_chunk, 1 << max(least - 1, 0).bit_length(), split)


@functools.lru_cache(maxsize=64)
def _plan(nblocks: int, wave: int, nthreads: int, per_chunk: int, least: int, split: bool):
    """plan, for `least` blocks per chunk (a power of two: launches of one kernel share plans)."""
    nwaves = -(-nblocks // wave)
    want = CHUNKS_PER_THREAD * nthreads
    if nwaves >= 2 * nthreads or least >= wave or not split:
        step = int(max(1, min(per_chunk, max(nwaves // want, -(-least // wave)))))
        tail = max(1, -(-least // (4 * wave)))            # the smallest chunk: a quarter of the least work
        out, s = [], 0
        while s < nwaves:
            n = min(nwaves - s, max(tail, min(step, -(-(nwaves - s) // (2 * nthreads)))))
            out.append((s * wave, min((s + n) * wave, nblocks)))
            s += n
        return tuple(out), False
    part = int(max(least, -(-wave // -(-want // nwaves))))
    return tuple((s, min(s + part, w + wave, nblocks)) for w in range(0, nblocks, wave)
                 for s in range(w, min(w + wave, nblocks), part)), True


CHUNKS_PER_THREAD = 4
CHUNK_SECONDS = 5e-5
GIL_SECONDS = 4e-6               # twice the Python (GIL held) around one chunk: a chunk is >= threads times this


def run_chunks(natives, blocks, wave: int, chunks, split: bool, counts):
    """Run the chunks (block ranges, `plan`) natively on len(natives) threads (this one included);
    see the module docstring.  split: the chunks are parts of waves: a part's counts and undo log are
    kept until every part of its wave has run, and a wave with a part that did not is undone whole
    and left to run again whole, as on one thread (its watchdog budget, its fault)."""
    nthreads = len(natives)
    nchunks = len(chunks)
    counter = itertools.count()
    stop = threading.Event()
    done: set[int] = set()
    kept: dict[int, list] = {}                     # split waves: wave -> [(its part's Counts, undo logs)]
    cpu = [0.0] * nthreads
    for nat in natives:
        nat.on_threads(True)
        nat.clear()

    def loop(t: int) -> None:
        nat = natives[t]
        while not stop.is_set():
            c = next(counter)                       # atomic under the GIL
            if c >= nchunks:
                return
            s, e = chunks[c]
            if nat.call(blocks[s:e], log=True, part=split) != 0:
                stop.set()                          # undone below, once no thread runs; the caller reruns it
                return
            if split:                               # the part's own counts, kept with its undo log
                kept.setdefault(s // wave, []).append((counts(nat), nat.logged()))
                nat.clear()
            done.add(c)

    def body(t: int) -> None:
        c0 = time.thread_time()
        try:
            loop(t)
        except BaseException:
            stop.set()                              # the others stop too; re-raised by the crew
            raise
        finally:
            cpu[t] = time.thread_time() - c0

    try:
        _crew.run(body, nthreads)
    finally:
        for nat in natives:
            nat.undo_pending()
            nat.on_threads(False)
    parts = [counts(nat) for nat in natives]
    LAST_CPU[:] = cpu
    left = [chunks[c] for c in range(nchunks) if c not in done]
    if split:
        broken = {s // wave for s, _ in left}
        arena = natives[0].glob().arena
        for w, items in kept.items():
            if w in broken:                         # undone whole, its finished parts too
                for _, logs in reversed(items):
                    undo(arena, *logs)
            else:
                for one, _ in items:
                    parts[0].merge(one)
        left = [(w * wave, min((w + 1) * wave, len(blocks))) for w in sorted(broken)]
    return parts, left, sum(cpu)
