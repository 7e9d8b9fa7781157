"""Performance counters: per-instruction (per-pc) counts gathered while a launch runs, and the
launch-level `Counters` and per-pc records derived from them when it ends.

In:  while running, the addresses of each memory instruction (`MemoryCounters`, the observer a
     launch that collects memory counters attaches; `count_access`); at the end, the decoded kernel,
     its per-pc issue counts and divergent branches (`config.BlocksResult`) and the launch geometry.
Out: `launch_totals`: `Counters` (a dict of summable totals with `.occupancy` and `format()`),
     warp instructions per mnemonic and per line, and the per-pc records of the per-line profile.
     Definitions, with the Nsight Compute metric each one matches: docs/counters.md.

Memory model (NVIDIA's, as Nsight Compute counts it):
- global (and atomics): a warp-level instruction is one request; it costs one 32-byte sector per
  distinct sector its active lanes touch.
- shared: 32 banks of 4 bytes.  Lanes reading the same 32-bit word share it (broadcast); a request
  takes as many wavefronts as the largest number of distinct words mapped to one bank.  A 64-bit
  access is served per half-warp (16 lanes x 8 bytes = 128 bytes a wavefront), so its ideal is two
  wavefronts; bank conflicts = wavefronts - ideal wavefronts.
- local: the hardware interleaves each thread's 32-bit local words across the warp (lane i of a
  warp at byte 4i of a 128-byte line), so lanes reading the same local variable are coalesced.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ...isa import spec
from ..config import DIVERGENT, G_REQ, G_SEC, L_REQ, L_SEC, ROWS, S_IDEAL, S_REQ, S_WAVE
from ..memory import GLOBAL, LOCAL, LOCAL_BASE, NONE, SHARED, SHARED_BASE, windows_of
from ..observer import Observer
from ..occupancy import Occupancy

CLASSES = ("int", "fp32", "fp64", "move", "memory", "atomic", "control", "sync", "warp", "other")
DIRECTIONS = {"load": "load", "store": "store", "atomic": "atomic"}     # ISA machine column -> direction
OP_SUFFIX = {"load": "ld", "store": "st", "atomic": "atom"}      # Nsight's names of the directions


# -- collection ------------------------------------------------------------------------------------
class MemoryCounters(Observer):
    """Counts the requests, sectors and wavefronts of every memory access into per-pc rows (a
    `BlocksResult.pc` array)."""

    def __init__(self, rows: np.ndarray):
        self.rows = rows

    def memory(self, wave, pc, kind, space, dtype, addresses, lanes) -> None:
        count_access(self.rows, pc, space, addresses, lanes, dtype.itemsize)


def count_access(rows: np.ndarray, pc: int, space: int | None, a: np.ndarray, ids: np.ndarray,
                 size: int) -> None:
    """Add the requests, sectors and wavefronts of one memory instruction at `pc`: addresses `a`
    (int64) of the active lanes `ids` (ascending wave lane ids), `size` bytes each."""
    if not a.size:
        return
    if space is None or space == NONE:          # generic: each lane's window decides
        win = windows_of(a)
        if (win != win[0]).any():
            for sp in np.unique(win):
                sel = win == sp
                count_access(rows, pc, int(sp), a[sel], ids[sel], size)
            return
        space = int(win[0])
    if space == GLOBAL:
        req, sectors = distinct_per_warp(ids >> 5, a >> 5)
        rows[G_REQ, pc] += req
        rows[G_SEC, pc] += sectors
    elif space == SHARED:
        req, wave, ideal = shared_wavefronts(a - SHARED_BASE, ids, size)
        rows[S_REQ, pc] += req
        rows[S_WAVE, pc] += wave
        rows[S_IDEAL, pc] += ideal
    elif space == LOCAL:
        req, sectors = local_sectors(a - LOCAL_BASE, ids, size)
        rows[L_REQ, pc] += req
        rows[L_SEC, pc] += sectors


def distinct_per_warp(warp: np.ndarray, key: np.ndarray) -> tuple[int, int]:
    """(warps, distinct (warp, key) pairs) for lanes in ascending order."""
    if warp.size == 1:
        return 1, 1
    new_warp = warp[1:] != warp[:-1]
    req = int(np.count_nonzero(new_warp)) + 1
    if not ((key[1:] < key[:-1]) & ~new_warp).any():       # keys ascend within each warp
        return req, int(np.count_nonzero(new_warp | (key[1:] != key[:-1]))) + 1
    return req, int(np.unique(((warp - warp[0]) << 40) | (key - key.min())).size)


def shared_wavefronts(off: np.ndarray, ids: np.ndarray, size: int) -> tuple[int, int, int]:
    """(requests, wavefronts, ideal wavefronts) of a shared access at byte offsets `off`."""
    k = max(size, 4) // 4                     # 32-bit words per lane
    group = ids >> (5 - (k.bit_length() - 1))  # the lanes served together: warp, half- or quarter-warp
    warp = ids >> 5
    req = int(np.count_nonzero(warp[1:] != warp[:-1])) + 1
    word = off >> 2
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    lo, hi = np.minimum.reduceat(word, starts), np.maximum.reduceat(word, starts)
    if (hi - lo + k <= 32).all():              # each group's words fit in 32 consecutive banks
        return req, starts.size, starts.size
    if k > 1:
        word = (word[:, None] + np.arange(k)).ravel()
        group = np.repeat(group, k)
    base = (int(word.min()) >> 5) << 5          # keeps word & 31 = bank
    u = np.unique(((group - group[0]) << 32) | (word - base))
    per_group = np.bincount((u >> 32) * 32 + (u & 31), minlength=int((u[-1] >> 32) + 1) * 32)
    most = per_group.reshape(-1, 32).max(1)
    return req, int(most.sum()), int(np.count_nonzero(most))


def local_sectors(off: np.ndarray, ids: np.ndarray, size: int) -> tuple[int, int]:
    """(requests, sectors) of a local access, with the hardware's lane-interleaved local layout."""
    warp, lane = ids >> 5, ids & 31
    key = ((off >> 2) << 2) | (lane >> 3)      # sector of word w of lane l: w * 4 + l // 8
    if size <= 4:
        return distinct_per_warp(warp, key)
    k = size // 4
    return distinct_per_warp(np.repeat(warp, k), (key[:, None] + 4 * np.arange(k)).ravel())


