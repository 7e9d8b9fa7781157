"""Compiling kernels to native code (cached) and running blocks on it, with the interpreter as fallback.

In:  `compile_kernel(program, name)`; `run_blocks(k, cfg, blocks, glob, const, wave_blocks, result)` with
     the interpreter's arguments (a decoded kernel, its LaunchConfig, linear block ids, global memory,
     the constant bank, the wave size, a BlocksResult to add to).
Out: a `CompiledKernel` (or `Declined(reason)`); `run_blocks` fills the result exactly as the
     interpreter would (per-pc warp and thread issue counts, divergent branches, barriers, atomics,
     waves; `steps` = warp instructions, as the compiled code has no scheduler) and updates global
     memory.  When the native run bails out (a fault, a divergent barrier, a warp-sync that must
     wait, trap, the watchdog budget) global memory is restored from a copy taken before and the
     whole call is run again by the interpreter, which raises the identical DeviceError or finishes.
"""
from __future__ import annotations

import ctypes
import time
import weakref

import numpy as np

from .codegen import (C_ALIVE0, C_ARENA, C_ATOMICS, C_CCOUNT, C_CENDS, C_CHI, C_CLO, C_CONST, C_CSTARTS,
                      C_DIV, C_GCOUNT, C_GENDS, C_GHI, C_GLO, C_GSTARTS, C_LOCAL, C_LOCAL_BYTES, C_LPAD,
                      C_NCTAID, C_NCTAID_Y, C_NCTAID_Z, C_NSMID, C_NTID, C_NTID_Y, C_NTID_Z, C_OPT, C_OPW,
                      C_PARAMS, C_SHARED, C_SHARED_BYTES, C_SYMTAB, C_WPB, CTX_WORDS)
from .driver import C_BARRIERS, add_driver
from .layout import decline_reason, layout


class Declined(Exception):
    """The compiled executor does not run this kernel or launch (the reason is the message)."""


_llvm = None


