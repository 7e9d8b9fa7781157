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

from bisect import bisect_left
from functools import lru_cache

from ..diagnostics import CompileError, Diagnostic, Span
from . import debugpoints
from .program import DataSymbol, Instr, KernelCode, Mem, Reg, Sym
from .reconv import branch_successors
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
    writes = _writes(ins.op, ins.mods, ins.types)
    defs, uses = [], []
    if ins.guard is not None:
        uses.append(ins.guard)
    last = len(writes) - 1
    for k, op in enumerate(ins.operands):
        if type(op) is Reg:
            (defs if last >= 0 and writes[k if k < last else last] else uses).append(op)
        elif type(op) is Mem and type(op.base) is Reg:
            uses.append(op.base)
    return defs, uses


@lru_cache(maxsize=None)
def _writes(op: str, mods: tuple, types: tuple) -> tuple[bool, ...]:
    """Per operand slot of the family (the last repeats), whether the instruction writes it."""
    kinds = family(Instr(op, tuple(mods), tuple(types), [])).operand_kinds(tuple(mods))
    return tuple(k.startswith("d") for k in kinds)


class Liveness:
    """Liveness over the instruction-level CFG, solved on basic blocks with sparse sets (the values
    live at a point are few, the values of a kernel many: bitsets per point would cost
    instructions x values).  Values are numbered in order of first appearance (an instruction's
    defined registers before the ones it reads); `du[pc]` holds an instruction's defined and used
    value numbers and whether it is guarded; `block_out` each block's live-out set, `walk` each
    pc's, `interference` the interference graph (found during the liveness sweep itself when no
    edge goes backwards, the common case).  `live_at`: as for `interference`."""

    def __init__(self, code: KernelCode, live_at: dict | None = None):
        self.code = code
        self.vregs: list[Reg] = []
        self.index: dict[str, int] = {}          # by register name (hashing a Reg is slow)
        self.du = self._defs_uses(code.instrs)
        n = len(code.instrs)
        succ = branch_successors(code)          # the others go on to pc + 1
        leaders = {0} if n else set()
        for pc, ss in succ.items():
            if len(ss) != 1 or ss[0] != pc + 1:
                leaders.update(s for s in ss if s < n)
                if pc + 1 < n:
                    leaders.add(pc + 1)
        starts = sorted(leaders)
        self.blocks = [(a, b) for a, b in zip(starts, starts[1:] + [n])]   # [start, end) pc ranges
        block_of = {a: k for k, (a, _) in enumerate(self.blocks)}
        bsucc = [[block_of[s] for s in succ.get(b - 1, (b,)) if s < n] for a, b in self.blocks]
        self.adj: list[set[int]] | None = None          # interfering values, once `interference` ran
        if all(s > k for k, ss in enumerate(bsucc) for s in ss):
            self.block_out = self._forward_flow(bsucc, live_at)
        else:
            self.block_out = self._flow(bsucc)

    def _forward_flow(self, bsucc: list[list[int]], live_at: dict | None) -> list[set[int]]:
        """Live-out sets when every edge goes to a later block: one backward sweep is exact, and
        finds the interference (`interference`) on the way."""
        nb = len(self.blocks)
        self.adj = [set() for _ in self.vregs]
        live_at = live_at if live_at is not None else {}
        live_in: list = [None] * nb
        block_out: list = [None] * nb
        for k in range(nb - 1, -1, -1):
            ss = bsucc[k]
            out = set(live_in[ss[0]]) if ss else set()
            for s in ss[1:]:
                out |= live_in[s]
            block_out[k] = out
            live_in[k] = self._interfere(k, set(out), live_at)
        return block_out

    def interference(self, live_at: dict | None = None) -> list[set[int]]:
        """The values each value interferes with: defined where the other is live out (a copy's
        source excepted), in the same class.  `live_at` (pcs of instructions with debug points ->
        None) gets each such pc's live-out set."""
        if self.adj is None:
            self.adj = [set() for _ in self.vregs]
            live_at = live_at if live_at is not None else {}
            for k in range(len(self.blocks)):
                self._interfere(k, set(self.block_out[k]), live_at)
        return self.adj

    def _interfere(self, k: int, live: set[int], live_at: dict) -> set[int]:
        """Walk block k backwards from its live-out set `live` (changed: the live-in set is returned),
        adding interference edges and filling `live_at`."""
        adj, cls, du, copy_of = self.adj, self.cls, self.du, self.copy_of
        a, b = self.blocks[k]
        for pc in range(b - 1, a - 1, -1):
            if pc in live_at:
                live_at[pc] = set(live)
            d, u, guarded = du[pc]
            if d:
                copy_src = copy_of[pc]
                for di in d:
                    c = cls[di]
                    adj_d = adj[di]
                    for o in live:
                        if o != di and o != copy_src and cls[o] == c:
                            adj_d.add(o)
                            adj[o].add(di)
                if not guarded:
                    live.difference_update(d)
            if u:
                live.update(u)
        return live

    def _flow(self, bsucc: list[list[int]]) -> list[set[int]]:
        """Live-out sets of a CFG with loops: upward-exposed uses and unguarded definitions per
        block, then a worklist to the fixed point."""
        du = self.du
        bpred: list[list[int]] = [[] for _ in self.blocks]
        for k, ss in enumerate(bsucc):
            for s in ss:
                bpred[s].append(k)
        gen, kill = [], []                       # upward-exposed uses, unguarded defs
        for a, b in self.blocks:
            g: set[int] = set()
            kl: set[int] = set()
            for pc in range(b - 1, a - 1, -1):
                d, u, guarded = du[pc]
                if d and not guarded:
                    g.difference_update(d)
                    kl.update(d)
                if u:
                    g.update(u)
            gen.append(g)
            kill.append(kl)
        block_out: list[set[int]] = [set() for _ in self.blocks]
        live_in: list[set[int]] = [set(g) for g in gen]
        work = list(range(len(self.blocks)))     # a stack: blocks popped from the end first
        queued = set(work)
        while work:
            k = work.pop()
            queued.discard(k)
            out = block_out[k]
            for s in bsucc[k]:
                out |= live_in[s]
            new_in = gen[k] | (out - kill[k])
            if len(new_in) != len(live_in[k]):    # live_in only grows
                live_in[k] = new_in
                for p in bpred[k]:
                    if p not in queued:
                        queued.add(p)
                        work.append(p)
        return block_out

    def _defs_uses(self, instrs: list[Instr]) -> list[tuple[list[int], list[int], bool]]:
        """`defs_uses` of every instruction as value numbers, numbering new registers as they come;
        on the way each value's class (`cls`) and first definition (`first_def`), the copy source
        of each `mov` between registers (`copy_of`) and the copy partners of each value."""
        index, vregs = self.index, self.vregs
        self.cls = cls = []
        self.first_def = first_def = []
        self.partners = partners = []
        self.copy_of = copy_of = [None] * len(instrs)
        never = len(instrs)
        get = index.get

        def number(r: Reg) -> int:
            name = r.name
            i = index[name] = len(vregs)
            vregs.append(r)
            t = name.find("~")
            cls.append((name[:t] if t >= 0 else name).rstrip("0123456789"))
            first_def.append(never)
            partners.append([])
            return i

        cache: dict[tuple, tuple[bool, ...]] = {}
        out = []
        for pc, ins in enumerate(instrs):
            key = (ins.op, ins.mods, ins.types)
            writes = cache.get(key)
            if writes is None:
                writes = cache[key] = _writes(*key)
            last = len(writes) - 1
            nd, uses = [], []                # defs numbered at once, uses after them (guard first)
            g = ins.guard
            if g is not None:
                uses.append(g)
            for k, op in enumerate(ins.operands):
                c = op.__class__
                if c is Reg:
                    if last >= 0 and writes[k if k < last else last]:
                        i = get(op.name)
                        if i is None:
                            i = number(op)
                        nd.append(i)
                        if first_def[i] == never:
                            first_def[i] = pc
                    else:
                        uses.append(op)
                elif c is Mem and op.base.__class__ is Reg:
                    uses.append(op.base)
            nu = []
            for r in uses:
                i = get(r.name)
                if i is None:
                    i = number(r)
                nu.append(i)
            if nd and ins.op == "mov":
                src = ins.operands[1]
                if src.__class__ is Reg:
                    copy = copy_of[pc] = index[src.name]
                    for d in nd:
                        if cls[copy] == cls[d]:
                            partners[d].append(copy)
                            partners[copy].append(d)
            out.append((nd, nu, g is not None))
        return out

    def walk(self):
        """(pc, values live out of pc) for every instruction, block by block, each block backwards;
        the set is reused: copy it to keep it."""
        du = self.du
        for k, (a, b) in enumerate(self.blocks):
            live = set(self.block_out[k])
            for pc in range(b - 1, a - 1, -1):
                yield pc, live
                d, u, guarded = du[pc]
                if d and not guarded:
                    live.difference_update(d)
                if u:
                    live.update(u)


