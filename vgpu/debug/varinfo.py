"""Where each source variable lives: which register holds it over which pcs.

In:  a `KernelCode` and its `Program` (the source text and each instruction's line).
Out: `VarLocation`s (variable, register, first pc, last pc, line); `locate(name, pc)` picks the one
     in force at a pc.

The compiler does not yet emit debug information (no variable names survive into the IR), so the
locations are INFERRED: a source line that assigns a variable (`int v = ...`, `v += ...`, `v++`,
`for (int k = 0; ...; k++)`, Python `v = ...`, `for k in range(...)`) is matched with the register
that the last instruction compiled from that line (in each contiguous run of its pcs) writes and
some other line reads; on a `for` line whose pcs hold the loop head, the register its comparison
tests.  A
location holds from that instruction to the next assignment of the variable (in pc order); loops
work because register allocation keeps a loop variable in one register.  A value the register
allocator spills (a `st.local [__spill+N]` right after its definition, a reload before the loop
head's comparison) is located in its spill slot, so `print` reads local memory for it.  Limits: a variable whose
register is reused after its last use shows the later value; a line that assigns two variables
names only the last; values kept only in memory (arrays) are read with `print ARRAY[i]` instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from ..isa import spec
from ..isa.program import Label, Mem, Reg, Sym
from ..isa.regalloc import SPILL
from .memory import DebugError

_C_ASSIGN = re.compile(r"(?<![\w.\]>])([A-Za-z_]\w*)\s*(?:\[[^\]]*\]\s*)?(?:[-+*/%&|^]|<<|>>)?=(?!=)")
_C_INCDEC = re.compile(r"(?:\+\+|--)\s*([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*(?:\+\+|--)")
_PY_FOR = re.compile(r"\bfor\s+([A-Za-z_]\w*)\s+in\b")
_FOR = re.compile(r"\bfor\b")
_KEYWORDS = {"if", "for", "while", "return", "else", "int", "float", "double", "unsigned", "const", "auto"}


@dataclass(frozen=True)
class VarLocation:
    name: str
    register: str          # '%r3', or a spill slot '__spill+8' (local memory)
    first_pc: int          # the instruction that assigns it
    last_pc: int           # the last pc before the next assignment (inclusive)
    line: int


def assigned_names(text: str) -> list[str]:
    """The variables a line of C or Python source assigns, in order (array elements excluded)."""
    text = text.split("//", 1)[0]
    names = []
    for m in _PY_FOR.finditer(text):
        names.append(m.group(1))
    for m in _C_ASSIGN.finditer(text):
        whole = m.group(0)
        if "[" in whole:                   # a[i] = ...: memory, not a variable
            continue
        names.append(m.group(1))
    for m in _C_INCDEC.finditer(text):
        names.append(m.group(1) or m.group(2))
    return [n for n in names if n not in _KEYWORDS]


def _kinds(ins) -> tuple[str, ...]:
    return spec.family(ins).operand_kinds(ins.mods)


def _dest(ins) -> str | None:
    """The register (not a predicate) an instruction writes, from its ISA row's operand kinds."""
    kinds = _kinds(ins)
    if not kinds or not kinds[0].startswith("d") or not ins.operands:
        return None
    o = ins.operands[0]
    return o.name if isinstance(o, Reg) and not o.name.startswith("%p") else None


def _reads(ins) -> set[str]:
    """The registers an instruction reads."""
    kinds = _kinds(ins)
    out = {o.name for k, o in zip(kinds, ins.operands) if isinstance(o, Reg) and not k.startswith("d")}
    out |= {o.base.name for o in ins.operands if isinstance(o, Mem) and isinstance(o.base, Reg)}
    if ins.guard is not None:
        out.add(ins.guard.name)
    return out


def _loop_counter(instrs, start: int, end: int, targets: set):
    """(pc, register) of a loop's counter on a `for` line: the first register the loop head's
    comparison reads (the first predicate-writing instruction from a branch target on in the
    line's pcs), or None."""
    head = next((k for k in range(start, end + 1) if k in targets), None)
    if head is None:
        return None
    for k in range(head, end + 1):               # its comparison (after any reloads of spilled values)
        ins = instrs[k]
        if _kinds(ins)[:1] == ("dp",):
            o = ins.operands[1] if len(ins.operands) > 1 else None
            return (k, o.name) if isinstance(o, Reg) else None
    return None


