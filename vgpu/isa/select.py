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
"""
from __future__ import annotations

from ..diagnostics import CompileError, Diagnostic, NO_SPAN
from ..ir import nodes as ir
from ..ir.ops import BINARY_ALU, COMPARISONS, OPS
from ..ir.passes.rewrite import resolve, users
from ..types import F32, PRED, S32, U32, Scalar
from .program import (DataSymbol, Imm, Instr, KernelCode, Label, Mem, ParamInfo, Program, Reg, SReg, Sym,
                      layout_params)
from .spec import reg_class

_FLOAT_INVERSE = {"eq": "neu", "neu": "eq", "lt": "geu", "le": "gtu", "gt": "leu", "ge": "ltu"}
_INT_INVERSE = {"eq": "ne", "ne": "eq", "lt": "ge", "le": "gt", "gt": "le", "ge": "lt"}
_EXT_MATH = ("exp", "exp2", "exp10", "log", "log2", "log10", "sin", "cos", "tan", "tanh", "asin", "acos",
             "atan", "sinh", "cosh", "round", "pow", "atan2", "fmod")
_ROUND_TO_INT = {"floor": "rmi", "ceil": "rpi", "trunc": "rzi"}
_NO_RENORM = ("and", "or", "xor", "min", "max", "shr", "select")   # ops that keep 8-bit values normalised


def ity(t: Scalar) -> str:
    """ISA type for arithmetic on `t` (8-bit values are computed in 16 bits)."""
    if t.bits == 8:
        return t.name[0] + "16"
    return t.name


def bty(t: Scalar) -> str:
    return "pred" if t == PRED else f"b{max(16, t.bits)}"


def sty(t: Scalar) -> str:
    """Type for wrap-around integer ops (add, sub, mul.lo, mad.lo): signed spelling, as nvcc."""
    return "s" + ity(t)[1:] if t.is_int else ity(t)


def cls_of(t: Scalar) -> str:
    return reg_class(ity(t))


def _is_const(v: ir.Value) -> bool:
    return isinstance(v, (ir.Const, ir.Undef))


def _const_value(v: ir.Value) -> int | float:
    if isinstance(v, ir.Undef):
        return 0.0 if v.type.is_float else 0
    return v.value


class KernelSelector:
    """Selects one kernel; `run()` returns its KernelCode on virtual registers."""

    def __init__(self, prog: Program, module: ir.Module, fn: ir.Function):
        self.prog, self.module, self.fn = prog, module, fn
        params = [ParamInfo(p.name, p.type, p.is_pointer, p.pointee) for p in fn.params]
        self.code = KernelCode(fn.name, layout_params(params), source_file=module.filename)
        self.items: list[Instr | tuple[str, object]] = []      # instructions and ('label', key)
        self.regs: dict[ir.Value, Reg] = {}
        self.alias: dict[ir.Value, ir.Value] = {}
        self.nvreg = 0
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
        ins = Instr(op, tuple(mods), tuple(types), list(operands), guard, neg, self.line, self.file)
        self.items.append(ins)
        return ins

    def resolve(self, v: ir.Value) -> ir.Value:
        return resolve(self.alias, v)

    def dst(self, v: ir.Instr) -> Reg:
        """The register of an instruction's result (created on first use)."""
        if v not in self.regs:
            self.regs[v] = self.vreg(cls_of(v.type))
        return self.regs[v]

    def src(self, v: ir.Value) -> Reg | Imm:
        """A source operand: an immediate for constants (predicates in a register), else a register."""
        v = self.resolve(v)
        if _is_const(v):
            if v.type == PRED:
                return self.reg(v)
            val = _const_value(v)
            return Imm(float(val) if v.type.is_float else int(val))
        return self.dst(v)

    def reg(self, v: ir.Value) -> Reg:
        """A source operand forced into a register (constants are moved into a temporary)."""
        v = self.resolve(v)
        if _is_const(v):
            r = self.vreg(cls_of(v.type))
            val = _const_value(v)
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
                self.plan(i)
        roots = [i for b in self.fn.blocks for i in b.instrs if self.is_root(i)]
        work = list(roots)
        while work:
            i = work.pop()
            if i in self.needed:
                continue
            self.needed.add(i)
            for v in self.plans[i][-1]:
                v = self.resolve(v)
                if isinstance(v, ir.Instr) and v not in self.needed:
                    work.append(v)
                elif isinstance(v, ir.Param):
                    self.needed.add(v)

    def is_root(self, i: ir.Instr) -> bool:
        """Emitted whatever its uses: side effects, phis (their copies); a `local` slot only
        when some use needs its address in a register."""
        return i not in self.absorbed and (not OPS[i.op].pure or i.op == "phi") and i.op != "local"

    def plan(self, i: ir.Instr) -> None:
        """Choose the pattern of i; record (kind, data..., values read as registers)."""
        op, a = i.op, i.args
        if op in ("load", "store", "atom"):
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
                self.plans[i] = ("br_cmp", c, list(c.args))
            else:
                self.plans[i] = ("br", [c])
        elif op == "phi":
            self.plans[i] = ("phi", list(a))
        else:
            self.plans[i] = ("plain", list(a))

    def addr_form(self, v: ir.Value, consumer: ir.Instr) -> tuple[ir.Value | Sym, int]:
        """Fold constant offsets and symbols of an address: (base value or Sym, offset)."""
        off = 0
        while True:
            v = self.resolve(v)
            if (isinstance(v, ir.Instr) and v.op == "add" and self.single_local_use(v, consumer)
                    and self.plans[v][0] == "plain"):
                x, y = v.args
                if _is_const(y) or _is_const(x):
                    c, x = (y, x) if _is_const(y) else (x, y)
                    cv = _const_value(c)
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
            if not _is_const(y) or not 0 <= _const_value(y) < 31:
                return None
            y = ir.Const(i.type, 1 << _const_value(y))
        nx = narrow(x)
        if nx is None:
            x, y = y, x
            nx = narrow(x)
        if nx is None:
            return None
        src, t, cx = nx
        if _is_const(y):
            c = _const_value(y)
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
        return ("plain", list(i.args))

    def is_alias(self, i: ir.Instr) -> bool:
        """A conversion that changes nothing in the register: same-width ints (>= 16 bits, or
        8 -> 16 bits, as 8-bit values are kept extended) and bitcasts within a class."""
        s, t = i.args[0].type, i.type
        if _is_const(i.args[0]) or s == PRED or t == PRED:
            return False
        if i.op == "bitcast":
            return cls_of(s) == cls_of(t)
        if s.is_int and t.is_int:
            return (s.bits == t.bits and s.bits >= 16) or (s.bits == 8 and t.bits == 16)
        return s == t

    def symbol_of(self, i: ir.Instr) -> str:
        if i.op == "addr":
            name = i.attrs["sym"]
            g = self.module.globals.get(name)
            if g is not None and g.space == "shared" and name not in self.code.shared:
                self.code.shared.append(name)
            return name
        if i not in self.local_syms:
            base = "__local_" + i.attrs["name"].replace(".", "_") if i.attrs.get("name") else "__local"
            name, k = base, 0
            while name in self.code.locals:
                k += 1
                name = f"{base}{k}"
            self.code.locals[name] = DataSymbol(name, "local", int(i.attrs["size"]), int(i.attrs.get("align", 4)))
            self.local_syms[i] = name
        return self.local_syms[i]

    # -- layout -----------------------------------------------------------------------------------
    def run(self) -> KernelCode:
        if any(i.op == "call" for i in self.fn.instructions()):
            ins = next(i for i in self.fn.instructions() if i.op == "call")
            raise self.error(ins, f"call to '{ins.attrs.get('callee')}' was not inlined; "
                                  "vgpu does not support calls in kernels")
        self.analyse()
        layout = self.layout()
        self.line = self.fn.span.line if self.fn.span else None
        self.file = self.fn.span.file if self.fn.span else None
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
        out = []
        for phi in succ.phis:
            for v, p in zip(phi.args, phi.attrs["blocks"]):
                if p is pred and not isinstance(v, ir.Undef):
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
        for i in b.instrs:
            if i.op == "phi" or i in self.absorbed or i not in self.needed:
                continue
            self.set_line(i)
            self.select(i, nxt)

    def edge_block(self, key: tuple, nxt) -> None:
        pred, succ = key
        self.parallel_copy(self.copies(pred, succ))
        self.jump(succ, nxt)

    def jump(self, target, nxt) -> None:
        """Go to a layout key (block or split edge); a jump to a lone `ret` is that `ret`."""
        if target is nxt:
            return
        if isinstance(target, ir.Block) and len(target.instrs) == 1 and target.instrs[0].op == "ret":
            self.emit("ret", (), (), [])
            return
        self.emit("bra", (), (), [Label(target)])

    def parallel_copy(self, copies: list[tuple[ir.Instr, ir.Value]]) -> None:
        """Emit phi <- value copies as if simultaneous: a copy waits until no other still reads
        its destination; a cycle is broken by saving one destination in a temporary."""
        pending: dict[Reg, ir.Value | Reg] = {}
        types: dict[Reg, Scalar] = {}
        for phi, v in copies:
            d = self.dst(phi)
            v = self.resolve(v)
            if not _is_const(v) and self.dst(v) == d:
                continue
            pending[d] = v
            types[d] = phi.type

        def as_reg(s):
            return s if isinstance(s, Reg) else None if _is_const(s) else self.dst(s)

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
            if len(i.block.succs) == 1 and len(i.targets[0].preds) > 1:
                self.parallel_copy(self.copies(i.block, i.targets[0]))
            self.jump(self.edge_of[(i.block, i.targets[0])], nxt)
        elif op == "ret":
            self.emit("ret", (), (), [])
        elif op == "unreachable":
            last = next((x for x in reversed(self.items) if isinstance(x, Instr)), None)
            if not (last and last.op in ("trap", "ret", "exit")):
                self.emit("trap", (), (), [])
        else:
            _SELECT[self.plans[i][0] if self.plans[i][0] != "plain" else _GROUP.get(op, op)](self, i)

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
                cmp = (_FLOAT_INVERSE if c.args[0].type.is_float else _INT_INVERSE)[cmp]
                neg = False
            p = self.vreg("%p")
            self.emit("setp", (cmp,), (self.cmp_type(c),), [p, self.src(c.args[0]), self.src(c.args[1])])
        else:
            p = self.reg(i.args[0])
        self.emit("bra", (), (), [Label(then)], guard=p, neg=neg)
        if other is not nxt:
            if isinstance(other, ir.Block):
                self.jump(other, nxt)
            else:
                self.emit("bra", (), (), [Label(other)])

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
        referenced = {op.name for x in self.items if isinstance(x, Instr) for op in x.operands
                      if isinstance(op, Label)}
        names: dict[object, str] = {}
        pending_keys = []
        for x in self.items:
            if isinstance(x, tuple):
                pending_keys.append(x[1])
                continue
            for key in pending_keys:
                if key in referenced:
                    names[key] = names.get(key) or f"$L{len(names) + 1}"
                    self.code.labels[names[key]] = len(self.code.instrs)
            pending_keys = []
            self.code.instrs.append(x)
        for key in pending_keys:            # labels at the very end
            if key in referenced:
                names[key] = f"$L{len(names) + 1}"
                self.code.labels[names[key]] = len(self.code.instrs)
        for x in self.code.instrs:
            x.operands = [Label(names[o.name]) if isinstance(o, Label) else o for o in x.operands]


