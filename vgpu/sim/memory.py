"""Device memory: the address map, global memory with its allocator, the constant bank, and the
per-wave shared and local arenas.

In:  host requests (malloc, free, read, write) and, from executing instructions, vectors of 64-bit
     generic addresses with an access size and the lanes that issued them.
Out: bytes, typed numpy views and element indices into them; or a DeviceError (OutOfBounds,
     Misaligned, UseAfterFree) naming the first faulting lane, the address and the nearest allocation.

Address map (every pointer value in a register is one of these generic addresses):

    0x0000_0000 .. 0x00FF_FFFF   invalid (null page)
    SHARED_BASE  0x0100_0000     the executing block's shared memory (static symbols, then dynamic)
    LOCAL_BASE   0x0200_0000     the executing thread's local memory (.local symbols)
    CONST_BASE   0x0300_0000     the constant bank (64 KiB): __constant__ symbols
    GLOBAL_BASE  0x1_0000_0000   global memory: __device__ symbols, then cudaMalloc-style allocations

Global memory is ONE numpy uint8 arena (which may be backed by a shared buffer, so that SM worker
processes can map it) plus an allocation table kept on the host side.  Freed memory is not handed
out again until the arena is exhausted, so a stale pointer faults as a use after free.
"""
from __future__ import annotations

import bisect

import numpy as np

from .faults import InvalidFree, Misaligned, OutOfBounds, OutOfMemory, UseAfterFree

SHARED_BASE = 0x0100_0000
LOCAL_BASE = 0x0200_0000
CONST_BASE = 0x0300_0000
GLOBAL_BASE = 0x1_0000_0000
WINDOW = 0x0100_0000                # size of the shared and local windows
CONST_BYTES = 64 * 1024
ALLOC_ALIGN = 256
FRESH_LOCAL = 64 << 20              # a local arena larger than this is reallocated per wave, not zeroed

NONE, SHARED, LOCAL, CONST, GLOBAL = range(5)
SPACE_NAMES = {SHARED: "shared", LOCAL: "local", CONST: "const", GLOBAL: "global"}
SPACE_IDS = {v: k for k, v in SPACE_NAMES.items()}

_DTYPES = [np.dtype(t) for t in (np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
                                 np.uint64, np.int64, np.float16, np.float32, np.float64, np.bool_)]


def typed_views(arena: np.ndarray) -> dict:
    """dtype -> a view of the uint8 arena as that dtype (the arena's length is a multiple of 8)."""
    return {d: arena.view(d) for d in _DTYPES}


def window_of(a: int) -> int:
    """The memory window holding generic address `a`."""
    if a >= GLOBAL_BASE:
        return GLOBAL
    if CONST_BASE <= a < CONST_BASE + CONST_BYTES:
        return CONST
    if LOCAL_BASE <= a < LOCAL_BASE + WINDOW:
        return LOCAL
    if SHARED_BASE <= a < SHARED_BASE + WINDOW:
        return SHARED
    return NONE


def _nowhere(a: int) -> str:
    """The note for an address outside every window."""
    return f"{a:#x} is not in any memory window" + (" (a null pointer?)" if a < 0x10000 else "")


def windows_of(a: np.ndarray) -> np.ndarray:
    """`window_of` over an int64 array of addresses."""
    w = np.full(a.shape, NONE, np.int8)
    w[(a >= SHARED_BASE) & (a < SHARED_BASE + WINDOW)] = SHARED
    w[(a >= LOCAL_BASE) & (a < LOCAL_BASE + WINDOW)] = LOCAL
    w[(a >= CONST_BASE) & (a < CONST_BASE + CONST_BYTES)] = CONST
    w[a >= GLOBAL_BASE] = GLOBAL
    return w


