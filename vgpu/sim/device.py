"""The simulated device: memory, loaded programs and launches (the API the runtime calls).

In:  host calls: malloc/free/read/write/view, load(Program), launch(...).
Out: device addresses, bytes, `LoadedProgram`s (symbol addresses), `LaunchResult`s; faults as
     `DeviceError`s.

With workers > 0, global memory and the constant bank live in shared memory and launches of
several waves run on a pool of SM worker processes (`pool`); a launch of one wave (every small or
cooperative launch) runs in this process, which keeps it cheap.

`executor` ('interp', 'compiled' or 'auto'; default $VGPU_EXECUTOR, else 'auto') chooses who runs a
launch: the numpy interpreter or the compiled executor (`launch` says when each runs).
"""
from __future__ import annotations

import itertools
import os
import warnings
from functools import partial

import numpy as np

from ..isa.program import Program
from .decode import DecodedKernel, decode_kernel
from .faults import DeviceError, InvalidLaunch, OutOfBounds, Unsupported
from .launch import EXECUTORS, LaunchResult, dims, launch
from .memory import CONST_BASE, CONST_BYTES, GLOBAL_BASE, ConstBank, GlobalMemory
from .config import MAX_INSTRUCTIONS, MAX_STEPS, LaunchConfig, usable_cores
from .observe.sanitize import parse_checks
from .wave import WaveCache

_uids = itertools.count(1)


def default_executor() -> str:
    """$VGPU_EXECUTOR when set (checked), else 'auto'."""
    name = os.environ.get("VGPU_EXECUTOR", "").strip() or "auto"
    if name not in EXECUTORS:
        raise ValueError(f"VGPU_EXECUTOR must be one of {', '.join(EXECUTORS)}, not {name!r}")
    return name


def default_workers(num_sms: int) -> int:
    """The CPU cores this process may use, at most one per SM; 0 (in-process) when that is 1."""
    n = min(usable_cores(), num_sms)
    return n if n > 1 else 0


def capped_workers(workers: int) -> int:
    """`workers`, at most one per usable CPU core (a warning says so when it asks for more).  A
    worker runs whole waves, so the device's SM count does not bound it: the launch's waves do,
    and a launch keeps no more workers busy than it has waves."""
    cores = usable_cores()
    if workers > cores:
        warnings.warn(f"vgpu: workers={workers} capped at {cores}: this machine has {cores} usable CPU "
                      f"core{'s' if cores > 1 else ''}, and more SM worker processes would only compete for them",
                      RuntimeWarning, stacklevel=3)
        return cores
    return workers


class LoadedProgram:
    """A Program on a device: its __device__ symbols in global memory and __constant__ symbols in
    the constant bank (initialised), and its kernels decoded on first launch."""

    def __init__(self, device: "SimDevice", program: Program):
        self.device, self.program = device, program
        self.uid = next(_uids)                   # names the module to the SM workers
        self.addresses: dict[str, int] = {}
        self.sizes: dict[str, int] = {}
        for name, sym in program.symbols.items():
            if sym.space == "global":
                addr = device.glob.malloc(sym.size, name=name, align=max(sym.align, 1))
            elif sym.space == "const":
                addr = device.const.alloc(sym.size, sym.align, name)
            else:
                continue
            self.addresses[name], self.sizes[name] = addr, sym.size
            if sym.init:
                device.write(addr, sym.init[:sym.size])
        self._kernels: dict[str, DecodedKernel] = {}

    @property
    def kernel_names(self) -> list[str]:
        return list(self.program.kernels)

    def symbol_address(self, name: str) -> int:
        """Device address of a __device__ or __constant__ symbol (KeyError if there is none)."""
        return self.addresses[name]

    def symbol_size(self, name: str) -> int:
        return self.sizes[name]

    def kernel(self, name: str) -> DecodedKernel:
        if name not in self._kernels:
            try:
                self._kernels[name] = decode_kernel(self.program, name, self.addresses)
            except DeviceError as e:
                raise e.locate(kernel=name, file=self.program.filename) from None
            except Exception as e:  # noqa: BLE001 - a malformed Program must not give a traceback
                raise Unsupported(f"cannot decode kernel '{name}': {type(e).__name__}: {e}").locate(
                    kernel=name, file=self.program.filename) from e
        return self._kernels[name]


