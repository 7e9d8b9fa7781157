"""Operand resolution: an instruction's operands turned into getters and setters over a wave's lanes.

In:  operands (`Reg`, `Imm`, `SReg`, `Sym`, `Mem`, `Label` of `vgpu.isa.program`) with the ISA type
     they are read or written as, and the kernel's symbol addresses, labels and parameter offsets.
Out: closures the instruction semantics call: a source getter (wave, lanes) -> array, a destination
     setter (wave, lanes, value), an address getter (wave, lanes) -> int64 generic addresses, a
     branch target pc; and the register file layout (`register_file`).

Registers live in the wave (`Wave.regs`): one row of storage per register over all lanes of the
wave, seen through typed views.  A register operand resolves to a view id, the index of the view of
that register with the dtype the instruction reads or writes: reads narrower than the register
truncate, writes narrower than the register extend by the value's signedness (PTX).
"""
from __future__ import annotations

import numpy as np

from ..isa import spec
from ..isa.program import Imm, KernelCode, Label, Mem, Program, Reg, SReg, Sym
from ..types import SCALARS, Scalar, wrap_int
from .faults import Unsupported

# dtype of each type name; bN are unsigned, 8-bit values sit in 16- or 32-bit registers.
DTYPE = {"pred": np.dtype(bool), "b8": np.dtype(np.uint8), "u8": np.dtype(np.uint8), "s8": np.dtype(np.int8),
         "b16": np.dtype(np.uint16), "u16": np.dtype(np.uint16), "s16": np.dtype(np.int16),
         "f16": np.dtype(np.float16), "b32": np.dtype(np.uint32), "u32": np.dtype(np.uint32),
         "s32": np.dtype(np.int32), "f32": np.dtype(np.float32), "b64": np.dtype(np.uint64), "u64": np.dtype(np.uint64),
         "s64": np.dtype(np.int64), "f64": np.dtype(np.float64)}
VIEW_DTYPES = [np.dtype(t) for t in (bool, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
                                     np.float32, np.uint64, np.int64, np.float64, np.float16)]
VCODE = {d: i for i, d in enumerate(VIEW_DTYPES)}
NVIEW = len(VIEW_DTYPES)
CLASS_BYTES = {"%p": 1, "%rs": 2, "%r": 4, "%f": 4, "%rd": 8, "%fd": 8}
_INT_OF = {(1, "u"): np.uint8, (1, "i"): np.int8, (2, "u"): np.uint16, (2, "i"): np.int16,
           (4, "u"): np.uint32, (4, "i"): np.int32, (8, "u"): np.uint64, (8, "i"): np.int64}
