"""Checking expressions (a mixin of `vgpu.frontend.check.Checker`): the type of every expression,
lvalues and assignability, operator typing with the usual arithmetic conversions, implicit
conversions (C++ rules).  Each `e_<Node>` method returns the node's C type; `expr` stores it in
`e.ctype`."""
from __future__ import annotations

from . import ast as A
from ..diagnostics import note_depth
from .builtins import NOT_YET, TABLE, Builtin
from .check_half2 import Half2Checker, is_half2
from .consteval import COMPARE, const_value
from .ctypes import (BOOL, CHAR, DOUBLE, ERROR, FLOAT, INT, LLONG, LONG, PTRDIFF_T, SIZE_T, UINT, ULLONG, ULONG, VOID,
                     Array, Bool, CType, ErrorType, FuncType, Int, Pointer, StructType, Void, decay, is_arith, is_half,
                     is_complete_object, is_integer, is_scalar, promote, qualified, same, sizeof, spell, unqual,
                     usual_arith)
from .symbols import EnumConst, Func, TypeName, Var


class ExprChecker(Half2Checker):
    """Expression rules; needs the Checker's `error`, `unsupported`, `lookup`, `resolve`, `condition`."""

    def value(self, e: A.Expr) -> CType:
        """Check `e` used as a value: arrays decay to pointers, qualifiers drop."""
        t = self.expr(e)
        if isinstance(t, FuncType):
            self.unsupported(e.span, "function pointers are not supported yet")
            return ERROR
        return decay(t)

    def expr(self, e: A.Expr) -> CType:
        m = getattr(self, "e_" + type(e).__name__, None)
        if m is None:
            self.unsupported(e.span, f"{type(e).__name__} expressions are not supported yet")
            t = ERROR
        else:
            try:
                t = m(e)
            except RecursionError as x:
                note_depth(x, e.span)
                raise
        e.ctype = t
        return t

    def e_IntLit(self, e: A.IntLit) -> CType:
        s, v = e.suffix.lower(), e.value
        if not s and e.base == 10 and 0 <= v < 2 ** 31:
            return INT                             # what the search below finds first
        unsigned_ok = e.base != 10 or "u" in s
        order = {"": [INT, LONG, LLONG], "u": [UINT, ULONG, ULLONG], "l": [LONG, LLONG],
                 "ul": [ULONG, ULLONG], "lu": [ULONG, ULLONG], "ll": [LLONG], "ull": [ULLONG],
                 "llu": [ULLONG], "z": [LONG], "uz": [ULONG]}.get(s)
        if order is None:
            self.error(e.span, f"invalid suffix '{e.suffix}' on integer constant")
            return ERROR
        cands = []
        for t in order:
            cands.append(t)
            if unsigned_ok and t.signed:
                cands.append({INT: UINT, LONG: ULONG, LLONG: ULLONG}[t])
        for t in cands:
            if v < 2 ** (8 * t.size - (1 if t.signed else 0)):
                return t
        self.error(e.span, "integer literal is too large to be represented in any integer type")
        return ERROR

    def e_FloatLit(self, e: A.FloatLit) -> CType:
        return FLOAT if e.is_float else DOUBLE

    def e_CharLit(self, e: A.CharLit) -> CType:
        return CHAR

    def e_StringLit(self, e: A.StringLit) -> CType:
        return Array(qualified(CHAR, const=True), len(e.value) + 1)

    def e_Ident(self, e: A.Ident) -> CType:
        sym = self.lookup(e.name)
        if sym is None:
            sym = self.prelude(e.name)
        if sym is None:
            sym = self.special_ident(e)
            if sym is None:
                return ERROR
        self.sema.refs[e] = sym
        if isinstance(sym, Var):
            if sym.storage == "host" and sym.value is None:
                self.error(e.span, f"reference to __host__ variable '{e.name}' in device code")
                return ERROR
            return sym.ctype
        if isinstance(sym, EnumConst):
            return sym.ctype
        if (isinstance(sym, Func) or isinstance(sym, Builtin) and sym.kind != "var") and e is not self.callee:
            self.unsupported(e.span, f"function pointers are not supported yet: call '{e.name}' directly")
            return ERROR
        if isinstance(sym, Func):
            return sym.ctype
        if isinstance(sym, TypeName):
            self.error(e.span, f"unexpected type name '{e.name}': expected expression")
            return ERROR
        if isinstance(sym, Builtin):
            if sym.kind == "var":
                return qualified(sym.ret, const=True) if sym.sregs else sym.ret
            return FuncType(sym.ret, sym.params)
        return ERROR

    def special_ident(self, e: A.Ident):
        name = e.name
        if name in ("true", "false"):
            return EnumConst(name, int(name == "true"), BOOL)
        if name == "nullptr":
            return EnumConst(name, 0, Pointer(VOID))
        short = name.rsplit("::", 1)[-1]
        if name in TABLE:
            return TABLE[name]
        if short in TABLE and TABLE[short].kind == "cg":
            return TABLE[short]
        if name in NOT_YET or short in NOT_YET:
            self.unsupported(e.span, f"'{name}' is not supported yet")
        else:
            self.error(e.span, f"use of undeclared identifier '{name}'")
        return None

    def e_Unary(self, e: A.Unary) -> CType:
        op = e.op
        if op in ("++", "--"):
            return self.incdec(e, op, "prefix")
        if op == "&":
            return self.address_of(e)
        if op == "*":
            t = self.value(e.operand)
            if isinstance(t, ErrorType):
                return ERROR
            if not isinstance(t, Pointer):
                self.error(e.span, f"indirection requires pointer operand ('{spell(t)}' invalid)")
                return ERROR
            if isinstance(t.to, Void):
                self.error(e.span, f"indirection not permitted on operand of type '{spell(t)}'")
                return ERROR
            return t.to
        t = self.value(e.operand)
        if isinstance(t, ErrorType):
            return ERROR
        if is_half2(t):
            return self.half2_unary(e, t)
        if isinstance(t, StructType):
            u = self.user_operator(e, op, [e.operand])
            if u is not None:
                return u
        if op == "!":
            if not is_scalar(t):
                return self.bad_unary(e, t)
            return BOOL
        if (op == "~" and not is_integer(t)) or (op in "+-" and not is_arith(t)):
            return self.bad_unary(e, t)
        return promote(t)

    def bad_unary(self, e: A.Unary, t: CType) -> CType:
        self.error(e.span, f"invalid argument type '{spell(t)}' to unary expression")
        return ERROR

    def e_Postfix(self, e: A.Postfix) -> CType:
        return self.incdec(e, e.op, "postfix")

    def incdec(self, e, op: str, how: str) -> CType:
        t = self.expr(e.operand)
        if isinstance(t, ErrorType):
            return ERROR
        if is_half2(t):
            return self.half2_unary(e, t)
        if isinstance(unqual(t), StructType):
            operands = [e.operand]
            if how == "postfix":                  # `c++` calls operator++(int), with 0 for the int
                operands.append(A.IntLit(0, span=e.span))
                self.value(operands[1])
            u = self.user_operator(e, op, operands)
            if u is not None:
                return u
        if isinstance(unqual(t), Bool):
            self.error(e.span, f"ISO C++17 does not allow {'incrementing' if op == '++' else 'decrementing'} "
                               "expression of type bool")
            return ERROR
        if not (is_arith(t) or isinstance(t, Pointer)):
            self.error(e.span, f"cannot {'increment' if op == '++' else 'decrement'} value of type '{spell(t)}'")
            return ERROR
        self.modifiable(e.operand, t)
        return unqual(t)

    def address_of(self, e: A.Unary) -> CType:
        x = e.operand
        t = self.expr(x)
        if isinstance(t, ErrorType):
            return ERROR
        root = self.root_ident(x)
        if root is not None and isinstance(self.sema.refs.get(root), Builtin):
            self.error(e.span, f"cannot take the address of built-in variable '{root.name}'")
            return ERROR
        if isinstance(t, FuncType):
            self.unsupported(e.span, "function pointers are not supported yet")
            return ERROR
        if not self.is_lvalue(x) and e in self.ref_returns:
            self.error(e.span, f"non-const lvalue reference to type '{spell(unqual(t))}' cannot bind to a temporary "
                               f"of type '{spell(unqual(t))}' (returned by reference)")
            return ERROR
        if not self.is_lvalue(x):
            self.error(e.span, f"cannot take the address of an rvalue of type '{spell(t)}'")
            return ERROR
        if root is not None and isinstance(self.sema.refs.get(root), Var):
            self.sema.refs[root].address_taken = True
        return Pointer(t)

    def root_ident(self, x: A.Expr) -> A.Ident | None:
        """The variable an lvalue designates part of (`s` in `s.a[2].b`), if any."""
        while True:
            if isinstance(x, A.Ident):
                return x
            if isinstance(x, A.Member) and not x.arrow:
                x = x.base
            elif isinstance(x, A.Index) and isinstance(x.base.ctype, Array):
                x = x.base
            else:
                return None

    def is_lvalue(self, x: A.Expr) -> bool:
        r = self.sema.rewrites.get(x)
        if r is not None:                        # an operator, a temporary: an lvalue if a call returning T &
            return isinstance(r, A.Unary) and r.op == "*"
        if isinstance(x, A.Ident):
            return isinstance(self.sema.refs.get(x), Var)
        if isinstance(x, A.Unary):
            return x.op == "*"
        if isinstance(x, A.Index):
            return True
        if isinstance(x, A.Member):
            if isinstance(self.sema.refs.get(x.base), Builtin):
                return False
            return x.arrow or self.is_lvalue(x.base)
        return isinstance(x, A.StringLit)

    def modifiable(self, x: A.Expr, t: CType) -> bool:
        """Report (and return False) unless `x` is an lvalue that may be assigned."""
        if isinstance(t, ErrorType):
            return False
        root = self.root_ident(x)
        sym = self.sema.refs.get(root) if root is not None else None
        if isinstance(sym, Builtin) and sym.kind == "var":
            self.error(x.span, f"cannot assign to variable '{root.name}' with const-qualified type "
                               f"'{spell(qualified(sym.ret, const=True))}'")
            return False
        if not self.is_lvalue(x):
            self.error(x.span, "expression is not assignable")
            return False
        if isinstance(sym, Var) and sym.storage == "const" and x is root:
            # nvcc rejects writing a whole __constant__ variable (element stores compile to a trap)
            self.error(x.span, f"cannot assign to __constant__ variable '{sym.name}' in device code "
                               "(set it from the host)")
            return False
        if isinstance(t, Array):
            self.error(x.span, f"array type '{spell(t)}' is not assignable")
            return False
        if t.const or self.const_member(x):
            if isinstance(sym, Var) and (sym.ctype.const or isinstance(sym.ctype, (StructType, Array))):
                self.error(x.span, f"cannot assign to variable '{sym.name}' with const-qualified type "
                                   f"'{spell(sym.ctype)}'")
            else:
                self.error(x.span, "read-only variable is not assignable")
            return False
        return True

    def const_member(self, x: A.Expr) -> bool:
        while isinstance(x, (A.Member, A.Index)):
            if isinstance(x, A.Member) and x.arrow:
                return x.base.ctype is not None and decay(x.base.ctype).to.const
            x = x.base
            if x.ctype is not None and x.ctype.const:
                return True
        return False

    def e_Binary(self, e: A.Binary) -> CType:
        lt, rt = self.value(e.left), self.value(e.right)
        if isinstance(lt, ErrorType) or isinstance(rt, ErrorType):
            return ERROR
        if isinstance(lt, StructType) or isinstance(rt, StructType):
            u = self.user_operator(e, e.op, [e.left, e.right])
            if u is not None:
                return u
        return self.binary_type(e, e.op, lt, rt, e.left, e.right)

    def binary_type(self, e, op: str, lt: CType, rt: CType, left: A.Expr, right: A.Expr) -> CType:
        """The result type of `left op right` (recording the computation type in optype)."""
        def bad() -> CType:
            self.error(e.span, f"invalid operands to binary expression ('{spell(lt)}' and '{spell(rt)}')")
            return ERROR

        lp, rp = isinstance(lt, Pointer), isinstance(rt, Pointer)
        if (is_half2(lt) or is_half2(rt)) and isinstance(e, A.Binary):
            return self.half2_binary(e, op, lt, rt)
        if (is_half(lt) or is_half(rt)) and op not in ("&&", "||"):
            return self.half_binary(e, op, lt, rt, bad)
        if op in ("&&", "||"):
            if not (is_scalar(lt) and is_scalar(rt)):
                return bad()
            return BOOL
        if op in COMPARE:
            if is_arith(lt) and is_arith(rt):
                self.sema.optype[e] = usual_arith(lt, rt)
                return BOOL
            if lp and rp:
                if not (same(lt.to, rt.to) or isinstance(lt.to, Void) or isinstance(rt.to, Void)):
                    self.error(e.span, f"comparison of distinct pointer types ('{spell(lt)}' and '{spell(rt)}')")
                    return ERROR
            elif lp and self.is_null(right) or rp and self.is_null(left):
                if op not in ("==", "!="):
                    self.error(e.span, f"ordered comparison between pointer and zero "
                                       f"('{spell(lt)}' and '{spell(rt)}')")
                    return ERROR
            else:
                return bad()
            self.sema.optype[e] = Pointer(VOID)
            return BOOL
        if op in ("+", "-") and (lp or rp):
            if lp and rp and op == "-":
                if not same(lt.to, rt.to):
                    self.error(e.span, f"'{spell(lt)}' and '{spell(rt)}' are not pointers to compatible types")
                    return ERROR
                self.complete_pointee(e, lt)
                self.sema.optype[e] = lt
                return PTRDIFF_T
            if lp and is_integer(rt) or rp and is_integer(lt) and op == "+":
                p = lt if lp else rt
                self.complete_pointee(e, p)
                self.sema.optype[e] = p
                return p
            return bad()
        if op in ("<<", ">>"):
            if not (is_integer(lt) and is_integer(rt)):
                return bad()
            t = promote(lt)
            self.sema.optype[e] = t
            return t
        if not (is_arith(lt) and is_arith(rt)):
            return bad()
        if op in ("%", "&", "|", "^") and not (is_integer(lt) and is_integer(rt)):
            return bad()
        t = usual_arith(lt, rt)
        self.sema.optype[e] = t
        return t

    def half_binary(self, e, op: str, lt: CType, rt: CType, bad) -> CType:
        """`a op b` with a __half operand: cuda_fp16.hpp's operators take two __half (+ - * / and the
        comparisons); mixing __half with another arithmetic type matches several overloads in nvcc."""
        if not (is_arith(lt) and is_arith(rt)) or op not in ("+", "-", "*", "/", *COMPARE):
            return bad()
        if not (is_half(lt) and is_half(rt)):
            self.error(e.span, f"use of overloaded operator '{op}' is ambiguous (with operand types "
                               f"'{spell(lt)}' and '{spell(rt)}'): convert one operand")
            return ERROR
        self.sema.optype[e] = unqual(lt)
        return BOOL if op in COMPARE else unqual(lt)

    def complete_pointee(self, e, p: Pointer) -> None:
        if not is_complete_object(p.to):
            self.error(e.span, f"arithmetic on a pointer to an incomplete type '{spell(p.to)}'"
                       if not isinstance(p.to, Void) else "arithmetic on a pointer to void")

    def is_null(self, e: A.Expr) -> bool:
        """A null pointer constant: an integer constant expression with value 0, or nullptr."""
        sym = self.sema.refs.get(e)
        if isinstance(sym, EnumConst) and sym.name == "nullptr":
            return True
        return isinstance(e, (A.IntLit, A.CharLit)) and e.value == 0

    def e_Assign(self, e: A.Assign) -> CType:
        vt = self.value(e.value)
        tt = self.expr(e.target)
        if isinstance(tt, ErrorType) or isinstance(vt, ErrorType):
            return ERROR
        if isinstance(unqual(tt), StructType) and not e.init:
            u = self.user_operator(e, e.op, [e.target, e.value], rtl=True)
            if u is not None:
                return u
        if e.init:
            self.convertible(tt, e.value, vt, "initialize a variable of")
            return unqual(tt)
        if not self.modifiable(e.target, tt):
            return ERROR
        if e.op == "=":
            self.convertible(tt, e.value, vt, "assign")
            return unqual(tt)
        op = e.op[:-1]
        if is_half2(tt) or is_half2(vt):
            return self.half2_assign(e, tt, vt)
        if is_half(tt) and op in ("+", "-", "*", "/") and is_arith(vt):     # __half::operator+=(const __half &)
            self.convertible(tt, e.value, vt, "assign")
            self.sema.optype[e] = unqual(tt)
            return unqual(tt)
        if isinstance(tt, Pointer) and op in ("+", "-") and is_integer(vt):
            self.complete_pointee(e, tt)
            self.sema.optype[e] = tt
            return unqual(tt)
        t = self.binary_type(e, op, decay(tt), vt, e.target, e.value)
        if isinstance(t, ErrorType):
            return ERROR
        if not is_arith(tt):
            self.error(e.span, f"invalid operands to binary expression ('{spell(tt)}' and '{spell(vt)}')")
            return ERROR
        return unqual(tt)

    def convertible(self, dst: CType, e: A.Expr, src: CType, what: str) -> bool:
        """Report unless a value of type `src` converts implicitly to `dst` (C++ rules)."""
        dst, src = unqual(dst), decay(src)
        if isinstance(dst, ErrorType) or isinstance(src, ErrorType):
            return True
        if isinstance(src, StructType) and getattr(src.info, "conversions", None) and not same(dst, src):
            src = self.user_conversion(dst, e, src)
        if isinstance(src, StructType) and not same(dst, src) and self.group_cast(dst, e, src):
            return True
        ok = False
        if is_arith(dst) and is_arith(src):
            ok = True
        elif isinstance(dst, Bool) and isinstance(src, Pointer):
            ok = True
        elif isinstance(dst, Pointer):
            if isinstance(src, Pointer):
                ok = (same(dst.to, src.to) or isinstance(dst.to, Void)) and \
                    (dst.to.const or not src.to.const) and (dst.to.volatile or not src.to.volatile)
            else:
                ok = self.is_null(e)
        elif isinstance(dst, StructType):
            ok = same(dst, src)
        if not ok:
            if what == "assign":
                self.error(e.span, f"assigning to '{spell(dst)}' from incompatible type '{spell(src)}'")
            else:
                self.error(e.span, f"cannot {what} type '{spell(dst)}' with an expression of type "
                                   f"'{spell(src)}'")
        return ok

    def user_conversion(self, dst: CType, e: A.Expr, src: StructType) -> CType:
        """A struct converted by its conversion operator (`operator T *()`): the one giving `dst` exactly,
        else the first whose result converts to it.  Recorded in `sema.conversions`; `e.ctype`
        becomes the operator's result type."""
        convs = src.info.conversions
        pick = next((fn for rt, fn in convs if same(unqual(rt), dst)), None)
        if pick is None:
            pick = next((fn for rt, fn in convs if isinstance(rt, Pointer) and isinstance(dst, Pointer) and
                         same(rt.to, dst.to) or is_arith(rt) and is_arith(dst)), None)
        if pick is None:
            return src
        self.sema.conversions[e] = pick
        if self.func is not None:
            self.func.calls.append((pick, e.span))
        e.ctype = pick.ctype.ret
        return pick.ctype.ret

    def e_Conditional(self, e: A.Conditional) -> CType:
        self.condition(e.cond)
        a, b = self.value(e.then), self.value(e.other)
        if isinstance(a, ErrorType) or isinstance(b, ErrorType):
            return ERROR
        if is_arith(a) and is_arith(b):
            if is_half(a) != is_half(b):
                self.error(e.span, f"ambiguous '?' operation: operand types '{spell(a)}' and '{spell(b)}' "
                                   "convert to each other")
                return ERROR
            t = usual_arith(a, b)
        elif isinstance(a, Void) and isinstance(b, Void):
            t = a
        elif isinstance(a, StructType) and same(a, b):
            t = unqual(a)
        elif isinstance(a, Pointer) and isinstance(b, Pointer) and (same(a.to, b.to) or
                                                                    isinstance(a.to, Void) or isinstance(b.to, Void)):
            to = a.to if not isinstance(a.to, Void) else b.to
            t = Pointer(qualified(unqual(to), a.to.const or b.to.const, a.to.volatile or b.to.volatile))
        elif isinstance(a, Pointer) and self.is_null(e.other):
            t = a
        elif isinstance(b, Pointer) and self.is_null(e.then):
            t = b
        else:
            self.error(e.span, f"incompatible operand types ('{spell(a)}' and '{spell(b)}')")
            return ERROR
        self.sema.optype[e] = t
        return t

    def e_Cast(self, e: A.Cast) -> CType:
        t = self.resolve(e.type)
        s = self.value(e.operand)
        if isinstance(t, ErrorType) or isinstance(s, ErrorType):
            return ERROR
        t = unqual(t)
        ok = isinstance(t, Void) or (is_arith(t) and is_arith(s)) or \
            (isinstance(t, Pointer) and (isinstance(s, Pointer) or is_integer(s))) or \
            (isinstance(s, Pointer) and (isinstance(t, Bool) or (isinstance(t, Int) and t.size == 8))) or \
            (isinstance(t, StructType) and same(t, s))
        if not ok:
            if isinstance(s, Pointer) and isinstance(t, Int):
                self.error(e.span, f"cast from pointer to smaller type '{spell(t)}' loses information")
            else:
                self.error(e.span, f"C-style cast from '{spell(s)}' to '{spell(t)}' is not allowed")
            return ERROR
        return t

    def e_SizeOf(self, e: A.SizeOf) -> CType:
        t = self.resolve(e.operand) if isinstance(e.operand, A.TypeRef) else self.expr(e.operand)
        if isinstance(t, ErrorType):
            return ERROR
        if not is_complete_object(t):
            what = "alignof" if e.align else "sizeof"
            self.error(e.span, f"invalid application of '{what}' to an incomplete type '{spell(t)}'")
            return ERROR
        return SIZE_T

    def e_OffsetOf(self, e: A.OffsetOf) -> CType:
        """`__builtin_offsetof(T, a.b[2])`: a size_t constant, the designated member's offset in T."""
        t = unqual(self.resolve(e.operand))
        if isinstance(t, ErrorType):
            return ERROR
        offset = 0
        for step in e.path:
            if isinstance(step, str):
                if not isinstance(t, StructType):
                    self.error(e.span, f"offsetof requires a struct or union type, not '{spell(t)}'")
                    return ERROR
                if not t.info.complete:
                    self.error(e.span, f"incomplete definition of type '{spell(t)}'")
                    return ERROR
                f = t.info.field(step)
                if f is None:
                    self.error(e.span, f"no member named '{step}' in '{spell(t)}'")
                    return ERROR
                offset, t = offset + f.offset, unqual(f.ctype)
            else:
                self.value(step)
                if not isinstance(t, Array):
                    self.error(step.span, f"subscripted value of type '{spell(t)}' is not an array")
                    return ERROR
                i = self.const_int(step, "an offsetof array index")
                if i is None:
                    return ERROR
                offset, t = offset + i * sizeof(t.elem), unqual(t.elem)
        e.value = offset
        return SIZE_T

    def e_Comma(self, e: A.Comma) -> CType:
        t = ERROR
        for x in e.exprs:
            t = self.value(x)
        return t

    def e_Index(self, e: A.Index) -> CType:
        bt, it = self.value(e.base), self.value(e.index)
        if isinstance(bt, ErrorType) or isinstance(it, ErrorType):
            return ERROR
        if isinstance(bt, StructType):
            u = self.user_operator(e, "[]", [e.base, e.index])
            if u is not None:
                return u
        if isinstance(it, Pointer) and is_integer(bt):
            bt, it = it, bt
        if not isinstance(bt, Pointer):
            self.error(e.span, "subscripted value is not an array, pointer, or vector")
            return ERROR
        if not is_integer(it):
            self.error(e.index.span, "array subscript is not an integer")
            return ERROR
        if not is_complete_object(bt.to):
            self.error(e.span, f"subscript of pointer to incomplete type '{spell(bt.to)}'")
            return ERROR
        return bt.to

    def e_Member(self, e: A.Member) -> CType:
        bt = self.expr(e.base)
        if isinstance(bt, ErrorType):
            return ERROR
        if e.arrow:
            bt = decay(bt)
            if not (isinstance(bt, Pointer) and isinstance(bt.to, StructType)):
                self.error(e.span, f"member reference type '{spell(bt)}' is not a pointer"
                           if not isinstance(bt, Pointer) else
                           f"member reference base type '{spell(bt.to)}' is not a structure or union")
                return ERROR
            st = bt.to
        else:
            if isinstance(bt, Pointer) and isinstance(bt.to, StructType):
                self.error(e.span, f"member reference type '{spell(bt)}' is a pointer; "
                                   "did you mean to use '->'?")
                return ERROR
            if not isinstance(bt, StructType):
                self.error(e.span, f"member reference base type '{spell(bt)}' is not a structure or union")
                return ERROR
            st = bt
        if not st.info.complete:
            self.error(e.span, f"incomplete definition of type '{spell(unqual(st))}'")
            return ERROR
        f = st.info.field(e.name)
        if f is None:
            self.error(e.span, f"no member named '{e.name}' in '{spell(unqual(st))}'")
            return ERROR
        if e.name in st.info.access and (self.func is None or self.func.owner is not st.info):
            self.error(e.span, f"'{e.name}' is a {st.info.access[e.name]} member of '{spell(unqual(st))}'")
        return qualified(f.ctype, st.const, st.volatile)

    # -- constant expressions ----------------------------------------------------------------------------
    def const_int(self, e: A.Expr, what: str) -> int | None:
        """The value of an integer constant expression, or None after reporting it is not one."""
        if isinstance(e.ctype, ErrorType):
            return None
        v = self.const_value(e)
        if v is None or not is_integer(decay(e.ctype)):
            self.error(e.span, f"{what} is not an integer constant expression")
            return None
        return v

    def const_value(self, e: A.Expr):
        return const_value(e, self.sema)
