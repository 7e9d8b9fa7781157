"""Checking calls (a mixin of `vgpu.frontend.check.Checker`): device functions, built-ins resolved to
one overload (math, min/max, abs, atomics, warp shuffles, printf, cooperative groups), and constant
integer expressions.  Each resolved call is recorded as a `CallInfo` in `sema.calls`."""
from __future__ import annotations

import copy

from . import ast as A
from .builtins import TABLE, Builtin
from .ctypes import (COALESCED_GROUP, DOUBLE, ERROR, FLOAT, GRID_GROUP, INT, THREAD_BLOCK, THREAD_GROUP, UINT, VOID, CType, ErrorType, Float, Pointer,
                     StructType, decay, is_arith, is_half, is_integer, promote, qualified, spell, unqual, usual_arith)
from .check_cg import FUNCTOR_NAMES, tile_size
from .check_half2 import has_half2
from .check_template import Template
from .symbols import CallInfo, Func, Var

_CG_COMMON = {"sync", "size", "thread_rank", "num_threads", "is_valid", "dim_threads", "thread_index"}
_CG_MEMBERS = {GRID_GROUP: _CG_COMMON | {"group_dim", "dim_blocks", "block_rank", "num_blocks", "block_index",
                                        "is_cluster_launch", "num_clusters", "cluster_rank"},
               THREAD_BLOCK: _CG_COMMON | {"group_index", "group_dim", "barrier_arrive", "barrier_wait"}}


