"""Instruction selection: optimised SSA IR -> PTX-style code on virtual registers.

In:  an optimised `ir.Module` (device functions inlined into the kernels).
Out: per kernel a `KernelCode` whose registers are virtual (`%r~7`: class, then `~`, then a
     number), for `regalloc.allocate` to colour, and the module's data symbols in a `Program`.

SSA is left through parallel copies on CFG edges (critical edges split into blocks of their own,
cycles broken with a temporary).  Patterns, as nvcc emits them:
  - kernel parameters are read with `ld.param` at the entry, special registers with `mov`;
  - addresses fold constant offsets and symbols into `[%rd+off]` / `[sym+off]`;
  - `(s64)i * c` becomes `mul.wide.s32`, `a*b+c` on ints `mad.lo` / `mad.wide` (floats never
    contract: the IR says `fma` where C did);
  - a comparison used only by the branch after it is emitted at the branch, inverted when that
    lets the code fall through;
  - atomics whose result is unused become `red`; 64-bit shuffles are two 32-bit ones;
  - `printf` formats become `.const` string symbols, `local` slots kernel `.local` symbols.
This module holds the driver (`KernelSelector`: analysis, block layout, phi copies, branches);
the per-op emitters are in `select_ops`.
"""
from __future__ import annotations

import re

from ..diagnostics import CompileError, Diagnostic, NO_SPAN
from ..ir import nodes as ir
from ..ir.ops import COMPARISONS, OPS
from ..ir.passes.rewrite import users
from ..types import PRED, S32, U32, Scalar
from .debugpoints import AFTER, BEFORE, attach, crossing_label, land
from .program import DataSymbol, Imm, Instr, KernelCode, Label, Mem, ParamInfo, Program, Reg, Sym, layout_params
from .select_ops import (FLOAT_INVERSE, GROUP, INT_INVERSE, SELECT, bty, cls_of, const_value, is_const,
                         ity)

_CLASS: dict[str, str] = {}         # IR type name -> register class
_ROOT_OPS = frozenset(op for op, info in OPS.items()         # is_root's ops
                      if (not info.pure or op == "phi") and op not in ("local", "dbg"))
_PATTERNED = frozenset(("load", "store", "atom", "mul", "shl", "add", "cvt", "bitcast", "br", "phi"))   # see plan