_STORAGE = {1: bool, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_CLOCKS = frozenset(spec.special_regs("clock"))


def scalar_of(t: str) -> Scalar:
    """The vgpu Scalar of an ISA type name (bN as uN)."""
    return SCALARS["u" + t[1:]] if t[0] == "b" else SCALARS[t]


def reg_class(name: str) -> str:
    """'%rd12' -> '%rd'."""
    i = len(name)
    while i > 0 and name[i - 1].isdigit():
        i -= 1
    return name[:i]


def const(value, t: str) -> np.ndarray:
    """An immediate as a 0-d array of type t (ints wrap modulo 2**bits)."""
    dt = DTYPE[t]
    if dt.kind == "f":
        return np.array(float(value), dt)
    if dt.kind == "b":
        return np.array(bool(value))
    return np.array(wrap_int(value, dt.itemsize * 8, dt.kind == "i"), dt)


def register_file(slot_bytes: list[int], nlanes: int) -> list:
    """The registers of a wave of `nlanes` lanes: a list indexed by view id (slot * NVIEW + dtype
    code) of numpy views; the views of one slot share its storage row."""
    regs: list = [None] * (len(slot_bytes) * NVIEW)
    store = {w: np.zeros((slot_bytes.count(w), nlanes), dt) for w, dt in _STORAGE.items()}
    used = dict.fromkeys(_STORAGE, 0)
    for slot, width in enumerate(slot_bytes):
        row = store[width][used[width]]
        used[width] += 1
        for code, dt in enumerate(VIEW_DTYPES):
            if dt.itemsize == width and (dt.kind == "b") == (width == 1):
                regs[slot * NVIEW + code] = row.view(dt)
    return regs


class Operands:
    """Resolves the operands of one kernel's instructions (see the module docstring).
    `addresses`: symbol -> generic address (module symbols, shared and local layouts);
    `params`: parameter name -> its `ParamInfo` (offset, type) in the parameter buffer."""

    def __init__(self, program: Program, code: KernelCode, addresses: dict[str, int], params: dict):
        self.program, self.code = program, code
        self.addresses, self.params = addresses, params
        self.slots: dict[str, tuple[int, str]] = {}       # register name -> (slot, class)
        self.slot_bytes: list[int] = []                    # storage width of each slot

    # -- registers --------------------------------------------------------------------------------
    def slot(self, r: Reg) -> tuple[int, str]:
        if r.name not in self.slots:
            cls = reg_class(r.name)
            if cls not in CLASS_BYTES:
                raise Unsupported(f"unknown register class of {r.name}")
            self.slots[r.name] = (len(self.slot_bytes), cls)
            self.slot_bytes.append(CLASS_BYTES[cls])
        return self.slots[r.name]

    def view(self, r: Reg, dt: np.dtype) -> int:
        """View id of register r seen as dtype dt (dt of the register's width)."""
        slot, cls = self.slot(r)
        width = CLASS_BYTES[cls]
        if dt.itemsize != width or (dt.kind == "b") != (cls == "%p"):
            raise Unsupported(f"register {r.name} cannot hold a {dt} value")
        return slot * NVIEW + VCODE[dt]

    def predicate(self, r: Reg) -> int:
        """View id of a predicate register."""
        return self.view(r, np.dtype(bool))

    def _same_width(self, r: Reg, dt: np.dtype) -> np.dtype:
        """dt, or the integer dtype of r's width with dt's signedness."""
        width = CLASS_BYTES[self.slot(r)[1]]
        if dt.itemsize == width or dt.kind == "b" or width == 1:
            return dt
        return np.dtype(_INT_OF[width, "i" if dt.kind == "i" else "u"])

    # -- operands ---------------------------------------------------------------------------------
    def src(self, o, t: str):
        """A getter (wave, lanes) -> array of type t for a source operand."""
        dt = DTYPE[t]
        if isinstance(o, Reg):
            if reg_class(o.name) == "%p" and dt.kind != "b":
                view = self.predicate(o)
                return lambda wave, lanes: wave.regs[view][lanes].astype(dt)
            rdt = self._same_width(o, dt)
            view = self.view(o, rdt)
            if rdt == dt:
                return lambda wave, lanes: wave.regs[view][lanes]
            return lambda wave, lanes: wave.regs[view][lanes].astype(dt)
        if isinstance(o, Imm):
            c = const(o.value, t)
            return lambda wave, lanes: c
        if isinstance(o, SReg):
            name = o.name
            if name not in spec.SPECIALS:
                raise Unsupported(f"unknown special register {name}")
            if name in _CLOCKS:
                return lambda wave, lanes: np.array(wave.clock(), np.uint64).astype(dt)
            return lambda wave, lanes: wave.special[name][lanes].astype(dt, copy=False)
        if isinstance(o, Sym):
            c = const(self.symbol_address(o.name), t)
            return lambda wave, lanes: c
        raise Unsupported(f"operand {o} cannot be a source")

    def dst(self, o, t: str):
        """A setter (wave, lanes, value) for a destination register written as type t."""
        if not isinstance(o, Reg):
            raise Unsupported(f"destination {o} is not a register")
        dt = DTYPE[t]
        view = self.predicate(o) if reg_class(o.name) == "%p" else self.view(o, self._same_width(o, dt))

        def put(wave, lanes, value):
            wave.regs[view][lanes] = value
        return put

    def symbol_address(self, name: str) -> int:
        if name in self.addresses:
            return self.addresses[name]
        raise Unsupported(f"unknown symbol '{name}'")

    def addr(self, m: Mem):
        """A getter (wave, lanes) -> int64 generic addresses for an address operand."""
        off = int(m.offset)
        b = m.base
        if isinstance(b, Reg):
            if reg_class(b.name) in ("%rd", "%fd"):
                view = self.view(b, np.dtype(np.int64))
                if off:
                    return lambda wave, lanes: wave.regs[view][lanes] + off
                return lambda wave, lanes: wave.regs[view][lanes]
            view = self.view(b, np.dtype(np.uint32))
            return lambda wave, lanes: wave.regs[view][lanes].astype(np.int64) + off
        a = (self.symbol_address(b.name) if isinstance(b, Sym) else int(b.value)) + off
        return lambda wave, lanes: np.full(wave.nactive, a, np.int64)

    def param_offset(self, m: Mem) -> int:
        """The byte offset in the parameter buffer of a `ld.param` address [name+off]."""
        name = getattr(m.base, "name", None)
        if name not in self.params:
            raise Unsupported(f"'{name}' is not a parameter of kernel '{self.code.name}'")
        return self.params[name].offset + m.offset

    def label(self, o) -> int:
        if not isinstance(o, Label) or o.name not in self.code.labels:
            raise Unsupported(f"unknown branch target {o}")
        return self.code.labels[o.name]