class CallChecker:
    """Call rules; needs the Checker's `error`, `unsupported`, `expr`, `value`, `convertible`."""

    # -- calls ----------------------------------------------------------------------------------------
    def e_Call(self, e: A.Call) -> CType:
        if isinstance(e.func, A.Member):
            return self.member_call(e)
        if isinstance(e.func, A.TemplateId) and not isinstance(self.lookup(e.func.name), Template):
            short = e.func.name.rsplit("::", 1)[-1]
            if short in ("tiled_partition",) + FUNCTOR_NAMES:
                return self.cg_template_call(e, short)
        if isinstance(e.func, A.Ident) and e.func.name in ("cooperative_groups::tiled_partition", "tiled_partition") \
                and self.lookup(e.func.name) is None and (e.func.name != "tiled_partition" or self.using_cg):
            return self.dynamic_tile(e)
        if isinstance(e.func, A.Ident) and e.func.name in ("cooperative_groups::reduce", "reduce") and \
                self.lookup(e.func.name) is None and (e.func.name != "reduce" or self.using_cg):
            return self.cg_reduce(e)
        if isinstance(e.func, A.TemplateId) and isinstance(self.lookup(e.func.name), Template) and \
                not isinstance(self.lookup(e.func.name).decl, A.FunctionDef):
            t = self.template_type(A.TypeRef(e.func.name, targs=e.func.args, span=e.func.span))
            for a in e.args:
                self.expr(a)
            if isinstance(t, ErrorType):
                return ERROR
            if isinstance(t, StructType) and t.info.ctors:
                return self.temporary(e, t, e.args)           # V<float>(a, b): a constructed temporary
            if e.args:
                self.unsupported(e.span, f"constructing a '{spell(t)}' from arguments is not supported yet")
                return ERROR
            self.sema.calls[e] = CallInfo(TABLE["this_thread_block"], [], t, "construct")
            return t
        if isinstance(e.func, A.TemplateId):
            saved, self._call_args = getattr(self, "_call_args", []), e.args
            for a in e.args:
                self.value(a)
            ft = self.expr(e.func)
            self._call_args = saved
            sym = self.sema.refs.get(e.func)
            if not isinstance(sym, Func):
                return ERROR
            return self.call_func(e, sym, checked=True)
        if isinstance(e.func, A.Ident) and e.func.name in ("surf1Dread", "surf2Dread", "surf3Dread") and \
                self.lookup(e.func.name) is None:      # surf2Dread(&v, s, x, y): CUDA's pointer form
            e.func = A.Ident(f"__vgpu_{e.func.name}_to", span=e.func.span)
        if isinstance(e.func, A.Ident):
            tpl = self.lookup(e.func.name) or self.prelude(e.func.name)
            if isinstance(tpl, Template):
                fn = self.deduced_call(e, tpl)
                if fn is None:
                    return ERROR
                self.sema.refs[e.func] = fn
                e.func.ctype = fn.ctype
                return self.call_func(e, fn, checked=True)
        if not isinstance(e.func, A.Ident):
            self.expr(e.func)
            self.unsupported(e.span, "calls through function pointers are not supported yet")
            return ERROR
        self.callee = e.func
        ft = self.expr(e.func)
        sym = self.sema.refs.get(e.func)
        if isinstance(ft, ErrorType) or sym is None:
            for a in e.args:
                self.expr(a)
            return ERROR
        if isinstance(sym, Func) and len(sym.overloads) > 1:
            for a in e.args:
                self.value(a)
            if any(isinstance(a.ctype, ErrorType) for a in e.args):
                return ERROR
            sym = self.pick_overload(e, sym.overloads)
            if sym is None:
                return ERROR
            self.sema.refs[e.func] = sym
            e.func.ctype = sym.ctype
            return self.call_func(e, sym, checked=True)
        if isinstance(sym, Func):
            return self.call_func(e, sym)
        if isinstance(sym, Builtin) and sym.kind != "var":
            return self.call_builtin(e, sym)
        if isinstance(sym, Var) and isinstance(unqual(ft), StructType):
            return self.call_operator(e, ft)                   # a functor: f.operator()(args)
        for a in e.args:
            self.expr(a)
        self.error(e.func.span, f"called object type '{spell(ft)}' is not a function or function pointer")
        return ERROR

    def arg_count(self, e: A.Call, lo: int, hi: int) -> bool:
        n = len(e.args)
        if lo <= n <= hi:
            return True
        few = n < lo
        self.error(e.span, f"too {'few' if few else 'many'} arguments to function call, expected "
                           f"{'at least ' if few and hi > lo else 'at most ' if not few and hi > lo else ''}"
                           f"{lo if few else hi}, have {n}")
        return False

    def call_func(self, e: A.Call, fn: Func, checked: bool = False) -> CType:
        caller = self.func
        if fn.kind == "kernel":
            self.unsupported(e.span, f"calling a __global__ function ('{fn.name}') from device code is "
                                     "not supported")
        elif caller is not None:
            caller.calls.append((fn, e.func.span))
        if fn.defaults and len(e.args) < len(fn.ctype.params) and \
                all(x is not None for x in fn.defaults[len(e.args):]):
            extra = [copy.deepcopy(x) for x in fn.defaults[len(e.args):]]
            for x in extra:
                self.value(x)
            e.args = list(e.args) + extra
        refs = fn.refs or (False,) * len(fn.ctype.params)
        ts = [decay(a.ctype) if checked else None if r else self.value(a) for a, r in
              zip(e.args, refs + (False,) * len(e.args))]
        params = list(fn.ctype.params)
        if self.arg_count(e, len(params), len(params)):
            seen = [checked or not r for r in refs]
            if any(isinstance(unqual(p), StructType) and unqual(p).info.ctors for p in params):
                for i, (p, a, r) in enumerate(zip(params, e.args, refs)):
                    if r and not seen[i] and p.const and isinstance(unqual(p), StructType):
                        ts[i], seen[i] = decay(self.expr(a)), True      # (checked here, bound below)
                for i, (p, a) in enumerate(zip(params, e.args)):
                    if seen[i] and isinstance(unqual(p), StructType):    # `f(1.0f)` for f(vec3): vec3(1.0f)
                        e.args[i] = self.convert_arg(p, a)
                        ts[i] = decay(e.args[i].ctype)
            for p, a, t, r, c in zip(params, e.args, ts, refs, seen):
                if r:
                    self.bind_ref(p, a, "initialize a parameter of", c)
                else:
                    self.convertible(p, a, t, "initialize a parameter of")
        self.sema.calls[e] = CallInfo(fn, params, fn.ctype.ret)
        if fn.ret_ref:
            return self.deref_call(e, fn.ctype.ret)
        return fn.ctype.ret

    def member_call(self, e: A.Call) -> CType:
        m = e.func
        bt = self.expr(m.base)
        st = unqual(bt.to if m.arrow and isinstance(bt, Pointer) else bt)
        if isinstance(st, StructType) and m.name in (getattr(st.info, "methods", None) or {}):
            return self.method_call(e, st, bt)
        if tile_size(bt) is not None and not m.arrow:
            return self.tile_member_call(e, tile_size(bt))
        if unqual(bt) in (THREAD_GROUP, COALESCED_GROUP) and not m.arrow:
            return self.group_member_call(e, coalesced=unqual(bt) == COALESCED_GROUP)
        for a in e.args:
            self.expr(a)
        m.ctype = ERROR
        if isinstance(bt, ErrorType):
            return ERROR
        if unqual(bt) in (GRID_GROUP, THREAD_BLOCK) and m.name == "sync" and not m.arrow:
            if self.arg_count(e, 0, 0):
                grid = unqual(bt) == GRID_GROUP
                self.sema.calls[e] = CallInfo(TABLE["__syncthreads"], [], VOID,
                                              "gridsync" if grid else "bar", {} if grid else {"mode": "sync"})
            return VOID
        if unqual(bt) in (GRID_GROUP, THREAD_BLOCK) and m.name not in _CG_MEMBERS[unqual(bt)]:
            self.error(m.span, f"no member named '{m.name}' in '{spell(unqual(bt))}'")
        elif unqual(bt) == THREAD_BLOCK and m.name in ("thread_rank", "size", "num_threads") and not e.args:
            self.sema.calls[e] = CallInfo(TABLE["__syncthreads"], [], UINT, "cg_block", {"what": m.name})
            return UINT
        elif unqual(bt) == THREAD_BLOCK and m.name in ("group_index", "thread_index", "group_dim",
                                                       "dim_threads") and not e.args:
            from .ctypes import DIM3, UINT3
            what = {"group_index": "ctaid", "thread_index": "tid", "group_dim": "ntid", "dim_threads": "ntid"}
            self.sema.calls[e] = CallInfo(TABLE["__syncthreads"], [], UINT3, "cg_block", {"what": what[m.name]})
            return DIM3 if what[m.name] == "ntid" else UINT3
        elif unqual(bt) in (GRID_GROUP, THREAD_BLOCK):
            self.unsupported(e.span, f"'{m.name}' of cooperative groups is not supported yet")
        else:
            self.unsupported(e.span, "member function calls are not supported yet")
        return ERROR

    def call_builtin(self, e: A.Call, b: Builtin) -> CType:
        ts = [self.value(a) for a in e.args]
        if any(isinstance(t, ErrorType) for t in ts):
            return ERROR
        kind = b.kind
        if kind == "cgsync":
            if self.arg_count(e, 1, 1) and unqual(ts[0]) in (GRID_GROUP, THREAD_BLOCK):
                grid = unqual(ts[0]) == GRID_GROUP
                self.sema.calls[e] = CallInfo(TABLE["__syncthreads"], [], VOID,
                                              "gridsync" if grid else "bar", {} if grid else {"mode": "sync"})
                return VOID
            if len(e.args) == 1 and tile_size(ts[0]) is not None:       # cg::sync(tile) is tile.sync()
                member = A.Member(e.args[0], "sync", span=e.span)
                call = A.Call(member, [], span=e.span)
                t = self.expr(call)
                self.sema.rewrites[e] = call
                return t
            if len(e.args) == 1:
                self.unsupported(e.span, f"cooperative_groups::sync of a '{spell(ts[0])}' is not supported yet")
            return ERROR
        if kind == "cg":
            if self.arg_count(e, 0, 0):
                self.sema.calls[e] = CallInfo(b, [], b.ret, b.op)
            return b.ret
        if kind == "printf":
            return self.call_printf(e, b, ts)
        if kind in ("fixed", "make"):
            defaults = self.left_out(e, b)
            if defaults is None:
                return ERROR
            info = CallInfo(b, list(b.params), b.ret, b.op, dict(b.attrs), b.ir_ret or b.ret, defaults)
            return self.finish_builtin(e, info, ts)
        if kind in ("math", "minmax", "abs") and any(is_half(t) for t in ts):
            self.error(e.span, f"call to '{b.name}' is ambiguous with argument types "
                               f"({', '.join(spell(t) for t in ts)}): __half converts to several of its overloads")
            return ERROR
        if kind == "math":
            return self.call_math(e, b, ts)
        if kind == "minmax":
            if not self.arg_count(e, 2, 2):
                return ERROR
            if not all(is_arith(t) for t in ts):
                return self.no_match(e, b, ts)
            t = usual_arith(*ts)
            op = ("f" + b.op) if isinstance(t, Float) else b.op
            return self.finish_builtin(e, CallInfo(b, [t, t], t, op, {}, t), ts)
        if kind == "abs":
            if not self.arg_count(e, 1, 1):
                return ERROR
            if not is_arith(ts[0]):
                return self.no_match(e, b, ts)
            t = promote(ts[0])
            return self.finish_builtin(e, CallInfo(b, [t], t, "fabs" if isinstance(t, Float) else "abs", {}, t), ts)
        if kind in ("atomic", "shfl") and has_half2(ts):
            t = self.half2_builtin(e, b.name, ts)
            if t is not None:
                return t
        if kind == "atomic":
            return self.call_atomic(e, b, ts)
        if kind == "shfl":
            defaults = self.left_out(e, b)
            if defaults is None:
                return ERROR
            t = promote(ts[1]) if is_integer(ts[1]) else unqual(ts[1])
            if t not in b.types:
                return self.no_match(e, b, ts)
            params = [b.params[0], t, b.params[2], b.params[3]]
            info = CallInfo(b, params, t, b.op, dict(b.attrs), t, defaults)
            return self.finish_builtin(e, info, ts)
        raise AssertionError(kind)

    def call_math(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        """A math function declared for double (`b.params`): the float overload (float for double, float *
        for double *, attrs['float'] its op if another) when every such argument is float (float *)."""
        n = len(b.params)
        if not self.arg_count(e, n, n):
            return ERROR
        ptr = [isinstance(p, Pointer) for p in b.params]
        if not all(isinstance(t, Pointer) if q else is_arith(t) for t, q in zip(ts, ptr)):
            return self.no_match(e, b, ts)
        floating = [unqual(p.to if q else p) == DOUBLE for p, q in zip(b.params, ptr)]
        single = all(unqual(t.to if q else t) == FLOAT for t, q, f in zip(ts, ptr, floating) if f)
        t = FLOAT if single else DOUBLE
        params = [(Pointer(qualified(t, const=p.to.const)) if q else t) if f else p
                  for p, q, f in zip(b.params, ptr, floating)]
        attrs = dict(b.attrs)
        op = attrs.pop("float", b.op) if single else b.op
        attrs.pop("float", None)
        ret = t if b.ret == DOUBLE else b.ret
        return self.finish_builtin(e, CallInfo(b, params, ret, op, attrs, b.ir_ret or ret), ts)

    def left_out(self, e: A.Call, b: Builtin) -> tuple | None:
        """The default values of the trailing parameters a call to `b` leaves out; None (reported) when
        it has too few or too many arguments."""
        n, d = len(b.params), len(b.defaults)
        if not self.arg_count(e, n - d, n):
            return None
        return b.defaults[len(e.args) - (n - d):]

    def no_match(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        self.error(e.span, f"no matching function for call to '{b.name}' with argument types "
                           f"({', '.join(spell(t) for t in ts)})")
        return ERROR

    def finish_builtin(self, e: A.Call, info: CallInfo, ts: list[CType]) -> CType:
        for p, a, t in zip(info.params, e.args, ts):
            self.convertible(p, a, t, "initialize a parameter of")
        self.sema.calls[e] = info
        return info.ret

    def call_atomic(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        n = 3 if b.attrs == (("op", "cas"),) else 2
        if not self.arg_count(e, n, n):
            return ERROR
        p = ts[0]
        if not isinstance(p, Pointer) or unqual(p.to) not in b.types or p.to.const:
            return self.no_match(e, b, ts)
        t = unqual(p.to)
        info = CallInfo(b, [p] + [t] * (n - 1), t, b.op, dict(b.attrs), t)
        return self.finish_builtin(e, info, ts)

    def call_printf(self, e: A.Call, b: Builtin, ts: list[CType]) -> CType:
        if not e.args:
            self.arg_count(e, 1, 1)
            return ERROR
        if not isinstance(e.args[0], A.StringLit):
            self.unsupported(e.args[0].span, "printf with a format that is not a string literal is not "
                                             "supported yet")
            return ERROR
        params = [ts[0]]
        for a, t in zip(e.args[1:], ts[1:]):
            if is_half(t):
                self.error(a.span, "cannot pass object of non-trivial type '__half' through variadic function; "
                                   "call will abort at runtime (print (float)h)")
                return ERROR
            if isinstance(t, Float):
                params.append(DOUBLE)
            elif is_integer(t):
                params.append(promote(t))
            elif isinstance(t, Pointer):
                params.append(t)
            else:
                self.error(a.span, f"cannot pass object of non-trivial type '{spell(t)}' through variadic "
                                   "function; call will abort at runtime" if isinstance(t, StructType)
                           else f"cannot pass expression of type '{spell(t)}' to variadic function")
                return ERROR
        self.sema.calls[e] = CallInfo(b, params, INT, "printf", {"fmt": e.args[0].value})
        return INT
