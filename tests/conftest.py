import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def cli_env() -> dict[str, str]:
    """Environment for running `python -m inspector.cli` in a subprocess from any directory."""
    env = dict(os.environ)
    # No empty entry: that would put the current directory on sys.path and hide whether the
    # command itself makes user modules importable from there.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def python() -> str:
    return sys.executable
