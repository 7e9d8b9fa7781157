"""A kernel launch: validation, occupancy, the distribution of blocks, and the result.

In:  a decoded kernel, the launch geometry, the argument values and the device's settings.
Out: a `LaunchResult` (counters, per-instruction counts, printf output, which is also written to
     sys.stdout ordered by block id, then warp, then issue order), or an `InvalidLaunch` /
     other `DeviceError`.

Blocks go to SMs deterministically: block i (linear id, x fastest) runs on SM i % num_sms and
%smid says so.  An SM holds as many blocks as the occupancy limits allow (2048 threads = 64 warps,
32 blocks, 228 KiB of shared memory); the blocks resident on all SMs form one wave and run
together (see `scheduler`).  Wave j is blocks [j * wave, (j + 1) * wave), and it runs alone with counters
that start from zero (so %clock and the watchdog budget count per wave): its result depends only
on the launch and on global memory, never on which process runs it or what ran before in that
process.  In-process the waves run in order; a launch of several waves may instead be handed to
the SM worker processes (`pool`), which run the same waves concurrently and merge the results.

The executor: 'interp' runs every wave on the numpy interpreter (`scheduler`); 'compiled' hands
the whole launch to the compiled executor (`compiled.run_launch`, native code, same bytes,
faults and counters) whenever the kernel and the launch's settings allow it and no observer
(tracer, sanitizer, debugger) watches, and to the interpreter otherwise; 'auto' (the default) tiers
like a JIT, choosing by expected work (`native`): a kernel already translated runs natively, a big
first launch (AUTO_MIN_THREADS threads) too, and a kernel whose interpreted launches so far plus
this one's expected interpreted time (its seconds per thread so far times this launch's threads)
reach what its translation costs (AUTO_PAYBACK_SECONDS, plus `long_kernel_seconds` for a long
kernel, whose big-launch threshold grows in proportion) is translated now.  Observed launches
stay on the interpreter whatever the executor.
"""
from __future__ import annotations

import math
import struct
import sys
import time
from dataclasses import dataclass, field, replace

import numpy as np

from ..isa.program import ParamInfo
from ..types import wrap_int
from .config import BlocksResult, LaunchConfig, new_result
from .decode import DecodedKernel
from .faults import DeviceError, InvalidLaunch
from .memory import ConstBank, GlobalMemory
from .observe.counters import Counters, MemoryCounters, launch_totals
from .observe.sanitize import Sanitizer
from .observe.trace import env_tracer
from .observer import combine
from .occupancy import (MAX_REGS_PER_BLOCK, MAX_REGS_PER_THREAD, SM_BLOCKS, SM_SHARED, SM_WARPS, Occupancy,
                        registers_per_thread, theoretical)
from . import compiled
from .scheduler import run_blocks
from .wave import WaveCache

MAX_BLOCK = (1024, 1024, 64)
MAX_GRID = (2 ** 31 - 1, 65535, 65535)
MAX_THREADS_PER_BLOCK = 1024
MAX_LOCAL_PER_THREAD = 512 * 1024           # bytes of local memory a thread may use (CUDA's limit)
TOO_MANY = "too many resources requested for launch"
EXECUTORS = ("interp", "compiled", "auto")
AUTO_MIN_THREADS = 1 << 15                  # 'auto': a first launch this big is translated at once
AUTO_PAYBACK_SECONDS = 0.2                  # 'auto': interpreted time that repays a translation (0.15-0.7 s)
TRANSLATION_SECONDS = 0.2                   # what translating a kernel of up to AUTO_LONG_KERNEL instructions takes
AUTO_SECONDS_PER_INSTRUCTION = 0.006        # 'auto': what a long kernel's translation costs on top, per
AUTO_LONG_KERNEL = 130                      # instruction past AUTO_LONG_KERNEL (6-7 ms: 6 s for 1,100)
PROGRESS_HZ = 4                             # progress callbacks per second at most
LIMITS_KEPT = 64                            # block shapes whose validation a kernel remembers (`limits`)


