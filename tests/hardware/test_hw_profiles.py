"""Profiles: the shipped files load, every figure is sourced, and schema faults are one clear line."""
from __future__ import annotations

import os

import pytest

from neurodeploy.errors import BadInputError, UsageError
from neurodeploy.hardware.profiles import (QUALITIES, format_profiles, list_profiles, load_profile,
                                           read_profile)

GOOD = """
[profile]
name = "toy"
kind = "neuromorphic"

[energy]
synop = { value = 1.0, unit = "pJ", source = "made up for a test", quality = "proxy" }
"""


def write(tmp_path, text, name="toy.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_shipped_profiles_load_with_sources():
    names = {p.name for p in list_profiles()}
    assert {"loihi1", "loihi2", "cmos45-fp32", "cmos45-int8"} <= names
    for prof in list_profiles():
        for section in (prof.energy, prof.latency, prof.limits):
            for q in section.values():
                assert q.source.strip() and q.quality in QUALITIES


def test_loihi2_per_op_figures_are_proxy_and_loihi1_secondary():
    l1, l2 = load_profile("loihi1"), load_profile("loihi2")
    assert l1.quantity("energy.synop").quality == "secondary"
    for key in ("synop", "neuron_update_inactive", "neuron_update_active", "spike"):
        assert l2.energy[key].quality == "proxy"
        assert l2.energy[key].value == l1.energy[key].value
    assert l1.joules("synop") == pytest.approx(23.6e-12)
    assert l2.limit("synaptic_memory_per_core") == 128 * 1024
    assert load_profile("cmos45-int8").joules("mac") == pytest.approx(0.23e-12)
    assert load_profile("cmos45-fp32").joules("ac") == pytest.approx(0.9e-12)


def test_missing_key_in_figure_names_file_and_field(tmp_path):
    p = write(tmp_path, GOOD.replace(', quality = "proxy"', ""))
    with pytest.raises(BadInputError) as e:
        read_profile(p)
    msg = str(e.value)
    assert str(p) in msg and "energy.synop" in msg and "quality" in msg and "\n" not in msg


def test_ill_typed_value_names_file_and_field(tmp_path):
    p = write(tmp_path, GOOD.replace("value = 1.0", 'value = "1.0"'))
    with pytest.raises(BadInputError) as e:
        read_profile(p)
    assert str(p) in str(e.value) and "energy.synop.value" in str(e.value) and "\n" not in str(e.value)
    assert e.value.exit_code == 3


def test_bare_number_instead_of_table(tmp_path):
    p = write(tmp_path, GOOD + "\n[limits]\nneurons_per_core = 1024\n")
    with pytest.raises(BadInputError, match="limits.neurons_per_core"):
        read_profile(p)


def test_ill_typed_limit_and_bad_quality_and_unit(tmp_path):
    bad_int = GOOD + '\n[limits]\nneurons_per_core = { value = 1.5, unit = "neurons", source = "x", quality = "proxy" }\n'
    with pytest.raises(BadInputError, match=r"'limits.neurons_per_core.value' must be int"):
        read_profile(write(tmp_path, bad_int))
    with pytest.raises(BadInputError, match="energy.synop.quality"):
        read_profile(write(tmp_path, GOOD.replace('"proxy"', '"guess"')))
    with pytest.raises(BadInputError, match="energy.synop.unit"):
        read_profile(write(tmp_path, GOOD.replace('"pJ"', '"ns"')))


def test_missing_required_and_unknown_fields(tmp_path):
    with pytest.raises(BadInputError, match="missing field 'profile.kind'"):
        read_profile(write(tmp_path, GOOD.replace('kind = "neuromorphic"\n', "")))
    cmos = GOOD.replace('"neuromorphic"', '"cmos"')
    with pytest.raises(BadInputError, match="missing field 'energy.mac'"):
        read_profile(write(tmp_path, cmos))
    with pytest.raises(BadInputError, match="unknown field 'energy.synopp'"):
        read_profile(write(tmp_path, GOOD.replace("synop =", "synopp =")))
    with pytest.raises(BadInputError, match="not valid TOML"):
        read_profile(write(tmp_path, "[profile\n"))


def test_user_folder_overrides_by_name_and_adds(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    write(a, GOOD.replace('name = "toy"', 'name = "loihi2"'), "mine.toml")
    write(b, GOOD, "toy.toml")
    monkeypatch.setenv("NEURODEPLOY_PROFILES", os.pathsep.join([str(a), str(b)]))
    profiles = {p.name: p for p in list_profiles()}
    assert profiles["loihi2"].path == a / "mine.toml"
    assert load_profile("toy").path == b / "toy.toml"
    assert "toy" in format_profiles(list_profiles())


def test_unknown_target_is_usage_error_listing_names(monkeypatch):
    monkeypatch.delenv("NEURODEPLOY_PROFILES", raising=False)
    with pytest.raises(UsageError) as e:
        load_profile("loihi3")
    assert "loihi2" in str(e.value) and "cmos45-fp32" in str(e.value) and e.value.exit_code == 2


def test_load_by_path(tmp_path):
    p = write(tmp_path, GOOD)
    assert load_profile(str(p)).name == "toy"
    with pytest.raises(BadInputError, match="no such profile file"):
        load_profile(str(tmp_path / "absent.toml"))
