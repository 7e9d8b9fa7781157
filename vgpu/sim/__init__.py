"""vgpu.sim: the simulated GPU that runs an assembled `vgpu.isa.program.Program`.

Device API (what the runtime calls):

    dev = SimDevice(num_sms=4, global_bytes=512 << 20, max_instructions=None, schedule='fixed', seed=0,
                    max_shared_per_block=48 * 1024, max_steps=None, echo_printf=True, workers=None,
                    counters=False, check=None, executor=None)
        executor: 'interp' (the numpy interpreter), 'compiled' (the compiled executor, vgpu.sim.compiled,
        where the kernel and launch allow; docs/executor.md) or 'auto' (compiled for big launches and
        kernels already translated); None: $VGPU_EXECUTOR, else 'auto'.  Results do not depend on it.
        counters: also collect memory counters (requests, sectors, wavefronts, bank conflicts; costs
        time; settable later as dev.counters).
        max_instructions: watchdog budget in warp instructions per wave (default 2 * 10**7);
        max_steps: budget in scheduler steps per wave (default 200,000: a spinning warp is stopped
        within seconds; see config.MAX_STEPS);
        workers: SM worker processes for launches of several waves (None: one per CPU core, at most
        one per SM, 0 when that is 1; 0: in-process).  Results do not depend on it (docs/workers.md).
    dev.close()                            # stops the workers, unlinks the shared memory
        schedule: 'fixed' (deterministic) or 'random' (seeded by `seed`; random warp subsets and
        block-to-wave order, to expose order-dependent bugs).
        check: sanitizers for every launch: 'memcheck', 'racecheck', 'synccheck', 'initcheck', a
        comma list, a list, or 'all' (vgpu.sim.observe.sanitize; docs/sanitizers.md).
    addr = dev.malloc(nbytes)              # 256-byte aligned global address (>= GLOBAL_BASE)
    dev.free(addr)                         # InvalidFree if addr is not a live allocation's start
    dev.write(addr, data)                  # bytes or ndarray, into global memory or the constant bank
    dev.read(addr, nbytes) -> bytes
    dev.view(addr, dtype, count) -> ndarray   # writable view of device memory
    dev.memset(addr, value, nbytes)
    mod = dev.load(program) -> LoadedProgram  # .global symbols allocated in global memory, .const in
                                              # the constant bank, both initialised
    mod.symbol_address(name), mod.symbol_size(name), mod.kernel_names
    res = dev.launch(mod, kernel_name, params, grid=(gx, gy, gz), block=(bx, by, bz), shared=dynamic_bytes,
                     check=None, trace=None)
        check: this launch's sanitizers (None: the device's); trace: an `Observer`, such as a
        vgpu.sim.Tracer (text trace, Chrome trace, divergence SVG; docs/tracing.md).  Checked or
        traced launches run in-process.
        params: the packed .param bytes; launch.encode_params(kernel_name,
        mod.kernel(kernel_name).code.params, [values]) packs raw values (ints, pointers as device
        addresses, floats), each converted to its parameter's type.  grid/block: an int or a 1..3-tuple.  Returns a LaunchResult:
        res.stats (an observe.counters.Counters: a dict of totals: res.stats['warp_instructions'],
        ['divergent_branches'], ['global_load_sectors'], ...; .occupancy; .format(); memory counters
        only with SimDevice(counters=True); docs/counters.md), res.pcs (per executed instruction:
        its source line and counts, for the per-line profile),
        res.op_counts (mnemonic -> warp instructions), res.line_counts (.vk line -> warp
        instructions), res.printf (each thread's printf text, ordered by block id, then warp, then
        issue order; also written to sys.stdout unless echo_printf=False), res.output (joined),
        res.seconds, res.format_stats(), res.reports (sanitizer Reports; a fault carries its own
        in e.reports).

Faults raise `DeviceError` subclasses (vgpu.sim.faults): OutOfBounds, Misaligned, UseAfterFree,
InvalidFree, OutOfMemory, BarrierDeadlock, WarpSyncError, Watchdog, Trap, InvalidLaunch, Unsupported,
WorkerDied (an SM worker process died).
Each carries .kernel .file .line .source_line .block .thread .address .size and prints them.

Inside (docs/architecture.md draws it): device (this API) -> launch (validation, occupancy, waves,
results) -> pool (SM worker processes) -> scheduler (the warp loop: `run_blocks`) over a wave
(wave: registers, special registers, memory of the resident blocks), simt (SIMT stacks), barrier
(barriers, warp sync, deadlock diagnosis), decode (kernel -> ops) over operands (operand
resolution) and semantics (what each ISA row does; atomics; printf's C formatting), memory
(address map, allocator), config (LaunchConfig, BlocksResult), faults, occupancy.  Tools that
watch a run attach through `observer.Observer` and live in `observe/`: counters, trace,
divergence, sanitize.
"""
from .device import LoadedProgram, SimDevice
from .faults import (BarrierDeadlock, DeviceError, InvalidFree, InvalidLaunch, Misaligned, OutOfBounds,
                     OutOfMemory, Trap, Unsupported, UseAfterFree, WarpSyncError, Watchdog, WorkerDied)
from .launch import LaunchResult
from .memory import CONST_BASE, GLOBAL_BASE, LOCAL_BASE, SHARED_BASE
from .observe.sanitize import CHECKS, parse_checks, summary
from .observe.trace import Tracer
from .observer import Observer

__all__ = ["SimDevice", "LoadedProgram", "LaunchResult", "DeviceError", "OutOfBounds", "Misaligned",
           "UseAfterFree", "InvalidFree", "OutOfMemory", "BarrierDeadlock", "WarpSyncError", "Watchdog",
           "Trap", "InvalidLaunch", "Unsupported", "WorkerDied", "SHARED_BASE", "LOCAL_BASE", "CONST_BASE",
           "GLOBAL_BASE", "Observer", "Tracer", "CHECKS", "parse_checks", "summary"]