@dataclass
class LaunchResult:
    """What a launch did.  `stats`: a `counters.Counters` (a dict of totals: instructions by
    class, branches, memory requests, sectors, wavefronts, ...; `.occupancy`; `.format()`; see
    docs/counters.md).  `op_counts`: mnemonic -> warp instructions; `line_counts`: .vk line -> warp
    instructions; `pcs`: per executed instruction, its source line and counts (`counters.launch_totals`);
    `printf`: each thread's output in order; `ran_on`: what ran it and why ('compiled executor, 2
    threads'; 'interpreter (the compiled executor declined: ...)'; ...)."""
    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared: int
    stats: dict = field(default_factory=dict)
    op_counts: dict = field(default_factory=dict)
    line_counts: dict = field(default_factory=dict)
    printf: list = field(default_factory=list)
    seconds: float = 0.0
    pcs: list = field(default_factory=list)
    reports: list = field(default_factory=list)       # vgpu.sim.sanitize.Report, when checks ran
    ran_on: str = ""        # what ran it: 'compiled executor, 2 threads', 'interpreter (why)', ...

    @property
    def output(self) -> str:
        return "".join(self.printf)

    def _repr_html_(self) -> str:
        """Notebook display: geometry, time, occupancy, divergence (branches, SIMT efficiency), the
        counters that are not zero, printf lines and sanitizer reports."""
        import html
        st = dict(self.stats) if self.stats else {}
        parts = [f"<div><b>{html.escape(self.kernel)}</b> grid {self.grid} block {self.block}"
                 f"{f' shared {self.shared} B' if self.shared else ''}, {self.seconds * 1e3:.1f} ms"
                 f"{f' on the {html.escape(self.ran_on)}' if self.ran_on else ''}"]
        occ = getattr(self.stats, "occupancy", None)
        if occ is not None:
            parts.append(f"<p>occupancy: {occ.warps_per_sm} warps per SM ({occ.blocks_per_sm} blocks), "
                         f"limited by {html.escape(', '.join(occ.limiters))}</p>")
        if st.get("warp_instructions"):
            eff = st.get("thread_instructions", 0) / (32 * st["warp_instructions"])
            parts.append(f"<p>divergence: {st.get('divergent_branches', 0)} of {st.get('branches', 0)} branches "
                         f"divergent, SIMT efficiency {eff:.0%}</p>")
        rows = "".join(f"<tr><td>{html.escape(str(k))}</td><td>{v}</td></tr>" for k, v in st.items()
                       if isinstance(v, (int, float)) and v)
        parts.append(f"<table>{rows}</table>")
        if self.printf:
            parts.append(f"<pre>{html.escape(self.output[:4000])}</pre>")
        if self.reports:
            parts.append(f"<p>{len(self.reports)} sanitizer report(s)</p>")
        return "".join(parts) + "</div>"

    def format_stats(self) -> str:
        lines = [self.stats.format() if isinstance(self.stats, Counters) else str(self.stats)]
        lines.append("  instructions (warp-level):")
        lines += [f"    {k:26s} {v}" for k, v in sorted(self.op_counts.items(), key=lambda kv: -kv[1])]
        return "\n".join(lines)


def dims(v, what: str) -> tuple[int, int, int]:
    """The one normaliser of launch geometry: an int or a 1..3-tuple of ints -> (x, y, z), padded
    with 1s (`validate` then checks the limits); InvalidLaunch for anything else."""
    if type(v) is int:                           # the common forms, without the general checks
        return v, 1, 1
    if type(v) is tuple and len(v) == 3 and type(v[0]) is int and type(v[1]) is int and type(v[2]) is int:
        return v
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v) if isinstance(v, (tuple, list)) else None
    if t is None or not 1 <= len(t) <= 3 or not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool)
                                                    for x in t):
        raise InvalidLaunch(f"{what} must be an int or a tuple of 1 to 3 ints, got {v!r}")
    return tuple(int(x) for x in t) + (1,) * (3 - len(t))


# struct's little-endian format of each integer and float type: encode_params's fast path (the
# values it packs are exactly those numpy's conversion gives)
PACK = {"s8": "<b", "u8": "<B", "s16": "<h", "u16": "<H", "s32": "<i", "u32": "<I", "s64": "<q", "u64": "<Q",
        "f32": "<f", "f64": "<d"}