def _colour(code: KernelCode, lv: Liveness, live_at: dict | None = None) -> list[int]:
    """Greedy colouring of the interference graph, class by class, preferring copy partners: the
    colour of each value (by number).  `live_at`: as for `Liveness.interference`."""
    nv = len(lv.vregs)
    adj = lv.interference(live_at)
    colour = [-1] * nv                                  # -1: not coloured yet
    partners = lv.partners
    for v in sorted(range(nv), key=lv.first_def.__getitem__):       # stable: ties in number order
        taken = {colour[n] for n in adj[v]}
        pick = -1
        for p in partners[v]:
            if colour[p] >= 0 and colour[p] not in taken:
                pick = colour[p]
                break
        if pick < 0:
            pick = 0
            while pick in taken:
                pick += 1
        colour[v] = pick
    return colour


def _cost(lv: Liveness, colour: list[int]) -> int:
    """32-bit registers the colouring needs (REG_CLASSES' costs)."""
    used: dict[str, int] = {}
    for k, c in zip(lv.cls, colour):
        used[k] = max(used.get(k, 0), c + 1)
    return sum(REG_CLASSES[k][1] * n for k, n in used.items())


def _victim(code: KernelCode, lv: Liveness, temps: set[Reg]) -> Reg | None:
    """The spill candidate: live across the most instructions at the point of highest pressure."""
    span = [0] * len(lv.vregs)
    weight = [REG_CLASSES[reg_cls(r)][1] for r in lv.vregs]
    pressure = [0] * len(code.instrs)
    for pc, out in lv.walk():
        for v in out:
            span[v] += 1
        pressure[pc] = sum(weight[v] for v in out)
    if not pressure:
        return None
    best_pc = max(range(len(pressure)), key=lambda pc: (pressure[pc], -pc))
    live = next(sorted(out) for pc, out in lv.walk() if pc == best_pc)
    cands = [v for v in live if lv.vregs[v] not in temps and weight[v]]
    if not cands:
        cands = [v for v in range(len(lv.vregs)) if lv.vregs[v] not in temps and weight[v]]
    return lv.vregs[max(cands, key=lambda v: span[v])] if cands else None


