"""pytest support for running a Numba project's tests on vgpu.

    pytest -p vgpu.cuda.testing            # with VGPU_NUMBA=1: `from numba import cuda` is vgpu.cuda
    def test_x(vgpu_numba): ...             # or per test: the fixture installs vgpu.cuda as numba.cuda
"""
from __future__ import annotations

import os

import pytest

from . import install_as_numba, uninstall_as_numba

if os.environ.get("VGPU_NUMBA") == "1":
    install_as_numba()


@pytest.fixture
def vgpu_numba():
    """`numba.cuda` is vgpu.cuda for the duration of the test; yields the module."""
    import sys
    before = sys.modules.get("numba.cuda")
    install_as_numba()
    try:
        yield sys.modules["numba.cuda"]
    finally:
        uninstall_as_numba()
        if before is not None and before is not sys.modules.get("vgpu.cuda"):
            sys.modules["numba.cuda"] = before
            numba = sys.modules.get("numba")
            if numba is not None:
                numba.cuda = before