# -- per-op selection (one function per IR op group) --------------------------------------------------
def _alias(s: KernelSelector, i: ir.Instr) -> None:
    pass


def _renorm(s: KernelSelector, i: ir.Instr, d: Reg) -> None:
    if i.type.bits == 8 and i.op not in _NO_RENORM:
        s.emit("cvt", (), (ity(i.type), i.type.name), [d, d])


def _binary(s: KernelSelector, i: ir.Instr) -> None:
    t, op = i.type, i.op
    a, b = i.args
    d = s.dst(i)
    if t == PRED:
        s.emit(op, (), ("pred",), [d, s.reg(a), s.reg(b)])
        return
    if t.is_float:
        mods = ("rn",) if op in ("add", "sub", "mul", "div") else ()
        s.emit(op, mods, (t.name,), [d, s.src(a), s.src(b)])
        return
    if op in ("and", "or", "xor"):
        s.emit(op, (), (bty(t),), [d, s.src(a), s.src(b)])
    elif op == "shl":
        s.emit("shl", (), (bty(t),), [d, s.src(a), s.src(b)])
    elif op == "shr":
        s.emit("shr", (), (ity(t),), [d, s.src(a), s.src(b)])
    elif op in ("add", "sub"):
        s.emit(op, (), (sty(t),), [d, s.src(a), s.src(b)])
    elif op == "mul":
        s.emit("mul", ("lo",), (sty(t),), [d, s.src(a), s.src(b)])
    else:                                        # div rem min max
        s.emit(op, (), (ity(t),), [d, s.src(a), s.src(b)])
    _renorm(s, i, d)