def rebuild(code: KernelCode, expand) -> None:
    """Replace each instruction by the list `expand(pc, ins)` returns, keeping labels in place; the
    debug points of a deleted instruction go to the next one (vgpu.isa.debuginfo)."""
    new: list[Instr] = []
    where: list[int] = []
    carry: list | None = None
    labelled = None
    for pc, ins in enumerate(code.instrs):
        where.append(len(new))
        out = expand(pc, ins)
        if carry:
            if labelled is None:
                labelled = set(code.labels.values())
            if pc in labelled:
                carry = debugpoints.crossing_label(carry)
            if out:
                debugpoints.land(carry, out[0])
                carry = None
        if not out and ins.dbg:
            carry = (carry or []) + debugpoints.carried(ins)
        new.extend(out)
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
    debugpoints.spill_slot(code, v, addr)

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
            if ins.dbg:                  # points after the definition hold once the slot is written
                after[0].dbg = [p for p in ins.dbg if p[0] == debugpoints.AFTER] or None
                ins.dbg = [p for p in ins.dbg if p[0] != debugpoints.AFTER] or None
        ins.operands = ops
        return out + [ins] + after

    rebuild(code, expand)


def allocate(code: KernelCode, max_registers: int | None = None) -> None:
    """Colour code's virtual registers in place (see the module docstring)."""
    temps: set[Reg] = set()
    counter = [0]
    while True:
        live_at = {pc: None for pc, ins in enumerate(code.instrs) if ins.dbg}
        lv = Liveness(code, live_at)
        colour = _colour(code, lv, live_at)
        if max_registers is None or _cost(lv, colour) <= max_registers:
            break
        v = _victim(code, lv, temps)
        if v is None:
            raise CompileError(Diagnostic(Span(code.source_file or "<kernel>", 0, 0),
                                          f"kernel '{code.name}' does not fit in {max_registers} registers"))
        _spill(code, v, temps, counter)
    names, phys = _physical(lv, colour)
    if live_at:
        debugpoints.keep_live(code, lv, live_at)
    drop(code, _rename(code, names))
    code.regs = {k: phys[k] + 1 for k in REG_CLASSES if k in phys}


