"""Traces of a launch: one text line per warp instruction, Chrome trace events, and the record of
one warp's active masks that `divergence` draws.

In:  the hooks of `vgpu.sim.observer.Observer`: a wave starts, a group of warps is about to execute
     the instruction at a pc, warps arrive at a barrier, a barrier releases warps, a wave ends.
Out: `Tracer.text` lines (written as they happen), `chrome_json()` (the Chrome trace event format,
     which Perfetto and chrome://tracing open), `columns` for `divergence.render`.

Time is the scheduler step (one group of warps issuing one instruction), counted across the
launch's waves; Chrome timestamps are steps (1 step = 1 us on the viewer's axis).  A group step
of 8 warps is 8 text lines with one step number: the simulator executes them together.

Text line:  step  SM  block  warp  pc  active-mask  stack-depth  file:line  instruction
Chrome:     a process per SM, a thread (track) per resident warp slot; a slice per block on each
            of its warps' tracks, a slice per barrier wait, an instant event where a branch split
            a warp; metadata events name the tracks.

VGPU_TRACE=1 prints the text trace of every launch to stderr; VGPU_TRACE=2 adds the SIMT stack of
each traced warp that is inside divergent code.
"""
from __future__ import annotations

import os
import sys
import warnings

import numpy as np

from ..observer import Observer
from ..simt import DONE
from .divergence import PER_ROW, render

_RAW = os.environ.get("VGPU_TRACE", "")
TRACE = int(_RAW) if _RAW.isdigit() else int(bool(_RAW))
MAX_TEXT_BYTES = 1 << 30        # a text trace stops at 1 GiB
MAX_EVENTS = 5_000_000          # Chrome trace events (about 1 GiB of JSON)
MAX_COLUMNS = 100_000           # instructions of the divergence warp recorded
HEADER = (f"#  step {'sm':>3s}  {'block':12s} {'warp':>4s} {'pc':>5s}  {'mask':10s}  {'depth':>5s}  "
          f"{'line':12s} instruction")


