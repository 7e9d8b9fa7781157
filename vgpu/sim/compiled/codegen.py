"""LLVM IR for one kernel: `i32 warp(i64* ctx, i64* ws)` runs one warp from where it stands.

In:  a `Program`, a `KernelCode`, its `layout.Layout`.
Out: an llvmlite `ir.Module` holding `warp` (and its helpers).  The function runs the warp whose
     state `ws` points at (top of SIMT stack pc/rpc/mask, alive lanes, the stack, the registers) until
     it exits (returns 0), arrives at a block barrier (1, state saved, resumed by the driver after the
     release) or meets something only the interpreter reproduces (2: a fault, a divergent barrier, a
     warp-sync that must wait for other paths, trap, the instruction budget; ctx[BAIL_*] say which).

A warp's 32 lanes are <32 x T> vectors; every instruction writes only the active lanes (select on the
mask).  The SIMT stack is the interpreter's (vgpu.sim's WarpStacks, same divergence, reconvergence at
the `KernelCode.reconv` pcs, same exits), so per-pc warp and thread issue counts are identical.
Memory instructions loop over the active lanes in lane order with the interpreter's checks.
"""
from __future__ import annotations

from llvmlite import ir

from ...isa import spec
from ...isa.program import Imm, KernelCode, Program, Reg, SReg, Sym
from . import alu
from .alu import F32, F64, I1, I8, I16, I32, I64, N, splat, vec
from .layout import WS_HEADER, Layout, reg_class

# ctx words (i64)
(C_ARENA, C_GSTARTS, C_GENDS, C_GCOUNT, C_CONST, C_CSTARTS, C_CENDS, C_CCOUNT, C_SHARED, C_SHARED_BYTES,
 C_LOCAL, C_LPAD, C_LOCAL_BYTES, C_PARAMS, C_OPW, C_OPT, C_DIV, C_SYMTAB, C_BUDGET, C_CTAID, C_CTAID_Y,
 C_CTAID_Z, C_NTID, C_NTID_Y, C_NTID_Z, C_NCTAID, C_NCTAID_Y, C_NCTAID_Z, C_SMID, C_NSMID, C_WARPID,
 C_RED_COUNT, C_RED_TOTAL, C_ATOMICS, C_BAIL_PC, C_BAIL_WHY, C_GLO, C_GHI, C_CLO, C_CHI, C_ALIVE0,
 C_WPB) = range(42)
C_LOG, C_LOGN, C_LOGCAP = 45, 46, 47      # the undo log of global stores (driver uses 42-44)
C_STEPS = 48                               # per-warp instruction budget of a wave (max_steps)
C_MT = 49                                  # 1: other threads run waves of this launch (atomics atomic, logged as inverses)
UNDO_KIND = {"add": 1, "xor": 2}          # undo-log kinds (size + 256 * kind) of atomics logged as inverses
C_SITES = 50                               # per pc: the global allocation [lo, hi) its access last hit
C_PRIV_LO, C_PRIV_HI, C_PRIV_BUF = 52, 53, 54   # a global allocation whose atomics go to this thread's copy
C_PRIV_REFUSED = 55                        # set when another access met that allocation (threads.Atomics)
C_RLOG, C_RLOGN, C_RLOGCAP = 56, 57, 58   # the undo log's records of whole-warp stores (undo.py)
CTX_WORDS = 64
REGS_IN_WS_FROM = 400                       # from this many instructions, registers stay in ws (KernelGen.alloc_regs)
# ws words (i64)
W_PC, W_RPC, W_MASK, W_ALIVE, W_DEPTH, W_WAIT, W_WIDX, W_BARPRED, W_ICOUNT, W_TOTAL = range(10)
W_STACK = WS_HEADER
# bail reasons
B_FAULT, B_DIVERGENT_BARRIER, B_WARP_SYNC, B_TRAP, B_BUDGET, B_STACK, B_LOG = range(1, 8)

SPACE = {None: 0, "shared": 1, "local": 2, "const": 3, "global": 4, "param": 5}
_SREG_CTX = {"%ctaid.x": C_CTAID, "%ctaid.y": C_CTAID_Y, "%ctaid.z": C_CTAID_Z, "%ntid.x": C_NTID,
             "%ntid.y": C_NTID_Y, "%ntid.z": C_NTID_Z, "%nctaid.x": C_NCTAID, "%nctaid.y": C_NCTAID_Y,
             "%nctaid.z": C_NCTAID_Z, "%smid": C_SMID, "%nsmid": C_NSMID}
