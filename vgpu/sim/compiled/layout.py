"""What the compiled executor needs to know about a kernel before generating code, and whether it can.

In:  a `Program` and one of its `KernelCode`s (vgpu.isa.program; read-only).
Out: `Layout` (shared and local symbol offsets laid out exactly as the interpreter's decoder does,
     the parameter buffer layout, the module symbols whose addresses are known only at run time,
     the register slots of the warp state) and `decline_reason(program, code)`: None when the
     compiled executor can run the kernel, else a sentence naming the feature it declines
     (docs/executor.md lists them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ...isa import spec
from ...isa.program import Imm, KernelCode, Mem, Program, Reg, SReg, Sym
from ...types import SCALARS, U32
from ..decode import layout_local, layout_shared
from . import alu

SHARED_BASE = 0x0100_0000
LOCAL_BASE = 0x0200_0000
CONST_BASE = 0x0300_0000
GLOBAL_BASE = 0x1_0000_0000
WINDOW = 0x0100_0000
CONST_BYTES = 64 * 1024

CLASS_BYTES = {"%p": 1, "%rs": 2, "%r": 4, "%f": 4, "%rd": 8, "%fd": 8}
STACK_DEPTH = 32                     # SIMT stack entries kept in the warp state (deeper: declined at run time)
WS_HEADER = 16                       # i64 words before the stack
REG_BASE = ((WS_HEADER + 3 * STACK_DEPTH) * 8 + 63) // 64 * 64    # byte offset of the registers

ATOMIC_OPS = ("add", "min", "max", "and", "or", "xor")      # order-independent final memory
SPECIALS_DECLINED = ("%clock", "%clock64")


def scalar_of(t: str):
    """The vgpu Scalar of an ISA type name (bN as uN)."""
    return SCALARS["u" + t[1:]] if t[0] == "b" else SCALARS[t]


def reg_class(name: str) -> str:
    i = len(name)
    while i > 0 and name[i - 1].isdigit():
        i -= 1
    return name[:i]


@dataclass
class Layout:
    shared: dict[str, int] = field(default_factory=dict)      # symbol -> generic address
    shared_static: int = 0
    shared_align: int = 16
    local: dict[str, int] = field(default_factory=dict)
    local_bytes: int = 0
    params: dict[str, tuple[int, object]] = field(default_factory=dict)   # name -> (offset, Scalar)
    param_bytes: int = 0
    runtime_syms: list[str] = field(default_factory=list)     # module .global/.const symbols, by index
    regs: dict[str, tuple[int, str]] = field(default_factory=dict)   # name -> (byte offset in ws, class)
    ws_bytes: int = REG_BASE


def layout(program: Program, code: KernelCode) -> Layout:
    lay = Layout()
    lay.shared_static, lay.shared_align = layout_shared(program, code, lay.shared)   # as the interpreter lays them out
    lay.local_bytes = layout_local(code, lay.local)
    for p in code.params:                  # the .param layout is the ISA's (isa.program.layout_params)
        lay.params[p.name] = (p.offset, p.type)
    lay.param_bytes = code.param_bytes
    for name, d in program.symbols.items():
        if d.space in ("global", "const"):
            lay.runtime_syms.append(name)
    off = REG_BASE
    for ins in code.instrs:
        for o in [*ins.operands, ins.guard] + [o.base for o in ins.operands if isinstance(o, Mem)]:
            if isinstance(o, Reg) and o.name not in lay.regs:
                cls = reg_class(o.name)
                lay.regs[o.name] = (off, cls)
                off += -(-CLASS_BYTES.get(cls, 8) * 32 // 64) * 64
    lay.ws_bytes = off
    return lay


def symbol_known(name: str, lay: Layout) -> bool:
    return name in lay.shared or name in lay.local or name in lay.runtime_syms


def decline_reason(program: Program, code: KernelCode) -> str | None:
    """None if the compiled executor runs `code`, else why not (the first feature it declines)."""
    lay = layout(program, code)
    read: set[str] = set()
    for ins in code.instrs:
        fam = spec.family(ins)
        old_value = fam is not None and fam.machine == "atomic" and fam.operands[0] == "d"    # atom's destination
        for o in ins.operands[1:] if old_value else ins.operands:
            for r in (o, getattr(o, "base", None)):
                if isinstance(r, Reg):
                    read.add(r.name)
        if ins.guard is not None:
            read.add(ins.guard.name)
    for pc, ins in enumerate(code.instrs):
        why = _decline_instr(program, code, lay, ins, read)
        if why:
            return f"pc {pc} ({ins.mnemonic}): {why}"
    for name, (_, cls) in lay.regs.items():
        if cls not in CLASS_BYTES:
            return f"register {name} has an unknown class"
    return None


def _decline_instr(program, code, lay, ins, read) -> str | None:
    fam = spec.family(ins)
    if fam is None:
        return "unknown instruction"
    name, machine = fam.name, fam.machine
    param_load = machine == "load" and "param" in ins.mods
    for o in ins.operands:
        s = o.base if isinstance(o, Mem) else o
        if isinstance(s, SReg) and (s.name in SPECIALS_DECLINED or s.name not in spec.SPECIAL_REGS):
            return f"special register {s.name}"
        if isinstance(s, Sym) and machine != "printf" and not param_load:
            if not symbol_known(s.name, lay):
                return f"unknown symbol {s.name}"
    if machine == "printf" or fam.scope == "grid":
        return f"{name} is run by the interpreter"
    if machine == "atomic":
        op = next(m for m in ins.mods if m in fam.sem)
        t = ins.types[0]
        if op not in ATOMIC_OPS:
            return f"atomic {op}: its result depends on the order of the warps"
        if t in ("f16", "f32", "f64"):
            return "float atomics: the sum depends on the order of the warps"
        if fam.operands[0] == "d" and isinstance(ins.operands[0], Reg) and ins.operands[0].name in read:
            return "the old value of an atomic is used: it depends on the order of the warps"
        return None
    if param_load:
        m = ins.operands[1]
        pname = getattr(m.base, "name", None)
        if pname not in lay.params:
            return f"'{pname}' is not a parameter"
        if lay.params[pname][0] + m.offset + spec.type_bits(ins.types[0]) // 8 > lay.param_bytes:
            return "parameter load past the parameter buffer"
        return None
    if machine:                             # every other machine operation of the table is built natively
        return _check_regs(ins, fam)
    if not fam.sem:
        return "no semantics"
    op = spec.semantics(ins)
    t0 = scalar_of(ins.types[0])
    src, mode, t = None, None, t0
    kinds = fam.operand_kinds(ins.mods)
    if len(fam.types) == 2:                 # cvt: the source type is the second suffix
        src, mode = scalar_of(ins.types[1]), ".".join(ins.mods) or None
    elif kinds[0] == "du":
        t, src = (U32, t0) if op != "brev" else (t0, None)
    else:
        mode = spec.rounding(ins)
    if op is None or not alu.supported(op, t, src, mode):
        return f"arith op {op} is run by the interpreter"
    return _check_regs(ins, fam)


def _check_regs(ins, fam) -> str | None:
    """Float values only in registers of their width (the interpreter converts numerically otherwise)."""
    for o in ins.operands:
        if isinstance(o, Reg):
            cls = reg_class(o.name)
            if cls not in CLASS_BYTES:
                return f"register {o.name} has an unknown class"
    for t in ins.types:
        if t in ("f16", "f32", "f64"):
            for o in ins.operands:
                if isinstance(o, Reg) and reg_class(o.name) not in ("%p",) and \
                        CLASS_BYTES[reg_class(o.name)] * 8 != int(t[1:]) and len(fam.types) != 2:   # not cvt
                    return f"a {t} value in register {o.name}"
    return None


def is_imm(o) -> bool:
    return isinstance(o, Imm)


def segment_local(code: KernelCode, leaders: set[int]) -> set[str]:
    """Registers whose value never crosses a segment leader (live-in at none, in the thread-level CFG)
    and that no shuffle reads from another lane.  Lanes parked on the SIMT stack wait at leaders, so
    an unguarded write of such a register may fill the inactive lanes too (no select with the old
    value): no lane ever reads what it overwrote."""
    from ...isa.regalloc import Liveness, defs_uses
    lv = Liveness(code)
    crossing: set[int] = set()
    for pc, out in lv.walk():
        if pc in leaders:
            d, u, guarded = lv.du[pc]
            crossing.update(u)
            crossing.update(out if guarded else out.difference(d))
    names = {lv.vregs[i].name for i in crossing}
    for ins in code.instrs:
        if spec.family(ins).machine == "shuffle":
            names.update(r.name for r in defs_uses(ins)[1])
    return {r.name for r in lv.vregs} - names
