"""The wheel: built from a copy of the source, installed into a fresh venv that reuses the set-up
venv's heavy packages (a .pth file, nothing downloaded), and used from outside the repository."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _sh(cmd, cwd, env, timeout=120):
    r = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return r.returncode, r.stdout + r.stderr


def test_wheel_installs_and_runs_outside_the_repo(tmp_path):
    # build from a copy, so the checkout gets no build/ or egg-info
    src = tmp_path / "src"
    src.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "neurodeploy", src / "neurodeploy", ignore=shutil.ignore_patterns("__pycache__"))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEURODEPLOY_DATA", "NEURODEPLOY_PROFILES")}
    rc, out = _sh([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                   tmp_path / "dist", src], tmp_path, env)
    assert rc == 0, out
    (wheel,) = (tmp_path / "dist").glob("neurodeploy-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        meta = z.read(next(n for n in names if n.endswith(".dist-info/METADATA"))).decode()
    assert {f"neurodeploy/hardware/builtin_profiles/{p}.toml" for p in ("loihi1", "loihi2", "cmos45-fp32")} <= set(names)
    assert "neurodeploy/data/sample/t10k-images-idx3-ubyte.gz" in names
    assert "Requires-Python: >=3.11" in meta
    requires = [ln.split(":", 1)[1].strip() for ln in meta.splitlines() if ln.startswith("Requires-Dist:")]
    assert {"torch", "numpy", "h5py", "click", "scipy"} <= {r.split("<")[0].split(">")[0].split(";")[0].strip()
                                                            for r in requires}
    assert not any(r.startswith(("lava", "torchattacks")) for r in requires)

    # a fresh venv whose only extra path is the set-up venv's site-packages (its .pth files are not run,
    # so the set-up venv's editable neurodeploy stays invisible)
    venv = tmp_path / "venv"
    rc, out = _sh([sys.executable, "-m", "venv", "--without-pip", venv], tmp_path, env)
    assert rc == 0, out
    py = venv / "bin" / "python"
    site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "setup_venv.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    rc, out = _sh([py, "-m", "pip", "install", "-q", "--no-deps", "--no-index", wheel], tmp_path, env)
    assert rc == 0, out

    work = tmp_path / "elsewhere"
    work.mkdir()
    model = work / "model.net"
    shutil.copy(ROOT / "netx_models" / "fmnist_mlp_early_burst_T8.net", model)
    cli = venv / "bin" / "neurodeploy"
    rc, out = _sh([py, "-c", "import neurodeploy; print(neurodeploy.__file__)"], work, env)
    assert rc == 0 and out.strip().startswith(str(venv)), out  # the wheel's copy, not the checkout
    rc, out = _sh([cli, "--version"], work, env)
    assert rc == 0 and "neurodeploy, version" in out, out
    rc, out = _sh([cli, "profiles"], work, env)
    assert rc == 0 and "loihi2" in out and str(venv) in out, out
    rc, out = _sh([cli, "fit", model, "--target", "loihi2"], work, env)
    assert rc == 0 and "loihi2" in out.lower(), out
    rc, out = _sh([cli, "run", model, "--backend", "emu", "--limit", "50"], work, env)
    assert rc == 0 and "emu: accuracy" in out and "/50)" in out, out
