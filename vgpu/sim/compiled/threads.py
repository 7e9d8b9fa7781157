"""A compiled launch on several threads of this process.

In:  `plan(...)`: the chunks of a launch; `run_chunks(natives, blocks, wave, chunks, split)` with
     one `runtime._Native` per thread (each its own registers, shared and local memory, counters and
     undo log; global memory is the device's, shared by all).
Out: run_chunks returns (the counts of the chunks that ran, in the chunk loop's layout: a native's
     `cwords` counts words, then waves, barriers and atomics (`_Native.add_total`); the natives of
     the threads that ran chunks, this thread's first; the chunks, block ranges [s, e) from `plan`, that did not run
     natively: one bailed out (and was undone) or came after the stop; the threads' seconds in
     chunks in all; how many runs bailed out).

N threads run N waves' native code on N cores at once, with no process start-up, no messages and no
copies, and no Python between chunks: each thread runs the kernel's chunk loop (chunks.py) in one
native call, on the threads of `pool.py`, which wait for launches in native code.  Chunks of a few
waves (or, in a launch of few waves, parts of a wave: runs of consecutive blocks, each with its
share of the wave's watchdog budget) are handed out in order from a shared counter, so every thread
stays busy however uneven the waves are.  When a chunk bails out (a fault, anything only the
interpreter reproduces) the threads stop taking chunks and the caller runs every chunk that did
not finish in order, as the one-thread path does (so the
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
in a copy of its own, folded into memory (atomically, element by element) when a chunk finishes
and dropped when it bails out; any other access to that allocation bails out (memops' allocation
search refuses it) and the kernel is not privatized again.  Other kernels with global atomics run on several
threads only once a launch showed them rare (at most ATOMIC_SHARE_MAX per thread instruction, e.g.
one counter update per block); kernels with atomics on generic addresses stay on one thread.  A
launch that the kernel's last launch says takes under MIN_SECONDS on one thread stays there too.
"""
from __future__ import annotations

import functools
import time

import numpy as np

from ...isa import spec
from .chunks import (BEGIN, END, D_BLOCKS, D_BLOCKS_DONE, D_CHUNKS, D_CLOCK, D_CLOCK_ID, D_CTX, D_CWORDS, D_DONE, D_FAILED, D_LOGR,
                     D_NCHUNKS, D_SLOT_WORDS, D_SLOTS, D_SMID, D_SPLIT, D_THREAD, D_TIME, D_WBASE, D_WORDS,
                     D_LOGCAP, D_NEXT, D_TOTAL, D_RLOGCAP, D_SELF, D_SEQ, D_STOP, D_WPB, D_WS, LOGR, identity)
from .native import aligned, libc
from .pool import SLICE_NS, pool
from .undo import undo

ATOMIC_SHARE_MAX = 1 / 128       # more atomics per thread instruction than this: one thread (contention)
MIN_SECONDS = 1e-4               # a launch expected (from the last one) to take less on one thread stays
                                 # there: a threaded launch's Python costs ~8 us more, and waking
                                 # sleeping threads (pool.py) ~20-30 us
PRIV_MAX_BYTES = 1 << 16         # atomics on larger allocations stay real atomics (spread out, they rarely
                                 # contend; folding a copy in costs its size)
LAST_CPU: list[float] = []       # each thread's seconds in chunks in the last run_chunks (benchmarks)


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


