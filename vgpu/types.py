"""Scalar machine types and state spaces, shared by every layer (IR, ISA, arith, simulator).

Names follow PTX: `pred s8 u8 s16 u16 s32 u32 s64 u64 f16 f32 f64` (f16: IEEE binary16, CUDA's __half).  Pointers are `u64` values
holding a generic address (see `vgpu.sim.memory` for the address map); memory operations name
the state space they access when the compiler knows it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Scalar:
    name: str
    bits: int
    kind: str          # 'pred', 'signed', 'unsigned', 'float'

    @property
    def dtype(self) -> np.dtype:
        return _DTYPES[self.name]

    @property
    def is_float(self) -> bool:
        return self.kind == "float"

    @property
    def is_int(self) -> bool:
        return self.kind in ("signed", "unsigned")

    @property
    def is_signed(self) -> bool:
        return self.kind == "signed"

    @property
    def size(self) -> int:
        """Bytes in memory (a predicate stored as a byte)."""
        return max(1, self.bits // 8)

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name


PRED = Scalar("pred", 1, "pred")
S8, U8 = Scalar("s8", 8, "signed"), Scalar("u8", 8, "unsigned")
S16, U16 = Scalar("s16", 16, "signed"), Scalar("u16", 16, "unsigned")
S32, U32 = Scalar("s32", 32, "signed"), Scalar("u32", 32, "unsigned")
S64, U64 = Scalar("s64", 64, "signed"), Scalar("u64", 64, "unsigned")
F16 = Scalar("f16", 16, "float")
F32, F64 = Scalar("f32", 32, "float"), Scalar("f64", 64, "float")

SCALARS: dict[str, Scalar] = {t.name: t for t in (PRED, S8, U8, S16, U16, S32, U32, S64, U64, F16, F32,
                                                       F64)}
INTS = (S8, U8, S16, U16, S32, U32, S64, U64)
FLOATS = (F16, F32, F64)

_DTYPES = {
    "pred": np.dtype(np.bool_), "s8": np.dtype(np.int8), "u8": np.dtype(np.uint8),
    "s16": np.dtype(np.int16), "u16": np.dtype(np.uint16), "s32": np.dtype(np.int32),
    "u32": np.dtype(np.uint32), "s64": np.dtype(np.int64), "u64": np.dtype(np.uint64),
    "f16": np.dtype(np.float16), "f32": np.dtype(np.float32), "f64": np.dtype(np.float64),
}


def scalar(name: str) -> Scalar:
    """The Scalar named `name` ('s32', 'f32', ...); KeyError if there is none."""
    return SCALARS[name]


def from_dtype(dt) -> Scalar:
    dt = np.dtype(dt)
    for name, d in _DTYPES.items():
        if d == dt:
            return SCALARS[name]
    raise KeyError(f"no vgpu scalar type for dtype {dt}")


def unsigned_of(t: Scalar) -> Scalar:
    return SCALARS["u" + t.name[1:]] if t.is_int else t


# State spaces, as PTX names them.  'generic' means "decide from the address at run time".
SPACES = ("global", "shared", "local", "const", "param", "generic")


def wrap_int(value: int, bits: int, signed: bool) -> int:
    """`value` reduced modulo 2**bits and read as a `bits`-wide integer of the given signedness (C's
    conversion to an integer type; two's complement).  The one integer-wrap helper: constants, immediates,
    parameters and printf arguments all go through it."""
    value = int(value) & ((1 << bits) - 1)
    return value - (1 << bits) if signed and value >> (bits - 1) else value
