"""Kernel arguments -> the kernel's `.param` bytes: the one place a launch argument is checked and converted.

In:  a kernel's name and `ParamInfo`s (name, type, pointee, offset), the Python arguments of a launch,
     the launching `Device`.
Out: the `.param` buffer (each value at its `ParamInfo.offset`, `vgpu.sim.launch.encode_params`) that
     `SimDevice.launch` receives; or an `ArgumentError` naming the kernel and the parameter:
     ArgumentTypeError (a TypeError): wrong count or kind (a scalar for a pointer, a float for an
         integer, an array whose dtype does not match the pointee type, a non-native byte order);
     ArgumentValueError (a ValueError): a value out of range for the declared type, a DeviceArray
         of another device.

`allow_reinterpret=True` is the explicit escape: integers wrap modulo 2^bits (C's conversion) and any
array passes for any pointer (its bytes read as the pointee type).
"""
from __future__ import annotations

import math
import struct

import numpy as np

from ..sim.launch import PACK, encode_params
from ..types import wrap_int
from .array import DeviceArray

class ArgumentError(Exception):
    """A launch argument that does not fit its parameter (the message names the kernel and the parameter)."""


class ArgumentTypeError(ArgumentError, TypeError):
    """Wrong count or kind of argument."""


class ArgumentValueError(ArgumentError, ValueError):
    """An argument out of range for its parameter, or on another device."""


_SCALARS = (int, float, bool, np.integer, np.floating, np.bool_)
_C_NAMES = {"s8": "signed char", "u8": "unsigned char", "s16": "short", "u16": "unsigned short", "s32": "int",
            "u32": "unsigned int", "s64": "long long", "u64": "unsigned long long", "f32": "float",
            "f64": "double", "pred": "bool"}


def _a(name: str) -> str:
    return ("an " if name[0] in "aeiou" else "a ") + name


def c_name(t) -> str:
    """The C spelling of a scalar type ('int' for s32)."""
    return _C_NAMES.get(t.name, t.name)


def c_params(params) -> list[tuple[str, list]]:
    """The kernel's parameters as C declares them: (name, its ParamInfos): one for a scalar or pointer,
    the leaves in order for a struct passed by value."""
    out: list[tuple[str, list]] = []
    for p in params:
        g = getattr(p, "group", None)
        if g is not None and out and out[-1][0] == g[0] and getattr(out[-1][1][0], "group", None) is not None:
            out[-1][1].append(p)
        else:
            out.append((g[0] if g is not None else p.name, [p]))
    return out


def _flatten(a) -> list:
    """A struct argument's scalars in order: a tuple/list (nested as the struct is), a numpy array, or a
    numpy structured scalar."""
    if isinstance(a, np.void):
        a = a.tolist()
    if isinstance(a, np.ndarray):
        return [x for v in a.tolist() for x in _flatten(v)] if a.ndim else [a.item()]
    if isinstance(a, (tuple, list)):
        return [x for v in a for x in _flatten(v)]
    return [a]


def pack_args(kernel: str, params, args, device, allow_reinterpret: bool = False) -> bytes:
    """The `.param` bytes of a launch of `kernel` with `args` (one per C parameter, in order; a struct
    parameter takes a tuple of its scalars or a numpy structured scalar) on `device`."""
    groups = c_params(params)
    least = len(groups)
    while least and len(groups[least - 1][1]) == 1 and getattr(groups[least - 1][1][0], "default", None) is not None:
        least -= 1                               # trailing parameters with default arguments
    if not least <= len(args) <= len(groups):
        names = ", ".join(name for name, _ in groups)
        takes = f"{least} to {len(groups)}" if least < len(groups) else f"{len(groups)}"
        raise ArgumentTypeError(f"{kernel}() takes {takes} arguments ({names}), {len(args)} given")
    values = []
    for (name, leaves), a in zip(groups, args):
        if getattr(leaves[0], "group", None) is None:
            values.append(convert(kernel, leaves[0], a, device, allow_reinterpret))
            continue
        flat = _flatten(a) if not isinstance(a, DeviceArray) else [a]
        if len(flat) != len(leaves):
            raise ArgumentTypeError(f"{kernel}(): parameter {name!r} is a struct of {len(leaves)} scalar(s) "
                                    f"({', '.join(p.name for p in leaves[:8])}{', ...' if len(leaves) > 8 else ''}): "
                                    f"give a tuple of {len(leaves)} values or a numpy structured scalar, not "
                                    f"{type(a).__name__} of {len(flat)}")
        values.extend(convert(kernel, p, x, device, allow_reinterpret) for p, x in zip(leaves, flat))
    for _, leaves in groups[len(args):]:
        values.append(leaves[0].default)
    return encode_params(kernel, params, values)


