"""A bad grid is refused before any cell starts, in one line naming the file, the cell and the key."""
from __future__ import annotations

import pytest

from neurodeploy.study.grid import GridError, load_grid
from study_helpers import tiny_grid

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]

BAD = [
    # (extra TOML appended to the tiny grid, the cell named, the key named)
    ('[[rows]]\nname = "ANN x"\nann = true\nmppd = 0.1\n', "ANN x", "mppd"),
    ('[[rows]]\nname = "ANN y"\nann = true\nencoding = "ttfs"\n', "ANN y", "encoding"),
    ('[[rows]]\nname = "ANN z"\nann = true\nexits = ["margin:2"]\n', "ANN z", "exits"),
    ('[[rows]]\nname = "SNN typo"\nepochz = 3\n', "SNN typo", "epochz"),
    ('[[rows]]\nname = "SNN loss"\nloss = "hinge"\n', "SNN loss", "loss"),
    ('[[rows]]\nname = "SNN epochs"\nepochs = "ten"\n', "SNN epochs", "epochs"),
    ('[[rows]]\nname = "SNN adv"\nadv = "pgd:0.1"\n', "SNN adv", "adv"),
    ('[[rows]]\nname = "SNN enc"\nencoding = "morse"\n', "SNN enc", "encoding"),
    ('[[rows]]\nname = "SNN exit"\nexits = ["margin:0"]\n', "SNN exit", "exits"),
    ('[[rows]]\nname = "SNN recipe"\nrecipe = "nope"\n', "SNN recipe", "recipe"),
    ('[[rows]]\nname = "SNN early_burst"\n', "SNN early_burst", "name"),          # duplicate name
    ('[[product]]\nname = "P"\nencoding = ["ttfs"]\nmppd = -1.0\n', "P ttfs", "mppd"),
]


