"""`DeviceArray`: an n-dimensional array in a device's global (or constant) memory.

In:  numpy arrays (`to_device`), shapes and dtypes (`empty`, `zeros`).
Out: arrays whose `.address` a kernel's pointer parameter receives; `copy_to_host()` brings them back.
"""
from __future__ import annotations

import numpy as np

from .device import Device, resolve


class DeviceArray:
    """A view of `nbytes` of device memory at `address`, read as `shape`/`dtype` (C order).

    `owner` is True when the array allocated its memory (it frees it with `free()` or when collected);
    views of symbols (`Module.get_global`) do not own theirs.
    """

    def __init__(self, device: Device, address: int, shape: tuple[int, ...], dtype, owner: bool = True):
        self.device = device
        self.address = int(address)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.owner = owner
        self._freed = False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 1

    def copy_to_host(self) -> np.ndarray:
        """A new numpy array with the current contents (same shape and dtype)."""
        self._check_live()
        data = self.device.sim.read(self.address, self.nbytes)
        return np.frombuffer(bytes(data), dtype=self.dtype).reshape(self.shape).copy()

    def copy_from_host(self, array) -> None:
        """Overwrite the contents with `array` (same number of bytes)."""
        self._check_live()
        a = np.ascontiguousarray(array, dtype=self.dtype)
        if a.nbytes != self.nbytes:
            raise ValueError(f"copy_from_host: {a.nbytes} bytes given for a {self.nbytes}-byte array")
        self.device.sim.write(self.address, a.tobytes())

    def free(self) -> None:
        """Give the memory back; later kernel accesses to it fault as use-after-free."""
        if self.owner and not self._freed:
            self.device.sim.free(self.address)
        self._freed = True

    def _check_live(self) -> None:
        if self._freed:
            raise ValueError(f"DeviceArray at 0x{self.address:x} was freed")

    def __repr__(self) -> str:
        return f"DeviceArray(shape={self.shape}, dtype={self.dtype}, address=0x{self.address:x})"


def empty(shape, dtype=np.float32, device: Device | None = None) -> DeviceArray:
    """An uninitialised device array (its bytes are whatever the allocator gives: zeros here)."""
    dev = resolve(device)
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return DeviceArray(dev, dev.sim.malloc(max(nbytes, 1)), shape, dtype)


def zeros(shape, dtype=np.float32, device: Device | None = None) -> DeviceArray:
    a = empty(shape, dtype, device)
    a.device.sim.write(a.address, bytes(a.nbytes))
    return a


def to_device(array, device: Device | None = None) -> DeviceArray:
    """Copy a numpy array (any shape, C order) to a new device array."""
    host = np.ascontiguousarray(array)
    a = empty(host.shape, host.dtype, device)
    if host.nbytes:
        a.device.sim.write(a.address, host.tobytes())
    return a
