"""Register allocation: virtual registers (`%r~7`) -> physical ones (`%r3`), per class.

In:  a `KernelCode` from the selector (any number of virtual registers, phi copies as `mov`s).
Out: the same code on physical registers numbered from 1 per class, `regs` holding the `.reg`
     counts, copies whose source and destination got the same register deleted, and, when
     `max_registers` is given and exceeded, values spilled to the kernel's `.local` symbol
     `__spill` (a `ld.local` before each use, a `st.local` after each definition).

Liveness is solved by dataflow over the instruction-level CFG (so values live around loops are
live in the whole loop); two values interfere when one is defined where the other is live out
(except a copy's source and destination).  Colouring is greedy in order of definition and
prefers the register of a copy partner, which coalesces most phi copies.  Under
`max_registers` (32-bit registers; 64-bit ones count 2, predicates nothing) the value live
across the most instructions at the point of highest pressure is spilled, until it fits.
"""
from __future__ import annotations

from functools import lru_cache

from ..diagnostics import CompileError, Diagnostic, Span
from .program import DataSymbol, Instr, KernelCode, Mem, Reg, Sym
from .reconv import successors
from .spec import REG_CLASSES, REG_DECL_TYPE, family

SPILL = "__spill"


def reg_cls(r: Reg) -> str:
    """'%rd' for '%rd7' and for the virtual '%rd~7'."""
    return _name_cls(r.name)


@lru_cache(maxsize=4096)
def _name_cls(name: str) -> str:
    return name.split("~")[0].rstrip("0123456789")


def defs_uses(ins: Instr) -> tuple[list[Reg], list[Reg]]:
    """Registers an instruction writes and reads (from the operand kinds of its family)."""
    kinds = family(ins).operand_kinds(ins.mods)
    last = len(kinds) - 1
    defs, uses = [], []
    if ins.guard is not None:
        uses.append(ins.guard)
    for k, op in enumerate(ins.operands):
        if isinstance(op, Reg):
            (defs if last >= 0 and kinds[min(k, last)].startswith("d") else uses).append(op)
        elif isinstance(op, Mem) and isinstance(op.base, Reg):
            uses.append(op.base)
    return defs, uses


class _Liveness:
    """Live-out sets (bitsets over virtual registers) of every instruction."""

    def __init__(self, code: KernelCode):
        self.code = code
        self.vregs: list[Reg] = []
        self.index: dict[str, int] = {}          # by register name (hashing a Reg is slow)
        self.du = []
        for ins in code.instrs:
            d, u = defs_uses(ins)
            self.du.append((self._bits(d), self._bits(u), ins.guard is not None))
        self.succ = successors(code)
        n = len(code.instrs)
        live_in = [0] * (n + 1)
        self.live_out = [0] * n
        changed = True
        while changed:
            changed = False
            for pc in range(n - 1, -1, -1):
                out = 0
                for s in self.succ[pc]:
                    out |= live_in[s]
                d, u, guarded = self.du[pc]
                new_in = u | (out if guarded else out & ~d)
                self.live_out[pc] = out
                if new_in != live_in[pc]:
                    live_in[pc] = new_in
                    changed = True

    def _bits(self, regs: list[Reg]) -> int:
        b = 0
        for r in regs:
            i = self.index.get(r.name)
            if i is None:
                i = self.index[r.name] = len(self.vregs)
                self.vregs.append(r)
            b |= 1 << i
        return b

    def members(self, bits: int) -> list[int]:
        out = []
        while bits:
            low = bits & -bits
            out.append(low.bit_length() - 1)
            bits ^= low
        return out


def _colour(code: KernelCode, lv: _Liveness) -> dict[Reg, int]:
    """Greedy colouring of the interference graph, class by class, preferring copy partners."""
    nv = len(lv.vregs)
    adj = [0] * nv                                   # bitsets of interfering values
    partners: list[list[int]] = [[] for _ in range(nv)]
    first_def = [len(code.instrs)] * nv
    cls = [reg_cls(r) for r in lv.vregs]
    same_cls: dict[str, int] = {}
    for v, c in enumerate(cls):
        same_cls[c] = same_cls.get(c, 0) | 1 << v
    for pc, ins in enumerate(code.instrs):
        d, u, _ = lv.du[pc]
        if not d:
            continue
        copy_src = None
        if ins.op == "mov" and isinstance(ins.operands[1], Reg) and ins.operands[1].name in lv.index:
            copy_src = lv.index[ins.operands[1].name]
        out = lv.live_out[pc]
        if copy_src is not None:
            out &= ~(1 << copy_src)
        for di in lv.members(d):
            first_def[di] = min(first_def[di], pc)
            if copy_src is not None and cls[copy_src] == cls[di]:
                partners[di].append(copy_src)
                partners[copy_src].append(di)
            adj[di] |= out & same_cls[cls[di]] & ~(1 << di)
    for v in range(nv):                              # make the relation symmetric
        for n in lv.members(adj[v]):
            adj[n] |= 1 << v
    colour: dict[int, int] = {}
    coloured = 0
    for v in sorted(range(nv), key=lambda v: (first_def[v], v)):
        taken = {colour[n] for n in lv.members(adj[v] & coloured)}
        pick = next((colour[p] for p in partners[v] if p in colour and colour[p] not in taken), None)
        if pick is None:
            pick = next(c for c in range(len(taken) + 1) if c not in taken)
        colour[v] = pick
        coloured |= 1 << v
    return {lv.vregs[v]: c for v, c in colour.items()}