class Packer:
    """A kernel's parameters prepared once for its launches: `packer(args, device, allow_reinterpret)`
    gives what `pack_args` gives (the same bytes, the same errors).  When every parameter is a scalar or
    a pointer passed by one argument (no struct, no default) of an integer or float type, in offset
    order, the converted values are packed by one precompiled `struct.Struct`."""

    def __init__(self, kernel: str, params):
        self.kernel, self.params = kernel, params
        self.floats = [i for i, p in enumerate(params) if p.type.is_float]
        self.struct = None
        layout, at = "<", 0
        for p in params:
            fmt = PACK.get(p.type.name)
            if (fmt is None or getattr(p, "group", None) is not None or getattr(p, "default", None) is not None
                    or p.offset < at or struct.calcsize(fmt) != p.size):
                return
            layout += "x" * (p.offset - at) + fmt[1:]
            at = p.offset + p.size
        self.struct = struct.Struct(layout)

    def __call__(self, args, device, allow_reinterpret: bool = False) -> bytes:
        if self.struct is None or len(args) != len(self.params):
            return pack_args(self.kernel, self.params, args, device, allow_reinterpret)
        values = [convert(self.kernel, p, a, device, allow_reinterpret) for p, a in zip(self.params, args)]
        for i in self.floats:
            if not math.isfinite(values[i]):
                return encode_params(self.kernel, self.params, values)    # inf and NaN as numpy converts them
        try:
            return self.struct.pack(*values)
        except struct.error:                     # a value outside its type's range: encode_params wraps it
            return encode_params(self.kernel, self.params, values)


def convert(kernel: str, p, a, device, allow_reinterpret: bool = False) -> int | float:
    """One argument as the value its parameter holds: a device address for a pointer, an in-range
    int or a float (already rounded to the parameter's type) for a scalar."""
    if p.is_pointer:
        return _pointer(kernel, p, a, device, allow_reinterpret)
    where = _where(kernel, p)
    t = p.type
    if isinstance(a, DeviceArray) or not isinstance(a, _SCALARS):
        raise ArgumentTypeError(f"{where} is {_a(c_name(t))}, not {type(a).__name__}")
    if t.is_float:
        return _float(where, t, a)
    if t.kind == "pred":
        if isinstance(a, (float, np.floating)) or int(a) not in (0, 1):
            raise ArgumentValueError(f"{where} (bool) takes True/False or 0/1, not {a!r}")
        return int(a)
    if isinstance(a, (float, np.floating)):
        raise ArgumentTypeError(f"{where} is an integer ({c_name(t)}), not {type(a).__name__} {a!r}")
    v = int(a)
    lo, hi = (-(1 << (t.bits - 1)), (1 << (t.bits - 1)) - 1) if t.is_signed else (0, (1 << t.bits) - 1)
    if lo <= v <= hi:
        return v
    if allow_reinterpret:
        return wrap_int(v, t.bits, t.is_signed)
    raise ArgumentValueError(f"{where} ({c_name(t)}, {lo}..{hi}): {v} is out of range "
                             f"(allow_reinterpret=True or vgpuc --allow-reinterpret wraps it modulo 2^{t.bits})")


def _where(kernel: str, p) -> str:
    """How messages name a parameter."""
    return f"{kernel}(): parameter {p.name!r}"


def _float(where: str, t, a) -> float:
    try:
        v = float(a)
    except OverflowError:
        raise ArgumentValueError(f"{where} ({c_name(t)}): {a} is out of range") from None
    with np.errstate(over="ignore"):
        x = t.dtype.type(v)
    if math.isinf(x) and not math.isinf(v):
        raise ArgumentValueError(f"{where} ({c_name(t)}): {a!r} is out of range (largest finite value "
                                 f"{float(np.finfo(t.dtype).max):g})")
    return float(x)


def dtype_matches(t, dt: np.dtype) -> bool:
    """Whether an array of dtype `dt` holds elements of the scalar type `t` (same size, float or integer;
    integers of either signedness; bool for 1-byte types)."""
    if dt.itemsize != t.size:
        return False
    return dt.kind == "f" if t.is_float else dt.kind in "iub"


def _pointer(kernel: str, p, a, device, allow_reinterpret: bool) -> int:
    if not isinstance(a, DeviceArray):
        if a is None or (isinstance(a, (int, np.integer)) and not isinstance(a, bool) and int(a) == 0):
            return 0                                                # a null pointer
        hint = " (copy it with vgpu.to_device first)" if isinstance(a, np.ndarray) else ""
        raise ArgumentTypeError(f"{_where(kernel, p)} is a pointer and takes a DeviceArray, not "
                                f"{type(a).__name__}{hint}")
    if a.device is not device:
        raise ArgumentValueError(f"{_where(kernel, p)}: the array lives on {a.device!r}, but the kernel is launched "
                                 f"on {device!r} (copy it to that device first)")
    if allow_reinterpret:
        return a.address
    if not a.dtype.isnative:
        raise ArgumentTypeError(f"{_where(kernel, p)}: the array's dtype {a.dtype.str} is not in the device's "
                                "(little-endian) byte order")
    t = p.pointee                    # None: void * or a pointer to a struct, any array will do
    if t is not None and not dtype_matches(t, a.dtype):
        raise ArgumentTypeError(f"{_where(kernel, p)} points to {c_name(t)} elements, but the array holds {a.dtype} "
                                f"(allow_reinterpret=True or vgpuc --allow-reinterpret passes it anyway)")
    return a.address
