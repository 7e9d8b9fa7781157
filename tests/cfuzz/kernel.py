"""One random UB-free kernel: its `.vk` text, its `#include`d header, its inputs and the equivalent C program.

In: a seed.  Out: a `Kernel` with `vk()` (kernel file), `header()` (the helper header, shared verbatim by
`.vk` and C), `c()` (a host C program that runs every thread of every block and writes the output buffers'
bytes to stdout), launch geometry and input arrays.

Shape of a kernel: segment 0 declares the per-thread variables; then segments of random statements
alternate with synchronisation points at the top level of the kernel (where every thread of the block is
present): `__syncthreads()` and its count/and/or forms, `__syncwarp()`, shuffles, votes.  The C program
runs one segment for all threads of a block before the next one (per-thread variables live in an array
of structs), and computes each synchronisation point from all threads' values, so warp functions and
barriers mean in C what they mean on the GPU.  Shared memory alternates, at each barrier, between "each
thread writes only its own slots" and "everyone reads", so no order of threads can change a result.
"""
from __future__ import annotations

import random
import struct

from .ctype import BOOL, F32, F64, I8, I16, I32, I64, INTS, LONG, SIZE_T, UNS, U8, U16, U32, U64, CH, char_literal, \
    float_literal, int_literal
from .expr import E, conv, int_binop, negate
from .gen import ACC, StmtGen
from .stmt import (Arr, Ctx, Decl, For, Helper, If, Line, Macro, Shared, StructDef, SVar, Var, fit, resolve)

PARAMS = ("const int *in0, const float *in1, const double *in2, const unsigned long long *in3, int sp0, "
          "float sp1, unsigned long long *outi, float *outf, double *outd, unsigned int *accu, int *acci, "
          "unsigned long long *accl")
SYNC_KINDS = ["bar", "bar", "syncwarp", "shfl", "shfl_up", "shfl_down", "shfl_xor", "ballot", "any", "all",
              "count", "and", "or", "activemask"]


VECTORS = [("int2", I32, 2), ("int4", I32, 4), ("float2", F32, 2), ("float3", F32, 3), ("float4", F32, 4),
           ("uchar4", U8, 4)]


class Names:
    def __init__(self):
        self.n = 0

    def __call__(self, prefix):
        self.n += 1
        return f"{prefix}{self.n}"


class Sync:
    """A synchronisation point at the top level: kind, the per-thread variable it sets, value/lane text."""

    removable = False

    def __init__(self, kind, target=None, ty=None, val=None, lane=None, width=None):
        self.kind, self.target, self.ty, self.val, self.lane, self.width = kind, target, ty, val, lane, width

    def vk(self) -> str:
        k, m = self.kind, "0xffffffff"
        if k == "bar":
            return "__syncthreads();"
        if k == "syncwarp":
            return "__syncwarp();"
        if k == "activemask":
            return f"${self.target} = __activemask();"
        w = f", {self.width}" if self.width else ""
        call = {"shfl": f"__shfl_sync({m}, {self.val}, {self.lane}{w})",
                "shfl_up": f"__shfl_up_sync({m}, {self.val}, {self.lane}{w})",
                "shfl_down": f"__shfl_down_sync({m}, {self.val}, {self.lane}{w})",
                "shfl_xor": f"__shfl_xor_sync({m}, {self.val}, {self.lane}{w})",
                "ballot": f"__ballot_sync({m}, {self.val})", "any": f"__any_sync({m}, {self.val})",
                "all": f"__all_sync({m}, {self.val})", "count": f"__syncthreads_count({self.val})",
                "and": f"__syncthreads_and({self.val})", "or": f"__syncthreads_or({self.val})"}[k]
        return f"${self.target} = {call};"


class ULoop:
    """A loop at the top level whose trip count is the same for every thread of a block (it may depend on
    blockIdx), with segments and synchronisation points inside and a barrier at the end of its body."""

    removable = False

    def __init__(self, var: str, count: str, items: list, pragma: bool):
        self.var, self.count, self.items, self.pragma = var, count, items, pragma

    def lists(self):
        return [self.items]


