"""Compiling kernels to native code (cached) and running blocks on it, with the interpreter as fallback.

In:  `compile_kernel(program, name)`; `run_blocks(k, cfg, blocks, glob, const, wave_blocks, result)` with
     the interpreter's arguments (a decoded kernel, its LaunchConfig, linear block ids, global memory,
     the constant bank, the wave size, a BlocksResult to add to).
Out: a `CompiledKernel` (or `Declined(reason)`); `run_blocks` fills the result exactly as the
     interpreter would (per-pc warp and thread issue counts, divergent branches, barriers, atomics,
     waves; `steps` = warp instructions, as the compiled code has no scheduler) and updates global
     memory; `run_launch` does the same for a whole launch, on one thread or several (threads.py).
     When a native run bails out (a fault, a divergent barrier, a warp-sync that must wait, trap,
     the watchdog budget) its stores are undone from the undo log (undo.py), its waves are retried
     one by one, and a wave that bails out again is run by the interpreter, which raises the
     identical DeviceError or finishes.
"""
from __future__ import annotations

import ctypes
import time
import weakref
import operator
from dataclasses import fields

import numpy as np

from .codegen import (C_ALIVE0, C_ARENA, C_ATOMICS, C_CCOUNT, C_CENDS, C_CHI, C_CLO, C_CONST, C_CSTARTS,
                      C_DIV, C_GCOUNT, C_GENDS, C_GHI, C_GLO, C_GSTARTS, C_LOCAL, C_LOCAL_BYTES, C_LPAD,
                      C_NCTAID, C_NCTAID_Y, C_NCTAID_Z, C_NSMID, C_NTID, C_NTID_Y, C_NTID_Z, C_OPT, C_OPW,
                      C_PARAMS, C_SHARED, C_SHARED_BYTES, C_SYMTAB, C_WPB, CTX_WORDS)
from .codegen import (B_FAULT, B_LOG, C_BAIL_WHY, C_LOG, C_LOGCAP, C_LOGN, C_PRIV_BUF, C_PRIV_HI, C_PRIV_LO,
                      C_PRIV_REFUSED, C_RLOG, C_RLOGCAP, C_RLOGN, C_SITES, C_STEPS)
from ..config import ROWS, LaunchConfig
from .counting import C_ROWS
from .chunks import add_chunks
from .driver import C_BARRIERS, C_KEEP, C_KEEP_BYTES, C_KEEP_FROM, C_WAVES, add_driver
from .layout import decline_reason, layout
from .native import aligned, jit
from . import threads as _threads
from .undo import RECORD_WORDS, undo


class Declined(Exception):
    """The compiled executor does not run this kernel or launch (the reason is the message)."""


class CompiledKernel:
    """A kernel's native code: `run` (ctypes) over blocks, the layout, the translation time;
    `counters`: the variant that also computes the memory counters (counting.py)."""

    def __init__(self, program, code, counters: bool = False):
        from .instrs import build_module, heads
        t0 = time.perf_counter()
        self.name, self.code, self.counters = code.name, code, counters
        self.layout = layout(program, code)
        self.heads = np.array(heads(code), np.int64)
        self.atomics = _threads.Atomics.of(code)      # its atomics on global memory (None: none)
        self.block_seconds: float | None = None        # one thread's seconds per block in the last launch
        gen_module = build_module(program, code, self.layout, counters)
        self.ws_words = self.layout.ws_bytes // 8
        kind = self.atomics.kind if self.atomics is not None else None
        add_chunks(gen_module, add_driver(gen_module, gen_module.globals["warp"], self.ws_words), kind)
        self.engine, mod, tm = jit(gen_module)
        _perf_map(self.engine, mod, tm, code.name)
        P, L, addr = ctypes.c_void_p, ctypes.c_int64, self.engine.get_function_address
        self.run = ctypes.CFUNCTYPE(ctypes.c_int32, P, P, P, L, L, L, L, P, P)(addr("run"))
        self.chunks_addr = addr("chunks")                 # chunks.py: the chunk loop of threaded launches
        self.chunks = ctypes.CFUNCTYPE(L, P, L, L)(self.chunks_addr)
        self.fold = ctypes.CFUNCTYPE(None, P)(addr("fold")) if kind is not None else None
        self.seconds = time.perf_counter() - t0


