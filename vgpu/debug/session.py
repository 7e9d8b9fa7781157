"""A step debugger over one kernel launch: `Session(kernel, *args, grid=..., block=...)`.

In:  a vgpu `Kernel` (from a `Module`) or a `vgpu.cuda` dispatcher (a Python kernel), its
     arguments (numpy arrays are copied to the device; DeviceArrays are used in place), the launch
     geometry, optionally `device=` and `check=` (sanitizers).
Out: methods mirroring cuda-gdb's commands (break_at, run, cont, step, stepi, next, goto, focus,
     info_*, print, x, watch, delete) that return data: `Stop`, `WarpInfo`, `StackEntry`, numpy
     arrays.  `vgpu.debug.repl` prints them; `vgpu.debug.render` draws them for notebooks.

How it pauses: the launch runs in a worker thread with an `Observer` whose `issue` hook (called
before every warp instruction) blocks while the session is stopped, so the wave's registers,
SIMT stacks and memory are intact between any two instructions, and every other warp advances
only as the scheduler would.  The schedule is the device's fixed one, so the n-th `issue` is the
same in every run: `stop.step` (the issue count) names a point in time and `goto(n)` replays to it (restarting
the launch from the arguments as given when n lies in the past).
"""
from __future__ import annotations

import re

import threading

import numpy as np

from ..sim.faults import DeviceError
from ..sim.observer import Observer
from ..sim.simt import DONE, EXIT, WAIT
from . import memory as M
from .expr import OPTIMISED_OUT, Evaluator, OptimisedOut
from .launcher import Launcher
from .model import Breakpoint, Lane, StackEntry, Stop, WarpInfo, Watchpoint

STATES = {0: "ready", WAIT: "at barrier", DONE: "exited"}


class _Abort(BaseException):
    """Raised in the worker thread to end a launch the session abandons (restart, close)."""


