"""Check that a Module is well-formed SSA that the later stages may rely on.

In:  a Module (from the front end, the reader or any pass).
Out: None, or CompileError listing every problem, each naming the function, block and instruction:
     block structure (one terminator, at the end; phis first, one operand per predecessor), SSA
     dominance, operand and result types by the OPS table, branch targets, callees, symbols,
     constants in range.
"""
from __future__ import annotations

from collections import Counter
from functools import lru_cache

import numpy as np

from ..diagnostics import CompileError, Diagnostic, Span
from ..types import F32, PRED, SPACES, U32, U64
from .cfg import dominator_intervals, dominator_numbers
from .nodes import Block, Const, Function, Instr, Module, Param, Undef
from .ops import ATOMIC_OPS, OPS, SPECIAL_REGS
from .printer import format_instr

MODES = {"bar": ("sync", "popc", "and", "or"), "shfl": ("idx", "up", "down", "bfly"),
         "vote": ("all", "any", "uni", "ballot")}
LEVELS = ("cta", "gl", "sys")


def verify(module: Module) -> None:
    """Raise CompileError describing every way `module` breaks the IR's rules."""
    problems: list[Diagnostic] = []
    for fn in module.functions.values():
        problems += _Checker(module, fn).run()
    if problems:
        raise CompileError(problems)


@lru_cache(maxsize=None)
def _int_range(t) -> tuple[int, int]:
    info = np.iinfo(t.dtype)
    return int(info.min), int(info.max)


def _dominator_intervals(fn: Function) -> dict[Block, tuple[int, int]]:
    """Each reachable block's (preorder number, last preorder number of its subtree) in the dominator
    tree: a dominates b exactly when b's number lies in a's interval (linear, no deep recursion)."""
    order, idom = dominator_numbers(fn)
    first, size = dominator_intervals(idom)
    return {b: (f, f + n - 1) for b, f, n in zip(order, first, size)}


def _const_ok(c: Const) -> bool:
    """The constant's value is one of its type's."""
    t = c.type
    if t == PRED:
        return c.value in (0, 1)
    if t.is_int:
        lo, hi = _int_range(t)
        return isinstance(c.value, (int, np.integer)) and not isinstance(c.value, bool) and lo <= c.value <= hi
    return isinstance(c.value, float) and (t != F32 or np.isnan(c.value) or float(np.float32(c.value)) == c.value)


_RULES: dict = {}                  # op -> the _Checker function checking its operands (or None)


