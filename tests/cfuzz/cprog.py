"""The host C program equivalent to a generated kernel.

In: a `Kernel`.  Out: C source text.  The program includes the same header as the `.vk` file, defines the
CUDA names it uses (`threadIdx`, `__popc`, `atomicAdd` per type, `min`/`max` per type), holds the inputs as
exact bit patterns, runs every block, and within a block runs each segment for all threads before the next
one; each synchronisation point is computed from all threads' values (shuffles by PTX's lane rules:
`shfl.sync` with the clamp value CUDA's intrinsics pass, the lane operand's low 5 bits).  It writes the bytes
of outi, outf, outd, accu, acci, accl to stdout.
"""
from __future__ import annotations

from .kernel import Kernel, Sync, ULoop
from .stmt import resolve

PRELUDE = r"""
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#define __device__
#define __global__
#define __forceinline__
#define __noinline__
#define __constant__ static const
typedef struct { unsigned int x, y, z; } fz_dim3;
static fz_dim3 threadIdx, blockIdx, blockDim, gridDim;
#define warpSize 32
static int __popc(unsigned int x) { return __builtin_popcount(x); }
static int __popcll(unsigned long long x) { return __builtin_popcountll(x); }
static int __clz(int x) { return x == 0 ? 32 : __builtin_clz((unsigned int)x); }
static int __clzll(long long x) { return x == 0 ? 64 : __builtin_clzll((unsigned long long)x); }
static int __ffs(int x) { return __builtin_ffs(x); }
static int __ffsll(long long x) { return __builtin_ffsll(x); }
static unsigned int __brev(unsigned int x) {
    unsigned int r = 0; for (int i = 0; i < 32; i++) r |= ((x >> i) & 1u) << (31 - i); return r;
}
#define FZ_MINMAX(T, K) \
    static T min_##K(T a, T b) { return a < b ? a : b; } static T max_##K(T a, T b) { return a > b ? a : b; }
FZ_MINMAX(int, i32) FZ_MINMAX(unsigned int, u32) FZ_MINMAX(long long, i64) FZ_MINMAX(unsigned long long, u64)
#define FZ_ATOM(T, U, K) \
    static void atomicAdd_##K(T *p, T v) { *p = (T)((U)*p + (U)v); } \
    static void atomicSub_##K(T *p, T v) { *p = (T)((U)*p - (U)v); } \
    static void atomicOr_##K(T *p, T v) { *p |= v; } \
    static void atomicAnd_##K(T *p, T v) { *p &= v; } \
    static void atomicXor_##K(T *p, T v) { *p ^= v; } \
    static void atomicMax_##K(T *p, T v) { if (v > *p) *p = v; } \
    static void atomicMin_##K(T *p, T v) { if (v < *p) *p = v; }
FZ_ATOM(unsigned int, unsigned int, u32) FZ_ATOM(int, unsigned int, i32)
FZ_ATOM(unsigned long long, unsigned long long, u64)
#define FZ_VEC2(V, T) typedef struct { T x, y; } V; \
    static V make_##V(T x, T y) { V v; v.x = x; v.y = y; return v; }
#define FZ_VEC3(V, T) typedef struct { T x, y, z; } V; \
    static V make_##V(T x, T y, T z) { V v; v.x = x; v.y = y; v.z = z; return v; }
#define FZ_VEC4(V, T) typedef struct { T x, y, z, w; } V; \
    static V make_##V(T x, T y, T z, T w) { V v; v.x = x; v.y = y; v.z = z; v.w = w; return v; }
FZ_VEC2(int2, int) FZ_VEC4(int4, int) FZ_VEC2(float2, float) FZ_VEC3(float3, float) FZ_VEC4(float4, float)
FZ_VEC4(uchar4, unsigned char)
"""

BITS = {"int32": ("unsigned int", "int", "u"), "float32": ("unsigned int", "float", "u"),
        "uint32": ("unsigned int", "unsigned int", "u"), "float64": ("unsigned long long", "double", "ull"),
        "uint64": ("unsigned long long", "unsigned long long", "ull")}
CTYPE = {"uint64": "unsigned long long", "float32": "float", "float64": "double"}


def _array(name: str, dtype: str, words: list, const: bool) -> str:
    store, ty, sfx = BITS[dtype]
    q = "const " if const else ""
    vals = ", ".join(f"0x{w:x}{sfx}" for w in words)
    return (f"static {q}{store} {name}_bits[{len(words)}] = {{{vals}}};\n"
            f"#define {name} (({q}{ty} *){name}_bits)\n")


def _shfl(s: Sync, i: int, t: str) -> str:
    w = s.width or 32
    rule = {"shfl": "j = minl | (L[t] & (W - 1));",
            "shfl_up": "j = lane - (L[t] & 31); if (j < minl) j = lane;",
            "shfl_down": "j = lane + (L[t] & 31); if (j > maxl) j = lane;",
            "shfl_xor": "j = lane ^ (L[t] & 31); if (j > maxl) j = lane;"}[s.kind]
    return (f"        {{ {t} V[NT]; int L[NT];\n"
            f"          for (int t = 0; t < NT; t++) {{ FZ_TID(t); V[t] = sv{i}(&ST[t]); L[t] = sl{i}(&ST[t]); }}\n"
            f"          for (int t = 0; t < NT; t++) {{ const int W = {w}; int lane = t & 31, base = t - lane;\n"
            f"            int minl = lane & ~(W - 1), maxl = minl | (W - 1), j; (void)maxl;\n"
            f"            {rule}\n"
            f"            ST[t].{s.target} = V[base + j]; }} }}\n")