class Kernel:
    def __init__(self, seed: int):
        self.seed = seed
        r = self.rng = random.Random(seed)
        self.names = Names()
        self.warp = r.random() < 0.6
        self.block = r.choice([32, 64, 96, 128]) if self.warp else r.choice([16, 32, 40, 64, 100, 128])
        self.by = r.choice([1, 1, 1, 2, 4] if self.block % 4 == 0 else [1, 1, 2])      # 2-D blocks too
        self.bx = self.block // self.by
        self.grid = r.choice([1, 2, 3])
        self.hdr_items: list[str] = []        # header: macros, structs, helpers (in order)
        self.file_macros: list[str] = []
        self.shared: list[Shared] = []
        self.state_fields: list[str] = []     # C fields of the per-thread state struct
        self.body: list = []                  # lists of Stmt (segments) and Sync objects
        self.pending: list = []               # statements that start the next segment
        self.inputs()
        self.generate()

    # ----- inputs ------------------------------------------------------------------------------------
    def inputs(self):
        r = self.rng
        specials32 = [0, 1, 0xFFFFFFFF, 0x80000000, 0x7FFFFFFF, 0x7FC00000, 0x7F800000, 0xFF800000, 0x00000001,
                      0x80000000, 0x3F800000, 0x4B800001, 0x007FFFFF]
        specials64 = [0, 1, (1 << 64) - 1, 1 << 63, (1 << 63) - 1, 0x7FF8000000000000, 0x7FF0000000000000,
                      0xFFF0000000000000, 1, 0x3FF0000000000000, 0x000FFFFFFFFFFFFF, 0x41F0000000000001]

        def word32(float_):
            if r.random() < 0.2:
                return r.choice(specials32)
            if float_:
                return struct.unpack("<I", struct.pack("<f", r.uniform(-1e3, 1e3) * 10 ** r.randint(-3, 3)))[0]
            return r.choice([r.randrange(-100, 100), r.randrange(-(1 << 31), 1 << 31)]) & 0xFFFFFFFF

        def word64(float_):
            if r.random() < 0.2:
                return r.choice(specials64)
            if float_:
                return struct.unpack("<Q", struct.pack("<d", r.uniform(-1e6, 1e6) * 10 ** r.randint(-5, 5)))[0]
            return r.choice([r.randrange(0, 300), r.randrange(0, 1 << 64)])

        self.data = {"in0": ("int32", [word32(False) for _ in range(64)]),
                     "in1": ("float32", [word32(True) for _ in range(64)]),
                     "in2": ("float64", [word64(True) for _ in range(32)]),
                     "in3": ("uint64", [word64(False) for _ in range(32)]),
                     "accu": ("uint32", [word32(False) for _ in range(4)]),
                     "acci": ("int32", [word32(False) for _ in range(4)]),
                     "accl": ("uint64", [word64(False) for _ in range(4)])}
        self.sp0 = r.choice([0, 3, -7, 100, 2147483647, -2147483648, r.randrange(-1000, 1000)])
        self.sp1 = word32(True)
        if (self.sp1 >> 23) & 0xFF == 0xFF and self.sp1 & 0x7FFFFF:
            self.sp1 = 0x7FC00000                      # a quiet NaN only
        nt = self.block * self.grid
        self.outs = {"outi": ("uint64", 4 * nt), "outf": ("float32", 2 * nt), "outd": ("float64", 2 * nt)}

    # ----- top-level items ---------------------------------------------------------------------------
    def macro(self, ctx) -> Macro:
        r = self.rng
        name = self.names("K")
        k = r.randrange(9)
        if k < 3:
            text, ty, v = int_literal(r)
            e = E(text, ty, v, v)
            if r.random() < 0.3 and v <= I32.hi:
                e = negate(e, r)
                text = f"(-{text})"
            elif r.random() < 0.3:
                text = f"({text})"
            m = Macro(name, f"#define {name} {text}", e=E(name, e.ty, e.lo, e.hi))
        elif k < 5:
            ty = r.choice([F32, F32, F64])
            text = float_literal(r, ty)
            text = r.choice([text, f"({text})", f"(-{text})"])
            m = Macro(name, f"#define {name} {text}", e=E(name, ty), flt=True)
        elif k == 5:
            text, v = char_literal(r)
            m = Macro(name, f"#define {name} {text}", e=E(name, I32, v, v))
        elif k == 6:
            ints = [x for x in ctx.macros if x.fn is None and x.e is not None and not x.e.ty.flt]
            if not ints:
                return self.macro(ctx)
            a = r.choice(ints)
            text, ty, v = int_literal(r)
            op = r.choice(["+", "*", "-", "^", "|", "/"])
            e = int_binop(op, a.e, E(text, ty, v, v), None)
            if e is None:
                return self.macro(ctx)
            m = Macro(name, f"#define {name} ({a.name} {op} {text})", e=E(name, e.ty, e.lo, e.hi))
        elif k == 7:
            text, ty, v = int_literal(r, r.randrange(0, 64))
            op = r.choice(["^", "&", "|", ">>", "+"])
            if op == ">>":
                text, ty, v = str(v & 7), I32, v & 7
            lit_e = E(text, ty, v, v)
            m = Macro(name, f"#define {name}(x) ((x) {op} {text})",
                      fn=lambda a, op=op, lit_e=lit_e: int_binop(op, a, lit_e, None))
        else:
            ty = r.choice([F32, F64])
            text = float_literal(r, ty)
            op = r.choice("+-*/")
            m = Macro(name, f"#define {name}(x) ((x) {op} {text})", fn=lambda a, ty=ty: E("", F64 if
                      F64 in (a.ty, ty) else F32), flt=True)
        if r.random() < 0.15:
            m.text = f"#ifndef {name}\n{m.text}\n#endif"
        elif r.random() < 0.1:
            m.text = f"#if 1\n{m.text}\n#else\n#define {name} 0\n#endif"
        return m

    def struct_def(self, ctx) -> StructDef:
        r = self.rng
        n = self.names("S")
        fields = [(f"f{i}", r.choice(INTS + [F32, F64, CH, BOOL])) for i in range(r.randint(1, 4))]
        body = " ".join(f"{t.spell} {f};" for f, t in fields)
        if r.random() < 0.5:
            self.hdr_items.append(f"struct {n} {{ {body} }};")
            return StructDef(f"struct {n}", fields)
        self.hdr_items.append(f"typedef struct {{ {body} }} T{n};")
        return StructDef(f"T{n}", fields)

    def helper_ctx(self, ctx, params) -> Ctx:
        h = Ctx(self.rng, False, self.names)
        h.macros, h.helpers = ctx.macros, list(ctx.helpers)
        h.vars = [Var(n, t, t.lo if not t.flt else None, t.hi if not t.flt else None) for n, t in params]
        return h

    def helper(self, ctx):
        r = self.rng
        name = self.names("h")
        ret = r.choice([I32, U32, I64, U64, F32, F64, I8, U16])
        params = [(f"p{i}", r.choice([I32, U32, I64, U64, F32, F64, I16, U8])) for i in range(r.randint(1, 3))]
        h = self.helper_ctx(ctx, params)
        h.can_return, h.ret = True, ret
        sg = StmtGen(h)
        locs = []
        for _ in range(r.randint(0, 2)):
            t = r.choice([I32, U32, I64, F32, F64])
            e = conv(sg.expr(), t)
            v = Var(self.names("l"), t, t.lo if not t.flt else None, t.hi if not t.flt else None)
            locs.append(f"    {t.spell} {v.name} = {e.text};\n")
            h.vars.append(v)
        body = sg.block(r.randint(1, 6))
        ret_e = conv(sg.expr(), ret)
        qual = r.choice(["__device__", "__device__", "__device__ __forceinline__", "__device__ __noinline__",
                         "static __device__", "__device__ static inline"])
        text = (f"{qual} {ret.spell} {name}({', '.join(f'{t.spell} {n}' for n, t in params)})\n{{\n" +
                "".join(locs) + "".join(s.render("vk", "") for s in body) + f"    return {ret_e.text};\n}}")
        self.hdr_items.append(text)
        ctx.helpers.append(Helper(name, ret, [t for _, t in params]))

    def struct_helper(self, ctx, sdef):
        r = self.rng
        name = self.names("hs")
        ptys = [r.choice([I32, F32, U64])]
        h = self.helper_ctx(ctx, [("q", ptys[0])])
        h.svars = [SVar("p", sdef, state=False)]
        sg = StmtGen(h)
        body = [sg.store_aggregate() for _ in range(r.randint(1, 3))]
        text = (f"__device__ {sdef.name} {name}({sdef.name} p, {ptys[0].spell} q)\n{{\n" +
                "".join(s.render("vk", "    ") for s in body) + "    return p;\n}")
        self.hdr_items.append(text)
        ctx.struct_helpers.append((name, sdef, ptys))

    def state_var(self, ctx, seg0, ty, lo=None, hi=None, init=None, readonly=False, name=None, const=False):
        v = Var(name or self.names("v"), ty, ty.lo if lo is None and not ty.flt else lo,
                ty.hi if hi is None and not ty.flt else hi, state=True, readonly=readonly or const)
        if init is None:
            init = StmtGen(ctx).expr()
        seg0.append(Decl(("const " if const else "") + ty.spell, v.name,
                         init=fit(init, v).text if isinstance(init, E) else init))
        self.state_fields.append(f"{ty.spell} {v.name};")
        ctx.vars.append(v)
        return v

    # ----- the kernel --------------------------------------------------------------------------------
    def generate(self):
        r = self.rng
        ctx = Ctx(r, True, self.names)
        ctx.block, ctx.grid, ctx.sp0, ctx.bx, ctx.by = self.block, self.grid, self.sp0, self.bx, self.by
        for arr, (ty, ops) in ACC.items():
            for slot in range(4):
                ctx.acc_ops[(arr, slot)] = r.choice(ops)
        self.hdr_items.append("__device__ float fz_canonf(float x) { return x == x ? x : 0.0f; }")
        self.hdr_items.append("__device__ double fz_canon(double x) { return x == x ? x : 0.0; }")
        for _ in range(r.randint(1, 4)):
            m = self.macro(ctx)
            ctx.macros.append(m)
            self.hdr_items.append(m.text)
        if r.random() < 0.3:
            self.enum(ctx)
        for _ in range(r.choice([0, 0, 1, 2])):
            self.global_array(ctx)
        sdefs = [self.struct_def(ctx) for _ in range(r.randint(0, 2))]
        for _ in range(r.choice([0, 0, 1, 2])):
            name, ty, n = r.choice(VECTORS)
            sdefs.append(StructDef(name, [(f, ty) for f in "xyzw"[:n]], vector=True))
        for _ in range(r.randint(0, 3)):
            self.helper(ctx)
        for sd in sdefs:
            if r.random() < 0.5:
                self.struct_helper(ctx, sd)
        for _ in range(r.randint(1, 5)):
            m = self.macro(ctx)
            ctx.macros.append(m)
            self.file_macros.append(m.text)
        seg0 = []
        self.state_var(ctx, seg0, U32, 0, self.block - 1, init="threadIdx.y * blockDim.x + threadIdx.x",
                       readonly=True, name="tid")
        self.state_var(ctx, seg0, U32, 0, self.block * self.grid - 1,
                       init="blockIdx.x * (blockDim.x * blockDim.y) + $tid", readonly=True, name="gid")
        ctx.deep = r.random() < 0.2
        for _ in range(r.randint(2, 6) if r.random() < 0.8 else r.randint(8, 16)):     # register pressure
            ty = r.choice([I8, U8, I16, U16, I32, U32, I64, U64, F32, F64, I32, I32, CH, LONG, SIZE_T, BOOL, UNS])
            lo = hi = (0, 1) if ty == BOOL else (None, None)
            lo, hi = lo
            if not ty.flt and ty != BOOL and r.random() < 0.4:
                if r.random() < 0.5:
                    lo, hi = 0, min(ty.hi, (1 << r.choice([3, 8, 15])) - 1)
                elif ty.signed:
                    hi = min(ty.hi, r.choice([100, 1000, 32767]))
                    lo = -hi
            self.state_var(ctx, seg0, ty, lo, hi, const=r.random() < 0.15)
        for _ in range(r.randint(0, 2)):
            a = Arr(self.names("a"), r.choice([I32, U8, I64, F32, F64, U32]), r.choice([2, 4, 8]))
            seg0.append(Decl(a.ty.spell, a.name, f"[{a.size}]"))
            self.state_fields.append(f"{a.ty.spell} {a.name}[{a.size}];")
            q = self.names("q")
            init = conv(StmtGen(ctx).expr(), a.ty).text
            f = For(f"int {q} = 0; {q} < {a.size}; {q}++", [Line(f"${a.name}[{q}] = {init};", False)])
            f.removable = False
            seg0.append(f)
            ctx.arrays.append(a)
        for sd in sdefs:
            count = r.choice([0, 0, 2, 4])
            s = SVar(self.names("s"), sd, count)
            suffix = f"[{count}]" if count else ""
            seg0.append(Decl(sd.name, s.name, suffix))
            self.state_fields.append(f"{sd.name} {s.name}{suffix};")
            for k in range(max(count, 1)):
                ref = f"${s.name}" + (f"[{k}]" if count else "")
                if sd.vector and r.random() < 0.6:
                    args = ", ".join(conv(StmtGen(ctx).expr(), fty).text for _, fty in sd.fields)
                    seg0.append(Line(f"{ref} = make_{sd.name}({args});", False))
                    continue
                for fname, fty in sd.fields:
                    ref = f"${s.name}" + (f"[{k}]" if count else "")
                    seg0.append(Line(f"{ref}.{fname} = {conv(StmtGen(ctx).expr(), fty).text};", False))
            ctx.svars.append(s)
        for _ in range(r.choice([0, 0, 1, 1, 2])):
            ty = r.choice([I32, U32, F32, I64, F64, U8])
            per = r.choice([1, 2, 4])
            layout = r.choice(["1d", "1d", "2d", "extern"])
            if layout == "extern" and any(x.layout == "extern" for x in self.shared):
                layout = "1d"
            sh = Shared(self.names("sh"), ty, per, per * self.block, layout=layout)
            q = self.names("q")
            init = conv(StmtGen(ctx).expr(), ty).text
            sub = f"[$tid][{q}]" if layout == "2d" else f"[$tid * {per}u + {q}]"
            f = For(f"int {q} = 0; {q} < {per}; {q}++", [Line(f"{sh.name}{sub} = {init};", False)])
            f.removable = False
            seg0.append(f)
            self.shared.append(sh)
        if r.random() < 0.4:
            ty = r.choice([U32, I32, U64])
            ops = ACC[{"u32": "accu", "i32": "acci", "u64": "accl"}[ty.key]][1]
            sh = Shared(self.names("shc"), ty, 0, 4, atomic_ops=[r.choice(ops) for _ in range(4)])
            vals = [conv(StmtGen(ctx).expr("int", 1), ty).text for _ in range(4)]
            seg0.append(If("$tid == 0", [Line(f"{sh.name}[{i}] = {vals[i]};", False) for i in range(4)]))
            seg0[-1].removable = False
            self.shared.append(sh)
        self.body.append(seg0)
        if self.shared:
            self.body.append(Sync("bar"))
        ctx.shared = self.shared
        self.ctx = ctx
        self.switch_modes()
        kinds = SYNC_KINDS if self.warp else ["bar", "bar", "count", "and", "or"]
        for _ in range(r.randint(0, 4)):
            self.body.append(self.segment(ctx, r.randint(1, 8)))
            if r.random() < 0.25:
                self.uloop(ctx, kinds)
            else:
                self.sync(ctx, r.choice(kinds), self.body)
        last = [item for item in self.body if isinstance(item, list)][-1]
        last.extend(self.dump(ctx))                  # what every thread computed before the last segment
        ctx.can_return = True
        self.body.append(self.segment(ctx, r.randint(2, 10)) + self.dump(ctx))

    def dump(self, ctx) -> list:
        """Statements folding every per-thread value into the thread's last outi and outd slots (like
        Csmith's checksum), so a wrong value anywhere shows in the output."""
        out = []
        hi, hd = "outi[$gid * 4u + 3u]", "outd[$gid * 2u + 1u]"

        def mix(ref, ty):
            if ty.flt:
                out.append(Line(f"{hd} = fz_canon({hd} * 3.0 + fz_canon((double)({ref})));"))
            else:
                out.append(Line(f"{hi} = {hi} * 1000003ull + (unsigned long long)({ref});"))
        for v in ctx.vars:
            if v.state:
                mix(v.ref, v.ty)
        for a in ctx.arrays:
            if a.state:
                for i in range(a.size):
                    mix(f"${a.name}[{i}]", a.ty)
        for sv in ctx.svars:
            for i in range(max(sv.count, 1)):
                for fname, fty in sv.sdef.fields:
                    mix(f"${sv.name}" + (f"[{i}]" if sv.count else "") + f".{fname}", fty)
        return out

    @property
    def dynamic_shared(self) -> int:
        """Bytes of dynamic shared memory the launch passes (the extern __shared__ array)."""
        return sum(sh.size * sh.ty.bits // 8 for sh in self.shared if sh.layout == "extern")

    def segment(self, ctx, budget) -> list:
        out, self.pending = self.pending + StmtGen(ctx).block(budget), []
        return out

    def switch_modes(self):
        for sh in self.shared:
            sh.mode = self.rng.choice(["a", "r"] if sh.atomic_ops else ["w", "r"])

    def uloop(self, ctx, kinds):
        r = self.rng
        var = self.names("r")
        count, hi = r.choice([("2", 2), ("3", 3), ("(int)(blockIdx.x % 2u) + 1", 2), ("(int)gridDim.x", self.grid),
                              ("(blockDim.x >= 64u ? 2 : 1)", 2)])
        modes = [sh.mode for sh in self.shared]
        v = Var(var, I32, 0, hi - 1, readonly=True)
        ctx.vars.append(v)
        saved, ctx.trips = ctx.trips, hi
        items = []
        for _ in range(r.randint(1, 2)):
            items.append(self.segment(ctx, r.randint(1, 5)))
            self.sync(ctx, r.choice(kinds), items)
        items.append(self.segment(ctx, r.randint(1, 3)))
        items.append(Sync("bar"))
        ctx.trips = saved
        ctx.vars.remove(v)
        for sh, m in zip(self.shared, modes):
            sh.mode = m
        self.body.append(ULoop(var, count, items, r.random() < 0.3))

    def enum(self, ctx):
        r = self.rng
        name = self.names("E")
        consts, v, parts = [], -1, []
        for i in range(r.randint(1, 3)):
            cname = f"{name}_{i}"
            if r.random() < 0.5:
                v = r.randrange(0, 300)
                text, _, _ = int_literal(r, v)
                text = text.rstrip("uUlL") or "0"
                parts.append(f"{cname} = {text}")
            else:
                v += 1
                parts.append(cname)
            consts.append(Macro(cname, "", e=E(cname, I32, v, v)))
        self.hdr_items.append(f"enum {name} {{ {', '.join(parts)} }};")
        ctx.macros.extend(consts)

    def global_array(self, ctx):
        r = self.rng
        ty = r.choice([I32, U32, F32, F64, U64, I8])
        n = r.choice([4, 8])
        name = self.names("kc")
        if ty.flt:
            vals = [float_literal(r, ty) for _ in range(n)]
        else:
            vals = [str(r.randint(max(ty.lo, -1000), min(ty.hi, 10**6))) + ("ull" if ty == U64 else "")
                    for _ in range(n)]
        qual = r.choice(["__constant__", "__device__ const", "__device__"])
        self.hdr_items.append(f"{qual} {ty.spell} {name}[{n}] = {{{', '.join(vals)}}};")
        ctx.arrays.append(Arr(name, ty, n, state=False, readonly=True))

    def sync(self, ctx, kind, target_list):
        r = self.rng
        sg = StmtGen(ctx)
        if kind == "bar" or kind == "syncwarp":
            target_list.append(Sync(kind))
            if kind == "bar":
                self.switch_modes()
            return
        if kind.startswith("shfl"):
            ty = r.choice([I32, U32, I64, U64, F32, F64])
            val = conv(sg.expr(), ty).text
            if r.random() < 0.7:            # a value that differs between lanes, so the exchange shows
                val = f"({val} + ({ty.spell})($tid * 7u))" if ty.flt else \
                    f"(({ty.spell})({val} ^ ($tid * 0x9E3779B9u)))"
            lane_e = conv(sg.expr("int", 2), I32)
            lane = lane_e.text if kind == "shfl" else f"(({lane_e.text}) & {r.choice([31, 31, 63])})"
            width = r.choice([None, None, 32, 16, 8, 4, 2])
            if r.random() < 0.5:             # computed lanes are often 0: also plain deltas and lane maps
                lane = str(r.randint(1, (width or 32) - 1)) if kind != "shfl" else \
                    r.choice([f"(int)($tid + {r.randint(1, 40)}u)", f"{r.randint(0, 31)}", "(int)($tid ^ 5u)"])
            s = Sync(kind, None, ty, val, lane, width)
        elif kind == "activemask":
            ty = U32
            s = Sync(kind, None, ty)
        else:
            ty = U32 if kind == "ballot" else I32
            pred = sg.expr().text
            if r.random() < 0.7:            # a predicate that differs between threads
                pred = f"(({conv(sg.expr('int'), U32).text} ^ ($tid * {r.choice([1, 3, 0x9E3779B9])}u)) & {r.choice([1, 2, 7, 64])}u)"
            s = Sync(kind, None, ty, pred)
        seg0 = self.body[0]
        v = self.state_var(ctx, seg0, ty, init="0")
        s.target = v.name
        target_list.append(s)
        ref = "$" + v.name          # the exchanged value goes into the checksum right away
        self.pending.append(Line(f"outd[$gid * 2u + 1u] = fz_canon(outd[$gid * 2u + 1u] * 3.0 + fz_canon((double)({ref})));"
                                 if ty.flt else f"outi[$gid * 4u + 3u] = outi[$gid * 4u + 3u] * 1000003ull + "
                                 f"(unsigned long long)({ref});"))
        if kind in ("count", "and", "or"):
            self.switch_modes()

    # ----- text --------------------------------------------------------------------------------------
    def header(self) -> str:
        return "#ifndef FZ_HEADER\n#define FZ_HEADER\n" + "\n".join(self.hdr_items) + "\n#endif\n"

    def vk(self, header_name="fz.vkh") -> str:
        out = [f'#include "{header_name}"'] + self.file_macros
        out.append(f"__global__ void fz({PARAMS})\n{{")
        for sh in self.shared:
            if sh.layout == "extern":
                out.append(f"    extern __shared__ {sh.ty.spell} {sh.name}[];")
            elif sh.layout == "2d":
                out.append(f"    __shared__ {sh.ty.spell} {sh.name}[{self.block}][{sh.per_thread}];")
            else:
                out.append(f"    __shared__ {sh.ty.spell} {sh.name}[{sh.size}];")
        self._items(self.body, "    ", out)
        out.append("}")
        return "\n".join(out) + "\n"

    def _items(self, items, ind, out):
        for item in items:
            if isinstance(item, Sync):
                out.append(ind + resolve(item.vk(), "vk"))
            elif isinstance(item, ULoop):
                if item.pragma:
                    out.append("#pragma unroll")
                out.append(f"{ind}for (int {item.var} = 0; {item.var} < {item.count}; {item.var}++) {{")
                self._items(item.items, ind + "    ", out)
                out.append(ind + "}")
            else:
                text = "".join(s.render("vk", ind) for s in item).rstrip("\n")
                if text:
                    out.append(text)