def _perf_map(engine, mod, tm, name) -> None:
    """With VGPU_COMPILED_PERF=DIR: the functions' addresses in /tmp/perf-PID.map (perf's JIT symbols),
    the object code in DIR/NAME.o and the loaded code in DIR/NAME.FN.ADDR.bin (`objdump -D -b binary
    -m i386:x86-64 --adjust-vma=0xADDR`), to read perf's samples against the code (profiling aid)."""
    import os
    out = os.environ.get("VGPU_COMPILED_PERF")
    if not out:
        return
    obj = tm.emit_object(mod)
    with open(os.path.join(out, f"{name}.o"), "wb") as f:
        f.write(obj)
    addrs = sorted((engine.get_function_address(fn), fn) for fn in ("warp", "run", "chunks"))
    with open(f"/tmp/perf-{os.getpid()}.map", "a") as f:
        for (a, fn), nxt in zip(addrs, [x for x, _ in addrs[1:]] + [addrs[-1][0] + len(obj)]):
            f.write(f"{a:x} {nxt - a:x} {name}.{fn}\n")
            with open(os.path.join(out, f"{name}.{fn}.{a:x}.bin"), "wb") as g:    # the code as loaded
                g.write(ctypes.string_at(a, min(nxt - a, len(obj))))


_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def supports(program, kernel_name: str) -> tuple[bool, str]:
    """(True, '') when the compiled executor runs the kernel, else (False, why)."""
    code = program.kernels.get(kernel_name)
    if code is None:
        return False, f"no kernel named '{kernel_name}'"
    why = decline_reason(program, code)
    return (why is None), (why or "")


def translated(program, kernel_name: str) -> bool | None:
    """True when the kernel's native code is cached, False when it was declined, None when it has
    not been tried (nothing is translated here)."""
    got = _cache.get(program, {}).get(kernel_name)
    return None if got is None else not isinstance(got, Declined)


def compile_kernel(program, kernel_name: str, counters: bool = False) -> CompiledKernel:
    """The kernel's CompiledKernel, translated once per Program (Declined if it is not supported);
    `counters`: its variant with the memory counters, translated (once) when a launch first asks."""
    per = _cache.setdefault(program, {})
    key = (kernel_name, "counters") if counters else kernel_name
    got = per.get(key)
    if got is None and counters and isinstance(per.get(kernel_name), Declined):
        got = per[kernel_name]
    if got is None:
        ok, why = supports(program, kernel_name)
        if not ok:
            got = Declined(f"kernel '{kernel_name}': {why}")
        else:
            try:
                got = CompiledKernel(program, program.kernels[kernel_name], counters)
            except NotImplementedError as e:
                got = Declined(f"kernel '{kernel_name}': {e}")
        per[key] = got
    if isinstance(got, Declined):
        raise got
    return got


def launch_decline(cfg) -> str | None:
    """Why a launch's settings need the interpreter (None when they do not)."""
    if cfg.schedule != "fixed":
        return "random schedule"
    if cfg.check or getattr(cfg, "sanitizer", None) is not None:
        return "sanitizers"
    if getattr(cfg, "tracer", None) is not None:
        return "tracing"
    if cfg.interlock is not None:
        return "SM worker processes"
    import os
    if os.environ.get("VGPU_TRACE"):
        return "tracing"
    return None


class _Interp:
    """The interpreter's entry points (looked up lazily: vgpu.sim.scheduler.run_blocks and
    vgpu.sim.config.new_result/LaunchConfig, or the older vgpu.sim.sm)."""

    def __init__(self):
        try:
            from .. import config, scheduler
            self.run_blocks, self.LaunchConfig = scheduler.run_blocks, config.LaunchConfig
            self._new = config.new_result
            self.by_npc = True
        except ImportError:
            from .. import sm
            self.run_blocks, self.LaunchConfig, self._new, self.by_npc = sm.run_blocks, sm.LaunchConfig, \
                sm.new_result, False

    def new_result(self, k):
        return self._new(len(k.ops)) if self.by_npc else self._new(k)