def _vote(s: Sync, i: int) -> str:
    head = ("        { int P[NT];\n"
            f"          for (int t = 0; t < NT; t++) {{ FZ_TID(t); P[t] = sv{i}(&ST[t]) != 0; }}\n")
    if s.kind in ("count", "and", "or"):
        res = {"count": "n", "and": "n == NT", "or": "n != 0"}[s.kind]
        return head + (f"          int n = 0; for (int t = 0; t < NT; t++) n += P[t];\n"
                       f"          for (int t = 0; t < NT; t++) ST[t].{s.target} = {res}; }}\n")
    res = {"ballot": "m", "any": "m != 0u", "all": "m == 0xffffffffu"}[s.kind]
    return head + ("          for (int w = 0; w < NT; w += 32) { unsigned int m = 0;\n"
                   "            for (int l = 0; l < 32; l++) m |= (unsigned int)P[w + l] << l;\n"
                   f"            for (int l = 0; l < 32; l++) ST[w + l].{s.target} = {res}; }} }}\n")


def c_program(k: Kernel, header_name: str = "fz.vkh") -> str:
    out = [PRELUDE, f'#include "{header_name}"'] + k.file_macros
    for name, (dtype, words) in k.data.items():
        out.append(_array(name, dtype, words, name.startswith("in")))
    sp0 = str(k.sp0) if k.sp0 != -2147483648 else "(-2147483647 - 1)"
    out.append(f"static const int sp0 = {sp0};\nstatic const unsigned int sp1_bits = 0x{k.sp1:x}u;\n"
               "#define sp1 (*(const float *)&sp1_bits)")
    for name, (dtype, n) in k.outs.items():
        out.append(f"static {CTYPE[dtype]} {name}[{n}];")
    for sh in k.shared:
        dims = f"[{k.block}][{sh.per_thread}]" if sh.layout == "2d" else f"[{sh.size}]"
        out.append(f"static {sh.ty.spell} {sh.name}{dims};")
    out.append(f"#define NT {k.block}\n#define FZ_TID(t) (threadIdx.x = (t) % {k.bx}, threadIdx.y = (t) / {k.bx})\nstruct fz_state {{ int done_; {' '.join(k.state_fields)} }};\n"
               "static struct fz_state ST[NT];")
    ids = iter(range(1 << 30))
    sched = _schedule(k.body, out, ids, "        ")
    out.append("int main(void)\n{\n"
               f"    blockDim.x = {k.bx}; blockDim.y = {k.by}; blockDim.z = 1; gridDim.x = {k.grid}; gridDim.y = gridDim.z = 1;\n"
               f"    for (unsigned int bx = 0; bx < {k.grid}; bx++) {{\n"
               "        blockIdx.x = bx; memset(ST, 0, sizeof ST);\n" + sched + "    }\n" +
               "".join(f"    fwrite({n}, 1, sizeof({n}_bits), stdout);\n" if n.startswith("acc") else
                       f"    fwrite({n}, 1, sizeof {n}, stdout);\n" for n in list(k.outs) + ["accu", "acci", "accl"]) +
               "    return 0;\n}\n")
    return "\n".join(out)


def _schedule(items: list, out: list, ids, ind: str) -> str:
    """Main's code that runs `items` for the threads of one block; helper functions go to `out`."""
    sched = []
    for item in items:
        i = next(ids)
        if isinstance(item, ULoop):
            out.append(f"static int {item.var};")
            inner = _schedule(item.items, out, ids, ind + "    ")
            sched.append(f"{ind}for ({item.var} = 0; {item.var} < {item.count}; {item.var}++) {{\n{inner}{ind}}}\n")
            continue
        if isinstance(item, Sync):
            s = item
            if s.kind in ("bar", "syncwarp"):
                continue
            if s.kind == "activemask":
                sched.append(f"{ind}for (int t = 0; t < NT; t++) ST[t].{s.target} = 0xffffffffu;\n")
                continue
            rt = s.ty.spell
            if s.kind.startswith("shfl"):
                out.append(f"static {rt} sv{i}(struct fz_state *S) {{ return {resolve(s.val, 'c')}; }}")
                out.append(f"static int sl{i}(struct fz_state *S) {{ return {resolve(s.lane, 'c')}; }}")
                sched.append(_shfl(s, i, rt))
            else:
                out.append(f"static int sv{i}(struct fz_state *S) {{ return ({resolve(s.val, 'c')}) != 0; }}")
                sched.append(_vote(s, i))
            continue
        body = "".join(st.render("c", "    ") for st in item)
        out.append(f"static void seg{i}(struct fz_state *S)\n{{\n    (void)S;\n{body}}}")
        sched.append(f"{ind}for (int t = 0; t < NT; t++) {{ FZ_TID(t); if (!ST[t].done_) seg{i}(&ST[t]); }}\n")
    return "".join(sched)
