"""The package's import boundaries, checked on the source with ``ast`` (imports inside functions count)."""
from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "neurodeploy"

# stage -> module prefixes it must never import
FORBIDDEN = {
    "runtime": ("neurodeploy.export", "neurodeploy.training"),
    "hardware": ("neurodeploy.export", "neurodeploy.training", "lava.magma"),
    "energy": ("neurodeploy.export", "neurodeploy.training"),
    "report": ("neurodeploy.export", "neurodeploy.training"),
    # the NetX format knows no stage above it
    "netx": tuple(f"neurodeploy.{s}" for s in ("runtime", "hardware", "energy", "report", "export", "training",
                                                "attacks", "models", "encoding", "data", "runfolder")),
    "encoding": ("lava.magma",),
    "models": ("lava.magma",),
}


def imports(path: Path) -> list:
    """(line, module) of every import in ``path``; relative imports resolved against the package."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
            out.append((node.lineno, base))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]  # `from neurodeploy import cli`
    return out


def modules():
    return sorted(p for p in PKG.rglob("*.py") if "__pycache__" not in p.parts)


def test_walks_the_whole_package():
    names = {p.relative_to(PKG).as_posix() for p in modules()}
    assert {"cli.py", "runtime/api.py", "netx/hdf5.py", "hardware/rules.py", "energy/model.py"} <= names


def _hits(module: str, prefixes) -> bool:
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_stage_boundaries():
    bad = []
    for path in modules():
        rel = path.relative_to(PKG)
        stage = rel.parts[0] if len(rel.parts) > 1 else None
        for line, mod in imports(path):
            if stage in FORBIDDEN and _hits(mod, FORBIDDEN[stage]):
                bad.append(f"neurodeploy/{rel.as_posix()}:{line} imports {mod}")
    assert not bad, "\n".join(bad)


def test_nothing_below_the_cli_imports_it():
    bad = [f"neurodeploy/{p.relative_to(PKG).as_posix()}:{line} imports {mod}"
           for p in modules() if p.name != "cli.py"
           for line, mod in imports(p) if _hits(mod, ("neurodeploy.cli",))]
    assert not bad, "\n".join(bad)


def test_the_checker_catches_a_violation(tmp_path, monkeypatch):
    """The walker sees imports inside functions and relative imports."""
    fake = tmp_path / "neurodeploy" / "runtime"
    fake.mkdir(parents=True)
    (fake / "x.py").write_text("def f():\n    from ..training import run\n    import neurodeploy.cli\n")
    monkeypatch.setattr(__import__(__name__), "PKG", tmp_path / "neurodeploy")
    found = [m for _, m in imports(fake / "x.py")]
    assert "neurodeploy.training" in found and "neurodeploy.cli" in found