# -- launch totals ---------------------------------------------------------------------------------
class OpFacts(NamedTuple):
    mnemonic: str
    line: int | None
    cls: str                     # instruction_class
    branch: bool
    direction: str | None        # load, store, atomic (DIRECTIONS) or None
    record: dict                 # its per-pc record with zero counts (pc, file, line, text, warps, ...)
    keys: tuple                  # the Counters keys its warp and thread instructions go under


def op_facts(k) -> list[OpFacts]:
    """Per op of a decoded kernel, what its counts go under (computed once per kernel, kept on it)."""
    if k.facts is None:
        k.facts = [_facts(op) for op in k.ops]
    return k.facts


def _facts(op) -> OpFacts:
    cls = instruction_class(op.instr)
    record = {"pc": op.pc, "file": op.instr.file, "line": op.line, "text": op.text, "warps": 0, "threads": 0,
              "branches": 0, **dict.fromkeys(ROWS, 0)}
    return OpFacts(op.instr.mnemonic, op.line, cls, op.spec.machine == "branch", DIRECTIONS.get(op.spec.machine),
                   record, (f"inst_{cls}", f"thread_inst_{cls}"))


def instruction_class(ins) -> str:
    """The class of an instruction, from its row in the ISA table."""
    cls = spec.family(ins).counter
    if cls != "arith":
        return cls
    if "f64" in ins.types:
        return "fp64"
    if "f32" in ins.types:
        return "fp32"
    return "int"


