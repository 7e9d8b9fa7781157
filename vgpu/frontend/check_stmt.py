"""Statements of a .vk function, checked as C does: scopes, conditions of scalar type, break and
continue inside loops or switches, return values against the function's type, switch cases (integer
constants, no duplicates, one default).

In:  a mixin of `check.Checker` (scopes, `expr`/`value`, `convertible`, `const_int`, `error`).
Out: diagnostics; `sema.cases[switch]` -> [(value or None, the Case)].
"""
from __future__ import annotations

from . import ast as A
from .ctypes import ErrorType, Void, is_integer, is_scalar, spell
from ..diagnostics import note_depth


class StmtChecker:
    """Statement checks of the Checker."""

    def stmts(self, items: list) -> None:
        for s in items:
            self.stmt(s)

    def stmt(self, s: A.Stmt) -> None:
        m = getattr(self, "s_" + type(s).__name__, None)
        if m is None:
            self.unsupported(s.span, f"{type(s).__name__} statements are not supported yet")
            return
        try:
            m(s)
        except RecursionError as x:
            note_depth(x, s.span)
            raise

    def s_Compound(self, s: A.Compound) -> None:
        self.push()
        self.stmts(s.items)
        self.pop()

    def s_DeclStmt(self, s: A.DeclStmt) -> None:
        self.declaration(s)

    def s_ExprStmt(self, s: A.ExprStmt) -> None:
        if s.expr is not None:
            self.expr(s.expr)

    def condition(self, e: A.Expr) -> None:
        t = self.value(e)
        if not is_scalar(t) and not isinstance(t, ErrorType):
            self.error(e.span, f"statement requires expression of scalar type ('{spell(t)}' invalid)")

    def s_If(self, s: A.If) -> None:
        self.condition(s.cond)
        self.scoped(s.then)
        if s.other is not None:
            self.scoped(s.other)

    def scoped(self, s: A.Stmt) -> None:
        self.push()
        self.stmt(s)
        self.pop()

    def loop_body(self, s: A.Stmt) -> None:
        self.loops += 1
        self.scoped(s)
        self.loops -= 1

    def s_While(self, s: A.While) -> None:
        self.condition(s.cond)
        self.loop_body(s.body)

    def s_DoWhile(self, s: A.DoWhile) -> None:
        self.loop_body(s.body)
        self.condition(s.cond)

    def s_For(self, s: A.For) -> None:
        self.push()
        if s.init is not None:
            self.stmt(s.init)
        if s.cond is not None:
            self.condition(s.cond)
        if s.step is not None:
            self.expr(s.step)
        self.loop_body(s.body)
        self.pop()

    def s_Break(self, s: A.Break) -> None:
        if not self.loops and not self.switches:
            self.error(s.span, "'break' statement not in loop or switch statement")

    def s_Continue(self, s: A.Continue) -> None:
        if not self.loops:
            self.error(s.span, "'continue' statement not in loop statement")

    def s_Return(self, s: A.Return) -> None:
        fn = self.func
        ret = fn.ctype.ret
        if s.value is None:
            if not isinstance(ret, (Void, ErrorType)):
                self.error(s.span, f"non-void function '{fn.name}' should return a value")
            return
        t = self.value(s.value)
        if isinstance(ret, Void):
            if not isinstance(t, Void):
                self.error(s.value.span, f"void function '{fn.name}' should not return a value")
            return
        self.convertible(ret, s.value, t, "initialize return object of")

    def s_Switch(self, s: A.Switch) -> None:
        t = self.value(s.cond)
        if not is_integer(t) and not isinstance(t, ErrorType):
            self.error(s.cond.span, f"statement requires expression of integer type ('{spell(t)}' invalid)")
        cases: list = []
        self.switches.append(cases)
        self.scoped(s.body)
        self.switches.pop()
        self.sema.cases[s] = cases

    def s_Case(self, s: A.Case) -> None:
        word = "case" if s.value is not None else "default"
        if not self.switches:
            self.error(s.span, f"'{word}' statement not in switch statement")
            if s.value is not None:
                self.expr(s.value)
        else:
            cases = self.switches[-1]
            if s.value is None:
                if any(v is None for v, _ in cases):
                    self.error(s.span, "multiple default labels in one switch")
                cases.append((None, s))
            else:
                self.expr(s.value)
                v = self.const_int(s.value, "case value")
                if v is not None:
                    if any(c == v for c, _ in cases):
                        self.error(s.value.span, f"duplicate case value '{v}'")
                    cases.append((v, s))
        self.stmt(s.body)

    def s_UnsupportedStmt(self, s: A.UnsupportedStmt) -> None:
        self.unsupported(s.span, s.what)