class Session(Observer):
    """A debug session over one launch (see the module docstring)."""

    def __init__(self, kernel, *args, grid=1, block=1, shared: int = 0, device=None, check=None):
        self.launcher = Launcher(kernel, args, grid, block, shared, device, check)
        self.program, self.code = self.launcher.program, self.launcher.code
        self.kernel_name = self.code.name
        self.lines = [ins.line for ins in self.code.instrs] + [self.code.instrs[-1].line if self.code.instrs else None]
        self.breakpoints: dict[int, object] = {}
        self._next_number = 1
        self.focus_block, self.focus_thread = (0, 0, 0), (0, 0, 0)
        self._cv = threading.Condition()
        self._thread = None
        self.wave = None
        self.stop: Stop | None = None
        self.finished = False
        self.result = None
        self.error: Exception | None = None
        self.step_count = 0
        self._mode = None
        self._cur_warps = None
        self._san, self._nreports = None, 0
        self._warp_exited = None
        self.eval = Evaluator(self)

    # -- breakpoints ------------------------------------------------------------------------------
    def break_at(self, line: int | None = None, cond: str | None = None) -> Breakpoint:
        """A breakpoint on a source line (the first instruction of each run of its pcs), or on the
        kernel's entry (line None); with `cond` (`"threadIdx.x == 5"`, `"blockIdx.x == 40 && i > 3"`)
        it stops only when the condition holds for an active lane of a warp arriving there, and
        focuses that lane."""
        if cond is not None:
            self.eval._parse(cond)                         # a syntax error now, not at the first hit
        if line is None:
            pcs = frozenset({0})
        else:
            line = int(line)
            targets = set(self.code.labels.values())
            main = self.code.source_file or self.program.filename
            ins = self.code.instrs                         # a line of the kernel's file, not of a header

            def here(pc):
                return self.lines[pc] == line and (ins[pc].file or main) == main

            pcs = frozenset(pc for pc in range(len(ins)) if here(pc) and (pc == 0 or not here(pc - 1) or pc in targets))
            if not pcs:
                have = sorted({ln for ln in self.lines if ln is not None})
                raise M.DebugError(f"line {line} of {self.program.filename} has no code in kernel "
                                   f"{self.kernel_name} (lines with code: {_ranges(have)})")
        bp = Breakpoint(self._next_number, line, pcs, cond=cond)
        self.breakpoints[bp.number] = bp
        self._next_number += 1
        return bp

    def watch(self, expr: str) -> Watchpoint:
        """Stop when the memory word `expr` names (`out[3]`, `tile[5]`, a symbol) changes value."""
        addr, dt, space = self.eval.lvalue(expr)
        block = None
        if space == "shared":
            block = self._focus_linear()
        wp = Watchpoint(self._next_number, expr, addr, dt, block, self._focus_lane() or 0)
        wp.old = self._read_watch(wp)
        self.breakpoints[wp.number] = wp
        self._next_number += 1
        return wp

    def delete(self, number: int | None = None) -> None:
        """Delete breakpoint/watchpoint `number` (all of them when None)."""
        if number is None:
            self.breakpoints.clear()
        elif self.breakpoints.pop(int(number), None) is None:
            raise M.DebugError(f"no breakpoint number {number}")

    def info_breakpoints(self) -> list:
        return list(self.breakpoints.values())

    # -- running ----------------------------------------------------------------------------------
    def run(self) -> Stop:
        """Start (or restart) the launch from its arguments; stops at the first breakpoint."""
        return self._start(("cont",))

    restart = run

    def _start(self, mode) -> Stop:
        self._abandon()
        self.launcher.reset()
        self.finished, self.result, self.error, self.stop, self.wave = False, None, None, None, None
        self.step_count = 0
        self._pending = []
        self._san, self._nreports = None, 0
        self._warp_exited = None
        for b in self.breakpoints.values():
            b.hits = 0
            if isinstance(b, Watchpoint):
                b.old = None
        self._mode = mode
        self._gen = 0
        self._go = False
        self._abort = False
        self._thread = threading.Thread(target=self._work, name="vgpu-debug", daemon=True)
        with self._cv:
            self._thread.start()
            return self._wait(0)

    def cont(self) -> Stop:
        """Run until a breakpoint, watchpoint, fault or the end."""
        return self._resume(("cont",))

    def step(self) -> Stop:
        """Run until the focused warp reaches another source line (only its active lanes move)."""
        w = self._focus_wave_warp()
        line = self.lines[int(self.wave.simt.pc[w])] if w is not None and self.wave is not None else None
        return self._resume(("step", self._focus_linear(), self._focus_warp_in_block(), line, self._started(w)))

    next = step          # device functions are inlined: nothing to step over

    def stepi(self) -> Stop:
        """Run until the focused warp has executed one instruction."""
        w = self._focus_wave_warp()
        return self._resume(("stepi", self._focus_linear(), self._focus_warp_in_block(), None, self._started(w)))

    def _started(self, w) -> int:
        """1 when the instruction the session is stopped before belongs to warp w (it runs on resume)."""
        return int(w is not None and self._cur_warps is not None and _contains(self._cur_warps, w))

    def goto(self, step: int) -> Stop:
        """Replay to scheduler step `step` (as `step_count` showed it): restarts when it is past."""
        step = int(step)
        if step < 0:
            raise M.DebugError("goto takes a step >= 0")
        if self._thread is None or self.finished or self.stop is None or step <= self.stop.step:
            return self._start(("goto", step))
        return self._resume(("goto", step))

    def close(self) -> None:
        """End the launch thread (the session can `run` again)."""
        self._abandon()

    def __del__(self):
        try:
            self._abandon()
        except Exception:  # noqa: BLE001
            pass

    # -- focus ------------------------------------------------------------------------------------
    def focus(self, block=None, thread=None) -> None:
        """Focus a block (x,y,z) and a thread (x,y,z) in it."""
        cfg_grid, cfg_block = self.launcher.grid, self.launcher.block
        if block is not None:
            b = _dims3(block)
            if any(c >= g for c, g in zip(b, cfg_grid)):
                raise M.DebugError(f"block {b} is outside the grid {cfg_grid}")
            self.focus_block = b
        if thread is not None:
            t = _dims3(thread)
            if any(c >= g for c, g in zip(t, cfg_block)):
                raise M.DebugError(f"thread {t} is outside the block {cfg_block}")
            self.focus_thread = t

    def focus_warp(self, n: int) -> None:
        """Focus lane 0 of warp `n` of the focused block."""
        bx, by, bz = self.launcher.block
        nthreads = bx * by * bz
        n = int(n)
        if not 0 <= n * 32 < nthreads:
            raise M.DebugError(f"warp {n} is not in the block ({-(-nthreads // 32)} warps)")
        t = n * 32
        self.focus_thread = (t % bx, t // bx % by, t // (bx * by))

    # -- inspection -------------------------------------------------------------------------------
    def where(self) -> dict:
        """The focused warp's position: pc, line, source text, instruction."""
        w = self._need_warp()
        pc = int(self.wave.simt.pc[w])
        return {"pc": pc, "line": self.lines[pc], "text": self.source_text(self.lines[pc]),
                "instruction": self.wave.ops[pc].text if pc < len(self.wave.ops) else "", "step": self.step_count}

    def info_warps(self) -> list[WarpInfo]:
        """Every warp of the focused block."""
        self._need_wave()
        slot = self._focus_slot()
        if slot is None:
            return []
        wpb = self.wave.warps_per_block
        fw = self._focus_warp_in_block()
        out = []
        for k in range(wpb):
            w = slot * wpb + k
            pc = int(self.wave.simt.pc[w])
            out.append(WarpInfo(k, pc, self.lines[pc] if pc < len(self.lines) else None,
                                int(self.wave.simt.mask[w]), int(self.wave.simt.alive[w]),
                                STATES.get(int(self.wave.simt.state[w]), "?"), k == fw))
        return out

    def info_blocks(self) -> list[dict]:
        """The blocks resident now (the current wave): coordinates and warps running / waiting / done."""
        wave = self._need_wave()
        wpb = wave.warps_per_block
        out = []
        for s in range(wave.nblocks):
            st = wave.simt.state[s * wpb:(s + 1) * wpb]
            b = wave.block_coords(int(wave.block_ids[s]))
            out.append({"block": b, "ready": int((st == 0).sum()), "at barrier": int((st == WAIT).sum()),
                        "exited": int((st == DONE).sum()), "focused": b == self.focus_block})
        return out

    def info_lanes(self) -> list[Lane]:
        """The 32 lanes of the focused warp."""
        w = self._need_warp()
        s = self.wave.simt
        mask, alive, exists = int(s.mask[w]), int(s.alive[w]), int(self.wave.exists[w])
        entries = s.entries(w)
        out = []
        for i in range(32):
            if not exists >> i & 1:
                continue
            lane = w * 32 + i
            pc = next((e[0] for e in entries if e[2] >> i & 1), int(s.pc[w]))   # the topmost entry holding it
            out.append(Lane(i, self.wave.thread_of(lane), bool(mask >> i & 1), not alive >> i & 1, pc))
        return out

    def info_stack(self) -> list[StackEntry]:
        """The focused warp's SIMT stack, top first."""
        w = self._need_warp()
        out = []
        for pc, rpc, m, waiting in self.wave.simt.entries(w):
            out.append(StackEntry(pc, None if rpc == EXIT else rpc, m, waiting,
                                  self.lines[pc] if 0 <= pc < len(self.lines) else None))
        return out

    def print(self, expr: str, all_lanes: bool = False):
        """The value of `expr` for the focused thread, or (all_lanes) a numpy array over the focused
        warp's 32 lanes (NaN / masked where a lane does not exist).  A struct (or a part of one,
        `r.dir`) is a dict of its fields' values, nested as the struct is (arrays: keys '[0]', ...)."""
        w = self._need_warp()
        lanes = np.arange(w * 32, w * 32 + 32)
        fields = self._fields(expr.strip(), w)
        if fields:
            out: dict = {}
            for suffix, name in fields:
                node = out
                parts = re.findall(r"\.?([A-Za-z_]\w*)|(\[\d+\])", suffix)
                keys = [a or b for a, b in parts]
                for k in keys[:-1]:
                    node = node.setdefault(k, {})
                node[keys[-1]] = self._scalar(name, w, lanes, all_lanes)
            return out
        return self._scalar(expr, w, lanes, all_lanes)

    def _scalar(self, expr: str, w: int, lanes: np.ndarray, all_lanes: bool):
        try:
            values = self.eval.values(expr, lanes)
        except OptimisedOut:
            return OPTIMISED_OUT
        if all_lanes:
            return values
        return values[self._focus_lane() - w * 32].item()

    def info_locals(self) -> dict[str, object]:
        """The source variables in scope at the focused warp's pc (innermost first where names
        repeat), each with the focused thread's value (a struct's as a dict), or `<optimised out>`;
        the compiler's own temporaries (`__vgpu_*`) left out."""
        w = self._need_warp()
        from ..isa.debuginfo import visible
        names = visible(self.code, int(self.wave.simt.pc[w]))
        order = sorted(names, key=lambda n: (-self.code.debug_vars[names[n]].first, names[n]))
        roots = dict.fromkeys(re.match(r"[^.\[]+", n).group() for n in order if not n.startswith("__vgpu_"))
        return {n: self.print(n) for n in roots}

    def _fields(self, expr: str, w: int) -> list[tuple[str, str]]:
        """(suffix, variable name) of each scalar field of the struct (or array) `expr` names among the
        variables visible at warp w's pc (`r.dir` -> ('.x', 'r.dir.x'), ...); [] when it names none."""
        if not re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*|\[\d+\])*", expr):
            return []
        from ..isa.debuginfo import visible
        names = visible(self.code, int(self.wave.simt.pc[w]))
        return [(n[len(expr):], n) for n in names if n.startswith((expr + ".", expr + "["))]

    def x(self, where, count: int = 1, dtype="int32", space: str | None = None) -> np.ndarray:
        """`count` elements of `dtype` at an address or symbol/expression (`tile`, `out`, `&a[4]`),
        seen by the focused thread; `space` ('global' 'shared' 'local' 'const') makes a plain
        number an offset into that space."""
        addr = self.eval.address(where, space)
        lane = self._focus_lane() if self.wave is not None else 0
        return M.read(self.launcher.sim, self.wave, lane if lane is not None else 0, addr, dtype, count)

    def source_text(self, line: int | None) -> str:
        if line is None:
            return ""
        return self.program.source_line(self.code.instrs[0].file if self.code.instrs else None, line) or ""

    def list(self, line: int | None = None, context: int = 5) -> list[tuple[int, str, bool]]:
        """Source lines around `line` (default: the focused warp's): (number, text, current)."""
        cur = None
        if self.wave is not None and not self.finished:
            w = self._focus_wave_warp()
            if w is not None:
                cur = self.lines[int(self.wave.simt.pc[w])]
        centre = line if line is not None else cur
        if centre is None:
            centre = next((ln for ln in self.lines if ln is not None), 1)
        out = []
        for ln in range(max(1, centre - context), centre + context + 1):
            text = self.source_text(ln)
            if text or ln <= centre:
                out.append((ln, text, ln == cur))
        return out

    @property
    def arrays(self) -> dict:
        """The launch's array arguments (parameter name -> numpy copy of the device data now)."""
        return self.launcher.arrays()

    def _repr_html_(self) -> str:
        from .render import session_html
        return session_html(self)

    def __repr__(self) -> str:
        from .render import session_text
        return session_text(self)

    # -- the observer (runs in the launch thread) -------------------------------------------------
    def wave_start(self, wave):
        self.wave = wave
        obs = getattr(wave, "observer", None)          # launch puts the sanitizers first in a Fanout
        self._san = next((o for o in getattr(obs, "observers", ()) if hasattr(o, "found")), None)

    def _sanitizer_stop(self, wave, pc):
        """A Stop for sanitizer reports found since the last look, or None."""
        found = self._san.found
        if len(found) == self._nreports:
            return None
        new = list(found.values())[self._nreports:]
        self._nreports = len(found)
        text = "\n".join(r.format() for r in new)
        return Stop("sanitizer", self.step_count - 1, pc, self.lines[pc], detail=text)

    def issue(self, wave, pc, warps, masks):
        self.wave = wave
        if self._pending:
            self._check_watches(wave)
        self.step_count += 1
        mode = self._mode
        stop = None
        if self._warp_exited is not None:
            stop = self._exited_stop()
        if mode[0] == "goto":
            if self.step_count - 1 >= mode[1]:
                stop = Stop("goto", self.step_count - 1, pc, self.lines[pc])
        elif mode[0] in ("step", "stepi"):
            w = self._wave_warp(mode[1], mode[2])
            if w is not None and _contains(warps, w):
                if mode[0] == "stepi" or (mode[4] > 0 and self.lines[pc] != mode[3]):
                    if mode[4] > 0:
                        stop = Stop(mode[0], self.step_count - 1, pc, self.lines[pc])
                self._mode = (*mode[:4], mode[4] + 1)
        if stop is None and self._san is not None and mode[0] != "goto":
            stop = self._sanitizer_stop(wave, pc)
        if stop is None and mode[0] != "goto":                 # time travel passes breakpoints by
            for bp in self.breakpoints.values():
                if isinstance(bp, Breakpoint) and pc in bp.pcs:
                    hit = self._condition(bp, wave, warps, masks)
                    if hit is None:
                        continue
                    bp.hits += 1
                    w, mask, note = hit
                    stop = Stop("breakpoint", self.step_count - 1, pc, self.lines[pc], breakpoint=bp.number,
                                detail=f"breakpoint {bp.number}{note}",
                                issuing=tuple((wave.block_coords(wave.block_of(int(x) * 32)),
                                               int(x) % wave.warps_per_block, int(m)) for x, m in zip(warps, masks)))
                    self._refocus(wave, w, mask)
                    break
        if stop is not None:
            self._cur_warps = warps
            self._pause(stop, wave)

    def exit(self, wave, warps, masks):
        mode = self._mode
        if mode[0] in ("step", "stepi"):
            w = self._wave_warp(mode[1], mode[2])
            if w is not None and _contains(warps, w):
                m = int(masks[int(np.searchsorted(warps, w))])
                if int(wave.simt.alive[w]) & ~m == 0:
                    self._warp_exited = (w, int(wave.simt.pc[w]))

    def _condition(self, bp, wave, warps, masks):
        """(warp, mask of the lanes to focus, note) when breakpoint bp stops these warps, else None."""
        if bp.cond is None:
            return int(warps[0]), int(masks[0]), ""
        self.wave = wave
        for w, m in zip(warps, masks):
            w, m = int(w), int(m)
            try:
                v = self.eval.values(bp.cond, np.arange(w * 32, w * 32 + 32))
            except M.DebugError as e:              # stop and say why rather than never stopping
                return w, m, f" (condition {bp.cond!r}: {e})"
            bits = sum(1 << i for i in range(32) if v[i] and m >> i & 1)
            if bits:
                return w, bits, f" (condition {bp.cond})"
        return None

    def memory(self, wave, pc, kind, space, dtype, addresses, lanes):
        if kind == "load" or not self.breakpoints:
            return
        for wp in self.breakpoints.values():
            if not isinstance(wp, Watchpoint):
                continue
            hit = (addresses < wp.address + wp.dtype.itemsize) & (addresses + np.dtype(dtype).itemsize > wp.address)
            if wp.block is not None and hit.any():
                hit &= wave.block_ids[lanes // (32 * wave.warps_per_block)] == wp.block
            if hit.any():
                lane = int(lanes[np.flatnonzero(hit)[-1]])
                if getattr(wp, "old", None) is None:
                    wp.old = self._read_watch(wp, wave, lane)
                self._pending.append((wp, lane, pc, int(hit.sum())))

    def fault(self, wave, error):
        self.wave = wave
        lane = getattr(error, "lane", None)
        if lane is not None:
            self._refocus(wave, lane // 32, 1 << (lane % 32))
        w = lane // 32 if lane is not None else 0
        self._cur_warps = None
        pc = int(wave.simt.pc[w]) if w < wave.nwarps else None
        self._pause(Stop("fault", self.step_count - 1, pc, self.lines[pc] if pc is not None else None,
                         detail=str(error), error=error), wave)

    def _exited_stop(self) -> Stop:
        w, pc = self._warp_exited
        self._warp_exited = None
        self._cur_warps = None
        return Stop("warp-exited", self.step_count - 1, pc, self.lines[pc],
                    detail=f"warp {self._mode[2]} of block {self.focus_block} exited")

    def wave_end(self, wave):
        if self._pending and not self._abort:
            self._check_watches(wave)
        if self._warp_exited is not None and not self._abort:
            self._pause(self._exited_stop(), wave)
        if self._san is not None and not self._abort and self._mode[0] != "goto":
            stop = self._sanitizer_stop(wave, int(wave.simt.pc[0]))
            if stop is not None:
                self._cur_warps = None
                self._pause(stop, wave)

    # -- internals --------------------------------------------------------------------------------
    def _check_watches(self, wave):
        pending, self._pending = self._pending, []
        for wp, lane, pc, nlanes in pending:
            new = self._read_watch(wp, wave, lane)
            if self._mode[0] == "goto":
                wp.old = new
            elif wp.old is None or new != wp.old:
                old, wp.old = wp.old, new
                wp.hits += 1
                self._refocus(wave, lane // 32, 1 << (lane % 32))
                self._cur_warps = None
                b, t = wave.block_coords(wave.block_of(lane)), wave.thread_of(lane)
                more = f" ({nlanes} lanes of this instruction wrote it)" if nlanes > 1 else ""
                detail = (f"watchpoint {wp.number}: {wp.expr}  old = {old}  new = {new}  written by block {b} "
                          f"thread {t} at line {self.lines[pc]} (pc {pc}){more}")
                now = int(wave.simt.pc[lane // 32])              # the writer's warp, past the store
                self._pause(Stop("watch", self.step_count, now, self.lines[now], breakpoint=wp.number,
                                 detail=detail), wave)
                return

    def _read_watch(self, wp, wave=None, lane=None):
        wave = wave if wave is not None else self.wave
        if lane is None:
            lane = self._focus_lane() if wave is not None else 0
        try:
            return M.read(self.launcher.sim, wave, lane or 0, wp.address, wp.dtype, 1)[0].item()
        except M.DebugError:
            return None

    def _pause(self, stop: Stop, wave) -> None:
        w = self._focus_wave_warp(wave)
        if w is not None and stop.block is None:
            stop.block, stop.warp = self.focus_block, self._focus_warp_in_block()
        with self._cv:
            self.stop = stop
            self._gen += 1
            self._cv.notify_all()
            while not self._go:
                self._cv.wait()
            self._go = False
            if self._abort:
                raise _Abort()

    def _work(self) -> None:
        try:
            self.result = self.launcher.launch(self)
        except _Abort:                      # abandoned: numpy arguments keep what they held
            with self._cv:
                self.finished = True
                self._cv.notify_all()
            return
        except DeviceError as e:
            self.error = e
        except Exception as e:  # noqa: BLE001 - shown as the session's error, never lost
            self.error = e
        try:
            self.launcher.finish()          # numpy arguments get the results, as a launch gives them
        finally:
            with self._cv:
                self.finished = True
                self._cv.notify_all()

    def _wait(self, gen: int) -> Stop:
        while self._gen == gen and not self.finished:
            self._cv.wait()
        if self.finished and self._gen == gen:
            self.wave = None
            if self.error is not None and not isinstance(self.error, DeviceError):
                self.stop = Stop("error", self.step_count, detail=f"{type(self.error).__name__}: {self.error}",
                                 error=self.error)
            elif self.error is not None:
                self.stop = Stop("fault-exit", self.step_count, detail=str(self.error), error=self.error)
            else:
                self.stop = Stop("exited", self.step_count, detail=f"kernel {self.kernel_name} finished after "
                                 f"{self.step_count} steps")
        return self.stop

    def _resume(self, mode) -> Stop:
        if self._thread is None:
            raise M.DebugError("the kernel is not running (use run)")
        if self.finished:
            raise M.DebugError("the kernel has finished (run starts it again)")
        with self._cv:
            self._mode = mode
            gen = self._gen
            self._go = True
            self._cv.notify_all()
            return self._wait(gen)

    def _abandon(self) -> None:
        t = self._thread
        if t is None:
            return
        with self._cv:
            self._abort = True
            self._go = True
            self._cv.notify_all()
        t.join()
        self._thread = None

    def _refocus(self, wave, w: int, mask: int) -> None:
        lane = w * 32 + max(0, (mask & -mask).bit_length() - 1)
        self.focus_block = wave.block_coords(wave.block_of(lane))
        self.focus_thread = wave.thread_of(lane)

    def _focus_linear(self) -> int:
        gx, gy, _ = self.launcher.grid
        x, y, z = self.focus_block
        return x + gx * (y + gy * z)

    def _focus_tib(self) -> int:
        bx, by, _ = self.launcher.block
        x, y, z = self.focus_thread
        return x + bx * (y + by * z)

    def _focus_warp_in_block(self) -> int:
        return self._focus_tib() // 32

    def _focus_slot(self, wave=None):
        wave = wave if wave is not None else self.wave
        if wave is None:
            return None
        hit = np.flatnonzero(wave.block_ids[:wave.nblocks] == self._focus_linear())
        return int(hit[0]) if hit.size else None

    def _wave_warp(self, block: int, warp: int):
        wave = self.wave
        hit = np.flatnonzero(wave.block_ids[:wave.nblocks] == block)
        return int(hit[0]) * wave.warps_per_block + warp if hit.size else None

    def _focus_wave_warp(self, wave=None):
        slot = self._focus_slot(wave)
        if slot is None:
            return None
        wave = wave if wave is not None else self.wave
        return slot * wave.warps_per_block + self._focus_warp_in_block()

    def _focus_lane(self):
        w = self._focus_wave_warp()
        return None if w is None else w * 32 + self._focus_tib() % 32

    def _need_wave(self):
        if self.wave is None or self.finished:
            raise M.DebugError("the kernel is not stopped (use run)")
        return self.wave

    def _need_warp(self) -> int:
        self._need_wave()
        w = self._focus_wave_warp()
        if w is None:
            raise M.DebugError(f"block {self.focus_block} is not resident now (info blocks lists those that are)")
        return w


def _contains(sorted_arr, v: int) -> bool:
    i = int(np.searchsorted(sorted_arr, v))
    return i < sorted_arr.size and int(sorted_arr[i]) == v


def _dims3(v) -> tuple:
    if isinstance(v, int):
        v = (v,)
    v = tuple(int(c) for c in v)
    if not 1 <= len(v) <= 3 or any(c < 0 for c in v):
        raise M.DebugError(f"coordinates are 1 to 3 non-negative integers, not {v}")
    return v + (0,) * (3 - len(v))


def _ranges(nums: list[int]) -> str:
    out, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        out.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ", ".join(out)