class Allocations:
    """The live and freed allocations of one address range, for vectorised bounds checks and for
    fault messages that name the nearest allocation."""

    def __init__(self, what: str = "allocation"):
        self.what = what
        self.live: dict[int, tuple[int, str | None]] = {}      # start -> (size, symbol name)
        self.freed: list[tuple[int, int]] = []                  # (start, size), most recent last
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.starts = np.zeros(0, np.int64)
        self.ends = np.zeros(0, np.int64)

    def add(self, start: int, size: int, name: str | None = None) -> None:
        self.live[start] = (size, name)
        self.freed = [(s, n) for s, n in self.freed if s + n <= start or start + size <= s]
        self._rebuild()

    def remove(self, start: int) -> int:
        size, _ = self.live.pop(start)
        self.freed.append((start, size))
        self._rebuild()
        return size

    def _rebuild(self) -> None:
        self._starts = sorted(self.live)
        self._ends = [s + self.live[s][0] for s in self._starts]
        self.starts = np.array(self._starts, np.int64)
        self.ends = np.array(self._ends, np.int64)

    def contains(self, lo: int, hi_end: int) -> bool:
        """Whether [lo, hi_end) lies inside one live allocation."""
        i = bisect.bisect_right(self._starts, lo) - 1
        return i >= 0 and hi_end <= self._ends[i]

    def first_bad(self, a: np.ndarray, size: int, lo: int | None = None, hi: int | None = None) -> int:
        """Index of the first address in int64 array `a` whose `size` bytes are not inside one live
        allocation, or -1.  Fast path: the whole range [min, max+size) inside one allocation
        (`lo`, `hi`: a's min and max, when the caller has them)."""
        if a.size == 0:
            return -1
        if lo is None:
            lo, hi = int(a.min()), int(a.max())
        if self.contains(lo, hi + size):
            return -1
        i = np.searchsorted(self.starts, a, "right") - 1
        ok = (i >= 0) & (a + size <= self.ends[np.maximum(i, 0)]) if self.starts.size else np.zeros(a.shape, bool)
        bad = np.flatnonzero(~ok)
        return int(bad[0]) if bad.size else -1

    def explain(self, a: int, size: int) -> tuple[type, str]:
        """The fault class and a sentence placing address `a` relative to the nearest allocation."""
        for s, n in reversed(self.freed):
            if s <= a < s + max(n, 1) and not self.contains(a, a + 1):
                return UseAfterFree, f"{a:#x} is {a - s} bytes inside a {n}-byte {self.what} at {s:#x} that was freed"
        if not self.live:
            return OutOfBounds, f"{a:#x} is not inside any {self.what} (there are none)"
        best = None
        for s in self._starts:
            n, name = self.live[s]
            dist = s - a if a < s else max(0, a + size - (s + n))
            if best is None or dist < best[0]:
                best = (dist, s, n, name)
        _, s, n, name = best
        what = f"the {n}-byte {self.what} '{name}'" if name else f"a {n}-byte {self.what}"
        if a < s:
            return OutOfBounds, f"{a:#x} is {s - a} bytes before the start of {what} at {s:#x}"
        if a >= s + n:
            return OutOfBounds, f"{a:#x} is {a - (s + n)} bytes past the end of {what} at {s:#x}"
        return OutOfBounds, (f"the {size}-byte access at {a:#x} runs {a + size - (s + n)} bytes past the end "
                             f"of {what} at {s:#x}")


