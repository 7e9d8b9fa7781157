"""Lowering calls of device functions and the initialisations the checker resolved (a mixin of
`vgpu.frontend.lower.FunctionLowering`).

In:  a Call of a `Func` (its CallInfo), an `A.Construct` (its `sema.constructs` entries).
Out: the call's arguments (one per scalar leaf of a struct, the address of what a reference binds to,
     evaluated right to left for C++'s `a = b` and `a op= b` operators), the `.sret` slot of a struct
     result; a Construct runs its constructor calls, copies, loops, and zeroes what value-initialises.
Needs the function lowering's builder `b`, `value`, `conv`, `place`, `assign`, `read`, `local_slot`,
`ref_address`, `stmt`.
"""
from __future__ import annotations

from . import ast as A
from .ctypes import INT, Array, StructType, Void, leaves, scalar_of, unqual
from .places import Mem
from .symbols import CallInfo, Func
from .. import types as T
from ..ir import nodes as ir


class CallLowering:
    def call_func(self, e: A.Call, info: CallInfo):
        fn: Func = info.target
        refs = fn.refs or (False,) * len(info.params)
        order = list(zip(e.args, info.params, refs))
        rtl = info.attrs.get("rtl")               # `a = b`, `a += b` (overloaded): b first, as C++17
        vals = []
        for a, p, r in reversed(order) if rtl else order:
            if r:
                vals.append([self.ref_address(a, p)])
                continue
            v = self.conv(self.value(a), a.ctype, p)
            vals.append(v if isinstance(unqual(p), StructType) else [v])
        args = [x for v in (reversed(vals) if rtl else vals) for x in v]
        ret = info.ret
        slot = None
        if isinstance(ret, StructType):
            slot = self.local_slot(f"{fn.name}.ret", ret)
            args.insert(0, slot)
        t = None if isinstance(ret, (Void, StructType)) else scalar_of(ret)
        v = self.b.emit("call", t, args, callee=fn.name)
        if slot is not None:
            return self.read(Mem(slot, ret))
        return v if t is not None else None

    def e_Construct(self, e: A.Construct):
        """An initialisation the checker resolved: constructor calls, copies, zeroing, loops."""
        for x in self.sema.constructs.get(e, ()):
            if isinstance(x, tuple):                        # ('zero', target), ('list', target, leaves)
                place = self.place(x[1])
                t = unqual(place.ctype)
                vals = {}
                for off, lt, v in x[2] if x[0] == "list" else ():
                    if isinstance(unqual(lt), StructType):
                        vals.update((o2, leaf) for (o2, _), leaf in zip(leaves(lt, off), self.value(v)))
                    else:
                        vals[off] = self.init_leaf(lt, v)
                full = [vals[off] if off in vals else self.conv(ir.Const(T.S32, 0), INT, lt) for off, lt in leaves(t)]
                self.assign(place, full if isinstance(t, (StructType, Array)) else full[0])
            elif isinstance(x, A.Stmt):
                self.stmt(x)
            else:
                self.value(x)
        return None