def encode_params(kernel: str, params: list[ParamInfo], values) -> bytes:
    """The kernel's `.param` buffer: each value's bits at its `ParamInfo.offset`.  Integers are taken
    modulo 2^bits (pointers are device addresses), floats are rounded to the parameter's type.  It
    checks the count only: `vgpu.runtime` checks and converts user arguments before calling it, and
    hand-written simulator tests pass raw values."""
    if len(values) != len(params):
        raise InvalidLaunch(f"kernel '{kernel}' takes {len(params)} arguments "
                            f"({', '.join(p.name for p in params)}), got {len(values)}")
    buf = bytearray(max((p.offset + p.size for p in params), default=0))
    for p, v in zip(params, values):
        t = p.type
        fmt = PACK.get(t.name)
        if fmt is not None:                      # Python ints and finite floats: packed directly
            if type(v) is int and not t.is_float:
                try:
                    struct.pack_into(fmt, buf, p.offset, v)
                except struct.error:             # out of the type's range: wrapped
                    struct.pack_into(fmt, buf, p.offset, wrap_int(v, t.bits, t.is_signed))
                continue
            if type(v) is float and t.is_float and math.isfinite(v):
                try:
                    struct.pack_into(fmt, buf, p.offset, v)
                    continue
                except OverflowError:            # beyond the type's range: numpy makes it inf
                    pass
        try:
            if t.is_float:
                x = np.array(float(v), t.dtype)
            elif t.kind == "pred":
                x = np.array(bool(v))
            else:
                x = np.array(wrap_int(int(v), t.bits, t.is_signed), t.dtype)
        except (TypeError, ValueError, OverflowError):
            raise InvalidLaunch(f"argument '{p.name}' of kernel '{kernel}' must be a {t} number, got {v!r}") from None
        buf[p.offset:p.offset + p.size] = x.tobytes()
    return bytes(buf)