class Tracer(Observer):
    """Collects a launch's trace.  text: a file for the text trace (None: no text); block
    ((x, y, z) or None) and warp (index in the block, or None) filter the text lines; chrome:
    collect Chrome trace events; divergence: (block, warp) whose active masks to record.
    Bounded: the text trace stops after max_text_bytes, the Chrome trace after max_events events
    and the divergence record after max_columns instructions, each with a warning (and a last
    line in the text trace) naming the limit."""

    def __init__(self, text=None, block=None, warp=None, chrome: bool = False, divergence=None,
                 level: int = 1, max_columns: int = MAX_COLUMNS, max_text_bytes: int = MAX_TEXT_BYTES,
                 max_events: int = MAX_EVENTS):
        self.text, self.level = text, level
        self.max_text_bytes, self.text_bytes = max_text_bytes, 0
        self.max_events = max_events
        self.truncated = False                 # the divergence record reached max_columns
        self.block = tuple(block) + (0,) * (3 - len(block)) if block is not None else None
        self.warp = warp
        self.chrome = chrome
        self.events: list[dict] = []
        self.div = (tuple(divergence[0]) + (0,) * (3 - len(divergence[0])), int(divergence[1])) \
            if divergence is not None else None
        self.columns: list[tuple] = []         # (time, pc, mask, depth, alive, line, text)
        self.max_columns = max_columns
        self.kernel = None
        self.time = -1
        self.named: set = set()
        self.wrote_header = False

    # -- per wave ---------------------------------------------------------------------------------
    def wave_start(self, wave) -> None:
        """Resident blocks begin: per warp slot its SM, block, warp index; block slices open."""
        self.base = self.time + 1 - wave.stats["steps"]
        self.kernel = wave.kernel
        W, wpb, cfg = wave.nwarps, wave.warps_per_block, wave.cfg
        slot = np.arange(W) // wpb
        b = wave.block_ids[slot]
        gx, gy, _ = cfg.grid
        self.coords = np.stack([b % gx, b // gx % gy, b // (gx * gy)], 1)
        self.sm = b % cfg.num_sms
        self.wib = np.arange(W) % wpb
        sm = self.sm[::wpb]                                # the block's rank among its SM's blocks
        order = np.argsort(sm, kind="stable")
        rank = np.empty(wave.nblocks, np.int64)
        rank[order] = np.arange(wave.nblocks) - np.searchsorted(sm[order], sm[order])
        self.track = rank[slot] * wpb + self.wib
        keep = np.ones(W, bool)
        if self.block is not None:
            keep &= (self.coords == self.block).all(1)
        if self.warp is not None:
            keep &= self.wib == self.warp
        self.traced = keep
        self.watch = -1
        if self.div is not None:
            hit = np.flatnonzero((self.coords == self.div[0]).all(1) & (self.wib == self.div[1]))
            self.watch = int(hit[0]) if hit.size else -1
        self.done = np.zeros(W, bool)
        self.waiting = np.zeros(W, bool)
        self.pending = None
        if self.text is not None and not self.wrote_header:
            print(HEADER, file=self.text)
            self.wrote_header = True
        if self.chrome:
            t = self.now(wave, issuing=False)
            for w in range(W):
                self._name(w)
                self._event("B", w, t, self._block_name(w), {"warp": int(self.wib[w])})

    def wave_end(self, wave) -> None:
        """The wave is over (or faulted): close what is still open."""
        self._settle(wave)
        t = self.now(wave, issuing=False)
        if self.chrome:
            for w in np.flatnonzero(~self.done):
                self._close(int(w), t)
        self.done[:] = True

    # -- per step ---------------------------------------------------------------------------------
    def now(self, wave, issuing: bool = True) -> int:
        """The trace time: the step being issued (stats['steps'] already counts it), or, between
        steps (wave start and end), the next one."""
        self.time = max(self.time, self.base + wave.stats["steps"] - issuing)
        return self.time

    def issue(self, wave, pc: int, g: np.ndarray, masks) -> None:
        """Warps g are about to execute the instruction at pc (stats['steps'] already counts it)."""
        self._settle(wave)
        t = self.now(wave)
        op = wave.ops[pc]
        st = wave.simt
        if self.text is not None and self.text_bytes <= self.max_text_bytes:     # past the limit: nothing
            line = op.line if op.line is not None else "-"
            where = f"{self._file(op)}:{line}"
            out = []
            for w in g[self.traced[g]]:
                w = int(w)
                block = "({},{},{})".format(*self.coords[w])
                out.append(f"{t:7d} {int(self.sm[w]):3d}  {block:12s} {int(self.wib[w]):4d} {pc:5d}  "
                           f"{int(st.mask[w]):#010x}  {int(st.depth[w]):5d}  {where:12s} {op.text}\n")
                if self.level >= 2 and st.depth[w] > 0:
                    out.append("        " + st.describe(w).replace("\n", "\n        ") + "\n")
            self._write("".join(out))
        if self.watch >= 0 and (g == self.watch).any():
            if len(self.columns) < self.max_columns:
                w = self.watch
                self.columns.append((t, pc, int(st.mask[w]), int(st.depth[w]), int(st.alive[w]), op.line, op.text))
            elif not self.truncated:
                self.truncated = True
                warnings.warn(f"vgpu: the divergence picture holds the warp's first {self.max_columns:,} "
                              "instructions (Tracer(max_columns=...))", RuntimeWarning, stacklevel=2)
        if op.spec.machine == "branch" and op.instr.guard is not None:
            self.pending = (g.copy(), st.mask[g].copy(), op, t)

    def _settle(self, wave) -> None:
        """Events of the last step seen afterwards: branches that split warps, warps that finished."""
        st = wave.simt
        if self.pending is not None:
            g, before, op, t = self.pending
            after = st.mask[g]
            split = (after != before) & (after & ~before == 0) & (after != 0)
            if self.chrome:
                for w, b, a in zip(g[split], before[split], after[split]):
                    self._event("i", int(w), t, f"diverge at line {op.line}",
                                {"pc": op.pc, "mask before": f"{int(b):#010x}", "mask after": f"{int(a):#010x}",
                                 "instruction": op.text}, s="t")
            self.pending = None
        if self.chrome:
            fin = np.flatnonzero((st.state[:self.done.size] == DONE) & ~self.done)
            if fin.size:
                t = self.now(wave)
                for w in fin:
                    self._close(int(w), t)
                self.done[fin] = True

    # -- barriers ---------------------------------------------------------------------------------
    def arrive(self, wave, pc: int, g: np.ndarray, scope: str) -> None:
        if not self.chrome:
            return
        t = self.now(wave)
        op = wave.ops[pc]
        for w in g[~self.waiting[g]]:
            self._event("B", int(w), t, f"{op.instr.mnemonic} (line {op.line})", {"pc": pc})
        self.waiting[g] = True

    def release(self, wave, ws: np.ndarray, scope: str) -> None:
        if not self.chrome:
            return
        t = self.now(wave)
        for w in ws[self.waiting[ws]]:
            self._event("E", int(w), t)
        self.waiting[ws] = False

    # -- Chrome trace events ----------------------------------------------------------------------
    def _write(self, text: str) -> None:
        """Text trace lines, until max_text_bytes are written; then one last line and a warning."""
        if not text or self.text_bytes > self.max_text_bytes:
            return
        self.text_bytes += len(text)
        if self.text_bytes > self.max_text_bytes:
            note = (f"the text trace stopped at its limit of {self.max_text_bytes:,} bytes "
                    "(Tracer(max_text_bytes=...); filter it by block and warp: vgpuc run --trace-block/--trace-warp)")
            self.text.write(f"# {note}\n")
            warnings.warn(f"vgpu: {note}", RuntimeWarning, stacklevel=3)
            return
        self.text.write(text)

    def _event(self, ph: str, w: int, t: int, name: str | None = None, args: dict | None = None, **extra):
        e = {"ph": ph, "ts": t, "pid": int(self.sm[w]), "tid": int(self.track[w])}
        if name is not None:
            e["name"] = name
        if args:
            e["args"] = args
        e.update(extra)
        if len(self.events) < self.max_events:
            self.events.append(e)
        elif len(self.events) == self.max_events:
            self.events.append({"ph": "i", "name": f"trace stopped: {self.max_events:,} events", "ts": t,
                                "pid": e["pid"], "tid": e["tid"], "s": "g"})
            warnings.warn(f"vgpu: the Chrome trace stopped at its limit of {self.max_events:,} events "
                          "(Tracer(max_events=...))", RuntimeWarning, stacklevel=3)

    def _close(self, w: int, t: int) -> None:
        if self.waiting[w]:
            self._event("E", w, t)
            self.waiting[w] = False
        self._event("E", w, t)

    def _name(self, w: int) -> None:
        pid, tid = int(self.sm[w]), int(self.track[w])
        if pid not in self.named:
            self.named.add(pid)
            self.events.append({"ph": "M", "name": "process_name", "pid": pid, "tid": 0, "ts": 0,
                                "args": {"name": f"SM {pid}"}})
            self.events.append({"ph": "M", "name": "process_sort_index", "pid": pid, "tid": 0, "ts": 0,
                                "args": {"sort_index": pid}})
        if (pid, tid) not in self.named:
            self.named.add((pid, tid))
            self.events.append({"ph": "M", "name": "thread_name", "pid": pid, "tid": tid, "ts": 0,
                                "args": {"name": f"warp slot {tid}"}})
            self.events.append({"ph": "M", "name": "thread_sort_index", "pid": pid, "tid": tid, "ts": 0,
                                "args": {"sort_index": tid}})

    def _block_name(self, w: int) -> str:
        x, y, z = self.coords[w]
        return f"block ({x},{y},{z}) warp {int(self.wib[w])}"

    def chrome_json(self) -> dict:
        """The trace in the Chrome trace event format (JSON object form)."""
        name = self.kernel.name if self.kernel is not None else "kernel"
        return {"traceEvents": self.events, "displayTimeUnit": "ns",
                "otherData": {"kernel": name, "clock": "scheduler steps (1 step = 1 us)"}}

    def divergence_svg(self, steps: tuple[int, int] | None = None, per_row: int = PER_ROW) -> str:
        """The recorded warp's active masks over time, as SVG (see `divergence`): the instructions
        it executed at scheduler steps first..last (`steps`, inclusive; None: all recorded), in rows
        of `per_row` instructions."""
        k = self.kernel
        by_line = {op.line: op.instr for op in (k.ops if k is not None else ()) if op.line is not None}
        (x, y, z), w = self.div
        columns = self.columns
        title = (f"kernel {k.name if k else '?'}, block ({x},{y},{z}) warp {w}: active lanes of each "
                 "instruction it executed")
        if steps is not None:
            first, last = steps
            columns = [c for c in columns if first <= c[0] <= last]
            title += f", steps {first}..{last}"
        if not self.columns:
            title += " (the warp did not run)"
        elif not columns:
            title += " (the warp executed nothing in these steps)"
        elif self.truncated and (steps is None or steps[1] > self.columns[-1][0]):
            title += f" (the first {self.max_columns:,} instructions: choose a later range with steps)"
        return render(columns, title, lambda ln: k.source_line(by_line[ln]) if ln in by_line else None, per_row)

    def _file(self, op) -> str:
        name = op.instr.file or self.kernel.program.filename or "?"
        return os.path.basename(name)


_env: Tracer | None = None


def env_tracer() -> Tracer | None:
    """The VGPU_TRACE tracer (text to stderr), or None when the variable is unset."""
    global _env
    if TRACE and _env is None:
        _env = Tracer(text=sys.stderr, level=TRACE)
    return _env
