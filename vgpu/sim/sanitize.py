"""Sanitizers: compute-sanitizer's memcheck, racecheck, synccheck and initcheck, for one launch.

In:  a launch whose `LaunchConfig.check` names some of CHECKS; from the wave (`sm.Wave`): every
     memory access (this module takes the place of `WaveMemory.locate`), block starts, barrier
     releases, `__syncwarp` completions (alternative ops, built only when checking) and faults.
Out: `Report`s in `BlocksResult.reports`, one per (tool, kind, line, other line) with a count of
     the thread accesses behind it; a memcheck error, and the faults that synccheck reports,
     still end the launch with their `DeviceError` (as compute-sanitizer aborts the kernel).

    memcheck   every lane of the faulting instruction that is out of bounds, misaligned or uses
               freed memory (the message names the nearest allocation); then the fault.
    racecheck  two accesses to one byte of shared memory (same block) or global memory (any
               threads of the launch), by different threads, at least one a store, neither an
               atomic, with no synchronisation between them: a __syncthreads() that both threads'
               block passed (same block), a __syncwarp() both passed (same warp) or a grid.sync.
               RAW: a load after a store; WAW: two stores; WAR: a store after a load.
    synccheck  a __syncthreads() released with its threads waiting at different barrier
               instructions (threads that exited do not count); the faults of invalid warp
               synchronisation (__syncwarp masks, shuffles of lanes that cannot arrive) and
               barrier deadlocks, reported before the launch ends with them.
    initcheck  a load (or atomic) of a byte of global memory that no host copy and no kernel has
               written (vgpu.empty), or of shared memory that this block has not written.

The shadow state is bounded (per byte: the last store and two loads), so racecheck can miss a race
after more than two threads read a byte; everything it reports happened.  Shadow memory and this
bookkeeping exist only for a checked launch: an unchecked one runs the plain `locate`.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from .faults import BarrierDeadlock, DeviceError, Misaligned, OutOfBounds, UseAfterFree, WarpSyncError
from .memory import CONST, GLOBAL, GLOBAL_BASE, LOCAL, LOCAL_BASE, NONE, SHARED, SHARED_BASE, SPACE_NAMES, windows_of

CHECKS = ("memcheck", "racecheck", "synccheck", "initcheck")
HAZARD = {"load": "read-after-write", "store": "write-after-write", "war": "write-after-read"}
VERB = {"load": "read", "store": "write", "atomic": "atomic"}
FAULT_CODE = {Misaligned: 1, UseAfterFree: 2, OutOfBounds: 3}      # memcheck's kinds, in locate's order


def parse_checks(value) -> frozenset:
    """'memcheck,racecheck', ['memcheck', ...], 'all' or None -> a frozenset of CHECKS."""
    if value is None or value == "" or value is False:
        return frozenset()
    items = value.split(",") if isinstance(value, str) else [x for v in value for x in str(v).split(",")]
    names = {x.strip() for x in items if x.strip()}
    if "all" in names:
        names = (names - {"all"}) | set(CHECKS)
    bad = sorted(names - set(CHECKS))
    if bad:
        raise ValueError(f"unknown check {', '.join(bad)} (choose from {', '.join(CHECKS)} or all)")
    return frozenset(names)


@dataclass
class Access:
    """One side of a report: who accessed, from which line."""
    block: tuple
    thread: tuple
    line: int | None
    text: str                 # 'write', 'read', '__syncthreads()' ...
    source: str | None = None


@dataclass
class Report:
    """One sanitizer finding.  `count`: how many thread accesses (or barrier episodes) it stands for."""
    tool: str
    kind: str
    kernel: str
    file: str | None
    access: Access
    other: Access | None = None
    space: str | None = None
    address: int | None = None
    size: int | None = None
    note: str = ""
    count: int = 1

    @property
    def line(self) -> int | None:
        return self.access.line

    def key(self) -> tuple:
        return (self.tool, self.kind, self.space, self.access.line,
                self.other.line if self.other is not None else None)

    def format(self) -> str:
        times = f" ({self.count} times)" if self.count > 1 else ""
        where = f"{self.file}:{self.access.line}" if self.access.line is not None else self.file
        out = [f"{self.tool}: {self.kind}{times} in kernel '{self.kernel}' at {where}"]
        for side, a in (("", self.access), ("earlier " if self.tool == "racecheck" else "and ", self.other)):
            if a is None:
                continue
            at = f" at line {a.line}" if a.line is not None else ""
            out.append(f"  {side}{a.text}{at} by block ({','.join(map(str, a.block))}) "
                       f"thread ({','.join(map(str, a.thread))})")
            if a.source:
                out.append("      " + a.source.strip())
        if self.address is not None:
            out.append(f"  address {self.address:#x}" + (f", {self.size} bytes" if self.size else "") +
                       (f" of {self.space} memory" if self.space else ""))
        if self.note:
            out.append("  " + self.note)
        return "\n".join(out)


def summary(reports) -> str:
    """compute-sanitizer's closing line."""
    n = sum(r.count for r in reports)
    return f"ERROR SUMMARY: {n} error{'s' if n != 1 else ''} ({len(reports)} distinct)"


