"""Native code from LLVM IR, and memory native code shares with threads.

In:  an llvmlite `ir.Module`; sizes of buffers.
Out: `jit(module)`: (the execution engine holding its machine code, the parsed module, the target
     machine), optimised for this CPU; `aligned(n, dtype)`: a zeroed numpy buffer on cache lines of
     its own; `pause(builder)`: the CPU's spin-wait hint; `libc(name)`: a C library function's address.
"""
from __future__ import annotations

import ctypes

import numpy as np
from llvmlite import ir

_llvm = None


def target():
    """(llvmlite.binding, a new target machine for the host CPU): each execution engine owns its own."""
    global _llvm
    if _llvm is None:
        import llvmlite.binding as llvm
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        _llvm = (llvm, llvm.get_host_cpu_name(), llvm.get_host_cpu_features().flatten())
    llvm, cpu, features = _llvm
    return llvm, llvm.Target.from_default_triple().create_target_machine(cpu=cpu, features=features, opt=2)


def jit(module: ir.Module):
    """(engine, parsed module, target machine): the module verified, optimised (O2) and compiled."""
    llvm, tm = target()
    mod = llvm.parse_assembly(str(module))
    mod.verify()
    pto = llvm.create_pipeline_tuning_options(speed_level=2)
    pb = llvm.create_pass_builder(tm, pto)
    pb.getModulePassManager().run(mod, pb)
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    return engine, mod, tm


def pause(b: ir.IRBuilder) -> None:
    """Emit this CPU's spin-wait hint (x86 `pause`, arm64 `yield`; nothing elsewhere) at the builder."""
    llvm, _ = target()
    arch = llvm.get_process_triple().split("-")[0]
    mod = b.module
    if arch in ("x86_64", "i386", "i686"):
        name, args = "llvm.x86.sse2.pause", []
    elif arch in ("aarch64", "arm64"):
        name, args = "llvm.aarch64.hint", [ir.Constant(ir.IntType(32), 1)]
    else:
        return
    fn = mod.globals.get(name) or ir.Function(mod, ir.FunctionType(ir.VoidType(), [a.type for a in args]),
                                              name=name)
    b.call(fn, args)


def libc(name: str) -> int:
    """The address of the C library's function `name`, for native code to call (0: none here)."""
    try:
        return ctypes.cast(getattr(ctypes.CDLL(None), name), ctypes.c_void_p).value or 0
    except (AttributeError, OSError, TypeError):
        return 0


def aligned(n: int, dtype=np.int64) -> np.ndarray:
    """n zeroed items in cache lines of their own: the start 64-byte aligned (registers are loaded as
    aligned vectors) and nothing else in the last line, so that threads writing their own counters,
    registers and shared memory never share a line (false sharing made two threads slower than one)."""
    size = -(-n * np.dtype(dtype).itemsize // 64) * 64
    raw = np.zeros(size + 128, np.uint8)
    skip = -raw.ctypes.data % 64
    return raw[skip:skip + size].view(dtype)[:n]