def _target():
    """(llvmlite.binding, a new target machine for the host CPU): each execution engine owns its own."""
    global _llvm
    if _llvm is None:
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _llvm = (llvm, llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    llvm, cpu, features = _llvm
    return llvm, llvm.Target.from_default_triple().create_target_machine(cpu=cpu, features=features, opt=2)


class CompiledKernel:
    """A kernel's native code: `run` (ctypes) over blocks, the layout, the translation time."""

    def __init__(self, program, code):
        from .instrs import build_module
        t0 = time.perf_counter()
        self.name, self.code = code.name, code
        self.layout = layout(program, code)
        gen_module = build_module(program, code, self.layout)
        self.ws_words = self.layout.ws_bytes // 8
        add_driver(gen_module, gen_module.globals["warp"], self.ws_words)
        llvm, tm = _target()
        mod = llvm.parse_assembly(str(gen_module))
        mod.verify()
        pto = llvm.create_pipeline_tuning_options(speed_level=2)
        pb = llvm.create_pass_builder(tm, pto)
        pb.getModulePassManager().run(mod, pb)
        self.engine = llvm.create_mcjit_compiler(mod, tm)
        self.engine.finalize_object()
        P = ctypes.c_void_p
        self.run = ctypes.CFUNCTYPE(ctypes.c_int32, P, P, P, ctypes.c_int64, ctypes.c_int64, ctypes.c_int64,
                                    ctypes.c_int64, P, P)(self.engine.get_function_address("run"))
        self.seconds = time.perf_counter() - t0


_cache: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def supports(program, kernel_name: str) -> tuple[bool, str]:
    """(True, '') when the compiled executor runs the kernel, else (False, why)."""
    code = program.kernels.get(kernel_name)
    if code is None:
        return False, f"no kernel named '{kernel_name}'"
    why = decline_reason(program, code)
    return (why is None), (why or "")


def compile_kernel(program, kernel_name: str) -> CompiledKernel:
    """The kernel's CompiledKernel, translated once per Program (Declined if it is not supported)."""
    per = _cache.setdefault(program, {})
    got = per.get(kernel_name)
    if got is None:
        ok, why = supports(program, kernel_name)
        if not ok:
            got = Declined(f"kernel '{kernel_name}': {why}")
        else:
            try:
                got = CompiledKernel(program, program.kernels[kernel_name])
            except NotImplementedError as e:
                got = Declined(f"kernel '{kernel_name}': {e}")
        per[kernel_name] = got
    if isinstance(got, Declined):
        raise got
    return got


def launch_decline(cfg) -> str | None:
    """Why a launch's settings need the interpreter (None when they do not)."""
    if cfg.schedule != "fixed":
        return "random schedule"
    if cfg.check or cfg.sanitizer is not None:
        return "sanitizers"
    if cfg.tracer is not None:
        return "tracing"
    if cfg.counters:
        return "memory counters"
    if cfg.interlock is not None:
        return "SM worker processes"
    import os
    if os.environ.get("VGPU_TRACE"):
        return "tracing"
    return None


def _interp():
    from .. import sm
    return sm


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


def run_blocks(k, cfg, blocks, glob, const, wave_blocks: int, result=None):
    """The interpreter's run_blocks, natively when the kernel and launch allow (see the module docstring)."""
    sm = _interp()
    blocks = np.asarray(blocks, np.int64)
    result = result if result is not None else sm.new_result(k)
    try:
        if launch_decline(cfg):
            raise Declined(launch_decline(cfg))
        ck = compile_kernel(k.program, k.name)
        ok = _run_native(ck, k, cfg, blocks, glob, const, wave_blocks, result)
        COUNTS["native" if ok else "fallback"] = COUNTS.get("native" if ok else "fallback", 0) + 1
        OUTCOMES[f"{k.program.filename}:{k.name}"] = "native" if ok else "fallback"
    except Declined as e:
        ok = False
        COUNTS["declined"] = COUNTS.get("declined", 0) + 1
        OUTCOMES[f"{k.program.filename}:{k.name}"] = f"declined: {e}"
    if not ok:
        return sm.run_blocks(k, cfg, blocks, glob, const, wave_blocks, result)
    return result


COUNTS: dict[str, int] = {}     # run_blocks calls: 'native', 'fallback' (bailed out), 'declined'; for tests
OUTCOMES: dict[str, str] = {}   # 'file:kernel' -> how its last run_blocks call went (benchmarks, coverage)


def _run_native(ck, k, cfg, blocks, glob, const, wave_blocks, result) -> bool:
    """Run natively into `result`; False (memory restored, result untouched) when it bailed out."""
    lay = ck.layout
    symtab = _symbol_table(k, lay, glob, const)
    if symtab is None or lay.shared_static != k.shared_static:
        return False
    npc = len(ck.code.instrs) + 1
    opw, opt, div = np.zeros(npc, np.int64), np.zeros(npc, np.int64), np.zeros(npc, np.int64)
    wpb = cfg.warps_per_block
    tpb = cfg.threads_per_block
    alive0 = np.array([(1 << int(v)) - 1 for v in np.clip(tpb - np.arange(wpb) * 32, 0, 32)], np.int64)
    shared = np.zeros(max(lay.shared_static + cfg.shared_dynamic, 8), np.uint8)
    lpad = -(-max(lay.local_bytes, 8) // 16) * 16 if lay.local_bytes else 0
    local = np.zeros(max(wpb * 32 * lpad, 8), np.uint8)
    params = np.frombuffer(bytes(cfg.params) + bytes(8), np.uint8)
    gstarts, gends = np.ascontiguousarray(glob.table.starts, np.int64), np.ascontiguousarray(glob.table.ends, np.int64)
    cstarts, cends = np.ascontiguousarray(const.table.starts, np.int64), np.ascontiguousarray(const.table.ends, np.int64)
    keep = (gstarts, gends, cstarts, cends)
    ctx = np.zeros(CTX_WORDS_ALL, np.int64)
    addr = lambda a: a.ctypes.data if a.size else 0      # noqa: E731
    for word, v in ((C_ARENA, glob.arena.ctypes.data), (C_GSTARTS, addr(gstarts)), (C_GENDS, addr(gends)),
                    (C_GCOUNT, gstarts.size), (C_CONST, const.arena.ctypes.data), (C_CSTARTS, addr(cstarts)),
                    (C_CENDS, addr(cends)), (C_CCOUNT, cstarts.size), (C_SHARED, shared.ctypes.data),
                    (C_SHARED_BYTES, lay.shared_static + cfg.shared_dynamic), (C_LOCAL, local.ctypes.data),
                    (C_LPAD, lpad), (C_LOCAL_BYTES, lay.local_bytes), (C_PARAMS, params.ctypes.data),
                    (C_OPW, opw.ctypes.data), (C_OPT, opt.ctypes.data), (C_DIV, div.ctypes.data),
                    (C_SYMTAB, symtab.ctypes.data), (C_NTID, cfg.block[0]), (C_NTID_Y, cfg.block[1]),
                    (C_NTID_Z, cfg.block[2]), (C_NCTAID, cfg.grid[0]), (C_NCTAID_Y, cfg.grid[1]),
                    (C_NCTAID_Z, cfg.grid[2]), (C_NSMID, cfg.num_sms), (C_ALIVE0, alive0.ctypes.data),
                    (C_WPB, wpb), (C_GLO, 0), (C_GHI, 0), (C_CLO, 0), (C_CHI, 0)):
        ctx[word] = v
    smid = blocks % cfg.num_sms
    wbase = np.zeros(blocks.size, np.int64)
    for s in range(0, blocks.size, wave_blocks):            # %warpid: the block's rank on its SM in the wave
        sm_ = smid[s:s + wave_blocks]
        order = np.argsort(sm_, kind="stable")
        first = np.searchsorted(sm_[order], sm_[order])
        slot = np.empty(sm_.size, np.int64)
        slot[order] = np.arange(sm_.size) - first
        wbase[s:s + wave_blocks] = slot * wpb
    ws = _aligned(wpb * ck.ws_words)
    budget = max(min(cfg.max_instructions, cfg.max_steps) - 1, 0)
    top = glob.top
    saved = glob.arena[:top].copy()
    status = ck.run(ctx.ctypes.data, ws.ctypes.data, blocks.ctypes.data, blocks.size, wpb, max(wave_blocks, 1),
                    budget, smid.ctypes.data, wbase.ctypes.data)
    del keep
    if status != 0:
        glob.arena[:top] = saved
        return False
    nw, nt = opw.tolist(), opt.tolist()
    result.op_warps = [a + b for a, b in zip(result.op_warps, nw)]
    result.op_threads = [a + b for a, b in zip(result.op_threads, nt)]
    result.pc[0, :npc] += div          # counters.DIVERGENT is row 0
    st = result.stats
    wi = int(opw.sum())
    for name, v in (("warp_instructions", wi), ("thread_instructions", int(opt.sum())), ("steps", wi),
                    ("waves", -(-blocks.size // max(wave_blocks, 1))), ("barriers", int(ctx[C_BARRIERS])),
                    ("atomics", int(ctx[C_ATOMICS]))):
        st[name] = st.get(name, 0) + v
    return True


CTX_WORDS_ALL = max(CTX_WORDS, 48)


def _aligned(words: int) -> np.ndarray:
    """Zeroed int64 words at a 64-byte aligned address (the registers are loaded as aligned vectors)."""
    raw = np.zeros(words + 8, np.int64)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip:skip + words]