def _cost(colours: dict[Reg, int]) -> int:
    used: dict[str, int] = {}
    for r, c in colours.items():
        used[reg_cls(r)] = max(used.get(reg_cls(r), 0), c + 1)
    return sum(REG_CLASSES[k][1] * n for k, n in used.items())


def _victim(code: KernelCode, lv: _Liveness, temps: set[Reg]) -> Reg | None:
    """The spill candidate: live across the most instructions at the point of highest pressure."""
    span = [0] * len(lv.vregs)
    best_pc, best_p = None, -1
    for pc, out in enumerate(lv.live_out):
        members = lv.members(out)
        for v in members:
            span[v] += 1
        p = sum(REG_CLASSES[reg_cls(lv.vregs[v])][1] for v in members)
        if p > best_p:
            best_pc, best_p = pc, p
    if best_pc is None:
        return None
    cands = [v for v in lv.members(lv.live_out[best_pc])
             if lv.vregs[v] not in temps and REG_CLASSES[reg_cls(lv.vregs[v])][1]]
    if not cands:
        cands = [v for v in range(len(lv.vregs)) if lv.vregs[v] not in temps
                 and REG_CLASSES[reg_cls(lv.vregs[v])][1]]
    return lv.vregs[max(cands, key=lambda v: span[v])] if cands else None


def rebuild(code: KernelCode, expand) -> None:
    """Replace each instruction by the list `expand(pc, ins)` returns, keeping labels in place."""
    new: list[Instr] = []
    where: list[int] = []
    for pc, ins in enumerate(code.instrs):
        where.append(len(new))
        new.extend(expand(pc, ins))
    where.append(len(new))
    code.labels = {name: where[pc] for name, pc in code.labels.items()}
    code.instrs = new


def _spill(code: KernelCode, v: Reg, temps: set[Reg], counter: list[int]) -> None:
    c = reg_cls(v)
    size = max(2, REG_CLASSES[c][0] // 8)
    sym = code.locals.get(SPILL)
    if sym is None:
        sym = code.locals[SPILL] = DataSymbol(SPILL, "local", 0, 8)
    off = -(-sym.size // size) * size
    sym.size = off + size
    t = REG_DECL_TYPE[c]
    addr = Mem(Sym(SPILL), off)

    def fresh() -> Reg:
        counter[0] += 1
        r = Reg(f"{c}~s{counter[0]}")
        temps.add(r)
        return r

    def expand(pc: int, ins: Instr) -> list[Instr]:
        defs, uses = defs_uses(ins)
        if v not in defs and v not in uses:
            return [ins]
        out = []
        ops = list(ins.operands)
        if v in uses:
            r = fresh()
            out.append(Instr("ld", ("local",), (t,), [r, addr], line=ins.line, file=ins.file))
            ops = [r if o == v else Mem(r, o.offset) if isinstance(o, Mem) and o.base == v else o for o in ops]
            if ins.guard == v:
                ins.guard = r
        after = []
        if v in defs:
            w = fresh()
            ops[0] = w
            after.append(Instr("st", ("local",), (t,), [addr, w], line=ins.line, file=ins.file))
        ins.operands = ops
        return out + [ins] + after

    rebuild(code, expand)


def allocate(code: KernelCode, max_registers: int | None = None) -> None:
    """Colour code's virtual registers in place (see the module docstring)."""
    temps: set[Reg] = set()
    counter = [0]
    while True:
        lv = _Liveness(code)
        colours = _colour(code, lv)
        if max_registers is None or _cost(colours) <= max_registers:
            break
        v = _victim(code, lv, temps)
        if v is None:
            raise CompileError(Diagnostic(Span(code.source_file or "<kernel>", 0, 0),
                                          f"kernel '{code.name}' does not fit in {max_registers} registers"))
        _spill(code, v, temps, counter)
    names = {r.name: Reg(f"{reg_cls(r)}{c + 1}") for r, c in colours.items()}

    def rename(o):
        if isinstance(o, Reg):
            return names.get(o.name, o)
        if isinstance(o, Mem) and isinstance(o.base, Reg):
            return Mem(names.get(o.base.name, o.base), o.offset)
        return o

    def expand(pc: int, ins: Instr) -> list[Instr]:
        ins.operands = [rename(o) for o in ins.operands]
        if ins.guard is not None:
            ins.guard = rename(ins.guard)
        if ins.op == "mov" and ins.guard is None and ins.operands[0] == ins.operands[1]:
            return []
        return [ins]

    rebuild(code, expand)
    code.regs = {}
    for r in names.values():
        k = reg_cls(r)
        code.regs[k] = max(code.regs.get(k, 0), int(r.name[len(k):]) + 1)
    code.regs = {k: code.regs[k] for k in REG_CLASSES if k in code.regs}