# (key, unit, explanation, Nsight Compute metric or '' where it has none); the rows of format().
DEFINITIONS = {
    "warp_instructions": ("inst", "instructions issued, counted once per warp", "smsp__inst_executed.sum"),
    "thread_instructions": ("inst", "instructions executed, counted once per active thread",
                            "smsp__thread_inst_executed.sum"),
    **{f"inst_{c}": ("inst", f"warp instructions of class {c}", "") for c in CLASSES},
    **{f"thread_inst_{c}": ("inst", f"thread instructions of class {c}", "") for c in CLASSES},
    "branches": ("inst", "branch instructions (bra) executed by warps", "smsp__sass_inst_executed_op_branch.sum"),
    "divergent_branches": ("inst", "branches whose active lanes went both ways",
                           "smsp__sass_branch_targets_threads_divergent.sum"),
    "barriers": ("blocks", "block barrier releases (every live thread of a block arrived)", ""),
    "atomics": ("ops", "atomic operations, one per active thread", ""),
    **{f"global_{d}_{q}": (u, f"global {d} {e}", f"l1tex__t_{q}_pipe_lsu_mem_global_op_{o}.sum")
       for d, o in OP_SUFFIX.items()
       for q, u, e in (("requests", "req", "requests (warp instructions)"),
                       ("sectors", "sectors", "32-byte sectors touched"))},
    **{f"shared_{d}_{q}": (u, f"shared {d} {e}", m.format(o))
       for d, o in (("load", "ld"), ("store", "st"))
       for q, u, e, m in (("requests", "req", "requests (warp instructions)", "smsp__sass_inst_executed_op_shared_{}.sum"),
                          ("wavefronts", "wavefronts", "wavefronts (passes through the banks)",
                           "l1tex__data_pipe_lsu_wavefronts_mem_shared_op_{}.sum"),
                          ("bank_conflicts", "wavefronts", "wavefronts beyond the ideal",
                           "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_{}.sum"))},
    "shared_atomic_requests": ("req", "shared atomic requests (warp instructions)",
                               "smsp__sass_inst_executed_op_shared_atom.sum"),
    **{f"local_{d}_{q}": (u, f"local {d} {e} (spills, local arrays)", f"l1tex__t_{q}_pipe_lsu_mem_local_op_{o}.sum")
       for d, o in (("load", "ld"), ("store", "st"))
       for q, u, e in (("requests", "req", "requests"), ("sectors", "sectors", "32-byte sectors"))},
    "steps": ("steps", "simulator scheduler steps (vgpu only)", ""),
    "waves": ("waves", "waves of co-resident blocks the simulator ran (vgpu only)", ""),
}
MEMORY_KEYS = tuple(k for k in DEFINITIONS if k.startswith(("global_", "shared_", "local_")))