def _unary(s: KernelSelector, i: ir.Instr) -> None:
    t, a, d = i.type, i.args[0], s.dst(i)
    if i.op == "not":
        s.emit("not", (), (bty(t),), [d, s.src(a)])
    elif t.is_float or i.op == "neg" or i.op == "abs":
        s.emit(i.op, (), (("s" + ity(t)[1:]) if t.is_int else t.name,), [d, s.src(a)])
    _renorm(s, i, d)


def _cmp(s: KernelSelector, i: ir.Instr) -> None:
    a, b = i.args
    d = s.dst(i)
    if a.type == PRED:                           # eq/ne of predicates: xor (and not)
        if i.op == "ne":
            s.emit("xor", (), ("pred",), [d, s.reg(a), s.reg(b)])
        elif i.op == "eq":
            s.emit("xor", (), ("pred",), [d, s.reg(a), s.reg(b)])
            s.emit("not", (), ("pred",), [d, d])
        else:
            raise s.error(i, f"ordered comparison '{i.op}' of predicates")
        return
    s.emit("setp", (s.cmp_name(i),), (s.cmp_type(i),), [d, s.src(a), s.src(b)])


def _select(s: KernelSelector, i: ir.Instr) -> None:
    p, a, b = i.args
    d = s.dst(i)
    if i.type == PRED:                           # d = (p & a) | (!p & b)
        pr, t, u = s.reg(p), s.vreg("%p"), s.vreg("%p")
        s.emit("and", (), ("pred",), [t, pr, s.reg(a)])
        s.emit("not", (), ("pred",), [u, pr])
        s.emit("and", (), ("pred",), [u, u, s.reg(b)])
        s.emit("or", (), ("pred",), [d, t, u])
        return
    s.emit("selp", (), (ity(i.type) if not i.type.is_int else bty(i.type),), [d, s.src(a), s.src(b), s.reg(p)])


