"""The seed's host API (py_virtual_gpu's names) as a thin layer over `vgpu.Device`.

In:  allocations, copies and launches written against the seed:
    gpu = VirtualGPU(num_sms=4, global_mem_size=1 << 24); VirtualGPU.set_current(gpu)
    p = gpu.malloc(n * 4, dtype=np.float32, label="x"); gpu.memcpy_host_to_device(host, p)
    @kernel(grid_dim=(g, 1, 1), block_dim=(b, 1, 1))
    def add(threadIdx, blockIdx, blockDim, gridDim, a, b, c, n): ...
    add(pa, pb, pc, n)          # or gpu.launch_kernel(add, (g, 1, 1), (b, 1, 1), pa, pb, pc, n)
Out: `DevicePointer`s (typed, element-scaled arithmetic, host indexing, labels), numpy arrays back, and
     logs of every kernel launch and transfer.  Kernels are compiled by the Python front end (the same as
     @cuda.jit); a pointer argument is a 1-d array from the pointer to the end of its allocation.
Errors: out of memory (MemoryError), double free / foreign pointer / copies past an allocation
(ValueError), each naming the label and address.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .array import DeviceArray
from .device import Device

_KINDS = ("HostToDevice", "DeviceToHost", "DeviceToDevice")


@dataclass
class _Allocation:
    address: int
    nbytes: int
    label: str
    freed: bool = False


class DevicePointer:
    """An address in a VirtualGPU's global memory, typed by `dtype`.  `p + k` moves k elements."""

    def __init__(self, gpu: "VirtualGPU", alloc: _Allocation, offset: int, dtype):
        self.gpu, self.alloc, self.offset, self.dtype = gpu, alloc, int(offset), np.dtype(dtype)

    @property
    def address(self) -> int:
        return self.alloc.address + self.offset

    @property
    def label(self) -> str:
        return self.alloc.label

    @property
    def nbytes(self) -> int:
        """Bytes from this pointer to the end of its allocation."""
        return self.alloc.nbytes - self.offset

    @property
    def size(self) -> int:
        return max(0, self.nbytes // self.dtype.itemsize)

    @property
    def shape(self) -> tuple[int]:
        return (self.size,)

    def __int__(self) -> int:
        return self.address

    def __index__(self) -> int:
        return self.address

    def __add__(self, k):
        if not isinstance(k, (int, np.integer)):
            return NotImplemented
        return DevicePointer(self.gpu, self.alloc, self.offset + int(k) * self.dtype.itemsize, self.dtype)

    __radd__ = __add__

    def __sub__(self, k):
        if isinstance(k, DevicePointer):
            if k.alloc is not self.alloc:
                raise ValueError("subtracting pointers into different allocations")
            return (self.offset - k.offset) // self.dtype.itemsize
        if not isinstance(k, (int, np.integer)):
            return NotImplemented
        return self + (-int(k))

    def __eq__(self, other) -> bool:
        return isinstance(other, DevicePointer) and other.address == self.address

    def __hash__(self) -> int:
        return hash(self.address)

    def view(self, dtype) -> "DevicePointer":
        """The same address read as `dtype`."""
        return DevicePointer(self.gpu, self.alloc, self.offset, dtype)

    astype = view

    def _check(self, i: int, n: int = 1) -> int:
        self.gpu._live(self)
        off = self.offset + i * self.dtype.itemsize
        if i < 0 or off + n * self.dtype.itemsize > self.alloc.nbytes:
            raise IndexError(f"index {i} is outside {self.label!r} ({self.size} elements of {self.dtype} "
                             f"from 0x{self.address:x})")
        return self.alloc.address + off

    def __getitem__(self, i):
        addr = self._check(int(i))
        data = self.gpu.device.sim.read(addr, self.dtype.itemsize)
        return np.frombuffer(bytes(data), self.dtype)[0]

    def __setitem__(self, i, value) -> None:
        addr = self._check(int(i))
        self.gpu.device.sim.write(addr, np.array(value, dtype=self.dtype).tobytes())

    def _as_device_array(self) -> DeviceArray:
        self.gpu._live(self)
        return DeviceArray(self.gpu.device, self.address, (self.size,), self.dtype, owner=False)

    def __repr__(self) -> str:
        return f"DevicePointer({self.label!r}, 0x{self.address:x}, {self.dtype})"


class VirtualGPU:
    """A virtual GPU with the seed's methods (memory, copies, constant memory, launches, logs)."""
    _current: "VirtualGPU | None" = None

    def __init__(self, num_sms: int = 4, global_mem_size: int = 1 << 24, constant_mem_size: int = 64 * 1024,
                 **device_options):
        self.num_sms = num_sms
        self.global_mem_size = int(global_mem_size)
        self.device = Device(num_sms=num_sms, global_bytes=self.global_mem_size + constant_mem_size + (1 << 20),
                             **device_options)
        self.allocations: dict[int, _Allocation] = {}
        self.used = 0
        self.kernel_log: list[dict] = []
        self.transfer_log: list[dict] = []
        self._const = self.malloc(constant_mem_size, np.uint8, label="__constant__", _count=False)
        if VirtualGPU._current is None:
            VirtualGPU._current = self

    @staticmethod
    def set_current(gpu: "VirtualGPU") -> None:
        VirtualGPU._current = gpu

    @staticmethod
    def get_current() -> "VirtualGPU":
        if VirtualGPU._current is None:
            VirtualGPU._current = VirtualGPU()
        return VirtualGPU._current

    # -- memory ----------------------------------------------------------------------------------------
    def malloc(self, nbytes: int, dtype=np.float32, label: str | None = None, _count: bool = True) -> DevicePointer:
        nbytes = int(nbytes)
        if nbytes <= 0:
            raise ValueError(f"malloc: size must be positive, got {nbytes}")
        if _count and self.used + nbytes > self.global_mem_size:
            raise MemoryError(f"out of device memory: malloc({nbytes}) for {label or 'an allocation'!r} with "
                              f"{self.global_mem_size - self.used} of {self.global_mem_size} bytes free")
        addr = self.device.sim.malloc(nbytes)
        self.device.sim.write(addr, bytes(nbytes))
        alloc = _Allocation(addr, nbytes, label or f"alloc{len(self.allocations)}")
        if _count:
            self.allocations[addr] = alloc
            self.used += nbytes
        return DevicePointer(self, alloc, 0, dtype)

    def free(self, p: DevicePointer) -> None:
        alloc = self.allocations.get(p.address) if isinstance(p, DevicePointer) else None
        if alloc is None or p.offset != 0:
            raise ValueError(f"free: {p!r} is not the start of an allocation of this GPU")
        if alloc.freed:
            raise ValueError(f"double free of {alloc.label!r} at 0x{alloc.address:x}")
        alloc.freed = True
        self.used -= alloc.nbytes
        self.device.sim.free(alloc.address)

    def _live(self, p: DevicePointer) -> None:
        if p.gpu is not self:
            raise ValueError(f"{p!r} belongs to another VirtualGPU")
        if p.alloc.freed:
            raise ValueError(f"use of {p.label!r} at 0x{p.address:x} after free")

    def _log_copy(self, kind: str, nbytes: int, t0: float, label: str) -> None:
        self.transfer_log.append({"kind": kind, "bytes": int(nbytes), "label": label,
                                  "seconds": time.perf_counter() - t0})

    def memcpy_host_to_device(self, host, p: DevicePointer) -> None:
        t0 = time.perf_counter()
        data = np.ascontiguousarray(host).tobytes()
        self._live(p)
        if len(data) > p.nbytes:
            raise ValueError(f"memcpy_host_to_device: {len(data)} bytes into {p.label!r}, which has {p.nbytes} "
                             f"bytes from 0x{p.address:x}")
        self.device.sim.write(p.address, data)
        self._log_copy("HostToDevice", len(data), t0, p.label)

    def memcpy_device_to_host(self, p: DevicePointer, nbytes: int | None = None, dtype=None) -> np.ndarray:
        t0 = time.perf_counter()
        self._live(p)
        nbytes = p.nbytes if nbytes is None else int(nbytes)
        if nbytes > p.nbytes or nbytes < 0:
            raise ValueError(f"memcpy_device_to_host: {nbytes} bytes from {p.label!r}, which has {p.nbytes} "
                             f"bytes from 0x{p.address:x}")
        dt = np.dtype(dtype or p.dtype)
        data = bytes(self.device.sim.read(p.address, nbytes))
        self._log_copy("DeviceToHost", nbytes, t0, p.label)
        return np.frombuffer(data[:nbytes - nbytes % dt.itemsize], dt).copy()

    def memcpy(self, dst, src, nbytes: int, kind: str):
        if kind not in _KINDS:
            raise ValueError(f"memcpy kind must be one of {', '.join(_KINDS)}, not {kind!r}")
        if kind == "HostToDevice":
            data = np.ascontiguousarray(src).view(np.uint8)[:nbytes]
            return self.memcpy_host_to_device(data, dst)
        if kind == "DeviceToHost":
            out = self.memcpy_device_to_host(src, nbytes, np.uint8)
            if dst is not None:
                dst.reshape(-1).view(np.uint8)[:nbytes] = out
                return dst
            return out
        t0 = time.perf_counter()
        self._live(dst)
        self._live(src)
        if nbytes > dst.nbytes or nbytes > src.nbytes:
            raise ValueError(f"memcpy: {nbytes} bytes from {src.label!r} to {dst.label!r} exceeds an allocation")
        self.device.sim.write(dst.address, bytes(self.device.sim.read(src.address, nbytes)))
        self._log_copy("DeviceToDevice", nbytes, t0, f"{src.label}->{dst.label}")

    # -- constant memory -------------------------------------------------------------------------------
    def set_constant(self, data, offset: int = 0) -> None:
        raw = np.ascontiguousarray(data).tobytes()
        if offset < 0 or offset + len(raw) > self._const.nbytes:
            raise ValueError(f"set_constant: {len(raw)} bytes at offset {offset} exceed the "
                             f"{self._const.nbytes}-byte constant memory")
        self.device.sim.write(self._const.address + offset, raw)

    def read_constant(self, offset: int = 0, size: int | None = None) -> bytes:
        size = self._const.nbytes - offset if size is None else size
        if offset < 0 or size < 0 or offset + size > self._const.nbytes:
            raise ValueError(f"read_constant: {size} bytes at offset {offset} exceed the constant memory")
        return bytes(self.device.sim.read(self._const.address + offset, size))

    def constant_pointer(self, dtype=np.float32, offset: int = 0) -> DevicePointer:
        """A pointer into constant memory, to pass to a kernel (read-only there by convention)."""
        return DevicePointer(self, self._const.alloc, offset, dtype)

    # -- kernels -----------------------------------------------------------------------------------------
    def launch_kernel(self, k, grid_dim, block_dim, *args):
        if not isinstance(k, SeedKernel):
            raise TypeError("launch_kernel takes a function decorated with @vgpu.kernel")
        return k.launch(self, grid_dim, block_dim, args)

    def synchronize(self) -> None:
        """Launches and copies complete before they return."""

    def get_kernel_log(self) -> list[dict]:
        return list(self.kernel_log)

    def get_transfer_log(self) -> list[dict]:
        return list(self.transfer_log)

    def get_transfer_stats(self) -> dict:
        stats = {k: {"count": 0, "bytes": 0} for k in _KINDS}
        for e in self.transfer_log:
            stats[e["kind"]]["count"] += 1
            stats[e["kind"]]["bytes"] += e["bytes"]
        return stats


class SeedKernel:
    """A kernel with the seed's signature (threadIdx, blockIdx, blockDim, gridDim, *args)."""

    def __init__(self, fn, grid_dim=None, block_dim=None):
        from ..cuda.compiler import Dispatcher
        self.disp = Dispatcher(fn)
        self.disp.dim3_params = 4
        self.fn, self.grid_dim, self.block_dim = fn, grid_dim, block_dim
        self.__name__ = fn.__name__

    def __call__(self, *args):
        if self.grid_dim is None or self.block_dim is None:
            raise TypeError(f"{self.__name__}: give @kernel(grid_dim=..., block_dim=...) or use "
                            f"gpu.launch_kernel({self.__name__}, grid, block, ...)")
        return self.launch(VirtualGPU.get_current(), self.grid_dim, self.block_dim, args)

    def launch(self, gpu: VirtualGPU, grid, block, args):
        for a in args:
            if isinstance(a, DevicePointer):
                gpu._live(a)
        t0 = time.perf_counter()
        result = self.disp.launch(list(args), grid, block, 0, device=gpu.device)
        gpu.kernel_log.append({"name": self.__name__, "grid_dim": tuple(grid) if not isinstance(grid, int)
                               else (grid,), "block_dim": tuple(block) if not isinstance(block, int) else (block,),
                               "seconds": time.perf_counter() - t0})
        return result

    def inspect_asm(self):
        return self.disp.inspect_asm()


def kernel(fn=None, *, grid_dim=None, block_dim=None):
    """`@kernel` or `@kernel(grid_dim=(g, 1, 1), block_dim=(b, 1, 1))`."""
    if fn is not None:
        return SeedKernel(fn, grid_dim, block_dim)
    return lambda f: SeedKernel(f, grid_dim, block_dim)


def launch_kernel(k: SeedKernel, grid_dim, block_dim, *args):
    return VirtualGPU.get_current().launch_kernel(k, grid_dim, block_dim, *args)
