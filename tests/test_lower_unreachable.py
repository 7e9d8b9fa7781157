"""Unreachable code after `return`: a loop nothing jumps into lowers (it once sent the SSA search round
its blocks forever), and is dropped; the code before it is kept."""
import signal

import pytest

from vgpu import pipeline
from vgpu.frontend import to_ir
from vgpu.ir.verify import verify

DEAD_LOOPS = {
    "do_after_return": """
__global__ void k(int *o, int a, int c)
{
    int s = 1;
    o[2] = a;
    return;
    do { s = s + a; } while (s < c);
    o[0] = a + s;
}""",
    "variable_set_in_a_branch": """
__global__ void k(int *o, int a, int c)
{
    int s = 1;
    if (c) { s = 2; }
    o[2] = s;
    return;
    do { o[1] = 1; } while (c);
    o[0] = s;
}""",
}


@pytest.fixture
def deadline():
    """Fail (not hang) if the test runs past 20 s."""
    def expire(*_):
        raise TimeoutError("lowering did not finish")
    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.mark.parametrize("name", DEAD_LOOPS)
def test_loop_after_return_lowers_and_is_dropped(name, deadline):
    module = to_ir(DEAD_LOOPS[name], "k.vk")
    verify(module)
    fn = module.functions["k"]
    stores = [i for b in fn.blocks for i in b.instrs if i.op == "store"]
    assert len(stores) == 1                      # o[2] = ...; the dead loop and o[0] are gone
    assert [i.op for i in fn.blocks[-1].instrs][-1] == "ret"
    program = pipeline.compile_source(DEAD_LOOPS[name], "k.vk")
    assert "k" in program.kernels