def _cvt(s: KernelSelector, i: ir.Instr) -> None:
    a, t = i.args[0], i.type
    f = a.type
    d = s.dst(i)
    if i.op == "bitcast":
        s.emit("mov", (), (f"b{t.bits}",), [d, s.src(a)])
    elif f == PRED:
        one, zero = (Imm(1.0), Imm(0.0)) if t.is_float else (Imm(1), Imm(0))
        s.emit("selp", (), (ity(t) if t.is_float else bty(t),), [d, one, zero, s.reg(a)])
    elif t == PRED:
        s.emit("setp", ("neu" if f.is_float else "ne",), (ity(f) if f.is_float else bty(f),),
               [d, s.src(a), Imm(0.0 if f.is_float else 0)])
    elif f == t:
        s.emit("mov", (), (ity(t),), [d, s.src(a)])
    elif t.is_float and f.is_float:
        s.emit("cvt", ("rn",) if t.bits < f.bits else (), (t.name, f.name), [d, s.src(a)])
    elif t.is_float:
        s.emit("cvt", ("rn",), (t.name, f.name), [d, s.src(a)])
    elif f.is_float:
        s.emit("cvt", ("rzi",), (t.name, f.name), [d, s.src(a)])
    else:
        s.emit("cvt", (), (t.name, f.name), [d, s.src(a)])


def _math(s: KernelSelector, i: ir.Instr) -> None:
    t, op = i.type.name, i.op
    d = s.dst(i)
    args = [s.src(a) for a in i.args]
    if op in ("sqrt", "rcp"):
        s.emit(op, ("rn",), (t,), [d, *args])
    elif op == "rsqrt":
        s.emit("rsqrt", ("approx",), (t,), [d, *args])
    elif op in _ROUND_TO_INT:
        s.emit("cvt", (_ROUND_TO_INT[op],), (t, t), [d, *args])
    elif op == "fabs":
        s.emit("abs", (), (t,), [d, *args])
    elif op in ("fmin", "fmax"):
        s.emit(op[1:], (), (t,), [d, *args])
    elif op == "fma":
        s.emit("fma", ("rn",), (t,), [d, *args])
    elif op in _EXT_MATH:
        s.emit(op, (), (t,), [d, *args])
    else:
        raise s.error(i, f"no instruction for math function '{op}'")