def _spill_mem(o) -> str | None:
    """'__spill+8' for a Mem operand addressing the register allocator's spill area, else None."""
    if isinstance(o, Mem) and isinstance(o.base, Sym) and o.base.name == SPILL:
        return f"{SPILL}+{o.offset}" if o.offset else SPILL
    return None


def _spilled_to(instrs, k: int, r: str, window: int = 4) -> str:
    """Where the value register r gets at pc k lives: the spill slot a store right after k puts it
    in (the allocator stores a spilled value after each definition), else r itself."""
    for j in range(k + 1, min(k + 1 + window, len(instrs))):
        ins = instrs[j]
        slot = _spill_mem(ins.operands[0]) if ins.operands else None
        if slot is not None and len(ins.operands) > 1 and ins.operands[1] == Reg(r):
            return slot
        if _dest(ins) == r:
            break
    return r


def _reloaded_from(instrs, k: int, r: str, start: int) -> str:
    """The spill slot register r was just loaded from before pc k (within start..k), else r."""
    for j in range(k - 1, start - 1, -1):
        ins = instrs[j]
        if _dest(ins) == r:
            slot = _spill_mem(ins.operands[1]) if len(ins.operands) > 1 else None
            return slot if slot is not None else r
    return r


def locations(program, code) -> list[VarLocation]:
    """Every inferred (variable, register, pc range) of a kernel (see the module docstring)."""
    instrs = code.instrs
    readers: dict[str, list[int]] = {}
    for k, ins in enumerate(instrs):
        for r in _reads(ins):
            readers.setdefault(r, []).append(k)
    defs: list[tuple[int, str, str, int]] = []           # (pc, name, register, line)
    pc = 0
    while pc < len(instrs):
        line, file = instrs[pc].line, instrs[pc].file
        end = pc
        while end + 1 < len(instrs) and instrs[end + 1].line == line and instrs[end + 1].file == file:
            end += 1
        if line is not None:
            text = program.source_line(file, line) or ""
            names = assigned_names(text)
            if names:
                # the last register written on the line that is read outside it (not a temporary
                # of the line's own condition); failing that, the last register written
                head = _loop_counter(instrs, pc, end, set(code.labels.values())) if _FOR.search(text) else None
                if head is not None:
                    defs.append((head[0], names[-1], _reloaded_from(instrs, head[0], head[1], pc), line))
                    pc = end + 1
                    continue
                cands = [(k, _dest(instrs[k])) for k in range(end, pc - 1, -1) if _dest(instrs[k]) is not None]
                live = [(k, r) for k, r in cands if any(not pc <= u <= end for u in readers.get(r, ()))]
                if live or cands:
                    k, r = (live or cands)[0]
                    defs.append((k, names[-1], _spilled_to(instrs, k, r), line))
        pc = end + 1
    out = []
    for i, (pc, name, reg, line) in enumerate(defs):
        nxt = [d[0] for d in defs[i + 1:] if d[1] == name]
        out.append(VarLocation(name, reg, pc, (nxt[0] - 1) if nxt else len(instrs), line))
    return out


def back_edges(code) -> list[tuple[int, int]]:
    """(branch pc, target pc) of every backward branch (a loop's latch)."""
    out = []
    for pc, ins in enumerate(code.instrs):
        for o in ins.operands:
            if isinstance(o, Label) and code.labels.get(o.name, pc + 1) <= pc:
                out.append((pc, code.labels[o.name]))
    return out


def locate(locs: list[VarLocation], name: str, pc: int, loops=()) -> VarLocation | None:
    """The location of variable `name` at `pc`: the latest assignment before pc (the instruction
    at pc has not run yet); else, when a loop's back edge brings a later assignment round to pc,
    that one.  None when `name` is no variable; a `DebugError` when it is not assigned yet."""
    mine = [v for v in locs if v.name == name]
    if not mine:
        return None
    before = [v for v in mine if v.first_pc < pc]
    if before:
        return before[-1]
    if any(target <= pc and src >= mine[0].first_pc for src, target in loops):
        return mine[0]
    raise DebugError(f"{name} is not assigned yet at pc {pc} (first assigned on line {mine[0].line})")


def format_locations(locs: list[VarLocation]) -> str:
    """The table `vgpuc asm --debug-info` prints."""
    rows = [f"  {v.name:<12} {v.register:<6} pc {v.first_pc}..{v.last_pc}  (line {v.line})" for v in locs]
    return "\n".join(["// variable locations (inferred from line-level assignments):", *rows])
