"""The C++ operators cuda_fp16.hpp defines on __half2, a base of `vgpu.frontend.check_expr.ExprChecker`.

In:  a Binary, Unary or compound Assign whose operand is a __half2 (already checked once).
Out: its type; the expression is rewritten (`sema.rewrites[e]`) to the call of the <cuda_fp16.h> function the
     operator stands for, as in nvcc's header: `a + b` is `__hadd2(a, b)`, `-a` is `__hneg2(a)`, `a == b` is
     `__hbeq2(a, b)` (a bool: both lanes), `a != b` is `__hbneu2(a, b)`, `a += b` is `a = __hadd2(a, b)`.
     Mixing a __half2 with another type is an error (nvcc has no such overload).  atomicAdd and
     __shfl_*_sync on a __half2 become calls of the header's __vgpu_atomicAdd_half2, __vgpu_shfl_sync_half2...
     (also `sema.rewrites[e]`)."""
from __future__ import annotations

from . import ast as A
from .ctypes import ERROR, HALF2, CType, ErrorType, Pointer, StructType, decay, spell, unqual

_BINARY = {"+": "__hadd2", "-": "__hsub2", "*": "__hmul2", "/": "__h2div", "==": "__hbeq2", "!=": "__hbneu2",
           "<": "__hblt2", ">": "__hbgt2", "<=": "__hble2", ">=": "__hbge2"}


def is_half2(t: CType) -> bool:
    t = unqual(t)
    return isinstance(t, StructType) and t.info is HALF2.info


def has_half2(ts: list[CType]) -> bool:
    """Whether a builtin's argument types hold a __half2 or a pointer to one."""
    return any(is_half2(t) or isinstance(decay(t), Pointer) and is_half2(decay(t).to) for t in ts)


def _pure(e) -> bool:
    """An expression evaluated twice without a difference: no call, assignment, ++ or --."""
    if isinstance(e, (A.Call, A.Assign, A.Postfix)) or isinstance(e, A.Unary) and e.op in ("++", "--"):
        return False
    if isinstance(e, list):
        return all(_pure(x) for x in e)
    if isinstance(e, A.Expr):
        return all(_pure(v) for k, v in vars(e).items() if k not in ("span", "ctype"))
    return True


class Half2Checker:
    """Needs the Checker's `error`, `unsupported`, `expr`, `sema`."""

    def half2_call(self, e, name: str, args: list) -> CType:
        call = A.Call(A.Ident(name, span=e.span), list(args), span=e.span)
        t = self.expr(call)
        if isinstance(t, ErrorType):
            return ERROR
        self.sema.rewrites[e] = call
        return t

    def half2_builtin(self, e: A.Call, name: str, ts: list[CType]) -> CType | None:
        """atomicAdd and __shfl_*_sync on a __half2: the <cuda_fp16.h> function on its 32 bits; None when
        `name` has no __half2 overload."""
        if name not in ("atomicAdd", "__shfl_sync", "__shfl_up_sync", "__shfl_down_sync", "__shfl_xor_sync"):
            return None
        args = list(e.args)
        if name != "atomicAdd" and len(args) == 3:
            args.append(A.IntLit(32, "", 10, "32", span=e.span))
        new = A.Call(A.Ident(f"__vgpu_{name.strip('_')}_half2", span=e.func.span), args, span=e.span)
        t = self.expr(new)
        if isinstance(t, ErrorType):
            return ERROR
        self.sema.rewrites[e] = new
        return t

    def half2_binary(self, e, op: str, lt: CType, rt: CType) -> CType:
        if not (is_half2(lt) and is_half2(rt)) or op not in _BINARY:
            self.error(e.span, f"invalid operands to binary expression ('{spell(lt)}' and '{spell(rt)}')")
            return ERROR
        return self.half2_call(e, _BINARY[op], [e.left, e.right])

    def half2_unary(self, e: A.Unary, t: CType) -> CType:
        if e.op == "-":
            return self.half2_call(e, "__hneg2", [e.operand])
        if e.op == "+":                         # the operand itself
            self.sema.rewrites[e] = e.operand
            return unqual(t)
        if isinstance(e, A.Unary) and e.op in ("++", "--") and _pure(e.operand):     # x = x +/- 1.0 (both lanes)
            one = A.Call(A.Ident("__float2half2_rn", span=e.span), [A.FloatLit(1.0, True, "1.0f", span=e.span)],
                         span=e.span)
            return self.half2_rewrite(e, e.operand, "+" if e.op == "++" else "-", one)
        if e.op in ("++", "--"):
            self.unsupported(e.span, f"'{e.op}' on a __half2 as postfix or on a place with side effects is not "
                                     "supported yet (write x = __hadd2(x, __float2half2_rn(1.0f)))")
            return ERROR
        self.error(e.span, f"invalid argument type '{spell(t)}' to unary expression")
        return ERROR

    def half2_assign(self, e: A.Assign, tt: CType, vt: CType) -> CType:
        op = e.op[:-1]
        if not (is_half2(tt) and is_half2(vt)) or op not in ("+", "-", "*", "/"):
            self.error(e.span, f"invalid operands to binary expression ('{spell(tt)}' and '{spell(vt)}')")
            return ERROR
        if not _pure(e.target):
            self.unsupported(e.span, f"'{e.op}' on a __half2 whose place has side effects is not supported "
                                     "yet (write x = __hadd2(x, y))")
            return ERROR
        return self.half2_rewrite(e, e.target, op, e.value)

    def half2_rewrite(self, e, target: A.Expr, op: str, value: A.Expr) -> CType:
        """`e` computed as `target = OP2(target, value)`."""
        call = A.Call(A.Ident(_BINARY[op], span=e.span), [target, value], span=e.span)
        new = A.Assign("=", target, call, span=e.span)
        t = self.expr(new)
        if isinstance(t, ErrorType):
            return ERROR
        self.sema.rewrites[e] = new
        return t