def _physical(lv: Liveness, colour: list[int]) -> tuple[dict[str, Reg], dict[str, int]]:
    """Virtual register name -> its physical register (one Reg object per physical register), and
    per class the highest register number used."""
    names: dict[str, Reg] = {}
    made: dict[tuple[str, int], Reg] = {}
    top: dict[str, int] = {}
    for r, k, c in zip(lv.vregs, lv.cls, colour):
        p = made.get((k, c))
        if p is None:
            p = made[(k, c)] = Reg(f"{k}{c + 1}")
            if c + 1 > top.get(k, 0):
                top[k] = c + 1
        names[r.name] = p
    return names, top


def _rename(code: KernelCode, names: dict[str, Reg]) -> set[int]:
    """Put the physical registers in (operands, guards, debug points); the pcs of the unguarded
    copies that became `mov r, r` (for `drop`)."""
    get = names.get
    mems: dict[tuple[str, int], Mem] = {}
    dead: set[int] = set()
    for pc, ins in enumerate(code.instrs):
        ops = ins.operands                    # renamed in place (renaming twice changes nothing)
        for k, o in enumerate(ops):
            c = o.__class__
            if c is Reg:
                ops[k] = get(o.name, o)
            elif c is Mem and o.base.__class__ is Reg:
                key = (o.base.name, o.offset)
                m = mems.get(key)
                if m is None:
                    m = mems[key] = Mem(get(o.base.name, o.base), o.offset)
                ops[k] = m
        if ins.dbg:
            ins.dbg = debugpoints.rename_points(ins.dbg, names)
        g = ins.guard
        if g is not None:
            ins.guard = get(g.name, g)
        elif ins.op == "mov" and ops[0] == ops[1]:
            dead.add(pc)
    return dead


def drop(code: KernelCode, dead: set[int]) -> None:
    """Delete the instructions at the pcs in `dead` (as `rebuild` with an expansion to nothing), in
    slices: labels move down, the debug points of a deleted instruction go to the next one."""
    if not dead:
        return
    instrs, labels = code.instrs, code.labels
    ds = sorted(dead)
    labelled = set(labels.values())
    new: list[Instr] = []
    carry: list | None = None
    prev = 0
    for pc in ds:
        if prev < pc:
            if carry:
                if prev in labelled:
                    carry = debugpoints.crossing_label(carry)
                debugpoints.land(carry, instrs[prev])
                carry = None
            new += instrs[prev:pc]
        ins = instrs[pc]
        if carry and pc in labelled:
            carry = debugpoints.crossing_label(carry)
        if ins.dbg:
            carry = (carry or []) + debugpoints.carried(ins)
        prev = pc + 1
    if prev < len(instrs):
        if carry:
            if prev in labelled:
                carry = debugpoints.crossing_label(carry)
            debugpoints.land(carry, instrs[prev])
        new += instrs[prev:]
    code.labels = {name: pc - bisect_left(ds, pc) for name, pc in labels.items()}
    code.instrs = new
