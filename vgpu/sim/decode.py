"""Decoding: a kernel's instructions turned ONCE into ready-to-call operations.

In:  a `Program`, one of its `KernelCode`s and the addresses its module symbols were loaded at.
Out: a `DecodedKernel`: one `Op` per pc (plus an implicit `exit` after the last instruction)
     whose `run` closure has its register slots, immediates, symbol addresses, types and
     `vgpu.arith` function already resolved; the shared, local and parameter layouts; the
     register file shape.

Registers live in the wave (`sm.Wave.V`): one row of storage per register over all lanes of the
wave, seen through typed views.  A register operand decodes to a view id (`vid`), the index of the
view of that register with the dtype the instruction reads or writes; reads narrower than the
register truncate, writes narrower than the register extend by the value's signedness (PTX).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..isa import spec
from ..isa.program import Imm, Instr, KernelCode, Label, Mem, Program, Reg, SReg, Sym
from ..types import SCALARS, Scalar
from .faults import InvalidLaunch, Unsupported
from .memory import LOCAL_BASE, SHARED_BASE

# dtype of each type name; bN are unsigned, 8-bit values sit in 16- or 32-bit registers.
DTYPE = {"pred": np.dtype(bool), "b8": np.dtype(np.uint8), "u8": np.dtype(np.uint8), "s8": np.dtype(np.int8),
         "b16": np.dtype(np.uint16), "u16": np.dtype(np.uint16), "s16": np.dtype(np.int16),
         "b32": np.dtype(np.uint32), "u32": np.dtype(np.uint32), "s32": np.dtype(np.int32),
         "f32": np.dtype(np.float32), "b64": np.dtype(np.uint64), "u64": np.dtype(np.uint64),
         "s64": np.dtype(np.int64), "f64": np.dtype(np.float64)}
VIEW_DTYPES = [np.dtype(t) for t in (bool, np.uint8, np.int8, np.uint16, np.int16, np.uint32, np.int32,
                                     np.float32, np.uint64, np.int64, np.float64)]
VCODE = {d: i for i, d in enumerate(VIEW_DTYPES)}
NVIEW = len(VIEW_DTYPES)
CLASS_BYTES = {"%p": 1, "%rs": 2, "%r": 4, "%f": 4, "%rd": 8, "%fd": 8}
_INT_OF = {(1, "u"): np.uint8, (1, "i"): np.int8, (2, "u"): np.uint16, (2, "i"): np.int16,
           (4, "u"): np.uint32, (4, "i"): np.int32, (8, "u"): np.uint64, (8, "i"): np.int64}


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
    bits = dt.itemsize * 8
    v = int(value) & ((1 << bits) - 1)
    if dt.kind == "i" and v >> (bits - 1):
        v -= 1 << bits
    return np.array(v, dt)


@dataclass
class Op:
    """One decoded instruction.  kind 'simple': run(w, g, lanes) for the lanes the guard lets
    through, then the warps advance one pc; kind 'ctrl': run(w, g, lanes) moves the warps itself
    (branches, exits, barriers); a warp_sync op's run is (run(w, g, lanes, act), member-mask getter)
    and `Wave.warp_sync` executes it."""
    pc: int
    instr: Instr
    text: str
    kind: str
    run: object
    guard: int | None = None          # view id of the guard predicate
    guard_neg: bool = False
    warp_sync: bool = False           # checks a member mask (shfl, vote, bar.warp.sync)
    family: str = ""                  # the instruction's row in vgpu.isa.spec

    @property
    def line(self) -> int | None:
        return self.instr.line


@dataclass
class DecodedKernel:
    name: str
    code: KernelCode
    program: Program
    ops: list[Op]
    slots: dict[str, tuple[int, str]]           # register name -> (slot, class)
    slot_bytes: list[int]                        # storage width of each slot
    shared_static: int                           # bytes of static shared memory
    shared_align: int                            # alignment of the dynamic shared region
    local_bytes: int
    param_layout: dict[str, tuple[int, Scalar]]  # param name -> (byte offset, type)
    param_bytes: int
    is_rpc: list[bool] = field(default_factory=list)
    uses_grid_sync: bool = False
    specials: frozenset = frozenset()            # special registers the kernel reads

    def source_line(self, ins: Instr | None) -> str | None:
        """The source text of the line an instruction came from, if known."""
        if ins is None or ins.line is None:
            return None
        text = self.program.line_text.get((ins.file or self.program.filename, ins.line))
        if text is None and self.program.source and ins.file in (None, self.program.filename):
            lines = self.program.source.splitlines()
            text = lines[ins.line - 1] if 0 < ins.line <= len(lines) else None
        return text


class Decoder:
    """Resolves the operands of one kernel's instructions (see the module docstring)."""

    def __init__(self, program: Program, code: KernelCode, addresses: dict[str, int]):
        self.program, self.code = program, code
        self.slots: dict[str, tuple[int, str]] = {}
        self.slot_bytes: list[int] = []
        self.sym_addr = dict(addresses)
        self.shared_static, self.shared_align = self._layout_shared()
        self.local_bytes = self._layout_local()
        self.param_layout, self.param_bytes = self._layout_params()

    # -- layouts ----------------------------------------------------------------------------------
    def _layout_shared(self) -> tuple[int, int]:
        names = list(self.code.shared)
        for ins in self.code.instrs:
            for o in ins.operands:
                s = o.base if isinstance(o, Mem) else o
                if isinstance(s, Sym) and s.name not in names:
                    d = self.program.symbols.get(s.name)
                    if d is not None and d.space == "shared" and s.name not in self.code.locals:
                        names.append(s.name)
        off, dyn_align = 0, 16
        dynamic = []
        for n in names:
            d = self.program.symbols.get(n)
            if d is None or d.space != "shared":
                continue
            if d.dynamic:
                dynamic.append(n)
                dyn_align = max(dyn_align, d.align)
                continue
            off = -(-off // d.align) * d.align
            self.sym_addr[n] = SHARED_BASE + off
            off += d.size
        off = -(-off // dyn_align) * dyn_align
        for n in dynamic:
            self.sym_addr[n] = SHARED_BASE + off
        return off, dyn_align

    def _layout_local(self) -> int:
        off = 0
        for n, d in self.code.locals.items():
            off = -(-off // d.align) * d.align
            self.sym_addr[n] = LOCAL_BASE + off
            off += d.size
        return off

    def _layout_params(self):
        layout, off = {}, 0
        for p in self.code.params:
            size = p.type.size
            off = -(-off // size) * size
            layout[p.symbol or p.name] = (off, p.type)
            layout.setdefault(p.name, (off, p.type))
            off += size
        return layout, off

    # -- registers --------------------------------------------------------------------------------
    def slot(self, r: Reg) -> tuple[int, str]:
        if r.name not in self.slots:
            cls = reg_class(r.name)
            if cls not in CLASS_BYTES:
                raise Unsupported(f"unknown register class of {r.name}")
            self.slots[r.name] = (len(self.slot_bytes), cls)
            self.slot_bytes.append(CLASS_BYTES[cls])
        return self.slots[r.name]

    def vid(self, r: Reg, dt: np.dtype) -> int:
        """View id of register r seen as dtype dt (dt of the register's width)."""
        slot, cls = self.slot(r)
        width = CLASS_BYTES[cls]
        if dt.itemsize != width or (dt.kind == "b") != (cls == "%p"):
            raise Unsupported(f"register {r.name} cannot hold a {dt} value")
        return slot * NVIEW + VCODE[dt]

    def _same_width(self, r: Reg, dt: np.dtype) -> np.dtype:
        """dt, or the integer dtype of r's width with dt's signedness."""
        width = CLASS_BYTES[self.slot(r)[1]]
        if dt.itemsize == width or dt.kind == "b" or width == 1:
            return dt
        return np.dtype(_INT_OF[width, "i" if dt.kind == "i" else "u"])

    # -- operands ---------------------------------------------------------------------------------
    def src(self, o, t: str):
        """A getter (w, lanes) -> array of type t for a source operand."""
        dt = DTYPE[t]
        if isinstance(o, Reg):
            if reg_class(o.name) == "%p" and dt.kind != "b":
                k = self.vid(o, np.dtype(bool))
                return lambda w, lanes: w.V[k][lanes].astype(dt)
            rdt = self._same_width(o, dt)
            k = self.vid(o, rdt)
            if rdt == dt:
                return lambda w, lanes: w.V[k][lanes]
            return lambda w, lanes: w.V[k][lanes].astype(dt)
        if isinstance(o, Imm):
            c = const(o.value, t)
            return lambda w, lanes: c
        if isinstance(o, SReg):
            name = o.name
            if name not in spec.SPECIAL_REGS:
                raise Unsupported(f"unknown special register {name}")
            if name in ("%clock", "%clock64"):
                return lambda w, lanes: np.array(w.clock(), np.uint64).astype(dt)
            return lambda w, lanes: w.special[name][lanes].astype(dt, copy=False)
        if isinstance(o, Sym):
            c = const(self.symbol_address(o.name), t)
            return lambda w, lanes: c
        raise Unsupported(f"operand {o} cannot be a source")

    def dst(self, o, t: str):
        """A setter (w, lanes, value) for a destination register written as type t."""
        if not isinstance(o, Reg):
            raise Unsupported(f"destination {o} is not a register")
        dt = DTYPE[t]
        if reg_class(o.name) == "%p":
            k = self.vid(o, np.dtype(bool))
        else:
            k = self.vid(o, self._same_width(o, dt))

        def put(w, lanes, value):
            w.V[k][lanes] = value
        return put

    def symbol_address(self, name: str) -> int:
        if name in self.sym_addr:
            return self.sym_addr[name]
        raise Unsupported(f"unknown symbol '{name}'")

    def addr(self, m: Mem):
        """A getter (w, lanes) -> int64 generic addresses for an address operand."""
        off = int(m.offset)
        b = m.base
        if isinstance(b, Reg):
            if reg_class(b.name) in ("%rd", "%fd"):
                k = self.vid(b, np.dtype(np.int64))
                return (lambda w, lanes: w.V[k][lanes] + off) if off else (lambda w, lanes: w.V[k][lanes])
            k = self.vid(b, np.dtype(np.uint32))
            return lambda w, lanes: w.V[k][lanes].astype(np.int64) + off
        base = self.symbol_address(b.name) if isinstance(b, Sym) else int(b.value)
        a = base + off
        return lambda w, lanes: np.full(w.n, a, np.int64)

    def label(self, o) -> int:
        if not isinstance(o, Label) or o.name not in self.code.labels:
            raise Unsupported(f"unknown branch target {o}")
        return self.code.labels[o.name]


def decode_kernel(program: Program, name: str, addresses: dict[str, int]) -> DecodedKernel:
    """Decode kernel `name` of `program` (module symbols at `addresses`)."""
    from .exec import build                 # the semantics table (exec imports this module)
    code = program.kernels.get(name)
    if code is None:
        raise InvalidLaunch(f"no kernel named '{name}'",
                            "kernels in this program: " + (", ".join(program.kernels) or "none"))
    d = Decoder(program, code, addresses)
    ops = []
    for pc, ins in enumerate(code.instrs):
        text = f"{'@' + ('!' if ins.guard_neg else '') + ins.guard.name + ' ' if ins.guard else ''}" \
               f"{ins.mnemonic} {', '.join(map(str, ins.operands))}".strip()
        kind, run, warp_sync = build(ins, d, pc)
        guard = d.vid(ins.guard, np.dtype(bool)) if ins.guard is not None and ins.op != "bra" else None
        ops.append(Op(pc, ins, text, kind, run, guard, ins.guard_neg, warp_sync, spec.family(ins).name))
    end = Instr("exit", (), (), [], line=code.instrs[-1].line if code.instrs else None)
    kind, run, _ = build(end, d, len(ops))
    ops.append(Op(len(ops), end, "exit  // end of kernel", kind, run, family="exit"))
    is_rpc = [False] * (len(ops) + 1)
    for r in code.reconv.values():
        if 0 <= r < len(is_rpc):
            is_rpc[r] = True
    return DecodedKernel(name, code, program, ops, d.slots, d.slot_bytes, d.shared_static, d.shared_align,
                         d.local_bytes, d.param_layout, d.param_bytes, is_rpc,
                         any(op.family == "grid.sync" for op in ops),
                         frozenset(o.name for i in code.instrs for o in i.operands if isinstance(o, SReg)))