class KernelSelector:
    """Selects one kernel; `run()` returns its KernelCode on virtual registers."""

    def __init__(self, prog: Program, module: ir.Module, fn: ir.Function):
        self.prog, self.module, self.fn = prog, module, fn
        defaults = fn.attrs.get("param_defaults") or {}
        params = [ParamInfo(p.name, p.type, p.is_pointer, p.pointee, default=defaults.get(p.name), group=p.group)
                  for p in fn.params]
        self.code = KernelCode(fn.name, layout_params(params), source_file=module.filename)
        self.items: list[Instr | tuple[str, object]] = []      # instructions and ('label', key)
        self.regs: dict[ir.Value, Reg] = {}
        self.alias: dict[ir.Value, ir.Value] = {}
        self.nvreg = 0
        self.imms: dict[int, Imm] = {}
        self.branches: list[Instr] = []      # the bra instructions: their labels are layout keys until `finish`
        self.uses: dict[ir.Value, list[ir.Instr]] = {}
        self.absorbed: set[ir.Instr] = set()
        self.plans: dict[ir.Instr, tuple] = {}
        self.local_syms: dict[ir.Instr, str] = {}
        self.needed: set[ir.Value] = set()
        self.line: int | None = None
        self.file: str | None = None

    # -- helpers ----------------------------------------------------------------------------------
    def error(self, ins: ir.Instr, msg: str) -> CompileError:
        return CompileError(Diagnostic(ins.span or self.fn.span or NO_SPAN, msg))

    def vreg(self, cls: str) -> Reg:
        self.nvreg += 1
        return Reg(f"{cls}~{self.nvreg}")

    def emit(self, op: str, mods: tuple, types: tuple, operands: list, guard: Reg | None = None,
             neg: bool = False) -> Instr:
        ins = Instr(op, mods if mods.__class__ is tuple else tuple(mods),
                    types if types.__class__ is tuple else tuple(types),
                    operands if operands.__class__ is list else list(operands), guard, neg, self.line, self.file)
        self.items.append(ins)
        return ins

    def resolve(self, v: ir.Value) -> ir.Value:
        alias = self.alias
        while v in alias:
            v = alias[v]
        return v

    def dst(self, v: ir.Instr) -> Reg:
        """The register of an instruction's result (created on first use)."""
        r = self.regs.get(v)
        if r is None:
            t = v.type
            cls = _CLASS.get(t.name)
            if cls is None:
                cls = _CLASS[t.name] = cls_of(t)
            self.nvreg += 1
            r = self.regs[v] = Reg(f"{cls}~{self.nvreg}")
        return r

    def src(self, v: ir.Value) -> Reg | Imm:
        """A source operand: an immediate for constants (predicates in a register), else a register."""
        alias = self.alias
        while v in alias:
            v = alias[v]
        c = v.__class__
        if c is ir.Const or c is ir.Undef:
            if v.type == PRED:
                return self.reg(v)
            val = const_value(v)
            return self.imm(float(val) if v.type.is_float else int(val))
        return self.dst(v)

    def imm(self, val: int | float) -> Imm:
        """An immediate, one object per integer value in a kernel (floats: 0.0 and -0.0 differ)."""
        if val.__class__ is not int:
            return Imm(val)
        m = self.imms.get(val)
        if m is None:
            m = self.imms[val] = Imm(val)
        return m

    def reg(self, v: ir.Value) -> Reg:
        """A source operand forced into a register (constants are moved into a temporary)."""
        v = self.resolve(v)
        if is_const(v):
            r = self.vreg(cls_of(v.type))
            val = const_value(v)
            self.emit("mov", (), (ity(v.type),),
                      [r, Imm(int(bool(val)) if v.type == PRED else float(val) if v.type.is_float else int(val))])
            return r
        return self.dst(v)

    def single_local_use(self, v: ir.Value, consumer: ir.Instr) -> bool:
        """v may be folded into consumer: its only use, in the same block, not already folded."""
        return (isinstance(v, ir.Instr) and v.block is consumer.block and v not in self.absorbed
                and len(self.uses.get(v, ())) == 1)

    # -- analysis ---------------------------------------------------------------------------------
    def analyse(self) -> None:
        self.uses = users(self.fn)
        for b in self.fn.blocks:
            for i in b.instrs:
                if i.op != "dbg":                 # debug information: read in `block`, never planned
                    self.plan(i)
        absorbed = self.absorbed
        work = [i for b in self.fn.blocks for i in b.instrs if i.op in _ROOT_OPS and i not in absorbed]
        needed, plans, alias = self.needed, self.plans, self.alias
        Instr_, Param = ir.Instr, ir.Param
        while work:
            i = work.pop()
            if i in needed:
                continue
            needed.add(i)
            for v in plans[i][-1]:
                while v in alias:
                    v = alias[v]
                c = v.__class__
                if c is Instr_:
                    if v not in needed:
                        work.append(v)
                elif c is Param:
                    needed.add(v)

    def is_root(self, i: ir.Instr) -> bool:
        """Emitted whatever its uses: side effects, phis (their copies); a `local` slot only
        when some use needs its address in a register."""
        return i not in self.absorbed and (not OPS[i.op].pure or i.op == "phi") and i.op not in ("local", "dbg")

    def plan(self, i: ir.Instr) -> None:
        """Choose the pattern of i; record (kind, data..., values read as registers: a list not to
        change, maybe i's own operands)."""
        op, a = i.op, i.args
        if op not in _PATTERNED:
            self.plans[i] = ("plain", a)
        elif op in ("load", "store", "atom"):
            base, off = self.addr_form(a[0], i)
            reads = ([base] if isinstance(base, ir.Value) else []) + list(a[1:])
            self.plans[i] = ("mem", base, off, reads)
        elif op in ("mul", "shl") and i.type.is_int and i.type.bits == 64 and (w := self.wide_form(i)):
            self.plans[i] = ("wide", *w, list(w[:2]))
        elif op == "add" and i.type.is_int and i.type.bits >= 16:
            self.plans[i] = self.mad_form(i)
        elif op in ("cvt", "bitcast") and self.is_alias(i):
            self.alias[i] = a[0]
            self.plans[i] = ("alias", [a[0]])
        elif op == "br":
            c = a[0]
            if (isinstance(c, ir.Instr) and c.op in COMPARISONS
                    and c.args[0].type != PRED and self.single_local_use(c, i)):
                self.absorbed.add(c)
                self.plans[i] = ("br_cmp", c, c.args)
            else:
                self.plans[i] = ("br", [c])
        elif op == "phi":
            self.plans[i] = ("phi", a)
        else:
            self.plans[i] = ("plain", a)

    def addr_form(self, v: ir.Value, consumer: ir.Instr) -> tuple[ir.Value | Sym, int]:
        """Fold constant offsets and symbols of an address: (base value or Sym, offset)."""
        off = 0
        while True:
            v = self.resolve(v)
            if (isinstance(v, ir.Instr) and v.op == "add" and self.single_local_use(v, consumer)
                    and self.plans[v][0] == "plain"):
                x, y = v.args
                if is_const(y) or is_const(x):
                    c, x = (y, x) if is_const(y) else (x, y)
                    cv = const_value(c)
                    if cv >= 2 ** 63:
                        cv -= 2 ** 64
                    if abs(off + cv) < 2 ** 31:
                        self.absorbed.add(v)
                        off += cv
                        consumer, v = v, x
                        continue
            if isinstance(v, ir.Instr) and v.op in ("addr", "local"):
                return Sym(self.symbol_of(v)), off
            return v, off

    def wide_form(self, i: ir.Instr):
        """(x, y, 's32'|'u32') when i is (64)x * (64)y or (64)x << k with x, y extended from 32 bits."""
        def narrow(v):
            v = self.resolve(v)
            if (isinstance(v, ir.Instr) and v.op == "cvt" and v.args[0].type.bits == 32
                    and v.args[0].type.is_int and self.single_local_use(v, i)):
                return v.args[0], v.args[0].type.name, v
            return None
        x, y = i.args
        if i.op == "shl":
            if not is_const(y) or not 0 <= const_value(y) < 31:
                return None
            y = ir.Const(i.type, 1 << const_value(y))
        nx = narrow(x)
        if nx is None:
            x, y = y, x
            nx = narrow(x)
        if nx is None:
            return None
        src, t, cx = nx
        if is_const(y):
            c = const_value(y)
            c = c - 2 ** 64 if c >= 2 ** 63 else c
            lo, hi = (-2 ** 31, 2 ** 31) if t == "s32" else (0, 2 ** 32)
            if not lo <= c < hi:
                return None
            self.absorbed.add(cx)
            return src, ir.Const(S32 if t == "s32" else U32, c), t
        ny = narrow(y)
        if ny is None or ny[1] != t:
            return None
        self.absorbed.update((cx, ny[2]))
        return src, ny[0], t

    def fused_everywhere(self, m: ir.Value) -> bool:
        """A wide multiply whose every use is an add it can fuse into as mad.wide (the other operand
        not a wide multiply itself): then each add recomputes it for free and the mul disappears
        (common-subexpression elimination shares `i*4` between `x[i]` and `y[i]`)."""
        us = self.uses.get(m, ())
        if len(us) < 2 or self.plans.get(m, ("",))[0] != "wide":
            return False
        for u in us:
            if u.op != "add" or u.type != m.type or u.args[0] is u.args[1]:
                return False
            other = u.args[1] if u.args[0] is m else u.args[0]
            if self.plans.get(other, ("",))[0] == "wide":
                return False
        return True

    def mad_form(self, i: ir.Instr) -> tuple:
        for k in (0, 1):
            m, c = i.args[k], i.args[1 - k]
            if not (self.single_local_use(m, i) or self.fused_everywhere(m)):
                continue
            p = self.plans.get(m)
            if p and p[0] == "wide":
                self.absorbed.add(m)
                return ("mad_wide", p[1], p[2], p[3], c, [p[1], p[2], c])
            if m.op == "mul" and m.type == i.type and p and p[0] == "plain":
                self.absorbed.add(m)
                return ("mad", m.args[0], m.args[1], c, [m.args[0], m.args[1], c])
        return ("plain", i.args)

    def is_alias(self, i: ir.Instr) -> bool:
        """A conversion that changes nothing in the register: same-width ints (>= 16 bits, or
        8 -> 16 bits, as 8-bit values are kept extended) and bitcasts within a class."""
        s, t = i.args[0].type, i.type
        if is_const(i.args[0]) or s == PRED or t == PRED:
            return False
        if i.op == "bitcast":
            return cls_of(s) == cls_of(t)
        if s.is_int and t.is_int:
            return (s.bits == t.bits and s.bits >= 16) or (s.bits == 8 and t.bits == 16)
        return s == t and "mode" not in i.attrs          # cvt.rni.f16.f16 rounds

    def symbol_of(self, i: ir.Instr) -> str:
        if i.op == "addr":
            name = i.attrs["sym"]
            g = self.module.globals.get(name)
            if g is not None and g.space == "shared" and name not in self.code.shared:
                self.code.shared.append(name)
            return name
        if i not in self.local_syms:
            # (a name the listing's WORD can spell: `vec3::operator+.ret` -> __local_vec3__operator__ret)
            base = "__local_" + re.sub(r"[^\w$]", "_", i.attrs["name"]) if i.attrs.get("name") else "__local"
            name, k = base, 0
            while name in self.code.locals:
                k += 1
                name = f"{base}{k}"
            self.code.locals[name] = DataSymbol(name, "local", int(i.attrs["size"]), int(i.attrs.get("align", 4)))
            self.local_syms[i] = name
        return self.local_syms[i]

    # -- layout -----------------------------------------------------------------------------------
    def run(self) -> KernelCode:
        calls = [i for b in self.fn.blocks for i in b.instrs if i.op == "call"]
        if calls:
            ins = calls[0]
            raise self.error(ins, f"call to '{ins.attrs.get('callee')}' was not inlined; "
                                  "vgpu does not support calls in kernels")
        self.analyse()
        layout = self.layout()
        self.line = self.fn.span.line if self.fn.span else None
        self.file = self.fn.span.file if self.fn.span else None
        for i in self.fn.entry.instrs:       # parameters are in the parameter buffer from the start
            if i.op == "dbg" and isinstance(self.resolve(i.args[0]), ir.Param):
                self.items.append(("dbg", i.attrs["var"], Mem(Sym(self.resolve(i.args[0]).name))))
        self.load_params()
        for k, (key, block) in enumerate(layout):
            nxt = layout[k + 1][0] if k + 1 < len(layout) else None
            self.items.append(("label", key))
            if isinstance(key, tuple):
                self.edge_block(key, nxt)
            else:
                self.block(block, nxt)
        self.finish()
        return self.code

    def layout(self) -> list[tuple[object, ir.Block | None]]:
        """Blocks in IR order, each followed by the split critical edges leaving it."""
        out: list[tuple[object, ir.Block | None]] = []
        self.edge_of: dict[tuple[ir.Block, ir.Block], object] = {}
        for b in self.fn.blocks:
            out.append((b, b))
            succs = b.succs
            for s in reversed(succs):
                key: object = s
                if len(succs) > 1 and len(s.preds) > 1 and self.copies(b, s):
                    key = (b, s)
                    out.append((key, None))
                self.edge_of[(b, s)] = key
        return out

    def copies(self, pred: ir.Block, succ: ir.Block) -> list[tuple[ir.Instr, ir.Value]]:
        """The (phi, value) copies on the edge pred -> succ (undefined values need none)."""
        out: list[tuple[ir.Instr, ir.Value]] = []
        for phi in succ.instrs:
            if phi.op != "phi":
                break
            for v, p in zip(phi.args, phi.attrs["blocks"]):
                if p is pred and v.__class__ is not ir.Undef:
                    out.append((phi, v))
                    break
        return out

    def load_params(self) -> None:
        for p in self.fn.params:
            if p not in self.needed:
                continue
            self.emit("ld", ("param",), (p.type.name,), [self.dst(p), Mem(Sym(p.name))])

    def set_line(self, i: ir.Instr) -> None:
        if i.span is not None and i.span.line:
            self.line, self.file = i.span.line, i.span.file

    def block(self, b: ir.Block, nxt) -> None:
        if len(b.preds) == 1:
            self.parallel_copy(self.copies(b.preds[0], b))
        needed, absorbed, items = self.needed, self.absorbed, self.items
        if b.instrs[0].op == "phi":         # a variable's phi: its value from here (vgpu.ir.debug)
            for phi in b.phis:
                if "var" in phi.attrs and phi in needed:
                    items.append(("dbg", phi.attrs["var"], self.dst(phi)))
        for i in b.instrs:
            op = i.op
            if op == "dbg":
                items.append(("dbg", i.attrs["var"], self.debug_location(i)))
                continue
            if op == "phi" or i in absorbed or i not in needed:
                continue
            span = i.span
            if span is not None and span.line:
                self.line, self.file = span.line, span.file
            self.select(i, nxt)

    def debug_location(self, d: ir.Instr):
        """Where a dbg's value is: a (virtual) register, a constant, a parameter's bytes, a local
        slot (resolved to its symbol in `finish`), or None (no register holds it: optimised out)."""
        v = self.resolve(d.args[0])
        if d.attrs.get("declare"):
            if not (isinstance(v, ir.Instr) and v.op == "local"):
                return None
            return (v, d.attrs["offset"]) if d.attrs.get("offset") else v
        if isinstance(v, ir.Undef):
            return None
        if is_const(v):
            val = const_value(v)
            return Imm(int(bool(val)) if v.type == PRED else float(val) if v.type.is_float else int(val))
        if isinstance(v, ir.Param):
            return self.dst(v) if v in self.needed else Mem(Sym(v.name))
        if v in self.needed and v not in self.absorbed and v.type is not None and v.op not in ("local", "addr"):
            return self.dst(v)
        return None

    def edge_block(self, key: tuple, nxt) -> None:
        pred, succ = key
        self.parallel_copy(self.copies(pred, succ))
        self.jump(succ, nxt)

    def jump(self, target, nxt) -> None:
        """Go to a layout key (block or split edge); a jump to a lone `ret` is that `ret`."""
        if target is nxt:
            return
        if isinstance(target, ir.Block) and target.instrs and target.instrs[-1].op == "ret" and \
                all(i.op == "dbg" for i in target.instrs[:-1]):
            self.emit("ret", (), (), [])
            return
        self.branches.append(self.emit("bra", (), (), [Label(target)]))

    def parallel_copy(self, copies: list[tuple[ir.Instr, ir.Value]]) -> None:
        """Emit phi <- value copies as if simultaneous: a copy waits until no other still reads
        its destination; a cycle is broken by saving one destination in a temporary."""
        if not copies:
            return
        if len(copies) == 1:                # one copy: nothing can wait for it
            phi, v = copies[0]
            d = self.dst(phi)
            v = self.resolve(v)
            if v.__class__ is ir.Const or v.__class__ is ir.Undef or self.dst(v) != d:
                self.emit("mov", (), (ity(phi.type),), [d, self.src(v)])
            return
        pending: dict[Reg, ir.Value | Reg] = {}
        types: dict[Reg, Scalar] = {}
        for phi, v in copies:
            d = self.dst(phi)
            v = self.resolve(v)
            if not is_const(v) and self.dst(v) == d:
                continue
            pending[d] = v
            types[d] = phi.type

        def as_reg(s):
            return s if isinstance(s, Reg) else None if is_const(s) else self.dst(s)

        while pending:
            ready = [d for d in pending if all(as_reg(s) != d for s in pending.values())]
            if ready:
                for d in ready:
                    s = pending.pop(d)
                    self.emit("mov", (), (ity(types[d]),), [d, s if isinstance(s, Reg) else self.src(s)])
                continue
            d = next(iter(pending))
            t = self.vreg(d.name.split("~")[0])
            self.emit("mov", (), (ity(types[d]),), [t, d])
            types[t] = types[d]
            for k, s in pending.items():
                if as_reg(s) == d:
                    pending[k] = t

    # -- selection --------------------------------------------------------------------------------
    def select(self, i: ir.Instr, nxt) -> None:
        op = i.op
        if op == "br":
            self.branch(i, nxt)
        elif op == "jmp":
            targets = i.attrs["targets"]        # one (the verifier checked)
            if len(targets) == 1 and len(targets[0].preds) > 1:
                self.parallel_copy(self.copies(i.block, targets[0]))
            self.jump(self.edge_of[(i.block, targets[0])], nxt)
        elif op == "ret":
            self.emit("ret", (), (), [])
        elif op == "unreachable":
            last = next((x for x in reversed(self.items) if isinstance(x, Instr)), None)
            if not (last and last.op in ("trap", "ret", "exit")):
                self.emit("trap", (), (), [])
        else:
            SELECT[self.plans[i][0] if self.plans[i][0] != "plain" else GROUP.get(op, op)](self, i)

    def branch(self, i: ir.Instr, nxt) -> None:
        then, other = (self.edge_of[(i.block, t)] for t in i.targets)
        plan = self.plans[i]
        neg = False
        if then is nxt:                 # fall into `then`: branch to `other` on the negation
            then, other, neg = other, then, True
        if plan[0] == "br_cmp":
            c = plan[1]
            cmp = self.cmp_name(c)
            if neg:
                cmp = (FLOAT_INVERSE if c.args[0].type.is_float else INT_INVERSE)[cmp]
                neg = False
            p = self.vreg("%p")
            self.emit("setp", (cmp,), (self.cmp_type(c),), [p, self.src(c.args[0]), self.src(c.args[1])])
        else:
            p = self.reg(i.args[0])
        self.branches.append(self.emit("bra", (), (), [Label(then)], guard=p, neg=neg))
        if other is not nxt:
            if isinstance(other, ir.Block):
                self.jump(other, nxt)
            else:
                self.branches.append(self.emit("bra", (), (), [Label(other)]))

    @staticmethod
    def cmp_name(c: ir.Instr) -> str:
        return "neu" if c.op == "ne" and c.args[0].type.is_float else c.op

    @staticmethod
    def cmp_type(c: ir.Instr) -> str:
        t = c.args[0].type
        if t.is_int and c.op in ("eq", "ne"):
            return bty(t)
        return ity(t)

    def finish(self) -> None:
        """Resolve labels: name the referenced ones $L1, $L2, ... in order; drop the rest."""
        referenced = {x.operands[0].name for x in self.branches}
        names: dict[object, str] = {}
        pending_keys = []
        points: list = []                   # debug points waiting for the next instruction
        last: Instr | None = None
        instrs, labels = self.code.instrs, self.code.labels
        for x in self.items:
            if x.__class__ is not tuple:        # an instruction
                if points:
                    land(points, x)
                    points = []
                last = x
                if pending_keys:
                    for key in pending_keys:
                        if key in referenced:
                            names[key] = names.get(key) or f"$L{len(names) + 1}"
                            labels[names[key]] = len(instrs)
                    pending_keys = []
                instrs.append(x)
                continue
            if x[0] == "dbg":
                points.append((BEFORE, x[1], x[2]))
                continue
            if points and x[1] in referenced:   # a join: the points hold on the path here only
                if last is not None and last.op not in ("bra", "ret", "exit", "trap"):
                    for _, var, loc in points:
                        attach(last, AFTER, var, loc)
                    points = []
                else:
                    points = crossing_label(points)
            pending_keys.append(x[1])
        for key in pending_keys:            # labels at the very end
            if key in referenced:
                names[key] = f"$L{len(names) + 1}"
                labels[names[key]] = len(instrs)
        made = {name: Label(name) for name in names.values()}
        for x in self.branches:
            x.operands = [made[names[x.operands[0].name]]]
        for x in self.code.instrs:
            if x.dbg:
                x.dbg = [(k, v, self.local_location(loc)) for k, v, loc in x.dbg]

    def local_location(self, loc):
        """A declared variable's local slot (or (slot, offset) for a struct's field) -> its `.local`
        symbol (None if the slot got none)."""
        loc, offset = loc if isinstance(loc, tuple) else (loc, 0)
        if isinstance(loc, ir.Instr):
            name = self.local_syms.get(loc)
            return Mem(Sym(name), offset) if name is not None else None
        return loc


def select_kernels(module: ir.Module) -> Program:
    """Program with the module's data symbols and every kernel on virtual registers."""
    prog = Program(filename=module.filename)
    for g in module.globals.values():
        prog.symbols[g.name] = DataSymbol(g.name, g.space, g.size, g.align, g.init, g.dynamic, g.elem)
    for fn in module.kernels:
        prog.kernels[fn.name] = KernelSelector(prog, module, fn).run()
        prog.kernels[fn.name].debug_vars = list(fn.debug_vars)
    return prog