def _bits(s: KernelSelector, i: ir.Instr) -> None:
    a = i.args[0]
    w = 64 if a.type.bits == 64 else 32
    src = s.src(a)
    if a.type.bits < 32:                         # widen 8/16-bit operands by their signedness
        t = s.vreg("%r")
        s.emit("cvt", (), ("u32" if a.type.kind != "signed" else "s32", a.type.name), [t, src])
        src = t
    if i.op == "brev":
        s.emit("brev", (), (f"b{w}",), [s.dst(i), src])
    else:
        s.emit(i.op, (), (f"b{w}",), [s.dst(i), src])


def _space(i: ir.Instr) -> tuple[str, ...]:
    sp = i.attrs.get("space", "generic")
    mods = ("volatile",) if i.attrs.get("volatile") else ()
    return mods + (() if sp in ("generic", None) else (sp,))


def _address(s: KernelSelector, i: ir.Instr) -> Mem:
    _, base, off, _ = s.plans[i]
    if isinstance(base, Sym):
        return Mem(base, off)
    b = s.resolve(base)
    if _is_const(b):
        return Mem(Imm(int(_const_value(b)) + off))
    return Mem(s.dst(b), off)


def _load(s: KernelSelector, i: ir.Instr) -> None:
    m = _address(s, i)
    if i.type == PRED:
        t = s.vreg("%rs")
        s.emit("ld", _space(i), ("u8",), [t, m])
        s.emit("setp", ("ne",), ("b16",), [s.dst(i), t, Imm(0)])
        return
    s.emit("ld", _space(i), (i.type.name,), [s.dst(i), m])


def _store(s: KernelSelector, i: ir.Instr) -> None:
    m = _address(s, i)
    v = i.args[1]
    if v.type == PRED:
        t = s.vreg("%rs")
        s.emit("selp", (), ("b16",), [t, Imm(1), Imm(0), s.reg(v)])
        s.emit("st", _space(i), ("u8",), [m, t])
        return
    s.emit("st", _space(i), (v.type.name,), [m, s.src(v)])


_ATOM_TYPE = {"add": lambda t: t.name if t.is_float else ("u" + t.name[1:] if t.bits == 64 else t.name),
              "min": lambda t: t.name, "max": lambda t: t.name, "inc": lambda t: "u32", "dec": lambda t: "u32"}


def _atom(s: KernelSelector, i: ir.Instr) -> None:
    m = _address(s, i)
    op = i.attrs["op"]
    t = i.type if i.type is not None else i.args[-1].type
    vals = i.args[1:]
    srcs = [s.src(v) for v in vals]
    if op == "sub":                              # atomicSub: add of the negation
        op = "add"
        if isinstance(srcs[0], Imm):
            srcs = [Imm(-srcs[0].value)]
        else:
            n = s.vreg(cls_of(t))
            s.emit("neg", (), ("s" + t.name[1:],), [n, srcs[0]])
            srcs = [n]
    tname = _ATOM_TYPE.get(op, lambda t: f"b{t.bits}")(t)
    space = tuple(x for x in _space(i) if x in ("global", "shared"))
    if i in s.needed and s.uses.get(i) or op in ("exch", "cas"):
        s.emit("atom", space + (op,), (tname,), [s.dst(i), m, *srcs])
    else:
        s.emit("red", space + (op,), (tname,), [m, *srcs])


def _addr(s: KernelSelector, i: ir.Instr) -> None:
    s.emit("mov", (), ("u64",), [s.dst(i), Sym(s.symbol_of(i))])


def _sreg(s: KernelSelector, i: ir.Instr) -> None:
    name = i.attrs["name"]
    if name == "warpsize":
        s.emit("mov", (), ("u32",), [s.dst(i), Imm(32)])
    else:
        s.emit("mov", (), ("u32",), [s.dst(i), SReg("%" + name)])


