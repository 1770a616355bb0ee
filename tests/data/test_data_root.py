"""find_data_root: NEURODEPLOY_DATA, else shared/data beside an ancestor of the checkout, else of its local origin."""
import subprocess

from neurodeploy.data.root import find_data_root


def _data(root):
    (root / "shared" / "data" / "fashion-mnist").mkdir(parents=True)
    return root / "shared" / "data"


def test_env_then_checkout_ancestors(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURODEPLOY_DATA", raising=False)
    checkout = tmp_path / "a" / "wt" / "repo"
    checkout.mkdir(parents=True)
    assert find_data_root(checkout) is None
    found = _data(tmp_path / "a")
    assert find_data_root(checkout) == found.resolve()
    assert find_data_root(checkout, need="mnist") is None
    env = tmp_path / "elsewhere"
    (env / "fashion-mnist").mkdir(parents=True)
    monkeypatch.setenv("NEURODEPLOY_DATA", str(env))
    assert find_data_root(checkout) == env


def test_clone_finds_data_beside_its_local_origin(tmp_path, monkeypatch):
    monkeypatch.delenv("NEURODEPLOY_DATA", raising=False)
    origin = tmp_path / "home" / "repo"
    origin.mkdir(parents=True)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q", str(origin)], check=True)
    subprocess.run([*git, "-C", str(origin), "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    clone = tmp_path / "ci" / "clone"
    subprocess.run(["git", "clone", "-q", str(origin), str(clone)], check=True)
    assert find_data_root(clone) is None
    found = _data(tmp_path / "home")
    assert find_data_root(clone) == found.resolve()
