"""Lowering C++ and cooperative-groups constructs (tier 4), a mixin of `vgpu.frontend.lower.FunctionLowering`:
the address a reference holds, thread_block members from special registers, cg::reduce over a tile."""
from __future__ import annotations

from . import ast as A
from .ctypes import CType, same, scalar_of, unqual
from .places import Mem
from .symbols import CallInfo
from .. import ir
from .. import types as T


class CGLowering:
    """Needs the FunctionLowering's `b`, `m`, `value`, `conv`, `place`, `is_place`, `assign`, `local_slot`,
    `cmp`."""

    def ref_address(self, e: A.Expr, t: CType) -> ir.Value:
        """The address a reference to `t` bound to `e` holds: the lvalue's own, or a temporary's."""
        if self.is_place(e) and same(unqual(e.ctype), unqual(t)):
            place = self.place(e)
            if isinstance(place, Mem):
                return place.addr
            raise self.m.fail(e.span, "binding a reference to this object is not supported yet")
        slot = self.local_slot("ref.tmp", t)
        self.assign(Mem(slot, t), self.conv(self.value(e), e.ctype, t))
        return slot

    def cg_reduce(self, e: A.Call, info: CallInfo):
        """cg::reduce over a tile of n: op(own, shfl_down(own, k)) for k = n/2 ... 1, then rank 0's result
        broadcast to the tile (CUDA's coalesced_reduce)."""
        b, n, t = self.b, info.attrs["n"], info.ret
        s = scalar_of(t)
        self.value(e.args[0])
        cur = self.conv(self.value(e.args[1]), e.args[1].ctype, t)
        self.value(e.args[2])
        act = b.emit("activemask", T.U32)
        if n == 32:
            mask = act
        else:                                   # the active lanes when they hold the tile: see check_cg
            lane = b.emit("sreg", T.U32, name="laneid")
            base = b.emit("and", T.U32, [lane, ir.Const(T.U32, 32 - n)])
            tile = b.emit("shl", T.U32, [ir.Const(T.U32, (1 << n) - 1), base])
            whole = self.cmp("eq", b.emit("and", T.U32, [act, tile]), tile)
            mask = b.emit("select", T.U32, [whole, act, tile])

        def shfl(v, lane_arg, mode):
            ins = b.emit("shfl", s, [mask, v, ir.Const(T.U32, lane_arg), ir.Const(T.S32, n)])
            ins.attrs["mode"] = mode
            return ins

        op = info.attrs["op"]
        k = n // 2
        while k >= 1:
            other = shfl(cur, k, "down")
            if op == "plus":
                cur = b.emit("add", s, [cur, other])
            elif op in ("less", "greater"):         # less: a < b ? a : b; greater: a < b ? b : a
                lt = self.cmp("lt", cur, other)
                cur = b.emit("select", s, [lt, cur, other] if op == "less" else [lt, other, cur])
            else:
                cur = b.emit({"bit_and": "and", "bit_or": "or", "bit_xor": "xor"}[op], s, [cur, other])
            k //= 2
        return shfl(cur, 0, "idx")

    def cg_block(self, what: str):
        """thread_block members: thread_rank() = x + y*X + z*X*Y, size() = X*Y*Z, or a dim3 of sregs."""
        b = self.b
        if what in ("ctaid", "tid", "ntid"):
            return [b.emit("sreg", T.U32, name=f"{what}.{c}") for c in "xyz"]
        nx, ny, nz = (b.emit("sreg", T.U32, name=f"ntid.{c}") for c in "xyz")
        if what in ("size", "num_threads"):
            return b.emit("mul", T.U32, [b.emit("mul", T.U32, [nx, ny]), nz])
        tx, ty, tz = (b.emit("sreg", T.U32, name=f"tid.{c}") for c in "xyz")
        row = b.emit("add", T.U32, [b.emit("mul", T.U32, [tz, ny]), ty])
        return b.emit("add", T.U32, [b.emit("mul", T.U32, [row, nx]), tx])
