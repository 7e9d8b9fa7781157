"""numba-cuda's host memory API: to_device, device_array(_like), copy_to_host, streams.

In:  NumPy arrays, shapes and dtypes.  Out: `DeviceNDArray`s (vgpu `DeviceArray`s with Numba's methods).
"""
from __future__ import annotations

import numpy as np

from ..runtime.array import DeviceArray
from ..runtime.device import resolve


def _c_strides(shape, itemsize: int) -> tuple:
    out, acc = [], itemsize
    for s in reversed(shape):
        out.append(acc)
        acc *= s
    return tuple(reversed(out))


class DeviceNDArray(DeviceArray):
    """A device array with numba-cuda's methods.  Like numba-cuda's, it has strides: `to_device` of a
    Fortran-ordered array keeps them, and indexing (`d[i]`, `d[:, j]`, `d[::2]`) gives views sharing
    the memory, which kernels receive with their strides (Numba's layouts C, F, A)."""

    def __init__(self, *args, strides=None, **kw):
        super().__init__(*args, **kw)
        self._strides = tuple(int(x) for x in strides) if strides is not None else None

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def strides(self) -> tuple:
        return self._strides if self._strides is not None else _c_strides(self.shape, self.dtype.itemsize)

    @property
    def flags(self) -> dict:
        probe = self._probe()
        return {"C_CONTIGUOUS": bool(probe.flags["C_CONTIGUOUS"]), "F_CONTIGUOUS": bool(probe.flags["F_CONTIGUOUS"])}

    def _probe(self) -> np.ndarray:
        """A NumPy array with this shape and these strides over no memory (for its flags and views)."""
        return np.lib.stride_tricks.as_strided(np.empty(1, self.dtype), self.shape, self.strides, writeable=False)

    def _extent(self) -> tuple[int, int]:
        """(lowest, highest + 1) byte offsets from `address` that the elements occupy."""
        if self.size == 0:
            return 0, 0
        lo = sum(st * (n - 1) for st, n in zip(self.strides, self.shape) if st < 0)
        hi = sum(st * (n - 1) for st, n in zip(self.strides, self.shape) if st > 0)
        return lo, hi + self.dtype.itemsize

    def __getitem__(self, index):
        """numba-cuda's basic indexing: a view (or, with every dimension indexed, the element's value)."""
        self._check_live()
        probe = self._probe()
        try:
            view = probe[index]
        except IndexError as e:
            raise IndexError(str(e)) from None
        if not isinstance(view, np.ndarray) or view.ndim == 0:
            lo = int(np.asarray(view).__array_interface__["data"][0]) if isinstance(view, np.ndarray) else None
            off = (lo if lo is not None else _element_offset(probe, index)) - probe.__array_interface__["data"][0]
            raw = self.device.sim.read(self.address + off, self.dtype.itemsize)
            return np.frombuffer(bytes(raw), self.dtype)[0]
        off = view.__array_interface__["data"][0] - probe.__array_interface__["data"][0]
        return DeviceNDArray(self.device, self.address + off, view.shape, self.dtype, False, self,
                             strides=view.strides)

    def is_c_contiguous(self) -> bool:
        return self.flags["C_CONTIGUOUS"]

    def is_f_contiguous(self) -> bool:
        return self.flags["F_CONTIGUOUS"]

    def copy_to_host(self, ary=None, stream=0):
        self._check_live()
        if self._strides is None or self.flags["C_CONTIGUOUS"]:
            data = DeviceArray.copy_to_host(self)
        else:
            lo, hi = self._extent()
            raw = bytes(self.device.sim.read(self.address + lo, hi - lo)) if hi > lo else b""
            self.device.record_transfer("DtoH", None, hi - lo)
            data = np.ndarray(self.shape, self.dtype, buffer=raw or bytes(1), offset=-lo,
                              strides=self.strides).copy() if self.size else np.empty(self.shape, self.dtype)
        if ary is None:
            return data
        ary[...] = data.reshape(ary.shape)
        return ary

    def copy_to_device(self, ary, stream=0):
        if isinstance(ary, DeviceArray):
            ary = ary.copy_to_host()
        ary = np.asarray(ary, dtype=self.dtype)
        if self._strides is None or self.flags["C_CONTIGUOUS"]:
            self.copy_from_host(ary)
            return
        if not self.flags["F_CONTIGUOUS"]:
            raise ValueError("copy_to_device into a non-contiguous device array view is not supported")
        data = np.asfortranarray(ary.reshape(self.shape))
        self.device.sim.write(self.address, data.tobytes(order="F"))
        self.device.record_transfer("HtoD", None, data.nbytes)

    def __array__(self, dtype=None, copy=None):
        a = self.copy_to_host()
        return a if dtype is None else a.astype(dtype)


def _element_offset(probe: np.ndarray, index) -> int:
    """The data address of probe[index] when that is one element (a NumPy scalar has no address)."""
    index = index if isinstance(index, tuple) else (index,)
    return probe[index + (Ellipsis,)].__array_interface__["data"][0]


def _new(shape, dtype, device=None, strides=None) -> DeviceNDArray:
    dev = resolve(device)
    shape = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return DeviceNDArray(dev, dev.sim.malloc(max(nbytes, 1)), shape, dtype, strides=strides)


def to_device(obj, stream=0, copy=True, to=None, device=None) -> DeviceNDArray:
    """A copy on the device; a Fortran-ordered array stays Fortran-ordered (numba-cuda keeps the host's
    strides), any other is copied C-contiguous."""
    if isinstance(obj, np.ndarray) and obj.ndim > 1 and obj.flags["F_CONTIGUOUS"] and not obj.flags["C_CONTIGUOUS"]:
        if to is not None:
            to.copy_to_device(obj)
            return to
        d = _new(obj.shape, obj.dtype, device, strides=obj.strides)
        if obj.nbytes and copy:
            d.device.sim.write(d.address, obj.tobytes(order="F"))
        return d
    host = np.ascontiguousarray(obj)
    if to is not None:
        to.copy_to_device(host)
        return to
    d = _new(host.shape, host.dtype, device)
    if host.nbytes and copy:
        d.device.sim.write(d.address, host.tobytes())
    return d


def device_array(shape, dtype=np.float64, strides=None, order="C", stream=0, device=None) -> DeviceNDArray:
    if order not in ("C", "F"):
        raise ValueError(f"order must be 'C' or 'F', not {order!r}")
    if strides is None and order == "F":
        shp = (int(shape),) if np.isscalar(shape) else tuple(int(s) for s in shape)
        strides = tuple(reversed(_c_strides(tuple(reversed(shp)), np.dtype(dtype).itemsize)))
    d = _new(shape, dtype, device, strides=strides)
    if d.nbytes:
        d.device.sim.write(d.address, bytes(d.nbytes))
    return d


def device_array_like(ary, stream=0) -> DeviceNDArray:
    """A new device array of ary's shape and dtype, Fortran-ordered when ary is (as numba-cuda)."""
    flags = getattr(ary, "flags", None)
    f = flags is not None and flags["F_CONTIGUOUS"] and not flags["C_CONTIGUOUS"] and len(ary.shape) > 1
    return device_array(ary.shape, ary.dtype, order="F" if f else "C")


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