class Counters(dict):
    """A launch's counters: name -> total (see DEFINITIONS; summable across launches), plus
    `.occupancy` (an `Occupancy`), `.title` and `format()`.  Memory counters are present only when
    the launch collected them (`vgpu.Device(counters=True)`; `vgpuc run --stats`, `vgpuc profile`)."""

    def __init__(self, values: dict, occupancy: Occupancy | None = None, title: str = ""):
        super().__init__(values)
        self.occupancy, self.title = occupancy, title

    def ratio(self, num: str, den: str) -> float | None:
        d = self.get(den, 0)
        return self.get(num, 0) / d if d else None

    def branch_efficiency(self) -> float | None:
        """The fraction of executed branches whose active lanes all went the same way."""
        d = self.ratio("divergent_branches", "branches")
        return None if d is None else 1 - d

    def as_dict(self) -> dict:
        out = dict(self)
        out["simt_efficiency_lanes"] = self.ratio("thread_instructions", "warp_instructions")
        out["branch_efficiency"] = self.branch_efficiency()
        if self.occupancy is not None:
            out["occupancy"] = self.occupancy.as_dict()
        return out

    def format(self) -> str:
        """An aligned table: value, unit, explanation and the Nsight Compute metric of each counter."""
        rows: list[tuple[str, str, str, str]] = []

        def add(name, value, unit, what, metric=""):
            rows.append((name, value, unit, what + (f"  [{metric}]" if metric else "")))

        def num(key):
            unit, what, metric = DEFINITIONS[key]
            add(key.replace("_", " "), f"{self[key]:,}", unit, what, metric)

        def pct(x):
            return "-" if x is None else f"{100 * x:.1f}"

        out = [self.title] if self.title else []
        for key in ("warp_instructions", "thread_instructions"):
            num(key)
        simt = self.ratio("thread_instructions", "warp_instructions")
        add("SIMT efficiency", "-" if simt is None else f"{simt:.2f}", "lanes",
            f"average active lanes per warp instruction ({pct(simt and simt / 32)}% of 32)",
            "smsp__thread_inst_executed_per_inst_executed.ratio")
        for c in CLASSES:
            if self.get(f"inst_{c}"):
                w, t = self[f"inst_{c}"], self[f"thread_inst_{c}"]
                add(f"  {c}", f"{w:,}", "inst", f"warp instructions of class {c}; {t:,} thread instructions, "
                    f"{t / w:.1f} lanes each")
        num("branches")
        num("divergent_branches")
        add("branch efficiency", pct(self.branch_efficiency()), "%", "branches whose active lanes all went the same way",
            "smsp__sass_average_branch_targets_threads_uniform.pct")
        num("barriers")
        num("atomics")
        if "global_load_requests" not in self:
            add("memory counters", "-", "", "not collected: use vgpu.Device(counters=True) or vgpuc run --stats")
        for space, dirs, per in (("global", ("load", "store", "atomic"), "sectors"), ("shared", ("load", "store"), None),
                                 ("local", ("load", "store"), "sectors")):
            for d in dirs:
                req = f"{space}_{d}_requests"
                if not self.get(req):
                    continue
                num(req)
                if per:
                    num(f"{space}_{d}_sectors")
                    add("  sectors per request", f"{self.ratio(f'{space}_{d}_sectors', req):.2f}", "sectors",
                        "4 = a warp reading consecutive 4-byte words; 32 = every lane its own sector",
                        f"l1tex__average_t_sectors_per_request_pipe_lsu_mem_{space}_op_{OP_SUFFIX[d]}.ratio")
                else:
                    num(f"shared_{d}_wavefronts")
                    num(f"shared_{d}_bank_conflicts")
        if self.get("shared_atomic_requests"):
            num("shared_atomic_requests")
        occ = self.occupancy
        if occ is not None:
            add("registers per thread", str(occ.regs_per_thread), "regs", "32-bit registers a thread uses",
                "launch__registers_per_thread")
            add("shared memory per block", f"{occ.shared_per_block:,}", "bytes",
                "allocated: static + dynamic + 1 KiB reserved, in 128-byte units", "launch__shared_mem_per_block")
            add("theoretical occupancy", pct(occ.fraction), "%", f"{occ.warps_per_sm} of 64 warps per SM "
                f"({occ.blocks_per_sm} blocks); limited by {', '.join(occ.limiters)}",
                "sm__maximum_warps_per_active_cycle_pct")
            add("  block limits", "", "", "blocks per SM allowed by " +
                ", ".join(f"{k} {v}" for k, v in occ.limits.items()), "launch__occupancy_limit_*")
        num("steps")
        num("waves")
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        w2 = max(len(r[2]) for r in rows)
        out += [f"  {a:<{w0}}  {b:>{w1}} {c:<{w2}}  {d}".rstrip() for a, b, c, d in rows]
        return "\n".join(out)


# Every Counters key in its order, with memory counters and without (launch_totals copies one).
_ZERO = {"warp_instructions": 0, "thread_instructions": 0,
         **{key: 0 for c in CLASSES for key in (f"inst_{c}", f"thread_inst_{c}")},
         "branches": 0, "divergent_branches": 0, "barriers": 0, "atomics": 0}