class GlobalMemory:
    """Global memory: one uint8 arena at GLOBAL_BASE, a bump allocator (256-byte aligned) that
    reuses freed ranges only when the arena is exhausted, and the allocation table."""

    def __init__(self, nbytes: int, buffer=None):
        nbytes = -(-nbytes // 8) * 8
        self.arena = (np.frombuffer(buffer, np.uint8, nbytes) if buffer is not None
                      else np.zeros(nbytes, np.uint8))
        self.views = typed_views(self.arena)
        self.table = Allocations("allocation")
        self.top = 0
        self.holes: list[tuple[int, int]] = []           # freed (offset, size) ranges, for reuse
        self.written: list[tuple[int, int, bool]] = []    # initcheck: (offset, size, defined) not yet in init_bits
        self.init_bits: np.ndarray | None = None          # initcheck: per byte below top, holds a defined value

    def malloc(self, nbytes: int, name: str | None = None, align: int = ALLOC_ALIGN) -> int:
        if nbytes < 0:
            raise OutOfMemory(f"cannot allocate a negative size ({nbytes} bytes)")
        align = max(align, ALLOC_ALIGN)
        span = max(-(-nbytes // ALLOC_ALIGN) * ALLOC_ALIGN, ALLOC_ALIGN)
        off = -(-self.top // align) * align
        if off + span <= self.arena.size:
            self.top = off + span
        else:
            off = self._from_holes(span, align)
        self.arena[off:off + span] = 0
        self.table.add(GLOBAL_BASE + off, nbytes, name)
        self.note_written(off, span, name is not None)   # symbols are zero-initialised, allocations not
        return GLOBAL_BASE + off

    def _from_holes(self, span: int, align: int) -> int:
        for k, (off, size) in enumerate(self.holes):
            start = -(-off // align) * align
            if start + span <= off + size:
                rest = [(off, start - off), (start + span, off + size - start - span)]
                self.holes[k:k + 1] = [(o, n) for o, n in rest if n > 0]
                return start
        raise OutOfMemory(f"cannot allocate {span} bytes: global memory ({self.arena.size} bytes) is full")

    def free(self, addr: int) -> None:
        if addr not in self.table.live:
            cls, note = self.table.explain(addr, 1)
            raise InvalidFree(f"free of {addr:#x}, which is not the start of a live allocation", note,
                              address=addr)
        size = self.table.remove(addr)
        off = addr - GLOBAL_BASE
        self.holes.append((off, max(-(-size // ALLOC_ALIGN) * ALLOC_ALIGN, ALLOC_ALIGN)))
        self.holes.sort()
        merged: list[tuple[int, int]] = []
        for o, n in self.holes:
            if merged and merged[-1][0] + merged[-1][1] == o:
                merged[-1] = (merged[-1][0], merged[-1][1] + n)
            else:
                merged.append((o, n))
        self.holes = merged

    def host_range(self, addr: int, nbytes: int, what: str) -> slice:
        """The arena slice of a host copy, which must lie inside one live allocation."""
        if nbytes and not self.table.contains(addr, addr + nbytes):
            cls, note = self.table.explain(addr if not self.table.contains(addr, addr + 1) else addr + nbytes - 1,
                                           1)
            raise cls(f"host {what} of {nbytes} bytes at {addr:#x}", note, address=addr, size=nbytes)
        off = addr - GLOBAL_BASE
        if what != "read":
            self.note_written(off, nbytes)
        return slice(off, off + nbytes)

    # -- initcheck's record of defined bytes (cheap when no launch checks: a short list) -----------
    def note_written(self, off: int, nbytes: int, defined: bool = True) -> None:
        self.written.append((off, nbytes, defined))
        if len(self.written) > 1024:
            self.defined()

    def note_all_written(self) -> None:
        """An unchecked launch may have written anything: every byte counts as defined."""
        self.written, self.init_bits = [(0, self.top, True)], None

    def defined(self) -> np.ndarray:
        """Per byte below `top`: whether a host copy, a symbol or a kernel store defined it."""
        old = self.init_bits
        if old is None or old.size < self.top:
            self.init_bits = np.zeros(self.top, bool)
            if old is not None:
                self.init_bits[:old.size] = old
        for off, n, v in self.written:
            self.init_bits[off:off + n] = v
        self.written = []
        return self.init_bits


class ConstBank:
    """The 64 KiB constant bank at CONST_BASE: __constant__ symbols of every loaded program
    (`arena`: CONST_BYTES of uint8 to hold it, such as a view of a shared segment)."""

    def __init__(self, arena: np.ndarray | None = None):
        self.arena = arena if arena is not None else np.zeros(CONST_BYTES, np.uint8)
        self.views = typed_views(self.arena)
        self.table = Allocations("__constant__ symbol")
        self.top = 0

    def alloc(self, size: int, align: int, name: str) -> int:
        off = -(-self.top // max(align, 1)) * max(align, 1)
        if off + size > CONST_BYTES:
            raise OutOfMemory(f"__constant__ symbol '{name}' ({size} bytes) does not fit in the "
                              f"{CONST_BYTES}-byte constant bank ({self.top} bytes used)")
        self.top = off + size
        self.table.add(CONST_BASE + off, size, name)
        return CONST_BASE + off

    def host_range(self, addr: int, nbytes: int, what: str) -> slice:
        if nbytes and not self.table.contains(addr, addr + nbytes):
            cls, note = self.table.explain(addr, nbytes)
            raise cls(f"host {what} of {nbytes} bytes at {addr:#x}", note, address=addr, size=nbytes)
        off = addr - CONST_BASE
        return slice(off, off + nbytes)


class WaveMemory:
    """What one wave of resident blocks addresses: global memory and the constant bank (shared by
    every wave), one shared-memory slice per block slot and one local-memory slice per lane.

    `locate` turns the generic addresses of a memory instruction into (typed view, element index)
    pairs after the alignment and bounds checks; the executor reads or writes through them."""

    def __init__(self, glob: GlobalMemory, const: ConstBank, shared_bytes: int, nblocks: int,
                 local_bytes: int, nlanes: int):
        self.glob, self.const = glob, const
        self.shared_bytes, self.local_bytes = shared_bytes, local_bytes
        self.spad = -(-max(shared_bytes, 8) // 16) * 16
        self.lpad = -(-max(local_bytes, 8) // 16) * 16
        self.shared = np.zeros(nblocks * self.spad, np.uint8)
        self.local = np.zeros(nlanes * self.lpad if local_bytes else 8, np.uint8)
        self.shared_views = typed_views(self.shared)
        self.local_views = typed_views(self.local)
        self.lane_block = np.arange(nlanes, dtype=np.int64) // (nlanes // nblocks)   # block slot of every lane
        self.lane_shared = self.lane_block * self.spad - SHARED_BASE     # + a shared address: its byte in `shared`

    def reset(self, nblocks: int, nlanes: int) -> None:
        """Fresh (zeroed) shared and local memory for a new wave.  A large local arena is allocated
        afresh (the OS gives zero pages lazily) rather than written: a wave touches only what it uses."""
        self.shared[:nblocks * self.spad] = 0
        if self.local_bytes:
            if self.local.size > FRESH_LOCAL:
                self.local = np.zeros(self.local.size, np.uint8)
                self.local_views = typed_views(self.local)
            else:
                self.local[:nlanes * self.lpad] = 0

    # -- address resolution -----------------------------------------------------------------------
    def locate(self, space: int | None, dt: np.dtype, a: np.ndarray, lanes: np.ndarray, access: str):
        """[(view, index, positions)] for int64 addresses `a` of `lanes`; `space` None = generic.
        `positions` is None when one window serves every lane (the usual case)."""
        size = dt.itemsize
        if size > 1 and (a & (size - 1)).any():
            k = int(np.flatnonzero(a & (size - 1))[0])
            raise Misaligned(f"{access} of {size} bytes at {int(a[k]):#x}",
                             f"the address is not a multiple of {size}", lane=int(lanes[k]),
                             address=int(a[k]), size=size)
        amin, amax = int(a.min()), int(a.max())
        lo, hi = window_of(amin), window_of(amax)
        if space is not None and space != NONE and (lo != space or hi != space):
            k = int(np.flatnonzero(windows_of(a) != space)[0])
            bad, w = int(a[k]), window_of(int(a[k]))
            note = (f"{bad:#x} is a {SPACE_NAMES[w]} address, not a {SPACE_NAMES[space]} one" if w != NONE else
                    _nowhere(bad))
            raise OutOfBounds(f"{SPACE_NAMES[space]} {access} of {size} bytes at {bad:#x}", note,
                              lane=int(lanes[k]), address=bad, size=size)
        if space is None:
            if lo != hi:
                w = windows_of(a)
                out = []
                for sp in np.unique(w):
                    pos = np.flatnonzero(w == sp)
                    (view, idx, _), = self.locate(int(sp), dt, a[pos], lanes[pos], access)
                    out.append((view, idx, pos))
                return out
            space = lo
        return [(*self._one(space, dt, a, lanes, access, amin, amax), None)]

    def _one(self, space: int, dt: np.dtype, a: np.ndarray, lanes: np.ndarray, access: str, amin: int, amax: int):
        """(view, index) for addresses `a` (min `amin`, max `amax`) all in window `space`."""
        size = dt.itemsize
        shift = size.bit_length() - 1
        if space == GLOBAL:
            k = self.glob.table.first_bad(a, size, amin, amax)
            if k >= 0:
                cls, note = self.glob.table.explain(int(a[k]), size)
                raise cls(f"global {access} of {size} bytes at {int(a[k]):#x}", note, lane=int(lanes[k]),
                          address=int(a[k]), size=size)
            return self.glob.views[dt], (a - GLOBAL_BASE) >> shift
        if space == CONST:
            if access != "load":
                raise OutOfBounds(f"{access} to constant memory at {int(a[0]):#x}",
                                  "the constant bank is read-only on the device", lane=int(lanes[0]),
                                  address=int(a[0]), size=size)
            k = self.const.table.first_bad(a, size, amin, amax)
            if k >= 0:
                cls, note = self.const.table.explain(int(a[k]), size)
                raise OutOfBounds(f"const {access} of {size} bytes at {int(a[k]):#x}", note, lane=int(lanes[k]),
                                  address=int(a[k]), size=size)
            return self.const.views[dt], (a - CONST_BASE) >> shift
        if space == SHARED:
            if amin < SHARED_BASE or amax - SHARED_BASE + size > self.shared_bytes:
                self._window_fault(a - SHARED_BASE, size, self.shared_bytes, "shared", a, lanes, access,
                                   "of the block's shared memory")
            return self.shared_views[dt], (self.lane_shared[lanes] + a) >> shift
        if space == LOCAL:
            off = a - LOCAL_BASE
            if amin < LOCAL_BASE or amax - LOCAL_BASE + size > self.local_bytes:
                self._window_fault(off, size, self.local_bytes, "local", a, lanes, access,
                                   "of the thread's local memory")
            return self.local_views[dt], (lanes * self.lpad + off) >> shift
        k = int(np.flatnonzero(windows_of(a) == NONE)[0])
        bad = int(a[k])
        raise OutOfBounds(f"{access} of {size} bytes at {bad:#x}", _nowhere(bad), lane=int(lanes[k]), address=bad,
                          size=size)

    @staticmethod
    def _window_fault(off, size, limit, name, a, lanes, access, whose):
        """Raise OutOfBounds for the first offset whose `size` bytes leave the window [0, limit)."""
        k = int(np.flatnonzero((off < 0) | (off + size > limit))[0])
        o = int(off[k])
        where = (f"{-o} bytes before the start" if o < 0 else
                 f"{o + size - limit} bytes past the end" if o < limit else f"{o - limit} bytes past the end")
        raise OutOfBounds(f"{name} {access} of {size} bytes at {int(a[k]):#x}",
                          f"offset {o} is {where} {whose} ({limit} bytes)", lane=int(lanes[k]),
                          address=int(a[k]), size=size)