_interp_cache: list = []


def _interp() -> _Interp:
    if not _interp_cache:
        _interp_cache.append(_Interp())
    return _interp_cache[0]


def _symbol_table(k, lay, glob, const) -> np.ndarray | None:
    """Addresses of the module's .global/.const symbols (None when one cannot be found for sure)."""
    known = getattr(k, "addresses", None)
    out = np.zeros(max(len(lay.runtime_syms), 1), np.int64)
    for i, name in enumerate(lay.runtime_syms):
        if known is not None and name in known:
            out[i] = known[name]
            continue
        hits = [s for tab in (glob.table, const.table) for s, (_, n) in tab.live.items() if n == name]
        if len(hits) != 1:
            return None
        out[i] = hits[0]
    return out


def run_blocks(k, cfg, blocks, glob, const, wave_blocks: int, result=None, observer=None, cache=None):
    """The interpreter's run_blocks, natively when the kernel and launch allow (see the module docstring).

    Waves run natively in chunks of about CHUNK_THREADS threads, each chunk with an undo log of its
    global stores; a chunk that bails out is undone and run again wave by wave, and a wave that bails
    out again is run by the interpreter (which raises its fault, or finishes it)."""
    sm = _interp()
    blocks = np.asarray(blocks, np.int64)
    result = result if result is not None else sm.new_result(k)
    name = f"{k.program.filename}:{k.name}"
    interp_args = (observer, cache) if observer is not None or cache is not None else ()
    try:
        if observer is not None:
            raise Declined("an observer watches the launch (sanitizers, tracing, memory counters, debugger)")
        if launch_decline(cfg):
            raise Declined(launch_decline(cfg))
        native = _native(compile_kernel(k.program, k.name, cfg.counters), k, cfg, glob, const, wave_blocks)
    except Declined as e:
        COUNTS["declined"] = COUNTS.get("declined", 0) + 1
        OUTCOMES[name] = f"declined: {e}"
        return sm.run_blocks(k, cfg, blocks, glob, const, wave_blocks, result, *interp_args)
    _run_waves(native, k, cfg, blocks, glob, const, wave_blocks, result, interp_args)
    return result