_STORE_T = {"%p": I1, "%rs": I16, "%r": I32, "%f": I32, "%rd": I64, "%fd": I64}   # floats kept as bits: LLVM may rewrite NaN payloads of float selects
_SRC_TYPE = {"s": lambda ts: ts[0], "sw": lambda ts: spec.wide(ts[0]), "sc": lambda ts: ts[1],
             "sp": lambda ts: "pred", "su": lambda ts: "u32"}
_DST_TYPE = {"d": lambda ts: ts[0], "dw": lambda ts: spec.wide(ts[0]), "du": lambda ts: "u32",
             "dp": lambda ts: "pred"}


def loop(b: ir.IRBuilder, count, name: str, body) -> None:
    """for i in range(count): body(b, i), in IR; leaves b positioned after the loop."""
    fn, pre = b.function, b.block
    head, bod, out = (fn.append_basic_block(f"{name}{x}") for x in ("h", "b", "o"))
    b.branch(head)
    b.position_at_end(head)
    i = b.phi(I64)
    i.add_incoming(ir.Constant(I64, 0), pre)
    b.cbranch(b.icmp_signed("<", i, count), bod, out)
    b.position_at_end(bod)
    body(b, i)
    i.add_incoming(b.add(i, ir.Constant(I64, 1)), b.block)
    b.branch(head)
    b.position_at_end(out)


def _elt(t: str) -> ir.Type:
    if t == "pred":
        return I1
    if t == "f32":
        return F32
    if t == "f64":
        return F64
    return ir.IntType(spec.type_bits(t))


def float_bits(value, t: str) -> int:
    """The bits of an immediate as the interpreter's decode.const makes it (np.array(float(v), dtype))."""
    import numpy as np
    dt = {"f16": np.float16, "f32": np.float32}.get(t, np.float64)
    x = np.array(float(value), dt)
    return int(x.view({"f16": np.uint16, "f32": np.uint32}.get(t, np.uint64)))


def _signed(t: str) -> bool:
    return t[0] == "s"


