"""The simulated device: memory, loaded programs and launches (the API the runtime calls).

In:  host calls: malloc/free/read/write/view, load(Program), launch(...).
Out: device addresses, bytes, `LoadedProgram`s (symbol addresses), `LaunchResult`s; faults as
     `DeviceError`s.
"""
from __future__ import annotations

import numpy as np

from ..isa.program import Program
from .decode import DecodedKernel, decode_kernel
from .faults import DeviceError, OutOfBounds, Unsupported
from .launch import LaunchResult, dims, launch, pack_params
from .memory import CONST_BASE, CONST_BYTES, GLOBAL_BASE, ConstBank, GlobalMemory
from .sm import LaunchConfig


class LoadedProgram:
    """A Program on a device: its __device__ symbols in global memory and __constant__ symbols in
    the constant bank (initialised), and its kernels decoded on first launch."""

    def __init__(self, device: "SimDevice", program: Program):
        self.device, self.program = device, program
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
                 max_steps: int | None = None, echo_printf: bool = True):
        if schedule not in ("fixed", "random"):
            raise ValueError("schedule must be 'fixed' or 'random'")
        self.num_sms = int(num_sms)
        self.glob = GlobalMemory(global_bytes)
        self.const = ConstBank()
        self.max_instructions = max_instructions or 10 ** 9
        self.max_steps = max_steps or 5 * 10 ** 6
        self.schedule, self.seed = schedule, seed
        self.max_shared_per_block = max_shared_per_block
        self.echo_printf = echo_printf
        self.clock = 0
        self.launches = 0

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

    def launch(self, mod: LoadedProgram, kernel: str, args, grid=(1, 1, 1), block=(1, 1, 1),
               shared: int = 0) -> LaunchResult:
        k = mod.kernel(kernel)
        cfg = LaunchConfig(dims(grid, "grid"), dims(block, "block"), int(shared), b"", self.num_sms,
                           self.max_instructions, self.max_steps, self.schedule, self.seed + self.launches,
                           self.clock)
        try:
            cfg.params = pack_params(k, list(args))
            result = launch(k, cfg, self.glob, self.const, self.max_shared_per_block, self.echo_printf)
        except DeviceError as e:
            raise e.locate(kernel=kernel, file=mod.program.filename) from None
        except Exception as e:  # noqa: BLE001 - a simulator bug must still surface as a DeviceError
            raise DeviceError(f"internal simulator error: {type(e).__name__}: {e}").locate(
                kernel=kernel, file=mod.program.filename) from e
        finally:
            self.launches += 1
        self.clock += result.stats.get("steps", 0)
        return result
