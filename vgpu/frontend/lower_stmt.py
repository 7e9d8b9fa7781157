"""Lowering statements to IR blocks (a mixin of `vgpu.frontend.lower.FunctionLowering`): local
declarations with their initialisers, if/else, the three loops, break/continue, return, switch.
Needs the function lowering's builder `b`, `value`, `branch`, `conv`, `var_place` and `assign`."""
from __future__ import annotations

from . import ast as A
from .consteval import to_int_type
from .ctypes import INT, Array, CType, StructType, Void, has_union, leaves, promote, scalar_of, unqual
from .places import Mem
from .. import types as T
from ..diagnostics import note_depth
from ..ir import nodes as ir


class StmtLowering:
    def stmt(self, s: A.Stmt) -> None:
        saved = self.b.span
        self.b.span = s.span
        try:
            getattr(self, "s_" + type(s).__name__)(s)
        except RecursionError as x:
            note_depth(x, s.span)
            raise
        self.b.span = saved

    def s_FunctionDef(self, s: A.FunctionDef) -> None:
        """A function prototype inside a function declares it; nothing runs."""

    def s_Compound(self, s: A.Compound) -> None:
        self.scopes.append((s.span.file, s.span.line, s.end_line or s.span.line))
        for x in s.items:
            self.stmt(x)
        self.scopes.pop()

    def s_StaticAssert(self, s: A.StaticAssert) -> None:
        pass                                      # checked at compile time

    def s_ExprStmt(self, s: A.ExprStmt) -> None:
        if s.expr is not None:
            self.value(s.expr)

    def s_DeclStmt(self, s: A.DeclStmt) -> None:
        for d in s.decls:
            if isinstance(d, A.VarDecl):
                self.local_decl(d)

    def local_decl(self, d: A.VarDecl) -> None:
        v = self.sema.vars[d]
        if v.storage != "local":
            return
        self.b.span = d.span
        t = unqual(v.ctype)
        if v.ref:
            self.b.write((v, "ref"), self.ref_address(d.init, v.ctype))
            return
        place = self.var_place(v)
        if d in self.sema.ctor_inits:                  # a constructor, or a copy
            self.value(self.sema.ctor_inits[d])
            return
        if d.init is None:
            return
        items = self.sema.inits.get(d)
        if items is None:
            self.assign(place, self.conv(self.value(d.init), d.init.ctype, t))
            return
        # an initializer list (or a string for a char array): the leaves it names, zero elsewhere
        if has_union(t):                         # zero the bytes, then write what the list names
            self.assign(place, [self.init_leaf(lt, None) for _, lt in leaves(t)])
            for off, lt, x in items:
                self.assign(Mem(self.offset(place.addr, off), lt),
                            self.value(x) if isinstance(unqual(lt), StructType) else self.init_leaf(lt, x))
            return
        vals = {}
        for off, lt, x in items:
            if isinstance(unqual(lt), StructType):
                for (o2, _), leaf in zip(leaves(lt, off), self.value(x)):
                    vals[o2] = leaf
            else:
                vals[off] = self.init_leaf(lt, x)
        full = [vals[off] if off in vals else self.init_leaf(lt, None) for off, lt in leaves(t)]
        self.assign(place, full if isinstance(t, (StructType, Array)) else full[0])

    def init_leaf(self, t: CType, x) -> ir.Value:
        if x is None:
            return self.conv(ir.Const(T.S32, 0), INT, t)
        if isinstance(x, int):
            return self.conv(ir.Const(T.S32, x), INT, t)
        return self.conv(self.value(x), x.ctype, t)

    def s_If(self, s: A.If) -> None:
        b = self.b
        then, end = b.block("if.then"), b.block("if.end")
        other = b.block("if.else") if s.other is not None else end
        self.branch(s.cond, then, other)
        b.seal(then)
        b.at(then)
        self.stmt(s.then)
        b.jmp(end)
        if s.other is not None:
            b.seal(other)
            b.at(other)
            self.stmt(s.other)
            b.jmp(end)
        b.seal(end)
        b.at(end)

    def loop(self, body_stmt: A.Stmt, body: ir.Block, cont: ir.Block, end: ir.Block) -> None:
        self.breaks.append(end)
        self.continues.append(cont)
        self.b.at(body)
        self.stmt(body_stmt)
        self.breaks.pop()
        self.continues.pop()

    def s_While(self, s: A.While) -> None:
        b = self.b
        head, body, end = b.block("while.cond"), b.block("while.body"), b.block("while.end")
        b.jmp(head)
        b.at(head)
        self.branch(s.cond, body, end)
        b.seal(body)
        self.loop(s.body, body, head, end)
        b.jmp(head)
        b.seal(head)
        b.seal(end)
        b.at(end)

    def s_For(self, s: A.For) -> None:
        self.scopes.append((s.span.file, s.span.line, getattr(s.body, "end_line", 0) or s.body.span.line))
        self._for(s)
        self.scopes.pop()

    def _for(self, s: A.For) -> None:
        b = self.b
        if s.init is not None:
            self.stmt(s.init)
        head, body, step, end = b.block("for.cond"), b.block("for.body"), b.block("for.inc"), b.block("for.end")
        b.jmp(head)
        b.at(head)
        if s.cond is not None:
            self.branch(s.cond, body, end)
        else:
            b.jmp(body)
        b.seal(body)
        self.loop(s.body, body, step, end)
        b.jmp(step)
        b.seal(step)
        b.at(step)
        if s.step is not None:
            self.value(s.step)
        b.jmp(head)
        b.seal(head)
        b.seal(end)
        b.at(end)

    def s_DoWhile(self, s: A.DoWhile) -> None:
        b = self.b
        body, cond, end = b.block("do.body"), b.block("do.cond"), b.block("do.end")
        b.jmp(body)
        self.loop(s.body, body, cond, end)
        b.jmp(cond)
        b.seal(cond)
        b.at(cond)
        self.branch(s.cond, body, end)
        b.seal(body)
        b.seal(end)
        b.at(end)

    def s_Break(self, s: A.Break) -> None:
        self.b.jmp(self.breaks[-1])

    def s_Continue(self, s: A.Continue) -> None:
        self.b.jmp(self.continues[-1])

    def s_Return(self, s: A.Return) -> None:
        b = self.b
        ret = self.func.ctype.ret
        if s.value is None:
            b.ret(None if isinstance(ret, Void) else ir.Undef(scalar_of(ret)))
            return
        v = self.conv(self.value(s.value), s.value.ctype, ret)
        if isinstance(ret, StructType):
            self.assign(Mem(self.sret, ret), v)
            v = None
        b.ret(v)

    def s_Switch(self, s: A.Switch) -> None:
        b = self.b
        pt = promote(s.cond.ctype)
        v = self.conv(self.value(s.cond), s.cond.ctype, pt)
        cases = self.sema.cases[s]
        end = b.block("sw.end")
        default = end
        for value, case in cases:
            blk = self.case_blocks[case] = b.block("sw.default" if value is None else "sw.case")
            if value is None:
                default = blk
        for value, case in cases:
            if value is None:
                continue
            nxt = b.block("sw.next")
            c = ir.Const(scalar_of(pt), to_int_type(value, pt))
            b.br(self.cmp("eq", v, c), self.case_blocks[case], nxt)
            b.seal(nxt)
            b.at(nxt)
        b.jmp(default)
        dead = b.block("sw.body")
        b.seal(dead)
        b.at(dead)
        self.breaks.append(end)
        self.stmt(s.body)
        self.breaks.pop()
        b.jmp(end)
        for _, case in cases:
            b.seal(self.case_blocks[case])
        b.seal(end)
        b.at(end)

    def s_Case(self, s: A.Case) -> None:
        blk = self.case_blocks[s]
        self.b.jmp(blk)
        self.b.at(blk)
        self.stmt(s.body)