def _clock(s: KernelSelector, i: ir.Instr) -> None:
    if i.type.bits == 64:
        s.emit("mov", (), ("u64",), [s.dst(i), SReg("%clock64")])
    else:
        s.emit("mov", (), ("u32",), [s.dst(i), SReg("%clock")])


def _bar(s: KernelSelector, i: ir.Instr) -> None:
    mode = i.attrs.get("mode", "sync")
    if mode == "sync":
        s.emit("bar", ("sync",), (), [Imm(0)])
    elif mode == "popc":
        s.emit("bar", ("red", "popc"), ("u32",), [s.dst(i), Imm(0), s.reg(i.args[0])])
    else:
        d = s.dst(i)
        if i.type == PRED:
            s.emit("bar", ("red", mode), ("pred",), [d, Imm(0), s.reg(i.args[0])])
        else:                                   # an int result: reduce into a predicate, then 0/1
            p = s.vreg("%p")
            s.emit("bar", ("red", mode), ("pred",), [p, Imm(0), s.reg(i.args[0])])
            s.emit("selp", (), (bty(i.type),), [d, Imm(1), Imm(0), p])


def _membar(s: KernelSelector, i: ir.Instr) -> None:
    s.emit("membar", (i.attrs.get("level", "gl"),), (), [])


def _shfl_c(s: KernelSelector, mode: str, width: ir.Value) -> Reg | Imm:
    if _is_const(width):
        c = (32 - int(_const_value(width))) << 8
        return Imm(c if mode == "up" else c | 31)
    t = s.vreg("%r")
    s.emit("sub", (), ("s32",), [t, Imm(32), s.src(width)])
    s.emit("shl", (), ("b32",), [t, t, Imm(8)])
    if mode != "up":
        s.emit("or", (), ("b32",), [t, t, Imm(31)])
    return t


def _shfl(s: KernelSelector, i: ir.Instr) -> None:
    mask, val, lane, width = i.args
    mode = i.attrs["mode"]
    c = _shfl_c(s, mode, width)
    m, b = s.src(mask), s.src(lane)
    t, d = i.type, s.dst(i)
    if t.bits == 64:                            # two 32-bit shuffles of the halves
        x = s.reg(val)
        if t.is_float:
            y = s.vreg("%rd")
            s.emit("mov", (), ("b64",), [y, x])
            x = y
        lo, hi, h = s.vreg("%r"), s.vreg("%r"), s.vreg("%rd")
        s.emit("cvt", (), ("u32", "u64"), [lo, x])
        s.emit("shr", (), ("u64",), [h, x, Imm(32)])
        s.emit("cvt", (), ("u32", "u64"), [hi, h])
        s.emit("shfl", ("sync", mode), ("b32",), [lo, lo, b, c, m])
        s.emit("shfl", ("sync", mode), ("b32",), [hi, hi, b, c, m])
        r = s.vreg("%rd") if t.is_float else d
        s.emit("cvt", (), ("u64", "u32"), [h, hi])
        s.emit("shl", (), ("b64",), [h, h, Imm(32)])
        s.emit("cvt", (), ("u64", "u32"), [r, lo])
        s.emit("or", (), ("b64",), [r, r, h])
        if t.is_float:
            s.emit("mov", (), ("b64",), [d, r])
    elif t.bits < 32:
        x, y = s.vreg("%r"), s.vreg("%r")
        s.emit("cvt", (), ("s32" if t.is_signed else "u32", t.name), [x, s.src(val)])
        s.emit("shfl", ("sync", mode), ("b32",), [y, x, b, c, m])
        s.emit("cvt", (), (t.name, "u32"), [d, y])
    else:
        s.emit("shfl", ("sync", mode), ("b32",), [d, s.reg(val), b, c, m])


def _vote(s: KernelSelector, i: ir.Instr) -> None:
    mask, p = i.args
    mode = i.attrs["mode"]
    d = s.dst(i)
    if mode == "ballot":
        s.emit("vote", ("sync", "ballot"), ("b32",), [d, s.reg(p), s.src(mask)])
    elif i.type == PRED:
        s.emit("vote", ("sync", mode), ("pred",), [d, s.reg(p), s.src(mask)])
    else:
        q = s.vreg("%p")
        s.emit("vote", ("sync", mode), ("pred",), [q, s.reg(p), s.src(mask)])
        s.emit("selp", (), (bty(i.type),), [d, Imm(1), Imm(0), q])


