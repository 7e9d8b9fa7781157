"""Kernel decoding: a kernel's instructions turned ONCE into ready-to-call operations.

In:  a `Program`, the name of one of its kernels and the addresses its module symbols were loaded at.
Out: a `DecodedKernel`: one `Op` per pc (plus an implicit `exit` after the last instruction) whose
     `run` closure (`semantics.build`) has its register views, immediates, symbol addresses, types
     and `vgpu.arith` function already resolved (`operands.Operands`); the shared and local
     layouts; the parameter buffer's size (each parameter's offset is its `ParamInfo.offset`); the
     register file shape; the reconvergence points.

This module sits above `operands` and `semantics`, which do not import it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..isa import spec
from ..isa.disasm import format_instr
from ..isa.program import Instr, KernelCode, Mem, Program, SReg, Sym
from ..isa.usage import pack
from .faults import InvalidLaunch
from .memory import LOCAL_BASE, SHARED_BASE
from .operands import Operands
from .semantics import build


@dataclass
class Op:
    """One decoded instruction: its pc, the instruction, its text (the disassembler's), its row of
    the ISA table, the `semantics` kind and `run`, and the view id of its guard predicate (None:
    unguarded, or a branch, which reads its predicate itself)."""
    pc: int
    instr: Instr
    text: str
    spec: spec.OpSpec
    kind: int
    run: object
    guard: int | None = None
    guard_neg: bool = False

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
    param_bytes: int
    is_rpc: list[bool] = field(default_factory=list)
    uses_grid_sync: bool = False
    specials: frozenset = frozenset()            # special registers the kernel reads
    interp_seconds: float = 0.0                  # unobserved launches the interpreter ran: time,
    interp_threads: int = 0                      # and threads (launch.native's expected work)
    facts: list | None = field(default=None, repr=False, compare=False)   # per op: counters.op_facts
    limits: dict = field(default_factory=dict, repr=False, compare=False)  # launch.limits: shape -> occupancy
    totals: tuple | None = field(default=None, repr=False, compare=False)  # counters.launch_totals: the last tally

    def source_line(self, ins: Instr | None) -> str | None:
        """The source text of the line an instruction came from, if known."""
        return self.program.source_line(ins.file, ins.line) if ins is not None else None

    def file_of(self, ins: Instr | None) -> str:
        """The file an instruction's line is in."""
        return (ins.file if ins is not None and ins.file else None) or self.program.filename


def layout_shared(program: Program, code: KernelCode, addresses: dict) -> tuple[int, int]:
    """Static shared symbols the kernel uses, in order, then the dynamic region: (bytes, alignment
    of the dynamic region); addresses of the symbols into `addresses`."""
    names = list(code.shared)
    for ins in code.instrs:
        for o in ins.operands:
            s = o.base if isinstance(o, Mem) else o
            if isinstance(s, Sym) and s.name not in names:
                d = program.symbols.get(s.name)
                if d is not None and d.space == "shared" and s.name not in code.locals:
                    names.append(s.name)
    decls = [(n, program.symbols[n]) for n in names
             if n in program.symbols and program.symbols[n].space == "shared"]
    dynamic = [n for n, d in decls if d.dynamic]
    dyn_align = max([16] + [d.align for _, d in decls if d.dynamic])
    offsets, off = pack((n, d) for n, d in decls if not d.dynamic)
    addresses.update((n, SHARED_BASE + o) for n, o in offsets.items())
    off = -(-off // dyn_align) * dyn_align
    for n in dynamic:
        addresses[n] = SHARED_BASE + off
    return off, dyn_align


def layout_local(code: KernelCode, addresses: dict) -> int:
    """A thread's local symbols laid out in order (isa.usage.pack): their addresses into `addresses`;
    the bytes they span."""
    offsets, off = pack(code.locals.items())
    addresses.update((n, LOCAL_BASE + o) for n, o in offsets.items())
    return off


def decode_kernel(program: Program, name: str, addresses: dict[str, int]) -> DecodedKernel:
    """Decode kernel `name` of `program` (module symbols at `addresses`)."""
    code = program.kernels.get(name)
    if code is None:
        raise InvalidLaunch(f"no kernel named '{name}'",
                            "kernels in this program: " + (", ".join(program.kernels) or "none"))
    addresses = dict(addresses)
    shared_static, shared_align = layout_shared(program, code, addresses)
    local_bytes = layout_local(code, addresses)
    operands = Operands(program, code, addresses, {p.name: p for p in code.params})
    ops = []
    for pc, ins in enumerate(code.instrs):
        fam = spec.family(ins)
        kind, run = build(ins, operands, pc)
        guard = operands.predicate(ins.guard) if ins.guard is not None and fam.machine != "branch" else None
        ops.append(Op(pc, ins, format_instr(ins), fam, kind, run, guard, ins.guard_neg))
    end = Instr("exit", (), (), [], line=code.instrs[-1].line if code.instrs else None)
    kind, run = build(end, operands, len(ops))
    ops.append(Op(len(ops), end, format_instr(end) + "  // end of kernel", spec.family(end), kind, run))
    is_rpc = [False] * (len(ops) + 1)
    for r in code.reconv.values():
        if 0 <= r < len(is_rpc):
            is_rpc[r] = True
    return DecodedKernel(name, code, program, ops, operands.slots, operands.slot_bytes, shared_static, shared_align,
                         local_bytes, code.param_bytes, is_rpc, any(op.spec.scope == "grid" for op in ops),
                         frozenset(o.name for i in code.instrs for o in i.operands if isinstance(o, SReg)))