def blocks_per_sm(k: DecodedKernel, cfg: LaunchConfig) -> int:
    shared = k.shared_static + cfg.shared_dynamic
    n = min(SM_BLOCKS, SM_WARPS // cfg.warps_per_block)
    if shared:
        n = min(n, SM_SHARED // shared)
    return max(n, 1)


def validate(k: DecodedKernel, cfg: LaunchConfig, max_shared: int) -> None:
    """InvalidLaunch (CUDA's reasons, in CUDA's words where it has them) unless the launch fits the
    device's and the kernel's limits."""
    for c, x, m in zip("xyz", cfg.block, MAX_BLOCK):
        if not 1 <= x <= m:
            raise InvalidLaunch(f"block dimension {c} = {x} is outside 1..{m}")
    check_grid(cfg.grid)
    if cfg.threads_per_block > MAX_THREADS_PER_BLOCK:
        raise InvalidLaunch(f"a block of {cfg.threads_per_block} threads exceeds the limit of "
                            f"{MAX_THREADS_PER_BLOCK}")
    if k.code.max_threads is not None and cfg.threads_per_block > k.code.max_threads:
        raise InvalidLaunch(f"{TOO_MANY}: a block of {cfg.threads_per_block} threads, but kernel '{k.name}' is "
                            f"declared __launch_bounds__({k.code.max_threads}) (at most {k.code.max_threads} threads "
                            f"per block)")
    if cfg.shared_dynamic < 0:
        raise InvalidLaunch(f"dynamic shared memory size {cfg.shared_dynamic} is negative")
    total = k.shared_static + cfg.shared_dynamic
    if total > max_shared:
        raise InvalidLaunch(f"{TOO_MANY}: a block of kernel '{k.name}' needs {total} bytes of shared memory "
                            f"({k.shared_static} static + {cfg.shared_dynamic} dynamic), more than the limit of "
                            f"{max_shared}")
    regs = registers_per_thread(k.code.regs)
    if regs > MAX_REGS_PER_THREAD:
        raise InvalidLaunch(f"{TOO_MANY}: kernel '{k.name}' uses {regs:,} registers per thread, more than the "
                            f"{MAX_REGS_PER_THREAD} a thread may use")
    if theoretical(regs, total, cfg.threads_per_block).limits["registers"] == 0:
        raise InvalidLaunch(f"{TOO_MANY}: kernel '{k.name}' uses {regs} registers per thread; a block of "
                            f"{cfg.threads_per_block} threads needs more than the {MAX_REGS_PER_BLOCK:,} registers "
                            "of a block (registers are allocated per warp, 256 at a time)")
    if k.local_bytes > MAX_LOCAL_PER_THREAD:
        raise InvalidLaunch(f"{TOO_MANY}: kernel '{k.name}' needs {k.local_bytes:,} bytes of local memory per "
                            f"thread, more than the limit of {MAX_LOCAL_PER_THREAD:,} (512 KiB)")


def limits(k: DecodedKernel, cfg: LaunchConfig, max_shared: int) -> tuple[Occupancy, int]:
    """`validate` the launch, and its (occupancy, blocks per SM).  What depends on the block shape
    and the shared memory only is validated once per kernel and shape and kept on the kernel (at
    most LIMITS_KEPT shapes); a launch with a kept shape checks its grid only (a bad block shape
    is never kept, so it fails each time with validate's error)."""
    key = (cfg.block, cfg.shared_dynamic, max_shared)
    kept = k.limits.get(key)
    if kept is None:
        validate(k, cfg, max_shared)
        kept = (theoretical(registers_per_thread(k.code.regs), k.shared_static + cfg.shared_dynamic,
                            cfg.threads_per_block), blocks_per_sm(k, cfg))
        if len(k.limits) >= LIMITS_KEPT:
            k.limits.clear()
        k.limits[key] = kept
    else:
        check_grid(cfg.grid)
    return kept


def check_grid(grid: tuple[int, int, int]) -> None:
    """InvalidLaunch unless every grid dimension is within MAX_GRID."""
    for c, x, m in zip("xyz", grid, MAX_GRID):
        if not 1 <= x <= m:
            raise InvalidLaunch(f"grid dimension {c} = {x} is outside 1..{m}")


def run_wave(k: DecodedKernel, cfg: LaunchConfig, j: int, wave: int, glob: GlobalMemory, const: ConstBank,
             part: BlocksResult, observer=None, cache: WaveCache | None = None) -> None:
    """Run wave j (blocks j * wave ..) of a launch into `part`, a fresh result (also on a fault),
    watched by `observer` and by the memory counters when the launch collects them."""
    nblocks = cfg.nblocks
    blocks = np.arange(j * wave, min((j + 1) * wave, nblocks))
    if cfg.schedule == "random":                 # blocks to waves in a seeded random order
        blocks = np.random.default_rng(cfg.seed).permutation(nblocks)[blocks]
    observer = combine(observer, MemoryCounters(part.pc) if cfg.counters else None)
    run_blocks(k, replace(cfg, seed=cfg.seed * 65537 + j), blocks, glob, const, wave, part, observer, cache)


def launch(k: DecodedKernel, cfg: LaunchConfig, glob: GlobalMemory, const: ConstBank,
           max_shared: int, echo: bool = True, parallel=None, observer=None,
           cache: WaveCache | None = None, progress=None, executor: str = "interp", threads: int = 1) -> LaunchResult:
    """Validate and run a launch: in this process, or, when it has several waves and `parallel`
    is given, by `parallel(k, cfg, nwaves, wave, result)` (the SM worker pool).  `observer`
    (an `observer.Observer`: a tracer, a debugger) and the sanitizers of cfg.check watch it in
    this process; `cache` keeps a Wave for the next launch of the same geometry; `progress(blocks
    done, blocks total)` is called at most PROGRESS_HZ times a second while it runs, and at the end;
    `executor` is one of EXECUTORS (see the module docstring); a compiled launch of several waves
    runs on `threads` threads of this process (the device's workers)."""
    occupancy, per_sm = limits(k, cfg, max_shared)
    nblocks = cfg.grid[0] * cfg.grid[1] * cfg.grid[2]
    wave = per_sm * cfg.num_sms
    if k.uses_grid_sync and nblocks > wave:
        raise InvalidLaunch(f"a cooperative launch (grid.sync) of {nblocks} blocks exceeds the {wave} blocks "
                            f"that can be resident at once on {cfg.num_sms} SMs")
    nwaves = -(-nblocks // wave)
    sanitizer = Sanitizer(cfg.check, k, cfg, glob) if cfg.check else None
    if "initcheck" not in cfg.check:
        glob.note_all_written()                  # what this launch writes is not tracked
    if observer is None:
        observer = env_tracer()
    if sanitizer is not None:
        observer = combine(sanitizer, observer)
    if observer is not None:
        parallel = None                          # observed launches run in this process
    result = new_result(len(k.ops))
    t0 = time.perf_counter()
    report = Progress(progress, nblocks, wave) if progress is not None else None
    how = ""
    try:
        why = "a sanitizer, tracer or debugger watches it" if observer is not None else native(k, cfg, executor)
        ran_native = False
        if why is None:
            ran_native, why = compiled.run_launch(k, cfg, nwaves, wave, glob, const, result, threads, report)
        how = why if ran_native else f"interpreter ({why})"
        if not ran_native and parallel is not None and nwaves > 1:
            how = f"interpreter, {min(threads, nwaves)} SM worker processes ({why})"
            parallel(k, cfg, nwaves, wave, result, progress=report)
        elif not ran_native:
            for j in range(nwaves):
                part = new_result(len(k.ops))
                try:
                    run_wave(k, cfg, j, wave, glob, const, part, observer, cache)
                finally:
                    result.merge(part)
                if report is not None:
                    report(j + 1)
        if not ran_native and observer is None:          # the interpreter's time, for 'auto' (native)
            k.interp_seconds += time.perf_counter() - t0
            k.interp_threads += nblocks * cfg.threads_per_block
        if report is not None:
            report(nwaves, final=True)
    except DeviceError as e:
        e.reports = sanitizer.reports if sanitizer is not None else []
        raise
    finally:
        out = finish(k, cfg, result, time.perf_counter() - t0, occupancy, how)
        out.reports = sanitizer.reports if sanitizer is not None else []
        if echo and out.printf:
            sys.stdout.write(out.output)
            sys.stdout.flush()
    return out


def native(k: DecodedKernel, cfg: LaunchConfig, executor: str) -> str | None:
    """None to offer the launch to the compiled executor (which may still decline it), else why not:
    offered always for 'compiled'; for 'auto' when the kernel is translated already (on any device),
    when the launch is big, or when the kernel's interpreted time so far plus this launch's expected
    interpreted time reaches AUTO_PAYBACK_SECONDS (a translation then costs at most about what
    interpreting did)."""
    if executor != "auto":
        return None if executor == "compiled" else f"executor={executor!r}"
    known = compiled.translated(k.program, k.name)
    if known is False:
        try:
            compiled.compile_kernel(k.program, k.name)     # cached: raises the reason it was declined
        except compiled.Declined as e:
            return f"the compiled executor declined: {e}"
    if known is not None:
        return None
    threads = cfg.nblocks * cfg.threads_per_block
    extra = long_kernel_seconds(len(k.ops))
    if threads >= AUTO_MIN_THREADS * (1 + extra / TRANSLATION_SECONDS):     # (grows with the translation)
        return None
    expected = k.interp_seconds / k.interp_threads * threads if k.interp_threads else 0.0
    if k.interp_seconds + expected >= AUTO_PAYBACK_SECONDS + extra:
        return None
    return f"auto: {threads:,} threads, too few to repay a translation yet"


def long_kernel_seconds(instructions: int) -> float:
    """What translating a kernel of this many instructions costs beyond the usual 0.2 s (measured on
    fuzzed kernels of 15 to 1,150 instructions: nothing up to ~130, then 6-7 ms per instruction)."""
    return AUTO_SECONDS_PER_INSTRUCTION * max(0, instructions - AUTO_LONG_KERNEL)


class Progress:
    """Calls `progress(blocks_done, blocks_total)` when waves finish, at most PROGRESS_HZ times a
    second (the last call, with every block done, always)."""

    def __init__(self, progress, nblocks: int, wave: int):
        self.progress, self.nblocks, self.wave = progress, nblocks, wave
        self.last = time.monotonic()
        self.shown = -1

    def __call__(self, waves_done: int, final: bool = False) -> None:
        self.blocks(min(waves_done * self.wave, self.nblocks), final)

    def blocks(self, done: int, final: bool = False) -> None:
        """As __call__, with the blocks done (the compiled executor finishes blocks, not waves)."""
        now = time.monotonic()
        if done != self.shown and (final or now - self.last >= 1 / PROGRESS_HZ):
            self.last, self.shown = now, done
            self.progress(done, self.nblocks)


def finish(k: DecodedKernel, cfg: LaunchConfig, r: BlocksResult, seconds: float, occ: Occupancy,
           how: str = "") -> LaunchResult:
    """The LaunchResult of a launch's counts `r` (printf in block, warp, step, lane order); `how`:
    what ran it (LaunchResult.ran_on)."""
    texts = [t for *_, t in sorted(r.printf, key=lambda rec: rec[:4])] if r.printf else []
    title = (f"kernel {k.name}: grid {cfg.grid} block {cfg.block}, {k.shared_static + cfg.shared_dynamic} bytes "
             f"of shared memory per block, {seconds:.3f} s host time" + (f"\nran on: {how}" if how else ""))
    t = launch_totals(k, r.stats, r.op_warps, r.op_threads, r.pc, cfg.counters, occ, title)
    return LaunchResult(k.name, cfg.grid, cfg.block, cfg.shared_dynamic, t.counters, t.op_counts, t.line_counts,
                        texts, seconds, t.records, ran_on=how)