@pytest.mark.parametrize("extra, cell, key", BAD)
def test_bad_row_refused_naming_file_cell_key(tmp_path, extra, cell, key):
    path = tiny_grid(tmp_path, extra=extra)
    with pytest.raises(GridError) as e:
        load_grid(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and f"cell '{cell}'" in msg and f"key '{key}'" in msg, msg
    assert "\n" not in msg


@pytest.mark.parametrize("old, new, key", [
    ('limit = 16', 'limit = 0', "study.limit"),
    ('eps = [0.1]', 'eps = [1.5]', "study.eps"),
    ('target = "loihi2"', 'target = "loihi9"', "study.target"),
    ('seed = 0', 'seed = 0\ncolour = "red"', "study.colour"),
    ('queries = 2', 'queries = 2\nexit = "off"', "attack.exit"),
    ('queries = 2', 'queries = 0', "attack"),
    ('[train]', '[trian]', "trian"),
    ('queries = 2', 'queries = 2\ntransfer_from = "SNN early_burst"', "attack.transfer_from"),
    ('queries = 2', 'queries = 2\ntransfer_from = "ANN nobody"', "attack.transfer_from"),
])
def test_bad_study_settings_refused(tmp_path, old, new, key):
    path = tmp_path / "g.toml"
    text = tiny_grid(tmp_path).read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(GridError) as e:
        load_grid(path)
    assert str(e.value).startswith(str(path)) and f"key '{key}'" in str(e.value), str(e.value)


def test_bad_grid_refused_before_any_cell_starts(tmp_path):
    """The first row is fine, the last is not: nothing is trained, no folder is made."""
    from neurodeploy.study.runner import run_study

    path = tiny_grid(tmp_path, extra='[[rows]]\nname = "ANN bad"\nann = true\nmppd = 0.5\n')
    out = tmp_path / "out"
    with pytest.raises(GridError):
        run_study(path, out, workers=1, progress=False)
    assert not out.exists()


def test_cli_bad_grid_one_line_exit_3(tmp_path):
    from click.testing import CliRunner

    from neurodeploy.cli import main

    path = tiny_grid(tmp_path, extra='[[rows]]\nname = "SNN typo"\nepochz = 3\n')
    r = CliRunner().invoke(main, ["study", str(path), "--out", str(tmp_path / "out")])
    assert r.exit_code == 3
    lines = [l for l in r.output.splitlines() if l.strip()]
    assert len(lines) == 1 and "cell 'SNN typo'" in lines[0] and "key 'epochz'" in lines[0]
    assert not (tmp_path / "out").exists()


def test_shipped_grids_are_valid_and_complete():
    """fmnist/mnist: 3 ANN rows (standard, adversarial, quantised input) + 5 encodings x 4 recipes SNN rows,
    each SNN row at full T and early exit."""
    for name, dataset in (("fmnist", "fashion-mnist"), ("mnist", "mnist")):
        g = load_grid(ROOT / "studies" / f"{name}.toml")
        assert g.eps == [0.05, 0.1, 0.2] and g.target == "loihi2" and g.seed_pgd_steps == 7
        snn = [c for c in g.cells if not c.is_ann]
        ann = [c for c in g.cells if c.is_ann]
        assert len(ann) == 3 and all(c.exit == "off" for c in ann)
        quant = next(c for c in ann if c.row == "ANN quantised input")
        assert quant.train["input_quantisation"] and quant.train["encoding"]["name"] == "early_burst"
        assert len(snn) == 5 * 4 * 2 and len(g.runs()) == 3 + 20
        assert {c.train["encoding"]["name"] for c in snn} == {"direct", "poisson", "early_burst", "ttfs", "fusion"}
        assert {c.exit for c in snn} == {"off", "margin:2,min=2"}
        assert all(c.train["dataset"] == dataset for c in g.cells)
        src = next(c for c in ann if c.row == "ANN standard")
        assert all(c.transfer_run == src.run_id for c in g.cells if c is not src) and src.transfer_run == ""
        mppd = [c for c in snn if c.train["mppd"] is not None]
        assert len(mppd) == 10 and all(c.train["adv"] for c in mppd)
    smoke = load_grid(ROOT / "studies" / "smoke.toml")
    assert len(smoke.cells) == 2 and len(smoke.runs()) == 1 and smoke.limit == 300


def test_cells_share_a_run_and_ids_follow_settings(tmp_path):
    g = load_grid(tiny_grid(tmp_path))
    a, b = g.cells
    assert a.run_id == b.run_id and a.cell_id != b.cell_id
    g2 = load_grid(tiny_grid(tmp_path, epochs=3, name="t3.toml"))
    assert g2.cells[0].run_id != a.run_id                       # other training: another run
    assert g.with_limit(8).cells[0].cell_id != a.cell_id        # other evaluation: another cell, same run
    assert g.with_limit(8).cells[0].run_id == a.run_id


def test_transfer_source_row(tmp_path):
    """[attack] transfer_from names an ANN row: the other cells depend on its run."""
    from neurodeploy.study.runner import plan_jobs

    path = tmp_path / "g.toml"
    text = tiny_grid(tmp_path).read_text().replace("queries = 2", 'queries = 2\ntransfer_from = "ANN"')
    path.write_text(text + '[[rows]]\nname = "ANN"\nann = true\n')
    g = load_grid(path)
    ann = next(c for c in g.cells if c.is_ann)
    snn = [c for c in g.cells if not c.is_ann]
    assert len(snn) == 2 and all(c.transfer_run == ann.run_id for c in snn) and ann.transfer_run == ""
    jobs, done = plan_jobs(g, tmp_path / "out")
    cell_jobs = {j.id: j for j in jobs if j.id.startswith("cell:")}
    for c in snn:
        assert set(cell_jobs[f"cell:{c.cell_id}"].deps) == {f"run:{c.run_id}", f"run:{ann.run_id}"}
    assert done == 0 and {j.id for j in jobs if j.id.startswith("run:")} == {f"run:{c.run_id}" for c in g.cells}

