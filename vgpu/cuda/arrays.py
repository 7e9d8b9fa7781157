"""numba-cuda's host memory API: to_device, device_array(_like), copy_to_host, streams.

In:  NumPy arrays, shapes and dtypes.  Out: `DeviceNDArray`s (vgpu `DeviceArray`s with Numba's methods).
"""
from __future__ import annotations

import numpy as np

from ..runtime.array import DeviceArray
from ..runtime.device import resolve


class DeviceNDArray(DeviceArray):
    """A device array with numba-cuda's methods."""

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def strides(self) -> tuple:
        out, acc = [], self.dtype.itemsize
        for s in reversed(self.shape):
            out.append(acc)
            acc *= s
        return tuple(reversed(out))

    def copy_to_host(self, ary=None, stream=0):
        data = DeviceArray.copy_to_host(self)
        if ary is None:
            return data
        ary[...] = data.reshape(ary.shape)
        return ary

    def copy_to_device(self, ary, stream=0):
        if isinstance(ary, DeviceArray):
            ary = ary.copy_to_host()
        self.copy_from_host(np.asarray(ary, dtype=self.dtype))

    def is_c_contiguous(self) -> bool:
        return True

    def __array__(self, dtype=None, copy=None):
        a = self.copy_to_host()
        return a if dtype is None else a.astype(dtype)


def _new(shape, dtype, device=None) -> DeviceNDArray:
    dev = resolve(device)
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return DeviceNDArray(dev, dev.sim.malloc(max(nbytes, 1)), shape, dtype)


def to_device(obj, stream=0, copy=True, to=None, device=None) -> DeviceNDArray:
    host = np.ascontiguousarray(obj)
    if to is not None:
        to.copy_to_device(host)
        return to
    d = _new(host.shape, host.dtype, device)
    if host.nbytes and copy:
        d.device.sim.write(d.address, host.tobytes())
    return d


def device_array(shape, dtype=np.float64, strides=None, order="C", stream=0, device=None) -> DeviceNDArray:
    if order != "C":
        raise NotImplementedError("vgpu device arrays are C-ordered")
    d = _new(shape, dtype, device)
    if d.nbytes:
        d.device.sim.write(d.address, bytes(d.nbytes))
    return d


def device_array_like(ary, stream=0) -> DeviceNDArray:
    return device_array(ary.shape, ary.dtype)


def pinned_array(shape, dtype=np.float64, strides=None, order="C"):
    return np.zeros(shape, dtype)


class Stream:
    """A stream: launches and copies complete in order (vgpu runs them when they are issued)."""

    def synchronize(self) -> None:
        pass

    def auto_synchronize(self):
        from contextlib import nullcontext
        return nullcontext(self)


def stream() -> Stream:
    return Stream()


def default_stream() -> Stream:
    return Stream()
