"""Build SSA directly while walking the AST (Braun et al. 2013, "Simple and Efficient Construction
of Static Single Assignment Form").

In:  calls from the lowering pass: new blocks, emitted instructions, variable writes and reads.
Out: a `Function` in SSA form.  Local variables never become memory: `write(var, v)` records the
     current definition per block; `read(var)` finds it, adding phis at joins; trivial phis are
     removed as soon as a block is sealed (all its predecessors known).

    b = Builder(fn)
    entry = b.block(); b.at(entry); b.seal(entry)
    b.write("i", b.const(S32, 0))
    x = b.emit("add", S32, [b.read("i", S32), b.const(S32, 1)])
"""
from __future__ import annotations

from typing import Any, Hashable

from ..diagnostics import Span
from ..types import PRED, Scalar
from .nodes import Block, Const, Function, Instr, Undef, Value


class Builder:
    def __init__(self, fn: Function):
        self.fn = fn
        self.cur: Block | None = None
        self.span: Span | None = None           # attached to emitted instructions
        self._defs: dict[Hashable, dict[Block, Value]] = {}
        self._types: dict[Hashable, Scalar] = {}
        self._sealed: set[Block] = set()
        self._incomplete: dict[Block, dict[Hashable, Instr]] = {}
        self._count = 0

    # -- blocks -------------------------------------------------------------------------------------
    def block(self, hint: str = "bb") -> Block:
        self._count += 1
        b = Block(f"{hint}{self._count}")
        self.fn.blocks.append(b)
        return b

    def at(self, b: Block) -> None:
        self.cur = b

    @property
    def terminated(self) -> bool:
        """True when the current block already ends in a terminator (code after it is dead)."""
        return self.cur is None or self.cur.terminator is not None

    # -- instructions ---------------------------------------------------------------------------------
    def const(self, t: Scalar, v: int | float | bool) -> Const:
        if t == PRED:
            v = bool(v)
        elif t.is_float:
            v = float(v)
        else:
            v = int(v)
        return Const(t, v)

    def emit(self, op: str, t: Scalar | None, args: list[Value] = (), span: Span | None = None,
             **attrs: Any) -> Instr:
        """Append `op` to the current block.  After a terminator, emits into a fresh unreachable block."""
        if self.terminated:
            dead = self.block("dead")
            self.seal(dead)
            self.cur = dead
        ins = Instr(op, t, list(args), dict(attrs), span or self.span)
        return self.cur.append(ins)

    def _link(self, src: Block, dst: Block) -> None:
        dst.preds.append(src)

    def br(self, cond: Value, then: Block, other: Block) -> None:
        if self.terminated:
            return
        src = self.cur
        if then is other:
            self.emit("jmp", None, targets=[then])
        else:
            self.emit("br", None, [cond], targets=[then, other])
        self._link(src, then)
        if then is not other:
            self._link(src, other)

    def jmp(self, target: Block) -> None:
        if self.terminated:
            return
        src = self.cur
        self.emit("jmp", None, targets=[target])
        self._link(src, target)

    def ret(self, value: Value | None = None) -> None:
        if self.terminated:
            return
        self.emit("ret", None, [value] if value is not None else [])

    # -- variables (Braun et al.) --------------------------------------------------------------------
    def write(self, var: Hashable, value: Value, block: Block | None = None) -> None:
        self._defs.setdefault(var, {})[block or self.cur] = value
        if value.type is not None:
            self._types.setdefault(var, value.type)

    def read(self, var: Hashable, t: Scalar | None = None, block: Block | None = None) -> Value:
        block = block or self.cur
        if t is not None:
            self._types.setdefault(var, t)
        d = self._defs.get(var, {})
        if block in d:
            return d[block]
        return self._read_recursive(var, block)

    def _read_recursive(self, var: Hashable, block: Block) -> Value:
        t = self._types[var]
        if block not in self._sealed:
            phi = self._new_phi(block, t)
            self._incomplete.setdefault(block, {})[var] = phi
            val: Value = phi
        elif len(block.preds) == 1:
            val = self.read(var, None, block.preds[0])
        elif not block.preds:
            val = Undef(t)
        else:
            phi = self._new_phi(block, t)
            self.write(var, phi, block)
            val = self._add_operands(var, phi)
        self.write(var, val, block)
        return val

    def _new_phi(self, block: Block, t: Scalar) -> Instr:
        phi = Instr("phi", t, [], {"blocks": []}, None, block)
        block.instrs.insert(len(block.phis), phi)
        return phi

    def _add_operands(self, var: Hashable, phi: Instr) -> Value:
        for p in phi.block.preds:
            phi.args.append(self.read(var, None, p))
            phi.attrs["blocks"].append(p)
        return self._remove_trivial(phi)

    def _remove_trivial(self, phi: Instr) -> Value:
        same: Value | None = None
        for a in phi.args:
            if a is same or a is phi:
                continue
            if same is not None:
                return phi
            same = a
        if same is None:
            same = Undef(phi.type)
        users = [u for u in self._users(phi) if u is not phi]
        self._replace(phi, same)
        for u in users:
            if u.op == "phi" and u.block is not None and u.block in self._sealed and u not in self._pending():
                self._remove_trivial(u)
        return same

    def _users(self, v: Value) -> list[Instr]:
        return [i for b in self.fn.blocks for i in b.instrs if any(a is v for a in i.args)]

    def _replace(self, old: Instr, new: Value) -> None:
        for b in self.fn.blocks:
            for i in b.instrs:
                i.args = [new if a is old else a for a in i.args]
        for defs in self._defs.values():
            for blk, v in list(defs.items()):
                if v is old:
                    defs[blk] = new
        if old.block is not None and old in old.block.instrs:
            old.block.instrs.remove(old)
        old.block = None

    def _pending(self) -> set[Instr]:
        return {p for inc in self._incomplete.values() for p in inc.values()}

    def seal(self, block: Block) -> None:
        """Declare that all predecessors of `block` are known."""
        if block in self._sealed:
            return
        self._sealed.add(block)
        for var, phi in self._incomplete.pop(block, {}).items():
            if phi.block is not None:
                self._add_operands(var, phi)

    def finish(self) -> Function:
        """Seal every block, drop blocks unreachable from the entry, and return the function."""
        for b in list(self.fn.blocks):
            self.seal(b)
        from .cfg import remove_unreachable
        remove_unreachable(self.fn)
        return self.fn