def run_launch(k, cfg, nwaves: int, wave: int, glob, const, result, threads: int = 1,
               progress=None) -> tuple[bool, str]:
    """Every wave of a launch natively, in as few native calls as possible (the launch path's
    alternative to calling run_blocks per wave), on up to `threads` threads of this process
    (threads.py): (True, how it ran: 'compiled executor, 2 threads', ...); or (False, why), with
    nothing run, when the kernel or the launch's settings are declined (then run the launch as usual).
    `progress` (launch.Progress): told the blocks done now and then while it runs."""
    name = f"{k.program.filename}:{k.name}"
    try:
        if launch_decline(cfg):
            raise Declined(launch_decline(cfg))
        ck = compile_kernel(k.program, k.name, cfg.counters)
        native = _native(ck, k, cfg, glob, const, wave)
    except Declined as e:
        COUNTS["declined"] = COUNTS.get("declined", 0) + 1
        OUTCOMES[name] = f"declined: {e}"
        return False, f"the compiled executor declined: {e}"
    blocks = native.block_ids(cfg.grid[0] * cfg.grid[1] * cfg.grid[2])
    threads = min(threads, blocks.size)
    atom = ck.atomics
    if threads >= 2 and atom is not None and not atom.threads_ok():
        threads = 1                                # atomics dense enough to contend: one thread is faster
    if threads >= 2 and ck.block_seconds is not None and ck.block_seconds * blocks.size < _threads.MIN_SECONDS:
        threads = 1                                # too short a launch to gain from waking threads
    priv = atom.priv if atom is not None and atom.kind is not None and not atom.priv_failed else None
    if priv is not None and not _allocated(glob, *priv):
        priv = None                                # freed, or another allocation there now
    natives = [native]
    if threads >= 2:
        while len(native.extras) < threads - 1:
            native.extras.append(_Native(ck, k, cfg, glob, const, wave))
        natives += native.extras[:threads - 1]
        per_chunk = max(1, CHUNK_THREADS // max(wave * cfg.threads_per_block, 1))
        # a split wave's parts are undone whole when one fails, so privatized copies (folded in) split none
        chunks, split = _threads.plan(blocks.size, wave, threads, per_chunk, ck.block_seconds, priv is None)
    for nat in natives:
        nat.privatize(priv, atom.kind if priv else None)     # no locks and no undo entries for those atomics
    t0 = time.perf_counter()
    interpreted, ran = 0, natives
    try:
        if threads < 2:
            interpreted = _run_waves(native, k, cfg, blocks, glob, const, wave, result, (), progress)
            left, cpu = [], time.perf_counter() - t0
        else:
            counts, ran, left, cpu, bailed = _threads.run_chunks(natives, blocks, wave, chunks, split, progress)
            if bailed:
                COUNTS["undone on threads"] = COUNTS.get("undone on threads", 0) + bailed
            native.add_total(result, counts)
            COUNTS["threads"] = COUNTS.get("threads", 0) + 1
    finally:
        for nat in natives:
            nat.privatize(None, None)
    t1 = time.perf_counter()
    for s, e in left:                              # bailed out or not reached: in order, as on one thread
        interpreted += _run_waves(native, k, cfg, blocks[s:e], glob, const, wave, result, ())
    ck.block_seconds = (cpu + time.perf_counter() - t1) / blocks.size       # as on one thread
    if priv is not None:
        atom.priv_failed |= any(nat.priv_refused for nat in natives)
        COUNTS["privatized"] = COUNTS.get("privatized", 0) + 1
    if atom is not None:
        atom.note(result, ran, priv)
    how = f"compiled executor, {threads} thread{'s' if threads > 1 else ''}"
    if priv is not None:
        how += ", atomics privatized"
    if interpreted:
        how += f", {interpreted} wave{'s' if interpreted > 1 else ''} on the interpreter (bailed out)"
    return True, how


def _run_waves(native, k, cfg, blocks, glob, const, wave_blocks, result, interp_args, progress=None) -> int:
    """Waves natively in chunks; a chunk that bails is undone and retried wave by wave; a wave that
    bails again runs on the interpreter into a fresh result (as the launch runs a wave), merged.
    `progress` (launch.Progress) is told the blocks done after each chunk.  Returns how many waves
    the interpreter ran."""
    sm = _interp()
    name = f"{k.program.filename}:{k.name}"
    wave_blocks = max(wave_blocks, 1)
    nwaves = -(-blocks.size // wave_blocks)
    per_chunk = max(1, CHUNK_THREADS // max(wave_blocks * cfg.threads_per_block, 1))
    i, single_until, outcome, interpreted = 0, 0, "native", 0
    native.clear()
    try:
        while i < nwaves:
            if progress is not None and i:
                progress.blocks(min(i * wave_blocks, blocks.size))
            n = 1 if i < single_until else min(per_chunk, nwaves - i)
            chunk = blocks[i * wave_blocks:(i + n) * wave_blocks]
            why = native.call(chunk, log=True)
            if why == 0:
                i += n
                continue
            if native.priv is not None and native.priv_refused:
                native.privatize(None, None)       # another access met the privatized allocation: undone,
                continue                           # the atomics in place from now on
            if n > 1:                              # undone: the same waves one by one
                single_until = i + n
                continue
            if why == B_LOG and native.call(chunk, log=False) == 0:
                i += 1
                continue
            outcome = "fallback"
            interpreted += 1
            part = sm.new_result(k)
            args = interp_args
            if cfg.counters:                      # the interpreter counts as launch.run_wave has it count
                from ..observe.counters import MemoryCounters
                args = (MemoryCounters(part.pc), interp_args[1] if interp_args else None)
            try:
                sm.run_blocks(k, cfg, chunk, glob, const, wave_blocks, part, *args)
            finally:
                result.merge(part)
            i += 1
    finally:
        native.add_to(result)
    COUNTS[outcome] = COUNTS.get(outcome, 0) + 1
    OUTCOMES[name] = outcome
    return interpreted


CHUNK_THREADS = 1 << 18
LOG_PER_THREAD = 8                  # undo-log entries per thread of a chunk (more: the chunk is retried)
COUNTS: dict[str, int] = {}     # run_blocks calls: 'native', 'fallback' (a wave bailed out), 'declined'; for tests
OUTCOMES: dict[str, str] = {}   # 'file:kernel' -> how its last run_blocks call went (benchmarks, coverage)


_last: list = []        # recent _Natives, latest first, reused while kernel, settings, memory and allocations match
RECENT = 8              # how many: a program alternating kernels (or devices) keeps each one's buffers warm


def _native(ck, k, cfg, glob, const, wave_blocks):
    tables = (glob.table.starts, glob.table.ends, const.table.starts)   # new arrays on every (de)allocation
    for i, n in enumerate(_last):
        if (n.ck is ck and n.glob() is glob and n.const() is const and n.wave_blocks == max(wave_blocks, 1)
                and n.key == _settings(cfg) and all(a is b for a, b in zip(n.tables, tables))):
            _last.insert(0, _last.pop(i))
            return n
    n = _Native(ck, k, cfg, glob, const, wave_blocks)
    _last[:] = [n] + [m for m in _last[:RECENT - 1] if m.glob() is not None]
    return n


def _allocated(glob, lo: int, hi: int) -> bool:
    """Whether global memory has an allocation [lo, hi) exactly."""
    starts, ends = glob.table.starts, glob.table.ends
    i = int(np.searchsorted(starts, lo))
    return i < len(starts) and starts[i] == lo and ends[i] == hi


# every field of a LaunchConfig but seed and clock_base (a _Native serves launches differing only there)
_settings = operator.attrgetter(*(f.name for f in fields(LaunchConfig) if f.name not in ("seed", "clock_base")))


class _Native:
    """The buffers of one kernel's launch configuration (one per thread that runs it), and
    `call(blocks, log)`: the blocks run natively and their counts add to those since `clear()` (0),
    or memory and the counts are put back and the bail-out reason is returned; `add_to(result)`."""

    def __init__(self, ck, k, cfg, glob, const, wave_blocks):
        lay = ck.layout
        self.ck, self.cfg, self.wave_blocks = ck, cfg, max(wave_blocks, 1)
        self.key = _settings(cfg)
        # weak: the cached runner must not keep a closed device's (shared-memory) arena mapped
        self.glob, self.const = weakref.ref(glob), weakref.ref(const)
        self.tables = (glob.table.starts, glob.table.ends, const.table.starts)
        symtab = _symbol_table(k, lay, glob, const)
        if symtab is None:
            raise Declined("a module symbol's address is not known for sure")
        if lay.shared_static != k.shared_static:
            raise Declined("shared memory layout differs from the interpreter's")
        npc = len(ck.code.instrs) + 1
        nrows = len(ROWS) if ck.counters else 0
        # the counts since clear() in one buffer: opw, opt, div, the counter rows (counting.py), then sites
        self.counts = aligned((5 + nrows) * npc)
        self.cwords = (3 + nrows) * npc                       # the counts before the sites
        self.opw, self.opt, self.div = self.counts[:npc], self.counts[npc:2 * npc], self.counts[2 * npc:3 * npc]
        self.rows = self.counts[3 * npc:(3 + nrows) * npc].reshape(nrows, npc) if nrows else None
        self.sites = self.counts[(3 + nrows) * npc:]          # memops.site_range's per-pc allocation cache
        self.kept = aligned(self.counts.size)                 # the driver's copy of them during a run
        self.maps = None                          # slots: %smid and first %warpid of blocks 0, 1, ...
        wpb = self.wpb = cfg.warps_per_block
        tpb = cfg.threads_per_block
        alive0 = np.array([(1 << int(v)) - 1 for v in np.clip(tpb - np.arange(wpb) * 32, 0, 32)], np.int64)
        shared = aligned(max(lay.shared_static + cfg.shared_dynamic, 8) + 128, np.uint8)   # memops.permute_load
        lpad = -(-max(lay.local_bytes, 8) // 16) * 16 if lay.local_bytes else 0
        local = aligned(max(wpb * 32 * lpad, 8), np.uint8)
        params = np.frombuffer(bytes(cfg.params) + bytes(8), np.uint8)
        gstarts = np.ascontiguousarray(glob.table.starts, np.int64)
        gends = np.ascontiguousarray(glob.table.ends, np.int64)
        cstarts = np.ascontiguousarray(const.table.starts, np.int64)
        cends = np.ascontiguousarray(const.table.ends, np.int64)
        per_chunk = max(1, CHUNK_THREADS // max(self.wave_blocks * tpb, 1)) * self.wave_blocks * tpb
        self.log = np.zeros(3 * LOG_PER_THREAD * per_chunk + 3, np.int64)
        self.records = np.zeros((LOG_PER_THREAD * per_chunk // 16 + 1, RECORD_WORDS), np.int64)
        self.keep = (symtab, alive0, shared, local, params, gstarts, gends, cstarts, cends)
        ctx = self.ctx = aligned(CTX_WORDS_ALL)
        addr = lambda a: a.ctypes.data if a.size else 0      # noqa: E731
        for word, v in ((C_ARENA, glob.arena.ctypes.data), (C_GSTARTS, addr(gstarts)), (C_GENDS, addr(gends)),
                        (C_GCOUNT, gstarts.size), (C_CONST, const.arena.ctypes.data), (C_CSTARTS, addr(cstarts)),
                        (C_CENDS, addr(cends)), (C_CCOUNT, cstarts.size), (C_SHARED, shared.ctypes.data),
                        (C_SHARED_BYTES, lay.shared_static + cfg.shared_dynamic), (C_LOCAL, local.ctypes.data),
                        (C_LPAD, lpad), (C_LOCAL_BYTES, lay.local_bytes), (C_PARAMS, params.ctypes.data),
                        (C_OPW, self.opw.ctypes.data), (C_OPT, self.opt.ctypes.data), (C_DIV, self.div.ctypes.data),
                        (C_SYMTAB, symtab.ctypes.data), (C_NTID, cfg.block[0]), (C_NTID_Y, cfg.block[1]),
                        (C_NTID_Z, cfg.block[2]), (C_NCTAID, cfg.grid[0]), (C_NCTAID_Y, cfg.grid[1]),
                        (C_NCTAID_Z, cfg.grid[2]), (C_NSMID, cfg.num_sms), (C_ALIVE0, alive0.ctypes.data),
                        (C_WPB, wpb), (C_LOG, self.log.ctypes.data), (C_RLOG, self.records.ctypes.data),
                        (C_SITES, self.sites.ctypes.data), (C_KEEP, self.kept.ctypes.data),
                        (C_KEEP_FROM, self.counts.ctypes.data), (C_KEEP_BYTES, self.counts.nbytes)):
            ctx[word] = v
        if self.rows is not None:
            ctx[C_ROWS] = self.rows.ctypes.data
        self.ws = aligned(wpb * ck.ws_words)
        self.ptrs = (ctx.ctypes.data, self.ws.ctypes.data)    # a ctypes pointer costs ~0.7 us: taken once
        self.extras: list = []          # more _Natives of the same launch settings, one per extra thread
        self.launch_buf = None          # the last threaded launch's buffer, its key and views (threads.run_chunks)
        self.ids = np.arange(0, dtype=np.int64)     # block ids 0, 1, ... (block_ids)
        self.priv = None                # (lo, kind, this thread's copy) while a launch privatizes an allocation
        self.spare = None               # the last such copy (at the op's identity), for the next launch
        self.priv_refused = False       # an access other than the atomics met the privatized allocation
        self.budget = max(cfg.max_instructions - 1, 0)       # warp instructions per wave (the interpreter's)
        self.caps = (self.log.size // 3 - 1, len(self.records) - 1)     # the undo log's room
        ctx[C_STEPS] = max(cfg.max_steps - 1, 0)             # a warp's own: a lower bound of its wave's steps

    def block_ids(self, n: int) -> np.ndarray:
        """The block ids 0 .. n - 1 (an array kept between launches)."""
        if self.ids.size != n:
            self.ids = np.arange(n, dtype=np.int64)
        return self.ids

    def clear(self) -> None:
        """Zero the counts and the sites (before a launch's runs: `call` adds to them)."""
        self.counts[:] = 0
        self.ctx[C_WAVES] = self.ctx[C_BARRIERS] = self.ctx[C_ATOMICS] = 0

    def add_to(self, result) -> None:
        """Add the counts since clear() to `result`."""
        _add_counts(result, self.ck.heads, self.opw, self.opt, self.div, self.rows, self.ctx[C_WAVES],
                    self.ctx[C_BARRIERS], self.ctx[C_ATOMICS])

    def add_total(self, result, v) -> None:
        """Add counts laid out as the chunk loop's launch total (chunks.D_TOTAL: `cwords` words of
        opw, opt, div and the counter rows, then waves, barriers, atomics) to `result`."""
        npc, c = self.opw.size, self.cwords
        rows = v[3 * npc:c].reshape(-1, npc) if self.rows is not None else None
        _add_counts(result, self.ck.heads, v[:npc], v[npc:2 * npc], v[2 * npc:3 * npc], rows, *v[c:c + 3])

    def call(self, blocks, log: bool, part: bool = False) -> int:
        """Run the blocks natively (on this thread alone): 0, their counts added to those since
        clear(); or memory and the counts put back and the bail-out reason.  part: the blocks are
        part of a wave, which they may take their share of the watchdog budget of (more bails out)."""
        ctx, wave, priv = self.ctx, self.wave_blocks, self.priv
        smid, wbase, smid_ptr, wbase_ptr = self.slots(blocks)
        ctx[C_GLO] = ctx[C_GHI] = ctx[C_CLO] = ctx[C_CHI] = ctx[C_LOGN] = ctx[C_RLOGN] = 0
        ctx[C_LOGCAP], ctx[C_RLOGCAP] = self.caps if log else (-1, -1)
        n = blocks.size
        first = int(blocks[0]) if n else 0
        if n and int(blocks[-1]) - first == n - 1:     # consecutive: the waves that start among them
            waves = -(-(first + n) // wave) + (-first // wave)
        else:
            waves = -(-n // wave)
        budget, period = (self.budget * n // wave, max(n, 1)) if part else (self.budget, wave)
        glob = self.glob()
        saved = None if log else glob.arena[:glob.top].copy()
        blocks = np.ascontiguousarray(blocks, np.int64)
        status = self.ck.run(*self.ptrs, blocks.ctypes.data, n, self.wpb, period, budget, smid_ptr, wbase_ptr)
        if priv is not None:
            if status == 0:
                self.ck.fold(self.ptrs[0])
            else:
                priv[2].view(priv[1][1]).fill(_threads.identity(priv[1]))
                self.priv_refused |= self.refused()
        if status != 0:
            if saved is not None:
                glob.arena[:saved.size] = saved
            else:
                undo(glob.arena, *self._logged())
            return int(ctx[C_BAIL_WHY]) or B_FAULT
        ctx[C_WAVES] += waves
        return 0

    def refused(self) -> bool:
        """Whether the last run met the privatized allocation other than by its atomics."""
        return bool(self.ctx[C_PRIV_REFUSED])

    def slots(self, blocks):
        """(%smid, the first %warpid) of each block: its SM, and its rank on that SM in its wave times
        the warps per block; views of arrays made once per launch size for consecutive blocks (the
        launch path), computed otherwise."""
        cfg, wave = self.cfg, self.wave_blocks
        n = blocks.size
        if n and blocks[-1] - blocks[0] == n - 1 and wave % cfg.num_sms == 0:
            first, last = int(blocks[0]), int(blocks[-1]) + 1
            if self.maps is None or self.maps[0].size < last:
                ids = np.arange(max(last, cfg.nblocks), dtype=np.int64)
                m = (ids % cfg.num_sms, ids % wave // cfg.num_sms * self.wpb)
                self.maps = m + (m[0].ctypes.data, m[1].ctypes.data)
            return self.maps[0][first:last], self.maps[1][first:last], self.maps[2] + 8 * first, \
                self.maps[3] + 8 * first
        smid = blocks % cfg.num_sms
        wbase = np.zeros(n, np.int64)
        for s in range(0, n, wave):                        # %warpid: the block's rank on its SM in the wave
            sm_ = smid[s:s + wave]
            order = np.argsort(sm_, kind="stable")
            first = np.searchsorted(sm_[order], sm_[order])
            slot = np.empty(sm_.size, np.int64)
            slot[order] = np.arange(sm_.size) - first
            wbase[s:s + wave] = slot * self.wpb
        return smid, wbase, smid.ctypes.data, wbase.ctypes.data

    def privatize(self, priv, kind) -> None:
        """From now on (priv (lo, hi), kind (op, dtype)), or no longer (None): runs do the global
        atomics on [lo, hi) in a copy of this thread's, folded into memory after each run (the copy
        is kept for the next launch that privatizes the same)."""
        ctx = self.ctx
        if priv is None:
            if self.priv is not None:              # (ctx's words are 0 while nothing is privatized)
                ctx[C_PRIV_LO] = ctx[C_PRIV_HI] = ctx[C_PRIV_BUF] = ctx[C_PRIV_REFUSED] = 0
                self.spare, self.priv = self.priv, None
            return
        ctx[C_PRIV_REFUSED] = 0
        lo, hi = priv
        n = (hi - lo) // kind[1].itemsize
        have = self.priv or self.spare
        if have is None or have[0] != lo or have[2].size != n or have[1] != kind:
            copy = aligned(n, kind[1])
            copy.fill(_threads.identity(kind))
            have = (lo, kind, copy)
        self.priv, self.priv_refused = have, False
        ctx[C_PRIV_LO], ctx[C_PRIV_HI], ctx[C_PRIV_BUF] = lo, lo + have[2].nbytes, have[2].ctypes.data

    def _logged(self):
        """The undo log of the last run: its entries and its records (undo.py)."""
        ctx = self.ctx
        return self.log[:3 * int(ctx[C_LOGN])].reshape(-1, 3), self.records[:int(ctx[C_RLOGN])]

    def logged(self, a: int, b: int, ra: int, rb: int):
        """The undo log's entries [a, b) and records [ra, rb) (one run of a threaded launch, which
        appends the runs of a split launch: the records count entries from a)."""
        recs = self.records[ra:rb].copy()
        recs[:, 1] -= a
        return self.log[3 * a:3 * b].reshape(-1, 3), recs


CTX_WORDS_ALL = CTX_WORDS


def _add_counts(result, heads, opw, opt, div, rows, waves, barriers, atomics) -> None:
    """Add native counts (per-pc arrays, counted per segment: `heads` maps pcs to their segment
    head) to a BlocksResult."""
    npc = opw.size
    opw, opt = opw[heads], opt[heads]
    n = len(result.op_warps)
    if any(result.op_warps):
        result.op_warps = [a + b for a, b in zip(result.op_warps, opw.tolist())]
        result.op_threads = [a + b for a, b in zip(result.op_threads, opt.tolist())]
    else:                                       # a fresh result (a launch's first counts)
        result.op_warps, result.op_threads = opw[:n].tolist(), opt[:n].tolist()
    result.pc[0, :npc] += div                   # counters.DIVERGENT is row 0
    if rows is not None:
        result.pc[1:, :npc] += rows[1:]          # the memory counters' rows
    st = result.stats
    wi = int(opw.sum())
    for name, v in (("warp_instructions", wi), ("thread_instructions", int(opt.sum())), ("steps", wi),
                    ("waves", int(waves)), ("barriers", int(barriers)), ("atomics", int(atomics))):
        st[name] = st.get(name, 0) + v
