"""The ISA table is the one definition: every row has simulator semantics (a machine builder in
vgpu.sim.semantics keyed by the row's `machine` column, or an op of vgpu.arith), and every arith op
a row names exists."""
import numpy as np
import pytest

from vgpu import arith
from vgpu.isa.spec import MACHINE, SPEC
from vgpu.sim import semantics


@pytest.mark.parametrize("name", sorted(SPEC))
def test_row_has_semantics(name):
    row = SPEC[name]
    assert row.machine in semantics.BUILDERS or (not row.machine and row.sem), f"{name}: no simulator semantics"
    if row.machine:                      # machine operations (memory, atomics, warp ops) live in the simulator
        return
    for key, op in row.sem.items():
        assert op in arith.OPS, f"{name}.{key}: vgpu.arith has no op {op!r}"


def test_every_machine_operation_has_a_builder():
    assert set(semantics.BUILDERS) == set(MACHINE)


def test_setp_ne_on_floats_is_ordered():
    """PTX's setp.ne.f32 is false when an operand is NaN; C's != compiles to setp.neu."""
    from vgpu.isa.program import Instr
    from vgpu.isa.spec import semantics as row_semantics
    assert row_semantics(Instr("setp", ("ne",), ("f32",), [])) == "ne_ordered"
    assert row_semantics(Instr("setp", ("neu",), ("f32",), [])) == "neu"
    assert row_semantics(Instr("setp", ("ne",), ("s32",), [])) == "ne"
    nan = np.array([np.nan], np.float32)
    assert not arith.evaluate("ne_ordered", arith_type("f32"), [nan, nan])[0]


def arith_type(name):
    from vgpu.types import scalar
    return scalar(name)
