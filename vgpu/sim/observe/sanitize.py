"""Sanitizers: compute-sanitizer's memcheck, racecheck, synccheck and initcheck, for one launch.

In:  a launch whose `LaunchConfig.check` names some of CHECKS; the hooks of
     `vgpu.sim.observer.Observer`: every memory access, block starts, barrier and `__syncwarp`
     releases, and faults (a faulting access carries its addresses in the error's `.access`).
Out: `Report`s (`Sanitizer.reports`, then `LaunchResult.reports`), one per (tool, kind, line, other line) with a count of
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
               instructions (threads that exited do not count); a __syncthreads() that part of a
               warp reached while the rest of the warp, not yet exited, went on to exit without
               reaching it (compute-sanitizer: "Barrier error detected. Divergent thread(s) in
               warp"; the GPU completes such a kernel, and so does vgpu); the faults of invalid warp
               synchronisation (__syncwarp masks, shuffles of lanes that cannot arrive) and
               barrier deadlocks, reported before the launch ends with them.
    initcheck  a load (or atomic) of a byte of global memory that no host copy and no kernel has
               written (vgpu.empty), or of shared memory that this block has not written.

The shadow state is bounded (per byte: the last store and two loads), so racecheck can miss a race
after more than two threads read a byte; everything it reports happened.  Shadow memory and this
bookkeeping exist only for a checked launch: an unchecked one has no sanitizer attached.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..faults import BarrierDeadlock, DeviceError, Misaligned, OutOfBounds, UseAfterFree, WarpSyncError
from ..memory import CONST, GLOBAL, GLOBAL_BASE, LOCAL, LOCAL_BASE, NONE, SHARED, SHARED_BASE, SPACE_NAMES, windows_of
from ..observer import Observer
from ..simt import lowest_lane

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
    """Race shadow of a byte range: per unit the last store and two loads, each a record (thread + 1,
    pc, block interval, warp interval) of 4 int32, in three arrays (thread 0 is none, so fresh
    memory is zeros: numpy takes it lazily zeroed from the OS, and only touched pages cost).  A unit
    is a 4-byte word while every access has been word-sized (a multiple of 4) and aligned, which
    tracks exactly what per-byte tracking would (the bytes of a word never differ); the first other
    access splits every word into its 4 bytes for the rest of the launch."""
    REC = np.dtype((np.void, 16))                      # one record, for fast gathers and scatters

    def __init__(self, nbytes: int):
        self.words = True
        self._set([np.zeros((-(-max(nbytes, 1) // 4), 4), np.int32) for _ in range(3)])

    def _set(self, recs) -> None:
        self.recs = recs                               # the store, the first and the second load
        self.col = [r.view(self.REC).ravel() for r in recs]
        self.thread = [r[:, 0] for r in recs]

    def get(self, k: int, idx: np.ndarray) -> np.ndarray:
        """Records k of units idx, as int32 [m, 4]."""
        return self.col[k].take(idx).view(np.int32).reshape(-1, 4)

    def to_bytes(self) -> None:
        old = self.recs
        self._set([np.zeros((r.shape[0] * 4, 4), np.int32) for r in old])
        for r, new in zip(old, self.recs):
            used = np.flatnonzero(r[:, 0])
            for k in range(4):
                new[used * 4 + k] = r[used]
        self.words = False

    def clear(self) -> None:
        for t in self.thread:
            t[:] = 0


class Sanitizer(Observer):
    """The checks of one launch (see the module docstring), watching its waves."""

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
        self.wave = None
        self.partial: dict[int, tuple[int, int, int]] = {}    # warp -> (pc, lanes waiting, lanes not there)
        if self.race:
            self.gshadow = Shadow(glob.top)
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
    def _attach(self, wave) -> None:
        """Shadow state sized for the wave's shared memory and warps."""
        self.wave = wave
        mem = wave.mem
        nslots = mem.lane_block.size // (32 * wave.warps_per_block)
        if self.race:
            self.sshadow = Shadow(nslots * mem.spad)
        if self.init:
            self.sbits = np.zeros(nslots * mem.spad, bool)
        self.wivl = np.zeros(wave.max_warps, np.int32)

    def _fresh(self, n: int) -> np.ndarray:
        ids = np.arange(self.next_ivl, self.next_ivl + n, dtype=np.int32)
        self.next_ivl += n
        return ids

    def wave_start(self, wave) -> None:
        """New blocks are resident: fresh intervals, shared memory unwritten."""
        if wave is not self.wave:
            self._attach(wave)
        nb = wave.nblocks
        self.partial.clear()
        self.bivl[wave.block_ids[:nb]] = self._fresh(nb)
        self.wivl[:wave.nwarps] = self._fresh(wave.nwarps)
        if self.race:
            self.sshadow.clear()
            wpb32 = wave.warps_per_block * 32
            lanes = np.arange(wave.mem.lane_block.size)
            slot = lanes // wpb32
            local = lanes - slot * wpb32
            self.lane_block = wave.block_ids[np.minimum(slot, wave.block_ids.size - 1)].astype(np.int32)
            self.lane_t1 = (self.lane_block.astype(np.int64) * self.tpb + local + 1).astype(np.int32)
            self.lane_lw = (local >> 5).astype(np.int32)
        if self.init:
            self.sbits[:] = False

    def arrive(self, wave, pc: int, warps: np.ndarray, scope: str) -> None:
        """synccheck: note warps that reach a __syncthreads() with live lanes elsewhere."""
        if "synccheck" not in self.checks or scope != "block":
            return
        masks, alive = wave.simt.mask[warps], wave.simt.alive[warps]
        for i in np.flatnonzero(masks != alive):
            w = int(warps[i])
            if w not in self.partial:
                self.partial[w] = (pc, int(masks[i]), int(alive[i]) & ~int(masks[i]))

    def release(self, wave, ws: np.ndarray, scope: str) -> None:
        """Warps `ws` pass a barrier: new intervals, and synccheck's look at where they waited."""
        if scope == "warp":                            # __syncwarp orders the accesses of its warp
            self.wivl[ws] = self._fresh(ws.size)
            return
        if "synccheck" in self.checks and scope == "block":
            self._divergent_barrier(wave, ws)
            self._partial_barrier(wave, ws)
        blocks = np.unique(ws // wave.warps_per_block)
        if scope == "grid":
            self.floor = self.next_ivl
        self.bivl[wave.block_ids[blocks]] = self._fresh(blocks.size)
        self.wivl[ws] = self._fresh(ws.size)

    def fault(self, wave, e: DeviceError) -> None:
        """A located fault ends the launch: memcheck reports every lane of a faulting access,
        synccheck the synchronisation faults."""
        if "memcheck" in self.checks and getattr(e, "access", None) is not None:
            pc, access, space, dt, a, lanes = e.access
            self._memcheck(wave.mem.locate, space, dt, a, lanes, access)
        if "synccheck" in self.checks and isinstance(e, (WarpSyncError, BarrierDeadlock)):
            a = Access(e.block or (0, 0, 0), e.thread or (0, 0, 0), e.line, "reached", e.source_line)
            self.add(Report("synccheck", e.title, self.k.name, e.file, a, note=(e.what + (
                "; " + e.note if e.note else ""))))

    # -- synccheck --------------------------------------------------------------------------------
    def _divergent_barrier(self, wave, ws) -> None:
        st, wpb = wave.simt, wave.warps_per_block
        for b in np.unique(ws // wpb):
            at: dict[int, int] = {}                    # barrier pc -> first lane waiting there
            for w in range(b * wpb, (b + 1) * wpb):
                for pc, m in st.parked_masks(w):
                    if m and wave.barriers.is_barrier["block"][pc] and pc not in at:
                        at[pc] = w * 32 + (int(m) & -int(m)).bit_length() - 1
            if len(at) < 2:
                continue
            (pa, la), (pb, lb) = sorted(at.items())[:2]
            same = la // 32 == lb // 32
            name = self.k.ops[pa].instr.mnemonic
            self.add(Report("synccheck", "divergent barrier", self.k.name, self._file(pb),
                            self._who(lb, pb, "waited"), self._who(la, pa, "waited"),
                            note=f"threads of one {'warp' if same else 'block'} waited at different barrier "
                                 f"instructions ({name}) that one release joined"))

    def _partial_barrier(self, wave, ws) -> None:
        """Warps released from a __syncthreads() that some of their lanes skipped by exiting."""
        for w in ws[np.isin(ws, list(self.partial))] if self.partial else ():
            w = int(w)
            pc, waited, away = self.partial.pop(w)
            exited = away & ~int(wave.simt.alive[w])
            if not exited:
                continue                               # the other lanes came to the barrier later
            lane = w * 32 + lowest_lane(waited)
            gone = w * 32 + lowest_lane(exited)
            other = Access(self._block_coords(wave.block_of(gone)),
                           self._thread_coords(gone % (32 * wave.warps_per_block)), None, "exited without reaching it")
            self.add(Report("synccheck", "Barrier error detected. Divergent thread(s) in warp", self.k.name,
                            self._file(pc), self._who(lane, pc, "__syncthreads() reached"), other,
                            note=f"lanes {waited:#010x} of the warp waited at the barrier while lanes "
                                 f"{exited:#010x} exited without reaching it (the GPU completes the kernel)"))

    # -- accesses ---------------------------------------------------------------------------------
    def memory(self, wave, pc, access, space, dt, a, lanes) -> None:
        """A valid access: racecheck's and initcheck's shadows."""
        if not (self.race or self.init) or not a.size:
            return
        w = windows_of(a)
        for sp in (SHARED, GLOBAL):
            sel = np.flatnonzero(w == sp)
            if sel.size:
                self._shadow(sp, dt.itemsize, a[sel], lanes[sel], access)

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
        if self.init:
            byte = (off[:, None] + np.arange(size)).ravel()
            self._initcheck(sp, byte, np.repeat(lanes, size), a, size, access)
        if self.race and access != "atomic":
            shadow = self.gshadow if sp == GLOBAL else self.sshadow
            if shadow.words and (size & 3 or (off & 3).any()):
                shadow.to_bytes()
            n = size >> 2 if shadow.words else size
            unit = off >> 2 if shadow.words else off
            if n == 1:
                self._racecheck(sp, shadow, unit, lanes, a, access, size, 1)
            else:
                self._racecheck(sp, shadow, (unit[:, None] + np.arange(n)).ravel(), lanes, a, access, size, n)

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
    def _current(self, lanes: np.ndarray, n: int):
        """The accessing lanes, each repeated n times: their records (thread + 1, pc, block interval,
        warp interval) as int32 [m, 4], and each one's block and warp in it."""
        wave = self.wave
        warp = lanes >> 5
        block = self.lane_block[lanes]
        lw = self.lane_lw[lanes]
        rows = np.empty((lanes.size, 4), np.int32)
        rows[:, 0] = self.lane_t1[lanes]
        rows[:, 1] = wave.simt.pc[warp]
        rows[:, 2] = self.bivl[block]
        rows[:, 3] = self.wivl[warp]
        if n > 1:
            rows, block, lw = np.repeat(rows, n, 0), np.repeat(block, n), np.repeat(lw, n)
        return rows, block, lw

    def _unordered(self, prev: np.ndarray, cur) -> np.ndarray:
        """Per unit: prev (recorded accesses, [m, 4]) and cur (_current) are by different threads
        with nothing between them."""
        rows, cblock, clw = cur
        pt = prev[:, 0]
        out = (pt != 0) & (pt != rows[:, 0])
        full = bool(out.all())
        if not full and not out.any():
            return out
        pb, pw, cb, cw = prev[:, 2], prev[:, 3], rows[:, 2], rows[:, 3]
        sel = None
        if not full and 8 * np.count_nonzero(out) < out.size:    # few candidates: look at those only
            sel = np.flatnonzero(out)
            pt, pb, pw, cb, cw, cblock, clw = (x[sel] for x in (pt, pb, pw, cb, cw, cblock, clw))
        tpb = self.tpb
        t = pt - 1
        pblock = t // tpb
        same_block = pblock == cblock
        same_warp = same_block & (((t - pblock * tpb) >> 5) == clw)
        inside = (pb == cb) & ~(same_warp & (pw != cw))
        res = np.where(same_block, inside, pb >= self.floor)
        if full:
            return res
        if sel is None:
            return out & res
        out[sel] = res
        return out

    def _racecheck(self, sp, shadow: Shadow, idx, lanes, addr, access, size, n) -> None:
        cur = self._current(lanes, n)
        rows = cur[0]
        blane = lanes if n == 1 else np.repeat(lanes, n)
        baddr = addr if n == 1 else np.repeat(addr, n)
        distinct, order = True, None
        if idx.size > 1:
            step = idx[1:] - idx[:-1]
            if not (step > 0).all():
                distinct = False
                order = np.arange(idx.size) if (step >= 0).all() else np.argsort(idx, kind="stable")
        w = shadow.get(0, idx)
        if access == "load":
            self._hazard(sp, "load", self._unordered(w, cur), w, rows, blane, baddr, size)
            if distinct:
                self._note_read(shadow, idx, cur)
                return
            s = idx[order]
            new = np.r_[True, s[1:] != s[:-1]]
            first, last = order[new], order[np.r_[new[1:], True]]
            self._note_read(shadow, idx[first], self._pick(cur, first))
            other = last[last != first]
            if other.size:
                self._note_read(shadow, idx[other], self._pick(cur, other))
            return
        r1, r2 = shadow.get(1, idx), shadow.get(2, idx)
        waw = self._unordered(w, cur)
        war1 = self._unordered(r1, cur)
        war2 = self._unordered(r2, cur) & ~war1
        for what, mask, prev in (("store", waw, w), ("war", war1, r1), ("war", war2, r2)):
            self._hazard(sp, what, mask, prev, rows, blane, baddr, size)
        if not distinct:                                          # two lanes of this instruction
            s = idx[order]
            dup = np.flatnonzero(s[1:] == s[:-1])
            if dup.size:
                prev, now = order[dup], order[dup + 1]
                clash = rows[prev, 0] != rows[now, 0]
                self._hazard(sp, "store", clash, rows[prev], rows[now], blane[now], baddr[now], size)
        shadow.col[0][idx] = rows.view(Shadow.REC).ravel()
        for k, r in ((1, r1), (2, r2)):                          # forget the loads (only where any)
            held = r[:, 0] != 0
            if held.any():
                shadow.thread[k][idx[held]] = 0

    @staticmethod
    def _pick(cur, sel):
        return cur[0][sel], cur[1][sel], cur[2][sel]

    def _note_read(self, shadow, idx, cur) -> None:
        """Keep up to two readers per unit: replace one that is empty, the same thread, or ordered."""
        if not idx.size:
            return
        rows = cur[0]
        keep1 = self._unordered(shadow.get(1, idx), cur)        # the first reader must stay
        if not keep1.any():
            shadow.col[1][idx] = rows.view(Shadow.REC).ravel()
            return
        take2 = keep1 & ~self._unordered(shadow.get(2, idx), cur)
        shadow.col[2][idx[take2]] = rows[take2].view(Shadow.REC).ravel()
        take1 = ~keep1
        shadow.col[1][idx[take1]] = rows[take1].view(Shadow.REC).ravel()

    def _hazard(self, sp, what, mask, prev, cur, blane, baddr, size) -> None:
        """One report per earlier pc among the bytes in `mask` (counted per accessing lane)."""
        if not mask.any():
            return
        sel = np.flatnonzero(mask)
        for ppc in np.unique(prev[sel, 1]):
            hit = sel[prev[sel, 1] == ppc]
            j = int(hit[0])
            lane, pc = int(blane[j]), int(cur[j, 1])
            ptid = int(prev[j, 0]) - 1
            pb, pt = ptid // self.tpb, ptid % self.tpb
            earlier = "read" if what == "war" else "write"
            name = SPACE_NAMES[sp]
            other = Access(self._block_coords(pb), self._thread_coords(pt), self._line(int(ppc)), earlier,
                           self._source(int(ppc)))
            me = self._who(lane, pc, "read" if what == "load" else "write")
            note = ("different blocks, no grid.sync between them"
                    if pb != self.wave.block_of(lane) else
                    "no __syncthreads() (or __syncwarp() within a warp) between them")
            self.add(Report("racecheck", f"{HAZARD[what]} hazard on __{name}__ memory", self.k.name,
                            self._file(pc), me, other, name, int(baddr[j]), size, note),
                     int(np.unique(blane[hit]).size))

    # -- naming -----------------------------------------------------------------------------------
    def _pc(self, lane: int) -> int:
        return int(self.wave.simt.pc[lane // 32])

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
        b = wave.block_of(lane)
        return Access(self._block_coords(b), self._thread_coords(lane % (32 * wave.warps_per_block)), self._line(pc), text,
                      self._source(pc))

