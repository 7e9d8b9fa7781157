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
        self._forward: dict[Value, Value] = {}            # removed trivial phi -> its replacement
        self._phi_users: dict[Value, list[Instr]] = {}    # value -> the phis using it
        self._fill: list[tuple[Hashable, Instr]] = []     # phis at sealed joins awaiting operands
        self._unfilled: set[Instr] = set()                # phis whose operands are not known yet
        self._draining = False
        self.debug_keys: dict[Hashable, int] = {}          # variable key -> its Function.debug_vars index
        self._open: set[Block] = set()                     # blocks entered before being sealed (loop heads)
        self._dead_root = False                            # a block but the entry entered or sealed without preds
        self._phi_vars: list[tuple[Instr, int]] = []       # phis of debug variables, for their dbgs

    # -- blocks -------------------------------------------------------------------------------------
    def block(self, hint: str = "bb") -> Block:
        self._count += 1
        b = Block(f"{hint}{self._count}")
        self.fn.blocks.append(b)
        return b

    def at(self, b: Block) -> None:
        self.cur = b
        if b not in self._sealed:
            self._open.add(b)
        if not b.preds and b is not self.fn.blocks[0]:
            self._dead_root = True           # code nothing jumps to (yet): maybe unreachable

    @property
    def terminated(self) -> bool:
        """True when the current block already ends in a terminator (code after it is dead)."""
        return self.cur is None or self.cur.terminator is not None

    # -- instructions ---------------------------------------------------------------------------------
    def const(self, t: Scalar, v: int | float | bool) -> Const:
        if t is PRED or t.kind == "pred" and t == PRED:
            v = bool(v)
        elif t.kind == "float":
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
        """The value of `var` in `block` (the current one if None).  A variable defined in the entry
        block alone is that value, without the search, while no block is open (every block above has
        all its predecessors, so no later definition can reach here) and no block but the entry was
        entered or sealed without predecessors (so every block above is reachable from the entry: no
        path from nowhere brings an undefined value): the search would find the same, after dropping
        its trivial phis."""
        block = block or self.cur
        if t is not None:
            self._types.setdefault(var, t)
        d = self._defs.get(var)
        if d:
            v = d.get(block)
            if v is not None:
                return self._resolve(v)
            if len(d) == 1 and not self._open and not self._dead_root:
                v = d.get(self.fn.blocks[0])
                if v is not None:           # defined in the entry alone: what the search would find
                    return self._resolve(v)
        return self._read_recursive(var, block)

    def _resolve(self, v: Value) -> Value:
        """The value standing for v now (a removed trivial phi forwards to its replacement)."""
        while v in self._forward:
            v = self._forward[v]
        return v

    def _read_recursive(self, var: Hashable, block: Block) -> Value:
        """Look the variable up through the predecessors: iteratively along single-predecessor
        chains; a phi at a join gets its operands later, from the worklist drained here."""
        t = self._types[var]
        chain: list[Block] = []
        d = self._defs.setdefault(var, {})
        seen: set[Block] = set()             # a cycle of one-predecessor blocks (unreachable code) ends
        while block in self._sealed and len(block.preds) == 1 and block not in d and block not in seen:
            chain.append(block)              # at a phi, as a join would: it is trivial, so undefined
            seen.add(block)
            block = block.preds[0]
        if block in d:
            val = self._resolve(d[block])
        elif block not in self._sealed:
            val = self._new_phi(block, t, var)
            self._incomplete.setdefault(block, {})[var] = val
            self._unfilled.add(val)
        elif not block.preds:
            val = Undef(t)
        else:
            val = self._new_phi(block, t, var)
            self._unfilled.add(val)
            self._fill.append((var, val))
        for b in chain + [block]:
            self.write(var, val, b)
        self._drain()
        return self._resolve(val)

    def _new_phi(self, block: Block, t: Scalar, var: Hashable = None) -> Instr:
        phi = Instr("phi", t, [], {"blocks": []}, None, block)
        block.instrs.insert(len(block.phis), phi)
        if self.debug_keys:
            d = self.debug_keys.get(var)
            if d is not None:
                self._phi_vars.append((phi, d))
        return phi

    def debug_value(self, var: Hashable, value: Value) -> None:
        """A `dbg` saying that the debug variable keyed `var` (in `debug_keys`) is `value` from here."""
        d = self.debug_keys.get(var)
        if d is not None and not self.terminated:
            self.cur.append(Instr("dbg", None, [value], {"var": d}, self.span))

    def _drain(self) -> None:
        """Give the phis waiting in the worklist their operands, then drop those that are trivial."""
        if self._draining:
            return
        self._draining = True
        while self._fill:
            var, phi = self._fill.pop()
            if phi.block is None:
                continue
            for p in phi.block.preds:
                v = self.read(var, None, p)
                phi.args.append(v)
                phi.attrs["blocks"].append(p)
                self._phi_users.setdefault(v, []).append(phi)
            self._unfilled.discard(phi)
            self._remove_trivial(phi)
        self._draining = False

    def _remove_trivial(self, first: Instr) -> None:
        """Replace phis whose operands are one value (or themselves) by that value, and recheck
        the phis that used them."""
        work = [first]
        while work:
            phi = work.pop()
            if phi.block is None or phi in self._unfilled or phi.block not in self._sealed:
                continue
            phi.args = [self._resolve(a) for a in phi.args]
            same: Value | None = None
            for a in phi.args:
                if a is same or a is phi:
                    continue
                if same is not None:
                    break
                same = a
            else:
                same = same if same is not None else Undef(phi.type)
                # users already replaced themselves handed their users on when they went: carrying
                # them along would make a chain of n phis cost n^2
                users = [u for u in dict.fromkeys(self._phi_users.pop(phi, []))
                         if u is not phi and u.block is not None]
                self._replace(phi, same)
                self._phi_users.setdefault(same, []).extend(users)
                work += users

    def _replace(self, old: Instr, new: Value) -> None:
        """Forward `old` to `new` and delete it; operands are rewritten lazily (read, finish)."""
        self._forward[old] = new
        if old.block is not None and old in old.block.instrs:
            old.block.instrs.remove(old)
        old.block = None

    def seal(self, block: Block) -> None:
        """Declare that all predecessors of `block` are known."""
        if block in self._sealed:
            return
        self._sealed.add(block)
        self._open.discard(block)
        if not block.preds and block is not self.fn.blocks[0]:
            self._dead_root = True
        for var, phi in self._incomplete.pop(block, {}).items():
            self._fill.append((var, phi))
        self._drain()

    def finish(self) -> Function:
        """Seal every block, drop blocks unreachable from the entry, and return the function."""
        for b in list(self.fn.blocks):
            self.seal(b)
        if self._forward:
            for i in self.fn.instructions():
                if any(a in self._forward for a in i.args):
                    i.args = [self._resolve(a) for a in i.args]
        for phi, d in self._phi_vars:                # each surviving phi of a variable says so
            if phi.block is not None:
                phi.attrs["var"] = d
        if self._dead_root:                  # else every block was entered from one above: all reachable
            from .cfg import remove_unreachable
            remove_unreachable(self.fn)
        return self.fn