ZERO_TOTALS = {False: {**_ZERO, "steps": 0, "waves": 0},
               True: {**_ZERO, **dict.fromkeys(MEMORY_KEYS, 0), "steps": 0, "waves": 0}}
_NO_ROWS = [0] * len(ROWS)


class Totals(NamedTuple):
    """What a launch's per-pc counts add up to (`launch_totals`)."""
    counters: Counters
    op_counts: dict              # mnemonic -> warp instructions (first executed first)
    line_counts: dict            # source line -> warp instructions
    records: list                # per executed pc: pc, file, line, text, warps, threads, branches, ROWS


def launch_totals(k, stats: dict, op_warps, op_threads, rows: np.ndarray, collected: bool,
                  occupancy: Occupancy | None, title: str = "") -> Totals:
    """The launch totals (`Counters`), per-mnemonic and per-line warp instructions and the per-pc
    records of a kernel's per-pc counts (`stats`: the scheduler's totals, config.STAT_NAMES).  A
    kernel keeps its last tally (`k.totals`): a launch with the same per-pc counts copies it."""
    key = (collected, tuple(op_warps), tuple(op_threads), rows.tobytes())
    kept = k.totals
    if kept is None or kept[0] != key:
        kept = k.totals = (key, *_tally(op_facts(k), op_warps, op_threads, rows, collected))
    _, c, ops, lines, records = kept
    c = c.copy()
    c["warp_instructions"], c["thread_instructions"] = stats["warp_instructions"], stats["thread_instructions"]
    for name in ("barriers", "atomics", "steps", "waves"):
        c[name] = stats[name]
    return Totals(Counters(c, occupancy, title), ops.copy(), lines.copy(), list(map(dict.copy, records)))


def _tally(facts: list[OpFacts], op_warps, op_threads, rows: np.ndarray, collected: bool):
    """(counters without the scheduler's totals, op counts, line counts, per-pc records) of per-pc
    counts, in one pass over the executed instructions."""
    c = ZERO_TOTALS[collected].copy()
    c["divergent_branches"] = int(rows[DIVERGENT].sum())
    ops: dict = {}
    lines: dict = {}
    records = []
    cols = rows.T.tolist()                      # per pc, its row values as ints (one conversion)
    branches = 0
    for f, nw, nt, col in zip(facts, op_warps, op_threads, cols):
        if not nw:
            continue
        wk, tk = f.keys
        c[wk] += nw
        c[tk] += nt
        m = f.mnemonic
        ops[m] = ops.get(m, 0) + nw
        if f.line is not None:
            lines[f.line] = lines.get(f.line, 0) + nw
        rec = f.record.copy()
        rec["warps"], rec["threads"] = nw, nt
        if f.branch:
            branches += nw
            rec["branches"] = nw
        if col != _NO_ROWS:
            rec.update(zip(ROWS, col))
            if collected and f.direction is not None:
                _add_memory(c, f.direction, col)
        records.append(rec)
    c["branches"] = branches
    return c, ops, lines, records


def _add_memory(c: dict, d: str, r: list) -> None:
    """Add one instruction's memory rows `r` (direction `d`) to the totals `c`."""
    c[f"global_{d}_requests"] += r[G_REQ]
    c[f"global_{d}_sectors"] += r[G_SEC]
    if d == "atomic":
        c["shared_atomic_requests"] += r[S_REQ]
        return
    c[f"shared_{d}_requests"] += r[S_REQ]
    c[f"shared_{d}_wavefronts"] += r[S_WAVE]
    c[f"shared_{d}_bank_conflicts"] += r[S_WAVE] - r[S_IDEAL]
    c[f"local_{d}_requests"] += r[L_REQ]
    c[f"local_{d}_sectors"] += r[L_SEC]