def _activemask(s: KernelSelector, i: ir.Instr) -> None:
    s.emit("activemask", (), ("b32",), [s.dst(i)])


def _syncwarp(s: KernelSelector, i: ir.Instr) -> None:
    s.emit("bar", ("warp", "sync"), (), [s.src(i.args[0])])


def _gridsync(s: KernelSelector, i: ir.Instr) -> None:
    s.emit("grid", ("sync",), (), [])


def _trap(s: KernelSelector, i: ir.Instr) -> None:
    s.emit("trap", (), (), [])


def _printf(s: KernelSelector, i: ir.Instr) -> None:
    name = i.attrs.get("sym")
    if name is None:                             # IR without a string symbol: make one
        fmt = i.attrs["fmt"]
        data = (fmt.encode() if isinstance(fmt, str) else bytes(fmt)).rstrip(b"\0") + b"\0"
        name = f"$str{sum(1 for n in s.prog.symbols if n.startswith('$str'))}"
        s.prog.symbols[name] = DataSymbol(name, "const", len(data), 1, data)
    ops = []
    for a in i.args:
        t = a.type
        if t == F32:
            r = s.vreg("%fd")
            s.emit("cvt", (), ("f64", "f32"), [r, s.src(a)])
        elif t == PRED or t.bits < 32:
            r = s.vreg("%r")
            if t == PRED:
                s.emit("selp", (), ("b32",), [r, Imm(1), Imm(0), s.reg(a)])
            else:
                s.emit("cvt", (), ("s32" if t.is_signed else "u32", t.name), [r, s.src(a)])
        else:
            r = s.reg(a)
        ops.append(r)
    s.emit("printf", (), (), [Sym(name), *ops])


def _wide(s: KernelSelector, i: ir.Instr) -> None:
    _, x, y, t, _ = s.plans[i]
    s.emit("mul", ("wide",), (t,), [s.dst(i), s.src(x), s.src(y)])


def _mad(s: KernelSelector, i: ir.Instr) -> None:
    _, a, b, c, _ = s.plans[i]
    d = s.dst(i)
    s.emit("mad", ("lo",), (sty(i.type),), [d, s.src(a), s.src(b), s.src(c)])
    _renorm(s, i, d)


def _mad_wide(s: KernelSelector, i: ir.Instr) -> None:
    _, x, y, t, c, _ = s.plans[i]
    s.emit("mad", ("wide",), (t,), [s.dst(i), s.src(x), s.src(y), s.src(c)])


def _mem(s: KernelSelector, i: ir.Instr) -> None:
    {"load": _load, "store": _store, "atom": _atom}[i.op](s, i)


_GROUP = {**{o: "binary" for o in BINARY_ALU},
          **{o: "unary" for o in ("neg", "not", "abs")},
          **{o: "cmp" for o in COMPARISONS},
          "bitcast": "cvt", "popc": "bits", "clz": "bits", "ffs": "bits", "brev": "bits",
          **{o: "math" for o in ("sqrt", "rsqrt", "rcp", "floor", "ceil", "trunc", "fabs", "fmin", "fmax",
                                 "fma", *_EXT_MATH)}}
_SELECT = {"binary": _binary, "unary": _unary, "cmp": _cmp, "select": _select, "cvt": _cvt, "math": _math,
           "bits": _bits, "mem": _mem, "alias": _alias, "wide": _wide, "mad": _mad, "mad_wide": _mad_wide,
           "addr": _addr, "local": _addr, "sreg": _sreg, "clock": _clock, "bar": _bar, "membar": _membar,
           "shfl": _shfl, "vote": _vote, "activemask": _activemask, "syncwarp": _syncwarp,
           "gridsync": _gridsync, "trap": _trap, "printf": _printf}


def select_kernels(module: ir.Module) -> Program:
    """Program with the module's data symbols and every kernel on virtual registers."""
    prog = Program(filename=module.filename)
    for g in module.globals.values():
        prog.symbols[g.name] = DataSymbol(g.name, g.space, g.size, g.align, g.init, g.dynamic)
    for fn in module.kernels:
        prog.kernels[fn.name] = KernelSelector(prog, module, fn).run()
    return prog
