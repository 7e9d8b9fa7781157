"""A kernel launch: validation, occupancy, the distribution of blocks, and the result.

In:  a decoded kernel, the launch geometry, the argument values and the device's settings.
Out: a `LaunchResult` (counters, per-instruction counts, printf output, which is also written to
     sys.stdout ordered by block id, then warp, then issue order), or an `InvalidLaunch` /
     other `DeviceError`.

Blocks go to SMs deterministically: block i (linear id, x fastest) runs on SM i % num_sms and
%smid says so.  An SM holds as many blocks as the occupancy limits allow (2048 threads = 64 warps,
32 blocks, 228 KiB of shared memory); in-process, the blocks resident on all SMs form one wave
and run together (see `sm`).
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field

import numpy as np

from .decode import DecodedKernel
from .faults import InvalidLaunch
from .memory import ConstBank, GlobalMemory
from .sm import BlocksResult, LaunchConfig, new_result, run_blocks

MAX_BLOCK = (1024, 1024, 64)
MAX_GRID = (2 ** 31 - 1, 65535, 65535)
MAX_THREADS_PER_BLOCK = 1024
SM_THREADS, SM_BLOCKS, SM_WARPS, SM_SHARED = 2048, 32, 64, 228 * 1024


@dataclass
class LaunchResult:
    """What a launch did.  `stats`: warp_instructions, thread_instructions (active threads),
    steps, waves, divergent_branches, barriers (block barrier releases), atomics (thread atomics),
    global_{load,store}_{requests,transactions} (warp requests, 32-byte sectors).
    `op_counts`: mnemonic -> warp instructions; `printf`: each thread's output in order."""
    kernel: str
    grid: tuple[int, int, int]
    block: tuple[int, int, int]
    shared: int
    stats: dict = field(default_factory=dict)
    op_counts: dict = field(default_factory=dict)
    line_counts: dict = field(default_factory=dict)
    printf: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def output(self) -> str:
        return "".join(self.printf)

    def __getattr__(self, name):
        stats = self.__dict__.get("stats", {})
        if name in stats:
            return stats[name]
        raise AttributeError(name)

    def format_stats(self) -> str:
        lines = [f"kernel {self.kernel}: grid {self.grid} block {self.block} shared {self.shared} bytes, "
                 f"{self.seconds:.3f} s"]
        lines += [f"  {k:28s} {v}" for k, v in self.stats.items()]
        lines.append("  instructions (warp-level):")
        lines += [f"    {k:26s} {v}" for k, v in sorted(self.op_counts.items(), key=lambda kv: -kv[1])]
        return "\n".join(lines)


def dims(v, what: str) -> tuple[int, int, int]:
    t = (v,) if isinstance(v, (int, np.integer)) else tuple(v)
    if not 1 <= len(t) <= 3 or not all(isinstance(x, (int, np.integer)) for x in t):
        raise InvalidLaunch(f"{what} must be 1 to 3 integers, got {v!r}")
    return tuple(int(x) for x in t) + (1,) * (3 - len(t))


def pack_params(k: DecodedKernel, args) -> bytes:
    """The kernel's parameter buffer, each argument converted to its parameter's type."""
    params = k.code.params
    if len(args) != len(params):
        raise InvalidLaunch(f"kernel '{k.name}' takes {len(params)} arguments "
                            f"({', '.join(p.name for p in params)}), got {len(args)}")
    buf = bytearray(k.param_bytes)
    for p, v in zip(params, args):
        off, t = k.param_layout[p.symbol or p.name]
        try:
            if t.is_float:
                x = np.array(float(v), t.dtype)
            elif t.kind == "pred":
                x = np.array(bool(v))
            else:
                iv = int(v) & ((1 << t.bits) - 1)
                x = np.array(iv, {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[t.bits])
        except (TypeError, ValueError, OverflowError):
            raise InvalidLaunch(f"argument '{p.name}' of kernel '{k.name}' must be a {t} number, got {v!r}") from None
        buf[off:off + t.size] = x.tobytes()
    return bytes(buf)


def blocks_per_sm(k: DecodedKernel, cfg: LaunchConfig) -> int:
    shared = k.shared_static + cfg.shared_dynamic
    n = min(SM_BLOCKS, SM_WARPS // cfg.warps_per_block)
    if shared:
        n = min(n, SM_SHARED // shared)
    return max(n, 1)


def validate(k: DecodedKernel, cfg: LaunchConfig, max_shared: int) -> None:
    for name, v, lim in (("block", cfg.block, MAX_BLOCK), ("grid", cfg.grid, MAX_GRID)):
        for c, x, m in zip("xyz", v, lim):
            if not 1 <= x <= m:
                raise InvalidLaunch(f"{name} dimension {c} = {x} is outside 1..{m}")
    if cfg.threads_per_block > MAX_THREADS_PER_BLOCK:
        raise InvalidLaunch(f"a block of {cfg.threads_per_block} threads exceeds the limit of "
                            f"{MAX_THREADS_PER_BLOCK}")
    if cfg.shared_dynamic < 0:
        raise InvalidLaunch(f"dynamic shared memory size {cfg.shared_dynamic} is negative")
    total = k.shared_static + cfg.shared_dynamic
    if total > max_shared:
        raise InvalidLaunch(f"the block needs {total} bytes of shared memory ({k.shared_static} static + "
                            f"{cfg.shared_dynamic} dynamic), more than the limit of {max_shared}")


def launch(k: DecodedKernel, cfg: LaunchConfig, glob: GlobalMemory, const: ConstBank,
           max_shared: int, echo: bool = True) -> LaunchResult:
    """Validate and run a launch on all simulated SMs in this process."""
    validate(k, cfg, max_shared)
    nblocks = cfg.grid[0] * cfg.grid[1] * cfg.grid[2]
    wave = blocks_per_sm(k, cfg) * cfg.num_sms
    if k.uses_grid_sync and nblocks > wave:
        raise InvalidLaunch(f"a cooperative launch (grid.sync) of {nblocks} blocks exceeds the {wave} blocks "
                            f"that can be resident at once on {cfg.num_sms} SMs")
    result = new_result(k)
    t0 = time.perf_counter()
    try:
        run_blocks(k, cfg, np.arange(nblocks), glob, const, wave, result)
    finally:
        out = finish(k, cfg, result, time.perf_counter() - t0)
        if echo and out.printf:
            sys.stdout.write(out.output)
            sys.stdout.flush()
    return out


def finish(k: DecodedKernel, cfg: LaunchConfig, r: BlocksResult, seconds: float) -> LaunchResult:
    ops, lines = {}, {}
    for op, nw in zip(k.ops, r.op_warps):
        if nw:
            ops[op.instr.mnemonic] = ops.get(op.instr.mnemonic, 0) + nw
            if op.line is not None:
                lines[op.line] = lines.get(op.line, 0) + nw
    texts = [t for *_, t in sorted(r.printf, key=lambda rec: rec[:4])]
    return LaunchResult(k.name, cfg.grid, cfg.block, cfg.shared_dynamic, dict(r.stats), ops, lines, texts, seconds)