class _Checker:
    def __init__(self, module: Module, fn: Function):
        self.m, self.fn = module, fn
        self.out: list[Diagnostic] = []

    def error(self, msg: str, block: Block | None = None, ins: Instr | None = None) -> None:
        where = f"in @{self.fn.name}"
        if block is not None:
            where += f", {block.name}"
        if ins is not None:
            where += f", `{_safe_format(ins)}`"
        span = (ins.span if ins is not None else None) or self.fn.span or Span(self.m.filename, 0, 0)
        self.out.append(Diagnostic(span, f"IR {where}: {msg}"))

    def run(self) -> list[Diagnostic]:
        fn = self.fn
        fn.renumber()
        if not fn.blocks:
            self.error("function has no blocks")
            return self.out
        for p in fn.params:
            if p.is_pointer and p.type != U64:
                self.error(f"pointer parameter %{p.name} must be u64, not {p.type}")
            if fn.kind == "kernel" and p.type == PRED:
                self.error(f"kernel parameter %{p.name} cannot be pred (a kernel takes a bool as u8)")
        self.blockset = set(fn.blocks)
        if len(self.blockset) != len(fn.blocks):
            self.error("a block appears twice in the block list")
        self.where = {}                  # instruction -> (its block, its place there)
        for b in fn.blocks:
            self.check_structure(b)
        if self.out:
            return self.out          # the CFG is not trustworthy: stop before dominance
        self.check_preds()
        self.interval = _dominator_intervals(fn)      # exactly the reachable blocks
        self.params = set(fn.params)
        self.consts: dict = {}           # (type, value's class, value) -> _const_ok
        for b in fn.blocks:
            for k, i in enumerate(b.instrs):
                if i.op == "dbg":                # debug information: its value must still exist
                    a = i.args[0] if len(i.args) == 1 else None
                    if a is None or (isinstance(a, Instr) and a.block is None):
                        self.error("dbg names a value that is not in the function", b, i)
                    continue
                self.check_instr(b, i, k)
        return self.out

    # -- blocks -----------------------------------------------------------------------------------------
    def check_structure(self, b: Block) -> None:
        if not b.instrs:
            self.error("empty block (no terminator)", b)
            return
        seen_other = False
        end = len(b.instrs) - 1
        where = self.where
        for k, i in enumerate(b.instrs):
            where[i] = (b, k)
            info = OPS.get(i.op)
            if info is None:
                self.error(f"unknown op '{i.op}'", b, i)
                return
            if i.block is not b:
                self.error("instruction's block field names another block", b, i)
            if i.op == "phi":
                if seen_other:
                    self.error("phi after a non-phi instruction", b, i)
            else:
                seen_other = True
            if info.terminator:
                if k != end:
                    self.error("terminator in the middle of the block", b, i)
                self.check_targets(b, i)
            elif k == end:
                self.error("block does not end with a terminator", b, i)

    def check_targets(self, b: Block, i: Instr) -> None:
        want = {"br": 2, "jmp": 1}.get(i.op, 0)
        targets = i.attrs.get("targets", [])
        if len(targets) != want:
            self.error(f"{i.op} needs {want} target block(s), has {len(targets)}", b, i)
        for t in targets:
            if t not in self.blockset:
                self.error(f"target {getattr(t, 'name', t)} is not a block of this function", b, i)

    def check_preds(self) -> None:
        fn, real = self.fn, {b: [] for b in self.fn.blocks}
        for b in fn.blocks:
            t = b.instrs[-1]               # a terminator (check_structure passed)
            for s in t.attrs.get("targets", ()):
                real[s].append(b)
        if real[fn.entry]:
            self.error("the entry block has predecessors", fn.entry)
        for b in fn.blocks:
            if b.preds != real[b] and Counter(map(id, b.preds)) != Counter(map(id, real[b])):
                self.error(f"preds [{_names(b.preds)}] differ from the CFG's [{_names(real[b])}]", b)
            for phi in b.instrs:
                if phi.op != "phi":
                    break
                blocks = phi.attrs.get("blocks", [])
                if len(blocks) != len(phi.args):
                    self.error(f"phi has {len(phi.args)} operands but {len(blocks)} blocks", b, phi)
                elif blocks != real[b] and Counter(map(id, blocks)) != Counter(map(id, real[b])):
                    self.error(f"phi blocks [{_names(blocks)}] are not the predecessors [{_names(real[b])}]",
                               b, phi)

    # -- instructions -----------------------------------------------------------------------------------
    def check_instr(self, b: Block, i: Instr, pos: int) -> None:
        """Operands (dominance, constants, parameters), then types; `pos`: i's place in b."""
        info = OPS[i.op]
        args = i.args
        if info.nargs is not None and len(args) != info.nargs:
            self.error(f"{i.op} takes {info.nargs} operand(s), has {len(args)}", b, i)
            return
        untyped = False
        for k, a in enumerate(args):
            cls = a.__class__
            if cls is Instr:                    # defined before the use, or in a dominating block
                w = self.where.get(a)
                if w is None or i.op == "phi" or w[0] is not b or w[1] >= pos:
                    self.check_dominance(b, i, k, a, w)
                if a.type is None:
                    self.error(f"operand {k + 1} is an instruction without a value", b, i)
            elif cls is Const:
                v = a.value
                if v.__class__ is int or v.__class__ is float:
                    key = (a.type, v.__class__, v)
                    ok = self.consts.get(key)
                    if ok is None:
                        ok = self.consts[key] = _const_ok(a)
                else:
                    ok = _const_ok(a)
                if not ok:
                    self.error(f"constant {a.value!r} is not a {a.type} value", b, i)
            elif cls is Param:
                if a not in self.params:
                    self.error(f"operand {k + 1} is a parameter of another function", b, i)
            elif cls is not Undef:
                self.error(f"operand {k + 1} is not a value: {a!r}", b, i)
            untyped = untyped or a.type is None
        if info.res == "none" and i.type is not None:
            self.error(f"{i.op} defines no value but has type {i.type}", b, i)
        if info.res == "pred" and i.type is not PRED and i.type != PRED:
            self.error(f"{i.op} yields pred, not {i.type}", b, i)
        if info.res == "type" and i.type is None and i.op not in ("bar", "call"):
            self.error(f"{i.op} needs a result type", b, i)
        if untyped:
            return
        if info.arg == "same":
            for k, a in enumerate(args):
                if a.type is not i.type and a.type != i.type:
                    self.error(f"operand {k + 1} has type {a.type}, expected {i.type}", b, i)
        else:
            rule = _RULES.get(i.op, False)
            if rule is False:         # the class's functions (bound methods kept in self would be a cycle)
                rule = _RULES[i.op] = getattr(_Checker, "op_" + i.op, None) or \
                    getattr(_Checker, "group_" + info.group, None)
            if rule is not None:
                rule(self, b, i)

    def check_dominance(self, b: Block, i: Instr, k: int, a: Instr, w: tuple[Block, int] | None) -> None:
        """Operand k of i (in b), the instruction a (at `w`, its block and place: None when not in
        the function), is defined where it dominates the use (a phi's operand: the end of the block it
        comes from); unreachable uses pass."""
        if w is None:
            self.error(f"operand {k + 1} is an instruction that is not in this function", b, i)
            return
        db, dk = w
        if i.op == "phi":
            blocks = i.attrs.get("blocks", [])
            if k >= len(blocks):
                return
            use_b, use_k = blocks[k], len(blocks[k].instrs)
        else:
            use_b, use_k = b, self.where[i][1]
        use = self.interval.get(use_b)
        if use is None:
            return
        d = self.interval.get(db)
        if d is None or (db is use_b and dk >= use_k) or not d[0] <= use[0] <= d[1]:
            self.error(f"operand {k + 1} (%{a.id}) does not dominate this use", b, i)

    # -- per-op rules for operands that are not all of the result type -----------------------------------
    def want(self, b, i, k: int, t, what: str = "") -> None:
        if k < len(i.args) and i.args[k].type is not t and i.args[k].type != t:
            self.error(f"operand {k + 1}{what} has type {i.args[k].type}, expected {t}", b, i)

    def attr_in(self, b, i, key: str, allowed) -> None:
        if i.attrs.get(key) not in allowed:
            self.error(f"attrs['{key}'] is {i.attrs.get(key)!r}, expected one of {', '.join(allowed)}", b, i)

    def op_shl(self, b, i):
        self.want(b, i, 0, i.type)
        self.want(b, i, 1, U32, " (shift amount)")
        if not i.type.is_int:
            self.error("shifts need an integer type", b, i)

    op_shr = op_shl

    def group_cmp(self, b, i):
        if i.args[0].type != i.args[1].type:
            self.error(f"compared operands differ in type: {i.args[0].type} and {i.args[1].type}", b, i)

    def op_select(self, b, i):
        self.want(b, i, 0, PRED, " (condition)")
        self.want(b, i, 1, i.type)
        self.want(b, i, 2, i.type)

    def op_bitcast(self, b, i):
        if i.args[0].type.bits != i.type.bits:
            self.error(f"bitcast between sizes: {i.args[0].type} to {i.type}", b, i)

    def group_math(self, b, i):
        if not i.args[0].type.is_int or not i.type.is_int:
            self.error(f"{i.op} works on integers", b, i)
        if i.op == "brev":
            self.want(b, i, 0, i.type)

    def op_load(self, b, i):
        self.want(b, i, 0, U64, " (address)")
        self.attr_in(b, i, "space", SPACES)

    def op_store(self, b, i):
        self.want(b, i, 0, U64, " (address)")
        self.attr_in(b, i, "space", SPACES)

    def op_atom(self, b, i):
        self.want(b, i, 0, U64, " (address)")
        self.attr_in(b, i, "space", SPACES)
        self.attr_in(b, i, "op", ATOMIC_OPS)
        n = 3 if i.attrs.get("op") == "cas" else 2
        if len(i.args) != n:
            self.error(f"atom.{i.attrs.get('op')} takes {n} operands, has {len(i.args)}", b, i)
        for k in range(1, len(i.args)):
            self.want(b, i, k, i.type)

    def op_addr(self, b, i):
        if i.attrs.get("sym") not in self.m.globals:
            self.error(f"unknown symbol @{i.attrs.get('sym')}", b, i)
        if i.type != U64:
            self.error("addr yields u64", b, i)

    def op_local(self, b, i):
        size = i.attrs.get("size")
        if not isinstance(size, int) or size <= 0:
            self.error(f"local needs a positive attrs['size'], has {size!r}", b, i)
        if i.type != U64:
            self.error("local yields u64", b, i)

    def op_sreg(self, b, i):
        self.attr_in(b, i, "name", SPECIAL_REGS)

    def op_bar(self, b, i):
        self.attr_in(b, i, "mode", MODES["bar"])
        if i.attrs.get("mode") not in (None, "sync"):
            if not i.args or i.args[-1].type != PRED:
                self.error(f"bar.{i.attrs['mode']} reduces a pred operand", b, i)
            if i.type is None:
                self.error(f"bar.{i.attrs['mode']} yields a value", b, i)

    def op_membar(self, b, i):
        self.attr_in(b, i, "level", LEVELS)

    def op_shfl(self, b, i):
        self.attr_in(b, i, "mode", MODES["shfl"])
        self.want(b, i, 1, i.type, " (value)")

    def op_vote(self, b, i):
        self.attr_in(b, i, "mode", MODES["vote"])
        self.want(b, i, 1, PRED, " (predicate)")
        want = U32 if i.attrs.get("mode") == "ballot" else PRED
        if i.type != want:
            self.error(f"vote.{i.attrs.get('mode')} yields {want}", b, i)

    def op_printf(self, b, i):
        if not isinstance(i.attrs.get("fmt"), (bytes, str)):
            self.error("printf needs attrs['fmt'] (the format bytes)", b, i)

    def op_call(self, b, i):
        name = i.attrs.get("callee")
        callee = self.m.functions.get(name)
        if callee is None or callee.kind != "device":
            self.error(f"call of @{name}, which is not a device function of the module", b, i)
            return
        if len(i.args) != len(callee.params):
            self.error(f"@{name} takes {len(callee.params)} argument(s), given {len(i.args)}", b, i)
            return
        for k, p in enumerate(callee.params):
            self.want(b, i, k, p.type, f" (parameter %{p.name})")
        if i.type != callee.ret_type:
            self.error(f"@{name} returns {callee.ret_type}, the call has type {i.type}", b, i)

    def op_phi(self, b, i):
        for k in range(len(i.args)):
            self.want(b, i, k, i.type)

    def op_br(self, b, i):
        self.want(b, i, 0, PRED, " (condition)")

    def op_ret(self, b, i):
        rt = self.fn.ret_type
        if rt is None and i.args:
            self.error("return with a value from a function returning nothing", b, i)
        elif rt is not None and (len(i.args) != 1 or i.args[0].type != rt):
            self.error(f"the function returns {rt}", b, i)


def _names(blocks) -> str:
    return ", ".join(getattr(b, "name", str(b)) for b in blocks)


def _safe_format(ins: Instr) -> str:
    try:
        return format_instr(ins)
    except Exception:        # malformed beyond printing: fall back to the op name
        return f"{ins.op} ..."
