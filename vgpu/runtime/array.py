"""`DeviceArray`: an n-dimensional array in a device's global (or constant) memory.

In:  numpy arrays (`to_device`), shapes and dtypes (`empty`, `zeros`), other device arrays
     (`copy_to`, `copy_peer`).
Out: arrays whose `.address` a kernel's pointer parameter receives; `copy_to_host()` brings them back.
     Every copy is logged on the devices it touches (`Device.transfer_log`) with its modelled time.
"""
from __future__ import annotations

import numpy as np

from .device import Device, resolve


class DeviceArray:
    """A view of `nbytes` of device memory at `address`, read as `shape`/`dtype` (C order).

    `owner` is True when the array allocated its memory (it frees it with `free()` or when collected);
    views of symbols (`Module.get_global`) and slices (`x[a:b]`) do not own theirs.
    """

    def __init__(self, device: Device, address: int, shape: tuple[int, ...], dtype, owner: bool = True,
                 base: "DeviceArray | None" = None):
        self.device = device
        self.address = int(address)
        self.shape = tuple(int(s) for s in shape)
        self.dtype = np.dtype(dtype)
        self.owner = owner
        self.base = base                   # the array a view was taken of (kept alive by the view)
        self._freed = False

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def nbytes(self) -> int:
        return self.size * self.dtype.itemsize

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __len__(self) -> int:
        return self.shape[0] if self.shape else 1

    # -- views -----------------------------------------------------------------------------------------
    def __getitem__(self, index) -> "DeviceArray":
        """A view: `x[a:b]` (rows a..b-1 of the first axis, step 1) or `x[i]` (row i)."""
        self._check_live()
        if not self.shape:
            raise IndexError("a 0-dimensional DeviceArray cannot be indexed")
        n = self.shape[0]
        row = self.nbytes // n if n else 0
        if isinstance(index, (int, np.integer)):
            i = int(index) + (n if index < 0 else 0)
            if not 0 <= i < n:
                raise IndexError(f"index {int(index)} is out of bounds for axis 0 with size {n}")
            return DeviceArray(self.device, self.address + i * row, self.shape[1:], self.dtype, False, self)
        if isinstance(index, slice):
            start, stop, step = index.indices(n)
            if step != 1:
                raise IndexError("DeviceArray slices must be contiguous (step 1)")
            stop = max(stop, start)
            return DeviceArray(self.device, self.address + start * row, (stop - start,) + self.shape[1:],
                               self.dtype, False, self)
        raise IndexError(f"DeviceArray takes an int or a slice of the first axis, not {index!r}")

    def reshape(self, *shape) -> "DeviceArray":
        """A view with another shape of the same number of elements."""
        shape = shape[0] if len(shape) == 1 and not np.isscalar(shape[0]) else shape
        shape = tuple(int(s) for s in shape)
        if -1 in shape:
            known = int(np.prod([s for s in shape if s != -1], dtype=np.int64))
            shape = tuple(self.size // max(known, 1) if s == -1 else s for s in shape)
        if int(np.prod(shape, dtype=np.int64)) != self.size:
            raise ValueError(f"cannot reshape an array of {self.size} elements into shape {shape}")
        return DeviceArray(self.device, self.address, shape, self.dtype, False, self)

    def ravel(self) -> "DeviceArray":
        return self.reshape(self.size)

    # -- copies ----------------------------------------------------------------------------------------
    def copy_to_host(self) -> np.ndarray:
        """A new numpy array with the current contents (same shape and dtype)."""
        self._check_live()
        data = self.device.sim.read(self.address, self.nbytes)
        self.device.record_transfer("DtoH", None, self.nbytes)
        return np.frombuffer(bytes(data), dtype=self.dtype).reshape(self.shape).copy()

    def copy_from_host(self, array) -> None:
        """Overwrite the contents with `array` (same number of bytes; converted to this dtype)."""
        self._check_live()
        a = np.ascontiguousarray(array, dtype=self.dtype)
        if a.nbytes != self.nbytes:
            raise ValueError(f"copy_from_host: {a.nbytes} bytes given for a {self.nbytes}-byte array")
        self.device.sim.write(self.address, a.tobytes())
        self.device.record_transfer("HtoD", None, self.nbytes)

    def copy_to(self, device: Device) -> "DeviceArray":
        """A new array on `device` with this one's contents (a peer copy; on the same device, a
        device-to-device copy)."""
        out = empty(self.shape, self.dtype, device)
        copy_peer(out, self)
        return out

    def copy_from(self, src: "DeviceArray") -> None:
        """Overwrite the contents with `src`'s (same dtype and size, any device)."""
        copy_peer(self, src)

    def free(self) -> None:
        """Give the memory back; later kernel accesses to it fault as use-after-free."""
        if self.owner and not self._freed and not self.device.closed:
            self.device.sim.free(self.address)
        self._freed = True

    def _check_live(self) -> None:
        if self._freed or (self.base is not None and self.base._freed):
            raise ValueError(f"DeviceArray at 0x{self.address:x} on {self.device.name} was freed")

    def __repr__(self) -> str:
        return (f"DeviceArray(shape={self.shape}, dtype={self.dtype}, device={self.device.name}, "
                f"address=0x{self.address:x})")

    def _repr_html_(self) -> str:
        """Notebook display: shape, dtype, device, address and the values (summarised when large)."""
        import html
        if self._freed:
            return f"<div><b>DeviceArray</b> (freed) shape {self.shape} dtype {self.dtype}</div>"
        with np.printoptions(threshold=64, edgeitems=8):
            body = html.escape(str(self.copy_to_host()))
        return (f"<div><b>DeviceArray</b> shape {self.shape} dtype {self.dtype} on {html.escape(self.device.name)} "
                f"at 0x{self.address:x}<pre>{body}</pre></div>")


def copy_peer(dst: DeviceArray, src: DeviceArray, label: str = "") -> None:
    """Copy `src` into `dst` (same dtype and size), between devices or inside one; logged as PtoP
    (or DtoD) on both devices with the modelled time of the link between them."""
    if not isinstance(dst, DeviceArray) or not isinstance(src, DeviceArray):
        raise TypeError("copy_peer(dst, src) takes two DeviceArrays")
    dst._check_live()
    src._check_live()
    if dst.dtype != src.dtype or dst.size != src.size:
        raise ValueError(f"copy_peer: destination {dst.shape} {dst.dtype} on {dst.device.name} does not match "
                         f"source {src.shape} {src.dtype} on {src.device.name}")
    if not src.nbytes:
        return
    sd, dd = src.device, dst.device
    sd._check_open()
    dd._check_open()
    push = getattr(sd.sim, "push_to", None)
    if sd is dd:
        data = sd.sim.read(src.address, src.nbytes)
        sd.sim.write(dst.address, data)
    elif push is not None and push(dd.sim, src.address, src.nbytes, dst.address):
        pass                                  # the source device sent it straight to the destination
    else:
        dd.sim.write(dst.address, sd.sim.read(src.address, src.nbytes))
    sd.record_transfer("DtoD" if sd is dd else "PtoP", dd, src.nbytes, label, outgoing=True)


def _native(array) -> np.ndarray:
    """A C-ordered numpy array in the machine's byte order (a big-endian '>f4' is converted, so a
    kernel never computes on swapped bytes)."""
    host = np.ascontiguousarray(array)
    if host.dtype.hasobject:
        raise TypeError(f"cannot copy an array of dtype {host.dtype} to a device (numbers and structs only)")
    if not host.dtype.isnative:
        host = host.astype(host.dtype.newbyteorder("="))
    return host


def empty(shape, dtype=np.float32, device: Device | None = None) -> DeviceArray:
    """An uninitialised device array (its bytes are whatever the allocator gives: zeros here)."""
    dev = resolve(device)
    dev._check_open()
    shape = (shape,) if np.isscalar(shape) else tuple(shape)
    dtype = np.dtype(dtype)
    if not dtype.isnative:
        dtype = dtype.newbyteorder("=")
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    return DeviceArray(dev, dev.sim.malloc(max(nbytes, 1)), shape, dtype)


def zeros(shape, dtype=np.float32, device: Device | None = None) -> DeviceArray:
    a = empty(shape, dtype, device)
    if a.nbytes:
        a.device.sim.memset(a.address, 0, a.nbytes)
    return a


def to_device(array, device: Device | None = None) -> DeviceArray:
    """Copy a numpy array (any shape; converted to C order and native byte order) to a new device array."""
    host = _native(array)
    a = empty(host.shape, host.dtype, device)
    if host.nbytes:
        a.device.sim.write(a.address, host.tobytes())
    a.device.record_transfer("HtoD", None, host.nbytes)
    return a
