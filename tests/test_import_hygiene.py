"""Import rules, each checked in a fresh interpreter (as harlequin's test_import_hygiene does):
the TUI draws its first frame before torch is imported, widgets never reach the engine, and
`models` never imports `inspector`."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def tui_modules() -> list[str]:
    package = ROOT / "inspector" / "tui"
    return sorted(".".join(path.relative_to(ROOT).with_suffix("").parts)
                  for path in package.rglob("*.py") if path.name != "__init__.py")


def run(python: str, code: str) -> str:
    out = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_every_tui_module_imports_without_torch_until_a_model_loads(python):
    modules = tui_modules()
    assert "inspector.tui.controller" in modules and "inspector.tui.frames" in modules
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in ('torch', 'inspector.engine', 'inspector.loading') "
            "if m in sys.modules))")
    assert run(python, code) == "[]"
    loaded = ("import sys\n"
              "from inspector.tui.jobs import load\n"
              "loaded = load('doubled-lstm', 'ab')\n"
              "print('torch' in sys.modules, loaded.steps[-1].t)")
    assert run(python, loaded) == "True 1"


def test_widgets_never_import_the_engine(python):
    widgets = [m for m in tui_modules() if ".widgets." in m]
    code = ("import importlib, sys\n"
            f"for name in {widgets!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.startswith(('inspector.engine', "
            "'inspector.tui.controller', 'inspector.tui.jobs'))))")
    assert run(python, code) == "[]"


def test_models_never_import_inspector(python):
    names = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
                   for path in (ROOT / "models").rglob("*.py"))
    names = [n for n in names if n != "models.zoo.build"]  # the zoo builder: off to scripts/
    code = ("import importlib, sys\n"
            f"for name in {names!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'inspector'))")
    assert run(python, code) == "[]"
