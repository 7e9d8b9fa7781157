"""vgpu.sim.compiled: the compiled executor.  A kernel's ISA is translated once (llvmlite, LLVM IR,
cached per Program and kernel) into native code that runs each warp's 32 lanes as vectors with an
explicit active mask and SIMT stack; results, faults and per-pc counters are the interpreter's.

    supports(program, kernel_name) -> (ok, reason)       what it declines: docs/executor.md
    compile_kernel(program, kernel_name, counters=False) -> CompiledKernel  (raises Declined(reason));
        counters: the variant that also computes the memory counters (LaunchConfig.counters)
    translated(program, kernel_name) -> True (cached) / False (declined) / None (not tried yet)
    run_blocks(k, cfg, blocks, glob, const, wave_blocks, result=None) -> BlocksResult
        the interpreter's run_blocks (vgpu.sim.sm), natively when it can; otherwise, and whenever
        the native run bails out (faults included), the interpreter runs the same call.
    run_launch(k, cfg, nwaves, wave, glob, const, result, threads=1) -> (ran, how)
        every wave of a launch in as few native calls as possible, on `threads` threads of this
        process (threads.py): (True, how it ran), or (False, why it was declined: nothing run).

Inside: layout (symbol layout, what is declined), alu (arith's semantics on lane vectors), codegen
(operands and registers), memops (memory, atomics, warp-level ops), counting (the memory counters of
the counters variant), instrs (control flow, the instruction dispatch), driver (the block loop and
barriers), runtime (compilation, caching, running), undo (the undo logs: memory put back after a
bail-out), threads (a launch on several threads: chunks, privatized atomics).
"""
from .runtime import (CompiledKernel, Declined, compile_kernel, launch_decline, run_blocks, run_launch, supports,
                      translated)

__all__ = ["CompiledKernel", "Declined", "compile_kernel", "launch_decline", "run_blocks", "run_launch", "supports",
           "translated"]
