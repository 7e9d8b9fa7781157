"""Texture objects: a `DeviceArray` in, a `cudaTextureObject_t` handle (an int) out.

    tex = vgpu.texture(array, filter="linear", address="clamp", normalized=False, channels=1,
                       read_mode="element")
    kernel(tex, out, grid=..., block=...)          # a `cudaTextureObject_t tex` parameter

The handle is the device address of a 64-byte descriptor written to the array's device; the fetches
(`tex1Dfetch`, `tex1D`, `tex2D`, `tex3D`) are .vk functions in vgpu/include/__vgpu_intrinsics.vkh that
read it (its `struct __vgpu_texdesc` is this layout).  The texture has 1, 2 or 3 dimensions: the
array's shape (w), (h, w) or (d, h, w), plus a last axis of `channels` (2 or 4) for float2/float4 and
uchar2/uchar4 texels.  `address` is one mode or one per dimension (x first): 'wrap', 'clamp', 'mirror',
'border' (wrap and mirror need normalized=True, as in CUDA).  `read_mode='normalized'` reads 8-bit
texels as float in [0, 1].  The descriptor lives while the handle is registered: `destroy_texture(h)`.
"""
from __future__ import annotations

import numpy as np

from .array import DeviceArray, to_device

_FORMATS = {("f4", 1): 0, ("f4", 2): 1, ("f4", 4): 2, ("u1", 4): 3, ("u1", 1): 4, ("i4", 1): 5, ("u1", 2): 6}
_ADDRESS = {"wrap": 0, "clamp": 1, "mirror": 2, "border": 3}
_FILTER = {"point": 0, "linear": 1}
_LIVE: dict[int, tuple[DeviceArray, DeviceArray]] = {}


def texture(array: DeviceArray, filter: str = "point", address="clamp", normalized: bool = False,
            channels: int = 1, read_mode: str = "element") -> int:
    """Make a texture object over `array` (kept alive with it); return its handle."""
    desc = _descriptor("texture", "texel", array, channels)
    key = (array.dtype.str[1:], channels)
    if key not in _FORMATS:
        raise ValueError(f"vgpu.texture: texels of {array.dtype} x {channels} are not supported (float32 x 1, 2 "
                         "or 4; uint8 x 1, 2 or 4; int32 x 1)")
    if filter not in _FILTER:
        raise ValueError(f"vgpu.texture: filter must be 'point' or 'linear', not {filter!r}")
    if read_mode not in ("element", "normalized"):
        raise ValueError(f"vgpu.texture: read_mode must be 'element' or 'normalized', not {read_mode!r}")
    if read_mode == "normalized" and array.dtype != np.uint8:
        raise ValueError("vgpu.texture: read_mode='normalized' is for uint8 texels")
    if filter == "linear" and array.dtype != np.float32 and read_mode != "normalized":
        raise ValueError("vgpu.texture: linear filtering needs float texels or read_mode='normalized' (as CUDA)")
    modes = [address] * 3 if isinstance(address, str) else list(address) + ["clamp"] * (3 - len(address))
    for m in modes:
        if m not in _ADDRESS:
            raise ValueError(f"vgpu.texture: address mode must be one of {', '.join(_ADDRESS)}, not {m!r}")
        if m in ("wrap", "mirror") and not normalized:
            raise ValueError(f"vgpu.texture: address mode {m!r} needs normalized=True (as CUDA)")
    desc[6] = _FORMATS[key]
    desc[7] = _FILTER[filter]
    desc[8:11] = [_ADDRESS[m] for m in modes[:3]]
    desc[11] = int(bool(normalized))
    desc[12] = int(read_mode == "normalized")
    return _keep(desc, array)


def surface(array: DeviceArray, channels: int = 1) -> int:
    """Make a surface object over `array` (kept alive with it), for `surf1D/2D/3Dread` and `...write`;
    return its handle (a `cudaSurfaceObject_t`).  The array's shape is (w), (h, w) or (d, h, w), plus a
    last axis of `channels` for vector elements (float4: float32 with channels=4); any element type.
    The kernel addresses x in bytes, y and z in elements, as CUDA's surface functions do."""
    desc = _descriptor("surface", "element", array, channels)
    desc[13] = array.dtype.itemsize * channels
    return _keep(desc, array)


def _descriptor(what: str, unit: str, array: DeviceArray, channels: int) -> np.ndarray:
    """The 16-word descriptor of a texture or surface over `array` with its address and extent
    (words 0-5) filled in, after checking the array's type and shape."""
    if not isinstance(array, DeviceArray):
        raise TypeError(f"vgpu.{what}: array must be a vgpu DeviceArray, not {type(array).__name__}")
    shape = list(array.shape)
    if channels != 1:
        if not shape or shape[-1] != channels:
            raise ValueError(f"vgpu.{what}: channels={channels} needs a last axis of {channels}, shape is "
                             f"{tuple(array.shape)}")
        shape = shape[:-1]
    if not 1 <= len(shape) <= 3 or min(shape) < 1:
        raise ValueError(f"vgpu.{what}: a {what} has 1 to 3 dimensions of at least one {unit}, not shape "
                         f"{tuple(array.shape)}")
    dims = shape[::-1] + [1] * (3 - len(shape))            # w, h, d
    desc = np.zeros(16, np.uint32)
    desc[0:2] = np.array([array.address], np.uint64).view(np.uint32)
    desc[2:5] = dims
    desc[5] = dims[0]
    return desc


def _keep(desc: np.ndarray, array: DeviceArray) -> int:
    """Put the descriptor on array's device, keep both alive, and return the handle."""
    d = to_device(desc, device=array.device)
    _LIVE[d.address] = (d, array)
    return d.address


def destroy_texture(handle: int) -> None:
    """Forget the texture (or surface) `handle` (its descriptor is freed with it)."""
    if int(handle) not in _LIVE:
        raise ValueError(f"vgpu.destroy_texture: no live texture with handle {handle:#x}")
    del _LIVE[int(handle)]
