"""Every citation points to something in the repository: no machine paths, no missing documents."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# spelled in pieces so this file does not match itself
FORBIDDEN = ["REFERENCE" + ".md", "REFERENCE" + " §", "CLI" + ".md", "/wo" + "rk/", "/ho" + "me/"]


def tracked_text_files() -> list:
    out = subprocess.run(["git", "-C", str(ROOT), "ls-files"], capture_output=True, text=True)
    names = out.stdout.split() if out.returncode == 0 else [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
                                                            if ".git" not in p.parts and ".venv" not in p.parts]
    files = []
    for n in names:
        p = ROOT / n
        if p.is_file() and p.suffix in (".py", ".md", ".toml", ".cfg", ".txt", ".sh", ""):
            files.append(p)
    return files


def test_no_machine_paths_or_outside_documents():
    bad = []
    for p in tracked_text_files():
        try:
            text = p.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        for i, line in enumerate(text.splitlines(), 1):
            if any(f in line for f in FORBIDDEN):
                bad.append(f"{p.relative_to(ROOT)}:{i}: {line.strip()[:100]}")
    assert not bad, "\n".join(bad)


def test_cited_docs_exist_and_readme_links_them():
    cited = set()
    for p in tracked_text_files():
        try:
            cited |= set(re.findall(r"docs/[a-z0-9_]+\.md", p.read_text(encoding="utf-8")))
        except UnicodeDecodeError:
            continue
    expected = {f"docs/{n}.md" for n in ("cli", "formats", "energy", "attacks", "steps")}
    assert expected <= cited
    missing = sorted(c for c in cited if not (ROOT / c).is_file())
    assert not missing, missing
    readme = (ROOT / "README.md").read_text()
    assert all(f"({d})" in readme for d in expected)