def plan(nblocks: int, wave: int, nthreads: int, per_chunk: int, block_seconds: float | None,
         split: bool = True):
    """(The chunks of a launch as block ranges [s, e), whether they split waves).  Whole waves while
    the launch has two waves per thread (splitting more cost Collatz's 8 waves 5% on 2 threads):
    chunks of about a CHUNKS_PER_THREAD-th of a thread's share, at least CHUNK_SECONDS of work by
    the last launch's measure and at most `per_chunk` waves (the undo log's room), smaller towards
    the end, down to a quarter of that (guided: the threads finish together however uneven the
    waves).  Fewer waves (down to one): each wave split
    into runs of consecutive blocks, unless `split` is False."""
    least = int(-(-CHUNK_SECONDS // block_seconds)) if block_seconds else 1       # blocks per chunk
    return _plan(nblocks, wave, nthreads, per_chunk, 1 << max(least - 1, 0).bit_length(), split)


@functools.lru_cache(maxsize=64)
def _plan(nblocks: int, wave: int, nthreads: int, per_chunk: int, least: int, split: bool):
    """plan, for `least` blocks per chunk (a power of two: launches of one kernel share plans)."""
    nwaves = -(-nblocks // wave)
    want = CHUNKS_PER_THREAD * nthreads
    if nwaves >= 2 * nthreads or least >= wave or not split:
        step = int(max(1, min(per_chunk, max(nwaves // want, -(-least // wave)))))
        tail = max(1, min(step, -(-least // (4 * wave))))  # the smallest chunk: a quarter of the least work
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
CHUNK_SECONDS = 2e-5             # the least work of a chunk (its own cost, in native code, is ~0.1 us)


def run_chunks(natives, blocks, wave: int, chunks, split: bool, progress=None):
    """Run the chunks (block ranges, `plan`) natively on len(natives) threads (this one included),
    each thread taking chunks in the kernel's native chunk loop (chunks.py) on the pool's threads
    (pool.py); see the module docstring.  split: the chunks are parts of waves: a part's counts and
    undo log are kept until every part of its wave has run, and a wave with a part that did not is
    undone whole and left to run again whole, as on one thread (its watchdog budget, its fault).
    `progress` (launch.Progress) is told the blocks done whenever this thread comes back from
    native code (every pool.SLICE_NS)."""
    n, nchunks, nat0 = len(natives), len(chunks), natives[0]
    blocks = np.ascontiguousarray(blocks, np.int64)
    rows, rows_at = _rows(chunks, wave, nat0.budget, split)
    cwords = nat0.cwords
    slot_words = cwords + 3 if split else 0
    offs = _offsets(n, nchunks, cwords, slot_words)
    kept = nat0.launch_buf
    if kept is None or kept[0] != (offs, rows_at, blocks.ctypes.data) or kept[4] is not nat0.maps:
        sl = nat0.slots(blocks)                     # (kept: computed arrays must outlive the launch)
        buf = _launch_buffer(natives, blocks, rows_at, sl[2:], nchunks, split, slot_words, offs)
        kept = nat0.launch_buf = ((offs, rows_at, blocks.ctypes.data), buf,
                                  tuple(buf[a:b] for a, b in zip(offs[:-1], offs[1:])), sl, nat0.maps)
    # (the natives of a launch are nat0 and the first of its extras, which stay: their addresses too)
    _, buf, (ctxs, wss, failed, busy, logr, done, total, who, slots), _, _ = kept
    buf[offs[2]:offs[7]] = 0                        # failed to total: this launch's
    buf[D_STOP] = buf[D_NEXT] = buf[D_SEQ] = buf[D_BLOCKS_DONE] = 0
    base = int(buf[D_SELF])
    tick = None if progress is None else (lambda: progress.blocks(int(buf[D_BLOCKS_DONE])))
    t0 = time.perf_counter()
    ck = nat0.ck
    if not pool().run(ck.chunks_addr, base, n, lambda: buf.__setitem__(D_STOP, 1), tick):
        ck.chunks(base, 0, BEGIN)                   # another launch holds the pool: all on this thread
        try:
            while ck.chunks(base, 0, time.monotonic_ns() + SLICE_NS):
                if tick is not None:
                    tick()
        finally:
            ck.chunks(base, 0, END)
    wall = time.perf_counter() - t0
    everything = buf[D_SEQ] == nchunks
    if buf[D_CLOCK]:
        cpu = (busy * 1e-9).tolist()
    else:
        cpu = [wall] * n
    LAST_CPU[:] = cpu
    if nat0.ck.atomics is None:
        ran_on = natives                            # (only Atomics.note reads them)
    else:
        took = busy > 0 if buf[D_CLOCK] else np.isin(np.arange(n), who[done > 0])
        took[0] = True                              # the threads that ran chunks (the others' sites are stale)
        took |= failed > 0
        ran_on = [nat for nat, t in zip(natives, took.tolist()) if t]
    counts = total.copy()                           # every thread's (added up by their chunk loops)
    if everything:
        if split:
            counts += slots.reshape(nchunks, slot_words).sum(0)
        return counts, ran_on, [], sum(cpu), 0
    ran = done > 0
    who[failed[failed > 0] - 1] = np.flatnonzero(failed)
    arena = nat0.glob().arena
    logs = lambda c: natives[who[c]].logged(*logr[LOGR * c:LOGR * c + LOGR])      # noqa: E731
    for t in np.flatnonzero(failed):                # the bailed-out runs, from where each began
        undo(arena, *logs(int(failed[t]) - 1))
        nat = natives[t]
        if nat.priv is not None:                    # its privatized copy, not folded: dropped
            nat.priv[2].view(nat.priv[1][1]).fill(identity(nat.priv[1]))
            nat.priv_refused |= nat.refused()
    left = [chunks[c] for c in np.flatnonzero(~ran)]
    if split:
        part_wave = rows[:, 0] // wave
        broken = sorted({int(part_wave[c]) for c in np.flatnonzero(~ran)})
        gone = np.isin(part_wave, broken) & ran
        for c in np.flatnonzero(gone)[np.argsort(-done[gone])]:      # undone whole: latest part first
            undo(arena, *logs(c))
        keep = ran & ~gone
        counts += slots.reshape(nchunks, slot_words)[keep].sum(0)
        left = [(w * wave, min((w + 1) * wave, len(blocks))) for w in broken]
    return counts, ran_on, left, sum(cpu), int(np.count_nonzero(failed))


def _launch_buffer(natives, blocks, rows_at: int, maps, nchunks: int, split: bool, slot_words: int, offs) -> np.ndarray:
    """A launch's buffer: the descriptor (chunks.py; D_SELF: its own address) and its arrays (`_offsets`)."""
    nat0 = natives[0]
    buf = aligned(offs[-1])
    base = buf.ctypes.data
    at = [base + 8 * o for o in offs]
    buf[offs[0]:offs[2]] = [nat.ptrs[0] for nat in natives] + [nat.ptrs[1] for nat in natives]
    smid_ptr, wbase_ptr = maps
    clock, clock_id = _clock()
    for word, v in ((D_BLOCKS, blocks.ctypes.data), (D_CHUNKS, rows_at), (D_NCHUNKS, nchunks), (D_SPLIT, int(split)),
                    (D_WPB, nat0.wpb), (D_SMID, smid_ptr), (D_WBASE, wbase_ptr), (D_CTX, at[0]), (D_WS, at[1]),
                    (D_FAILED, at[2]), (D_TIME, at[3]), (D_LOGR, at[4]), (D_DONE, at[5]), (D_TOTAL, at[6]),
                    (D_THREAD, at[7]), (D_SLOTS, at[8]), (D_SLOT_WORDS, slot_words), (D_CWORDS, nat0.cwords), (D_CLOCK, clock),
                    (D_CLOCK_ID, clock_id), (D_SELF, base), (D_LOGCAP, nat0.caps[0]), (D_RLOGCAP, nat0.caps[1])):
        buf[word] = v
    return buf


@functools.lru_cache(maxsize=64)
def _offsets(n: int, nchunks: int, cwords: int, slot_words: int) -> tuple:
    """Where a launch's buffer holds the descriptor (chunks.py) and its arrays: per thread the ctx and
    warp-state addresses, the failed chunk and its nanoseconds in chunks; per chunk its log range
    (LOGR words) and done rank; the threads' total counts; per chunk its thread and counts slot
    (split launches); the last item is the size.  (Zeroed per launch: failed chunks to the total.)"""
    sizes = (D_WORDS, n, n, n, n, LOGR * nchunks, nchunks, cwords + 3, nchunks, slot_words * nchunks)
    return tuple(int(x) for x in np.cumsum(sizes))


@functools.lru_cache(maxsize=64)
def _rows(chunks, wave: int, budget: int, split: bool) -> tuple[np.ndarray, int]:
    """The chunk rows of a plan's chunks (chunks.ROW: first block, blocks, blocks per watchdog period,
    budget, waves starting among them), for a launch of blocks 0, 1, ...: a part of a wave gets its
    share of the wave's budget."""
    se = np.array(chunks, np.int64).reshape(-1, 2)
    s, n = se[:, 0], se[:, 1] - se[:, 0]
    waves = -(-(s + n) // wave) + (-s // wave)
    if split:
        period = np.maximum(n, 1)
        share = (budget // wave) * n + (budget % wave) * n // wave      # budget * n // wave, in int64
    else:
        period, share = np.full_like(n, wave), np.full_like(n, budget)
    rows = np.ascontiguousarray(np.stack([s, n, period, share, waves], 1))
    rows.flags.writeable = False
    return rows, rows.ctypes.data


@functools.lru_cache(maxsize=1)
def _clock() -> tuple[int, int]:
    """(The address of the C library's clock_gettime, CLOCK_MONOTONIC) to time chunks; (0, 0) without."""
    addr = libc("clock_gettime")
    return (addr, time.CLOCK_MONOTONIC) if addr and hasattr(time, "CLOCK_MONOTONIC") else (0, 0)
