"""neurodeploy doctor: one line per component; exit 0 when the core works, 1 when it does not."""
from click.testing import CliRunner

from neurodeploy.cli import main


def test_doctor_reports_every_component():
    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 0, r.output
    status = {ln[9:33].strip(): ln.split()[0] for ln in r.output.splitlines()[1:-1]}
    assert set(status) == {"python", "torch", "numpy", "h5py", "hardware profiles", "sample data", "lava (lava-nc)",
                           "lava 3.11 fix", "lava-dl slayer", "lava-dl netx", "torchattacks", "loihi 2 runtime", "ray",
                           "fast CUBA kernels", "emu compiled loop"}
    # the set-up venv: everything but the chip works
    optional = ("loihi 2 runtime", "ray", "fast CUBA kernels", "emu compiled loop")
    assert all(status[k] == "ok" for k in status if k not in optional), r.output
    assert status["loihi 2 runtime"] in ("ok", "missing")
    assert r.output.splitlines()[-1] == "core: works"


def test_doctor_fails_without_builtin_profiles(monkeypatch, tmp_path):
    import neurodeploy.hardware.profiles as profiles

    monkeypatch.setattr(profiles, "builtin_dir", lambda: tmp_path)
    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 1
    assert any(ln.startswith("broken   hardware profiles") for ln in r.output.splitlines()), r.output


def test_version():
    r = CliRunner().invoke(main, ["--version"])
    assert r.exit_code == 0 and r.output.startswith("neurodeploy, version ")


def test_doctor_says_whether_the_compiled_parts_are_built(tmp_path, monkeypatch):
    """An empty cache: both compiled parts 'missing', built at first use; with the emulator's
    library in that cache (where a build puts it), 'ok'. Nothing is compiled here."""
    from neurodeploy.cext import build_dir
    from neurodeploy.doctor import check_compiled
    from neurodeploy.runtime import emu_kernel

    monkeypatch.setenv("NEURODEPLOY_CACHE", str(tmp_path))
    before = {c.name: c for c in check_compiled()}
    assert all(c.status == "missing" and "first use" in c.detail for c in before.values())
    d = build_dir("emu_cuba", emu_kernel._SOURCE)
    assert d.is_relative_to(tmp_path)
    d.mkdir(parents=True)
    (d / "neurodeploy_emu_cuba.so").write_bytes(b"")
    after = {c.name: c for c in check_compiled()}
    assert after["emu compiled loop"].status == "ok" and after["fast CUBA kernels"].status == "missing"
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    assert "no C++ compiler" in {c.name: c for c in check_compiled()}["fast CUBA kernels"].detail