class KernelGen:
    _helper = False             # generating a helper function (no allocas of `warp` there)

    def __init__(self, program: Program, code: KernelCode, lay: Layout):
        self.program, self.code, self.lay = program, code, lay
        self.n = len(code.instrs)
        self.rpcs = set(code.reconv.values())
        self.module = ir.Module(name=code.name)
        self.module.triple = ""
        fnty = ir.FunctionType(I32, [I64.as_pointer(), I64.as_pointer()])
        self.fn = ir.Function(self.module, fnty, name="warp")
        self.ctx, self.ws = self.fn.args
        self.regslot: dict = {}                 # register name -> its alloca in `warp`
        self.local: set = set()                 # layout.segment_local registers (set by the builder)
        self.unmasked = False                   # the instruction being built has no guard

    # -- small helpers ----------------------------------------------------------------------------------
    def cword(self, b, k):
        return b.load(b.gep(self.ctx, [ir.Constant(I64, k)]))

    def cptr(self, b, k):
        return b.gep(self.ctx, [ir.Constant(I64, k)])

    def wptr(self, b, k):
        return b.gep(self.ws, [ir.Constant(I64, k)])

    def regptr(self, b, name, ty):
        """The register's slot: an alloca of the warp function (promoted to SSA values by LLVM), or
        its place in the warp state (`wsreg`) outside it."""
        slot = self.regslot.get(name) if not self._helper else None
        return slot if slot is not None else self.wsreg(b, name, ty)

    def wsreg(self, b, name, ty):
        off, _ = self.lay.regs[name]
        p = b.gep(b.bitcast(self.ws, I8.as_pointer()), [ir.Constant(I64, off)])
        return b.bitcast(p, vec(ty).as_pointer())

    def alloc_regs(self, b):
        """In the warp function's entry block: an alloca per register (LLVM keeps them in machine
        registers), unless the kernel is long (REGS_IN_WS_FROM instructions): then each register
        stays in the warp state, read and written there, which keeps LLVM's register allocator
        linear (on a thousand-instruction kernel it took 20 s of a 25 s translation, and 1 s with
        the registers in memory)."""
        if self.n >= REGS_IN_WS_FROM:
            return
        for name, (_, cls) in self.lay.regs.items():
            slot = b.alloca(vec(_STORE_T[cls]), name=name.lstrip("%"))
            slot.align = 64
            self.regslot[name] = slot

    def init_regs(self, b, saved):
        """Registers at the warp function's entry: zero (a warp starting at pc 0, as the interpreter's
        fresh register file) or, `saved`, from the warp state (resumed after a barrier); a
        segment-local register's value never enters a segment, so it is left alone."""
        if not self.regslot and not saved:          # registers kept in ws: zero them there
            for name, (_, cls) in self.lay.regs.items():
                if name not in self.local:
                    t = vec(_STORE_T[cls])
                    b.store(ir.Constant(t, None), self.wsreg(b, name, t.element), align=64)
        for name, slot in self.regslot.items():
            if name not in self.local:
                t = slot.type.pointee
                v = b.load(self.wsreg(b, name, t.element), align=64) if saved else ir.Constant(t, None)
                b.store(v, slot, align=64)

    def spill_regs(self, b):
        """Before the warp function returns to be resumed (a barrier): the registers back to ws."""
        for name, slot in self.regslot.items():
            if name not in self.local:
                b.store(b.load(slot, align=64), self.wsreg(b, name, slot.type.pointee.element), align=64)

    def maskvec(self, b, m):
        return b.bitcast(m, vec(I1))

    def lanes(self):
        return ir.Constant(vec(I32), [ir.Constant(I32, i) for i in range(N)])

    # -- operands ---------------------------------------------------------------------------------------
    def read(self, b, o, t: str):
        """Operand o as a <32 x elt(t)> vector (decode.Decoder.src's conversions)."""
        et = _elt(t)
        if isinstance(o, Reg):
            cls = reg_class(o.name)
            st = _STORE_T[cls]
            v = b.load(self.regptr(b, o.name, st), align=64)
            if cls == "%p":                     # predicates are <32 x i1> (a k register, 4 bytes in ws)
                p = v
                if t == "pred":
                    return p
                if t == "f16":
                    return b.select(p, splat(I16, 0x3C00), splat(I16, 0))
                return b.uitofp(p, vec(et)) if t in ("f32", "f64") else b.zext(p, vec(et))
            if t in ("f32", "f64"):
                if st == et:
                    return v
                if isinstance(st, ir.IntType) and st.width == (32 if t == "f32" else 64):
                    return b.bitcast(v, vec(et))
                raise NotImplementedError(f"{t} read of {o.name}")
            if t == "pred":
                raise NotImplementedError(f"pred read of {o.name}")
            if st in (F32, F64):
                v = b.bitcast(v, vec(I32 if st == F32 else I64))
            return alu.resize(b, v, vec(et), _signed(t))
        if isinstance(o, Imm):
            return self.imm(b, o.value, t)
        if isinstance(o, SReg):
            v = self.sreg(b, o.name)
            if t in ("f32", "f64"):
                raise NotImplementedError("float read of a special register")
            return alu.resize(b, v, vec(et), False)
        if isinstance(o, Sym):
            a = b.insert_element(ir.Constant(vec(I64), None), self.sym_addr(b, o.name), ir.Constant(I32, 0))
            a = b.shuffle_vector(a, ir.Constant(vec(I64), None), ir.Constant(vec(I32), [ir.Constant(I32, 0)] * N))
            return alu.resize(b, a, vec(et), False)
        raise NotImplementedError(f"operand {o}")

    def imm(self, b, value, t: str):
        et = _elt(t)
        if t == "pred":
            return ir.Constant(vec(I1), [ir.Constant(I1, int(bool(value)))] * N)
        if t in ("f32", "f64"):
            return alu.fbits_const(et, float_bits(value, t), b)
        if t == "f16":                              # a half is kept as its bits
            return splat(I16, float_bits(value, t))
        return splat(et, int(value))

    def sym_addr(self, b, name):
        lay = self.lay
        if name in lay.shared:
            return ir.Constant(I64, lay.shared[name])
        if name in lay.local:
            return ir.Constant(I64, lay.local[name])
        k = lay.runtime_syms.index(name)
        tab = b.inttoptr(self.cword(b, C_SYMTAB), I64.as_pointer())
        return b.load(b.gep(tab, [ir.Constant(I64, k)]))

    def sreg(self, b, name):
        """A special register as <32 x i32>."""
        def bc(x):
            x = b.trunc(x, I32)
            v = b.insert_element(ir.Constant(vec(I32), None), x, ir.Constant(I32, 0))
            return b.shuffle_vector(v, ir.Constant(vec(I32), None), ir.Constant(vec(I32), [ir.Constant(I32, 0)] * N))
        if name in _SREG_CTX:
            return bc(self.cword(b, _SREG_CTX[name]))
        lane = self.lanes()
        if name == "%laneid":
            return lane
        if name == "%nwarpid":
            return splat(I32, 64)
        if name == "%warpid":
            return bc(b.add(self.cword(b, C_WARPID), b.load(self.wptr(b, W_WIDX))))
        if name.startswith("%lanemask_"):
            vals = []
            for i in range(N):
                one = 1 << i
                vals.append({"eq": one, "lt": one - 1, "le": (one << 1) - 1, "gt": ~((one << 1) - 1) & 0xFFFFFFFF,
                             "ge": ~(one - 1) & 0xFFFFFFFF}[name[10:]])
            return ir.Constant(vec(I32), [ir.Constant(I32, v) for v in vals])
        if name.startswith("%tid."):
            widx = b.load(self.wptr(b, W_WIDX))
            tib = b.add(b.mul(bc(widx), splat(I32, 32)), lane)
            sx, sy = self.cword(b, C_NTID), self.cword(b, C_NTID_Y)
            # the warp's lanes all in the first row (a 1-D block, or a wide one): tid.x = the thread index
            first_row = b.icmp_signed("<", b.add(b.mul(widx, ir.Constant(I64, 32)), ir.Constant(I64, 31)), sx)
            pre = b.block
            divide, join = b.append_basic_block("tiddiv"), b.append_basic_block("tid")
            b.cbranch(first_row, join, divide)
            b.position_at_end(divide)
            bx, by = bc(sx), bc(sy)
            q = _udiv_small(b, tib, sx)
            if name == "%tid.x":
                v = b.sub(tib, b.mul(q, bx))
            else:
                q2 = _udiv_small(b, q, sy)
                v = b.sub(q, b.mul(q2, by)) if name == "%tid.y" else q2
            slow = b.block
            b.branch(join)
            b.position_at_end(join)
            out = b.phi(vec(I32))
            out.add_incoming(tib if name == "%tid.x" else ir.Constant(vec(I32), None), pre)
            out.add_incoming(v, slow)
            return out
        raise NotImplementedError(f"special register {name}")

    def write(self, b, o, t: str, value, m):
        """Write `value` (<32 x elt(t)>) into register o for the lanes of mask m (i32)."""
        if not isinstance(o, Reg):
            raise NotImplementedError(f"destination {o}")
        cls = reg_class(o.name)
        st = _STORE_T[cls]
        if cls == "%p":
            if value.type.element != I1:
                value = b.icmp_unsigned("!=", value, ir.Constant(value.type, None)) \
                    if isinstance(value.type.element, ir.IntType) else b.fcmp_unordered("!=", value, ir.Constant(value.type, None))
        elif t in ("f32", "f64"):
            if st != value.type.element:
                w = 32 if t == "f32" else 64
                if isinstance(st, ir.IntType) and st.width == w:
                    value = b.bitcast(value, vec(st))
                else:
                    raise NotImplementedError(f"{t} write into {o.name}")
        else:
            if value.type.element == I1:
                value = b.zext(value, vec(ir.IntType(spec.type_bits(t)) if t != "pred" else I8))
            w = st.width if isinstance(st, ir.IntType) else (32 if st == F32 else 64)
            value = alu.resize(b, value, vec(ir.IntType(w)), _signed(t))
            if st in (F32, F64):
                value = b.bitcast(value, vec(st))
        p = self.regptr(b, o.name, st)
        if self.unmasked and o.name in self.local:      # no lane reads what the inactive lanes hold
            b.store(value, p, align=64)
            return
        old = b.load(p, align=64)
        b.store(b.select(self.maskvec(b, m), value, old), p, align=64)


def _udiv_small(b, x, d):
    """x // d for <32 x i32> x below 2**24 and the i64 scalar d >= 1, as (x + 0.5) * (1 / d) in double
    precision: exact ((x + 0.5) / d is at least 0.5 / d from an integer, the rounding errors are
    below 2**-40), and vectorised, where an integer division is 32 scalar `div`s."""
    inv = b.fdiv(ir.Constant(F64, 1.0), b.uitofp(d, F64))
    v = b.insert_element(ir.Constant(vec(F64), None), inv, ir.Constant(I32, 0))
    v = b.shuffle_vector(v, ir.Constant(vec(F64), None), ir.Constant(vec(I32), [ir.Constant(I32, 0)] * N))
    f = b.fmul(b.fadd(b.uitofp(x, vec(F64)), ir.Constant(vec(F64), [ir.Constant(F64, 0.5)] * N)), v)
    return b.fptoui(f, vec(I32))