class Shadow:
    """Race shadow of a byte range: per byte the last store and two loads, each as (thread, pc,
    block interval, warp interval); thread -1 is none.  `paged` allocates 64 KiB pages on first
    touch (global memory), otherwise the whole range at once (shared memory)."""
    PAGE = 1 << 16

    def __init__(self, nbytes: int, paged: bool):
        self.paged = paged
        if paged:
            self.map = np.full(-(-max(nbytes, 1) // self.PAGE), -1, np.int64)
            self.rec = np.full((3, 4, 0), -1, np.int32)
            self.used = 0
        else:
            self.rec = np.full((3, 4, max(nbytes, 1)), -1, np.int32)

    def index(self, off: np.ndarray) -> np.ndarray:
        if not self.paged:
            return off
        p = off >> 16
        slot = self.map[p]
        if (slot < 0).any():
            new = np.unique(p[slot < 0])
            self.map[new] = self.used + np.arange(new.size)
            self.used += new.size
            if self.used * self.PAGE > self.rec.shape[2]:
                grown = np.full((3, 4, max(self.used, 2 * self.rec.shape[2] // self.PAGE) * self.PAGE), -1, np.int32)
                grown[:, :, :self.rec.shape[2]] = self.rec
                self.rec = grown
            slot = self.map[p]
        return slot * self.PAGE + (off & (self.PAGE - 1))

    def clear(self) -> None:
        self.rec[:, 0] = -1


class Sanitizer:
    """The checks of one launch (see the module docstring); `attach` it to each wave."""

    def __init__(self, checks: frozenset, k, cfg, glob):
        self.checks, self.k, self.cfg, self.glob = checks, k, cfg, glob
        self.found: dict[tuple, Report] = {}
        self.tpb = cfg.threads_per_block
        self.race = "racecheck" in checks
        self.init = "initcheck" in checks
        nblocks = cfg.grid[0] * cfg.grid[1] * cfg.grid[2]
        self.next_ivl = 0
        self.floor = 0                                 # first interval id after the last grid.sync
        self.bivl = np.zeros(nblocks, np.int32)        # each block's current barrier interval
        if self.race:
            self.gshadow = Shadow(glob.top, paged=True)
        if self.init:
            self.gbits = glob.defined()

    @property
    def reports(self) -> list[Report]:
        return list(self.found.values())

    def add(self, r: Report, count: int = 1) -> None:
        have = self.found.get(r.key())
        if have is None:
            r.count = count
            self.found[r.key()] = r
        else:
            have.count += count

    # -- wave hooks -------------------------------------------------------------------------------
    def attach(self, wave) -> None:
        """Route the wave's memory accesses through the checks; wrap __syncwarp for racecheck."""
        self.wave = wave
        mem = wave.mem
        plain = mem.locate
        busy = []

        def locate(space, dt, a, lanes, access):
            if busy:                                   # generic accesses split by window recurse
                return plain(space, dt, a, lanes, access)
            busy.append(1)
            try:
                return self.access(plain, space, dt, a, lanes, access)
            finally:
                busy.pop()
        mem.locate = locate
        nslots = mem.lane_block.size // (32 * wave.wpb)
        if self.race:
            self.sshadow = Shadow(nslots * mem.spad, paged=False)
            wave.ops = [self._syncwarp_op(op) if op.family == "bar.warp.sync" else op for op in wave.ops]
        if self.init:
            self.sbits = np.zeros(nslots * mem.spad, bool)
        self.wivl = np.zeros(wave.maxw, np.int32)

    def _syncwarp_op(self, op):
        fn, get_mask = op.run

        def run(w, g, lanes, act):
            fn(w, g, lanes, act)
            self.wivl[g] = self._fresh(g.size)
        return dataclasses.replace(op, run=(run, get_mask))

    def _fresh(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_ivl, self.next_ivl + n, dtype=np.int32)
        self.next_ivl += n
        return ids

    def start(self, wave) -> None:
        """New blocks are resident: fresh intervals, shared memory unwritten."""
        nb = wave.nb
        self.bivl[wave.block_ids[:nb]] = self._fresh(nb)
        self.wivl[:wave.W] = self._fresh(wave.W)
        if self.race:
            self.sshadow.clear()
        if self.init:
            self.sbits[:] = False

    def release(self, wave, ws: np.ndarray, kind: str) -> None:
        """Warps `ws` pass a barrier: new intervals, and synccheck's look at where they waited."""
        if "synccheck" in self.checks and kind == "block":
            self._divergent_barrier(wave, ws)
        blocks = np.unique(ws // wave.wpb)
        if kind == "grid":
            self.floor = self.next_ivl
        self.bivl[wave.block_ids[blocks]] = self._fresh(blocks.size)
        self.wivl[ws] = self._fresh(ws.size)

    def fault(self, e: DeviceError) -> None:
        """A located fault ends the launch; synccheck reports the synchronisation faults."""
        if "synccheck" in self.checks and isinstance(e, (WarpSyncError, BarrierDeadlock)):
            a = Access(e.block or (0, 0, 0), e.thread or (0, 0, 0), e.line, "reached", e.source_line)
            self.add(Report("synccheck", e.title, self.k.name, e.file, a, note=(e.what + (
                "; " + e.note if e.note else ""))))

    # -- synccheck --------------------------------------------------------------------------------
    def _divergent_barrier(self, wave, ws) -> None:
        st, wpb = wave.st, wave.wpb
        for b in np.unique(ws // wpb):
            at: dict[int, int] = {}                    # barrier pc -> first lane waiting there
            for w in range(b * wpb, (b + 1) * wpb):
                for pc, m in st.parked_masks(w):
                    if m and wave.is_bar_pc["block"][pc] and pc not in at:
                        at[pc] = w * 32 + (int(m) & -int(m)).bit_length() - 1
            if len(at) < 2:
                continue
            (pa, la), (pb, lb) = sorted(at.items())[:2]
            same = la // 32 == lb // 32
            name = self.k.ops[pa].text.split()[0]
            self.add(Report("synccheck", "divergent barrier", self.k.name, self._file(pb),
                            self._who(lb, pb, "waited"), self._who(la, pa, "waited"),
                            note=f"threads of one {'warp' if same else 'block'} waited at different barrier "
                                 f"instructions ({name}) that one release joined"))

    # -- accesses ---------------------------------------------------------------------------------
    def access(self, plain, space, dt, a, lanes, access):
        if "memcheck" in self.checks:
            self._memcheck(plain, space, dt, a, lanes, access)
        parts = plain(space, dt, a, lanes, access)
        if not (self.race or self.init) or not a.size:
            return parts
        w = windows_of(a)
        for sp in (SHARED, GLOBAL):
            sel = np.flatnonzero(w == sp)
            if sel.size:
                self._shadow(sp, dt.itemsize, a[sel], lanes[sel], access)
        return parts

    def _memcheck(self, plain, space, dt, a, lanes, access) -> None:
        """Report every faulting lane (one report per fault kind), then let `plain` raise."""
        size = dt.itemsize
        bad, kinds = self._bad_lanes(space, size, a, access)
        if not bad.any():
            return
        for cls in (Misaligned, UseAfterFree, OutOfBounds):
            sel = np.flatnonzero(kinds == FAULT_CODE[cls])
            if not sel.size:
                continue
            k = int(sel[0])
            try:
                plain(space, dt, a[k:k + 1], lanes[k:k + 1], access)
                continue
            except DeviceError as e:
                err = e
            lane, pc = int(lanes[k]), self._pc(int(lanes[k]))
            w = windows_of(a[k:k + 1])[0]
            where = SPACE_NAMES.get(int(space) if space is not None and space != NONE else int(w), "generic")
            self.add(Report("memcheck", f"invalid __{where}__ {VERB[access]} of {size} bytes ({err.title})",
                            self.k.name, self._file(pc), self._who(lane, pc, VERB[access]), space=where,
                            address=int(a[k]), size=size, note=err.note), int(sel.size))

    def _bad_lanes(self, space, size, a, access):
        """(bad lanes, a fault-class code per lane) for addresses `a` (int64)."""
        kinds = np.zeros(a.shape, np.int8)
        w = windows_of(a)
        oob = (w == NONE)
        if space is not None and space != NONE:
            oob |= w != space
        mem = self.wave.mem
        for sp, tab in ((GLOBAL, mem.glob.table), (CONST, mem.const.table)):
            sel = np.flatnonzero(w == sp)
            if not sel.size:
                continue
            x = a[sel]
            i = np.searchsorted(tab.starts, x, "right") - 1
            ok = (i >= 0) & (x + size <= tab.ends[np.maximum(i, 0)]) if tab.starts.size else np.zeros(x.shape, bool)
            if sp == CONST and access != "load":
                ok[:] = False
            oob[sel[~ok]] = True
            for s, n in tab.freed if sp == GLOBAL else ():
                freed = sel[~ok & (x >= s) & (x < s + max(n, 1))]
                kinds[freed] = FAULT_CODE[UseAfterFree]
        for sp, base, limit in ((SHARED, SHARED_BASE, mem.shared_bytes), (LOCAL, LOCAL_BASE, mem.local_bytes)):
            sel = np.flatnonzero(w == sp)
            oob[sel[a[sel] - base + size > limit]] = True
        kinds[oob & (kinds == 0)] = FAULT_CODE[OutOfBounds]
        if size > 1:
            kinds[(a & (size - 1)) != 0] = FAULT_CODE[Misaligned]
        return kinds != 0, kinds

    def _shadow(self, sp: int, size: int, a, lanes, access) -> None:
        wave = self.wave
        if sp == SHARED:
            off = wave.mem.lane_block[lanes] * wave.mem.spad + (a - SHARED_BASE)
        else:
            off = a - GLOBAL_BASE
        byte = (off[:, None] + np.arange(size)).ravel()
        blane = np.repeat(lanes, size)
        if self.init:
            self._initcheck(sp, byte, blane, a, size, access)
        if self.race and access != "atomic":
            shadow = self.gshadow if sp == GLOBAL else self.sshadow
            self._racecheck(sp, shadow, shadow.index(byte), blane, np.repeat(a, size), access, size)

    # -- initcheck --------------------------------------------------------------------------------
    def _initcheck(self, sp, byte, blane, a, size, access) -> None:
        bits = self.gbits if sp == GLOBAL else self.sbits
        if access != "store":
            undef = ~bits[byte]
            if undef.any():
                lanes = np.unique(blane[undef])
                k = int(np.flatnonzero(undef)[0]) // size
                lane = int(blane[k * size])
                pc = self._pc(lane)
                name = SPACE_NAMES[sp]
                note = (self._allocation(int(a[k])) if sp == GLOBAL else
                        "no thread of this block has written it since the block started")
                self.add(Report("initcheck", f"uninitialized __{name}__ memory {VERB[access]} of {size} bytes",
                                self.k.name, self._file(pc), self._who(lane, pc, VERB[access]), space=name,
                                address=int(a[k]), size=size, note=note), int(lanes.size))
        if access != "load":
            bits[byte] = True

    def _allocation(self, addr: int) -> str:
        tab = self.glob.table
        i = int(np.searchsorted(tab.starts, addr, "right")) - 1
        s = int(tab.starts[i])
        n, name = tab.live[s]
        what = f"'{name}'" if name else f"a {n}-byte allocation"
        return f"{addr:#x} is {addr - s} bytes into {what} at {s:#x} that no host copy or kernel has written"

    # -- racecheck --------------------------------------------------------------------------------
    def _current(self, blane: np.ndarray) -> np.ndarray:
        """(thread, pc, block interval, warp interval) of the accessing lanes, as int32 [4, n]."""
        wave = self.wave
        wpb32 = wave.wpb * 32
        block = wave.block_ids[blane // wpb32]
        warp = blane // 32
        return np.stack([block * self.tpb + blane % wpb32, wave.st.pc[warp], self.bivl[block],
                         self.wivl[warp]]).astype(np.int32)

    def _unordered(self, prev: np.ndarray, cur: np.ndarray) -> np.ndarray:
        """Per byte: prev (a recorded access) and cur are by different threads with nothing between."""
        tpb = self.tpb
        pt, ct = prev[0].astype(np.int64), cur[0].astype(np.int64)
        same_block = pt // tpb == ct // tpb
        same_warp = same_block & ((pt % tpb) // 32 == (ct % tpb) // 32)
        inside = (prev[2] == cur[2]) & ~(same_warp & (prev[3] != cur[3]))
        across = prev[2] >= self.floor
        return (pt >= 0) & (pt != ct) & np.where(same_block, inside, across)

    def _racecheck(self, sp, shadow: Shadow, idx, blane, baddr, access, size) -> None:
        rec = shadow.rec
        cur = self._current(blane)
        w, r1, r2 = rec[0][:, idx], rec[1][:, idx], rec[2][:, idx]
        if access == "load":
            self._hazard(sp, "load", self._unordered(w, cur), w, cur, blane, baddr, size)
            order = np.argsort(idx, kind="stable")
            s = idx[order]
            new = np.r_[True, s[1:] != s[:-1]]
            first, last = order[new], order[np.r_[new[1:], True]]
            self._note_read(rec, idx[first], cur[:, first])
            other = last[last != first]
            self._note_read(rec, idx[other], cur[:, other])
            return
        waw = self._unordered(w, cur)
        war1 = self._unordered(r1, cur)
        war2 = self._unordered(r2, cur) & ~war1
        for what, mask, prev in (("store", waw, w), ("war", war1, r1), ("war", war2, r2)):
            self._hazard(sp, what, mask, prev, cur, blane, baddr, size)
        order = np.argsort(idx, kind="stable")                   # two lanes of this instruction
        s = idx[order]
        dup = np.flatnonzero(s[1:] == s[:-1])
        if dup.size:
            prev, now = order[dup], order[dup + 1]
            clash = cur[0, prev] != cur[0, now]
            self._hazard(sp, "store", clash, cur[:, prev], cur[:, now], blane[now], baddr[now], size)
        rec[0][:, idx] = cur
        rec[1][0, idx] = -1
        rec[2][0, idx] = -1

    def _note_read(self, rec, idx, cur) -> None:
        """Keep up to two readers per byte: replace one that is empty, the same thread, or ordered."""
        if not idx.size:
            return
        r1, r2 = rec[1][:, idx], rec[2][:, idx]
        take1 = (r1[0] < 0) | (r1[0] == cur[0]) | ~self._unordered(r1, cur)
        take2 = ~take1 & ((r2[0] < 0) | (r2[0] == cur[0]) | ~self._unordered(r2, cur))
        rec[1][:, idx[take1]] = cur[:, take1]
        rec[2][:, idx[take2]] = cur[:, take2]

    def _hazard(self, sp, what, mask, prev, cur, blane, baddr, size) -> None:
        """One report per earlier pc among the bytes in `mask` (counted per accessing lane)."""
        if not mask.any():
            return
        sel = np.flatnonzero(mask)
        for ppc in np.unique(prev[1, sel]):
            hit = sel[prev[1, sel] == ppc]
            j = int(hit[0])
            lane, pc = int(blane[j]), int(cur[1, j])
            ptid = int(prev[0, j])
            pb, pt = ptid // self.tpb, ptid % self.tpb
            earlier = "read" if what == "war" else "write"
            name = SPACE_NAMES[sp]
            other = Access(self._block_coords(pb), self._thread_coords(pt), self._line(int(ppc)), earlier,
                           self._source(int(ppc)))
            me = self._who(lane, pc, "read" if what == "load" else "write")
            note = ("different blocks, no grid.sync between them"
                    if pb != int(self.wave.block_ids[lane // (32 * self.wave.wpb)]) else
                    "no __syncthreads() (or __syncwarp() within a warp) between them")
            self.add(Report("racecheck", f"{HAZARD[what]} hazard on __{name}__ memory", self.k.name,
                            self._file(pc), me, other, name, int(baddr[j]), size, note),
                     int(np.unique(blane[hit]).size))

    # -- naming -----------------------------------------------------------------------------------
    def _pc(self, lane: int) -> int:
        return int(self.wave.st.pc[lane // 32])

    def _line(self, pc: int) -> int | None:
        return self.k.ops[pc].line if 0 <= pc < len(self.k.ops) else None

    def _source(self, pc: int) -> str | None:
        return self.k.source_line(self.k.ops[pc].instr) if 0 <= pc < len(self.k.ops) else None

    def _file(self, pc: int) -> str | None:
        ins = self.k.ops[pc].instr if 0 <= pc < len(self.k.ops) else None
        return (ins.file if ins is not None and ins.file else None) or self.k.program.filename

    def _block_coords(self, b: int) -> tuple:
        gx, gy, _ = self.cfg.grid
        return (b % gx, b // gx % gy, b // (gx * gy))

    def _thread_coords(self, t: int) -> tuple:
        bx, by, _ = self.cfg.block
        return (t % bx, t // bx % by, t // (bx * by))

    def _who(self, lane: int, pc: int, text: str) -> Access:
        wave = self.wave
        b = int(wave.block_ids[lane // (32 * wave.wpb)])
        return Access(self._block_coords(b), self._thread_coords(lane % (32 * wave.wpb)), self._line(pc), text,
                      self._source(pc))

