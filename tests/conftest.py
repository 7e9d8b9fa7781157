"""Shared pytest setup: golden files, and hypothesis's CI profile.

`pytest --update-golden` rewrites expected outputs instead of comparing with them.  Tests call
`check_golden(path, actual_text)` (or use the `golden` fixture, the same function) for IR and
assembly golden files; review the diff after updating.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI (CI=true) explores the same examples every run, so a submission's result does not depend on luck;
# local runs keep exploring new ones.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

_update = False


def pytest_addoption(parser):
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files with the actual output instead of comparing")


def pytest_configure(config):
    global _update
    _update = config.getoption("--update-golden")


def check_golden(path: str | Path, actual: str) -> None:
    """Assert `actual` equals the file at `path`; with --update-golden, write it there instead."""
    path = Path(path)
    if _update:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != actual:
            path.write_text(actual)
        return
    if not path.exists():
        pytest.fail(f"golden file {path} is missing: run pytest --update-golden and review it")
    expected = path.read_text()
    assert actual == expected, f"{path} differs (rerun with --update-golden to accept the new output)"


@pytest.fixture
def golden():
    """The `check_golden(path, actual_text)` function."""
    return check_golden
