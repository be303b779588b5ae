"""The product core never imports the test bed (``dff_grasp_ros.synthetic``): read from the source, then checked
again at run time by importing every core module in a fresh interpreter."""
from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dff_grasp_ros"
TEST_BED = "dff_grasp_ros.synthetic"
# Allowed to use the test bed: the test bed itself, the demo, the simulated camera and the CLI (for `sim ...`).
TEST_BED_USERS = ("synthetic/", "demo.py", "nodes/sim_camera.py", "cli.py")


def core_modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py")
                  if not str(p.relative_to(PACKAGE)).startswith(TEST_BED_USERS))


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of_test_bed(source: str, module: str) -> list[str]:
    """Every import of the test bed in ``source`` (absolute, relative, or a literal importlib call)."""
    found = []
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith(TEST_BED)]
        elif isinstance(node, ast.ImportFrom):
            target = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([target] if target else []))
            names = [f"{target}.{a.name}" for a in node.names]
            found += [n for n in [target, *names] if n.startswith(TEST_BED)][:1]
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", "")) in (
                "import_module", "__import__"):
            found += [a.value for a in node.args if isinstance(a, ast.Constant) and str(a.value).startswith(TEST_BED)]
    return found


def test_the_check_finds_each_kind_of_import():
    assert imports_of_test_bed("import dff_grasp_ros.synthetic.render", "dff_grasp_ros.query.x")
    assert imports_of_test_bed("from dff_grasp_ros.synthetic import judge", "dff_grasp_ros.query.x")
    assert imports_of_test_bed("from dff_grasp_ros import synthetic", "dff_grasp_ros.query.x")
    assert imports_of_test_bed("from ..synthetic.labels import X", "dff_grasp_ros.query.x")
    assert imports_of_test_bed("importlib.import_module('dff_grasp_ros.synthetic.teachers')", "dff_grasp_ros.a")
    assert not imports_of_test_bed("from dff_grasp_ros.query import relevancy", "dff_grasp_ros.query.x")


def test_core_source_never_imports_the_test_bed():
    modules = core_modules()
    assert len(modules) > 40 and any(p.name == "pipeline.py" for p in modules)
    offenders = {str(p.relative_to(PACKAGE)): found for p in modules
                 if (found := imports_of_test_bed(p.read_text(), module_name(p)))}
    assert not offenders, f"the product core imports the test bed: {offenders}"


def test_importing_the_whole_core_loads_no_test_bed_module():
    names = [module_name(p) for p in core_modules() if p.name != "__main__.py"]
    code = ("import importlib, sys\n"
            f"for name in {names!r}:\n    importlib.import_module(name)\n"
            f"print(sorted(m for m in sys.modules if m.startswith({TEST_BED!r})))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