class SimDevice:
    """A simulated GPU (see `vgpu.sim` for the API)."""

    def __init__(self, num_sms: int = 4, global_bytes: int = 512 << 20, max_instructions: int | None = None,
                 schedule: str = "fixed", seed: int = 0, max_shared_per_block: int = 48 * 1024,
                 max_steps: int | None = None, echo_printf: bool = True, counters: bool = False,
                 workers: int | None = None, check=None, executor: str | None = None):
        if schedule not in ("fixed", "random"):
            raise ValueError("schedule must be 'fixed' or 'random'")
        self.executor = default_executor() if executor is None else executor
        if self.executor not in EXECUTORS:
            raise ValueError(f"executor must be one of {', '.join(EXECUTORS)}, not {executor!r}")
        self.num_sms = int(num_sms)
        self.workers = default_workers(self.num_sms) if workers is None else int(workers)
        if self.workers < 0:
            raise ValueError("workers must be >= 0")
        self.workers = capped_workers(self.workers)
        self.pool = self._pool(global_bytes) if self.workers else None
        self.glob = GlobalMemory(global_bytes, buffer=self.pool.global_buffer if self.pool else None)
        self.const = ConstBank(self.pool.const_arena if self.pool else None)
        self.max_instructions = max_instructions or MAX_INSTRUCTIONS
        self.max_steps = max_steps or MAX_STEPS
        self.schedule, self.seed = schedule, seed
        self.max_shared_per_block = max_shared_per_block
        self.echo_printf = echo_printf
        self.counters = counters            # collect memory counters (requests, sectors, bank conflicts)
        self.check = parse_checks(check)    # sanitizers run by every launch (vgpu.sim.sanitize)
        self.clock = 0
        self.launches = 0
        self.waves = WaveCache()            # the last launch's Wave, reused by the next of its geometry

    def _pool(self, global_bytes: int):
        """The worker pool with its shared segments, or None (in-process) when they cannot be made."""
        from .pool import Pool, shm_room, sweep_segments
        sweep_segments()                    # segments of killed processes count against the room
        room = shm_room()
        if room is not None and room < global_bytes:
            warnings.warn(f"vgpu: /dev/shm has {room >> 20} MiB free, less than the {global_bytes >> 20} MiB of "
                          "global memory; running in-process (workers=0)", RuntimeWarning, stacklevel=3)
        else:
            try:
                return Pool(self.workers, global_bytes)
            except OSError as e:
                warnings.warn(f"vgpu: no shared memory for SM workers ({e}); running in-process (workers=0)",
                              RuntimeWarning, stacklevel=3)
        self.workers = 0
        return None

    def close(self) -> None:
        """Stop the SM workers and free the shared memory (device memory stays readable through
        views taken before).  Launches after close run in-process."""
        if self.pool:
            self.pool.close()
            self.pool = None

    # -- memory -----------------------------------------------------------------------------------
    def malloc(self, nbytes: int) -> int:
        return self.glob.malloc(int(nbytes))

    def free(self, addr: int) -> None:
        self.glob.free(int(addr))

    def _range(self, addr: int, nbytes: int, what: str):
        if addr >= GLOBAL_BASE:
            return self.glob.arena, self.glob.host_range(addr, nbytes, what)
        if CONST_BASE <= addr < CONST_BASE + CONST_BYTES:
            return self.const.arena, self.const.host_range(addr, nbytes, what)
        raise OutOfBounds(f"host {what} of {nbytes} bytes at {addr:#x}", "not a global or constant address",
                          address=addr, size=nbytes)

    def write(self, addr: int, data) -> None:
        raw = np.ascontiguousarray(data).view(np.uint8).ravel() if isinstance(data, np.ndarray) \
            else np.frombuffer(bytes(data), np.uint8)
        arena, sl = self._range(int(addr), raw.size, "write")
        arena[sl] = raw

    def read(self, addr: int, nbytes: int) -> bytes:
        arena, sl = self._range(int(addr), int(nbytes), "read")
        return arena[sl].tobytes()

    def view(self, addr: int, dtype, count: int) -> np.ndarray:
        """A writable numpy view of `count` elements of `dtype` at device address `addr`."""
        dt = np.dtype(dtype)
        arena, sl = self._range(int(addr), int(count) * dt.itemsize, "view")
        return arena[sl].view(dt)

    def memset(self, addr: int, value: int, nbytes: int) -> None:
        arena, sl = self._range(int(addr), int(nbytes), "memset")
        arena[sl] = value & 0xFF

    # -- programs and launches ----------------------------------------------------------------------
    def load(self, program: Program) -> LoadedProgram:
        return LoadedProgram(self, program)

    def launch(self, mod: LoadedProgram, kernel: str, params, grid=(1, 1, 1), block=(1, 1, 1),
               shared: int = 0, check=None, trace=None, progress=None) -> LaunchResult:
        """params: the kernel's `.param` buffer (bytes, laid out by `ParamInfo.offset`: what
        `vgpu.runtime` packs; `launch.encode_params` packs raw values).
        check: sanitizers for this launch (default: the device's); trace: an `Observer` (such as a
        vgpu.sim.Tracer) watching it; progress: called as progress(blocks_done, blocks_total) at
        most a few times a second while it runs, and once at the end."""
        k = mod.kernel(kernel)
        checks = self.check if check is None else parse_checks(check)
        try:
            cfg = LaunchConfig(dims(grid, "grid"), dims(block, "block"), int(shared), self._params(k, params),
                               self.num_sms, self.max_instructions, self.max_steps, self.schedule,
                               self.seed + self.launches, self.clock, counters=self.counters, check=checks)
            result = launch(k, cfg, self.glob, self.const, self.max_shared_per_block, self.echo_printf,
                            partial(self.pool.run, mod, self.glob, self.const) if self.pool else None,
                            trace, self.waves, progress, self.executor, max(self.workers, 1))
        except DeviceError as e:
            raise e.locate(kernel=kernel, file=mod.program.filename) from None
        except Exception as e:  # noqa: BLE001 - a simulator bug must still surface as a DeviceError
            raise DeviceError(f"internal simulator error: {type(e).__name__}: {e}").locate(
                kernel=kernel, file=mod.program.filename) from e
        finally:
            self.launches += 1
        self.clock += result.stats.get("steps", 0)
        return result

    @staticmethod
    def _params(k: DecodedKernel, params) -> bytes:
        if not isinstance(params, (bytes, bytearray, memoryview)):
            raise InvalidLaunch(f"the parameters of kernel '{k.name}' must be its packed .param bytes "
                                f"(vgpu.sim.launch.encode_params), not {type(params).__name__}")
        need = k.param_bytes
        if len(params) != need:
            raise InvalidLaunch(f"kernel '{k.name}' takes {need} bytes of parameters, got {len(params)}")
        return bytes(params)
