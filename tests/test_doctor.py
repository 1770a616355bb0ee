"""neurodeploy doctor: one line per component; exit 0 when the core works, 1 when it does not."""
from click.testing import CliRunner

from neurodeploy.cli import main


def test_doctor_reports_every_component():
    r = CliRunner().invoke(main, ["doctor"])
    assert r.exit_code == 0, r.output
    status = {ln[9:33].strip(): ln.split()[0] for ln in r.output.splitlines()[1:-1]}
    assert set(status) == {"python", "torch", "numpy", "h5py", "hardware profiles", "sample data", "lava (lava-nc)",
                           "lava 3.11 fix", "lava-dl slayer", "lava-dl netx", "torchattacks", "loihi 2 runtime", "ray"}
    # the set-up venv: everything but the chip works
    assert all(status[k] == "ok" for k in status if k not in ("loihi 2 runtime", "ray")), r.output
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
