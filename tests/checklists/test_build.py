"""The checklist JSON the app reads is exactly what the vendored MIxS files build."""

from __future__ import annotations

from fairdb.checklists import build
from fairdb.checklists.model import DATA, get_checklist


def test_committed_checklists_match_a_fresh_build(tmp_path, monkeypatch):
    monkeypatch.setattr(build, "TARGET", tmp_path)
    written = build.build()
    assert {path.name for path in written} == {
        "MimsHumanGut.json",
        "MimarksSHumanGut.json",
        "core.json",
    }
    for path in written:
        assert path.read_text() == (DATA / path.name).read_text(), (
            f"{path.name} is stale: run python -m fairdb.checklists.build"
        )


def test_the_human_gut_checklists_carry_the_standard():
    gut = get_checklist("MimsHumanGut")
    assert gut.mixs_version == "7.0.1"
    assert set(gut.required) >= {"samp_name", "collection_date", "lat_lon", "geo_loc_name"}
    assert gut.field("lib_layout").enum == ("other", "paired", "single", "vector")
    assert gut.field("lat_lon").kind == "lat_lon"
    assert "target_gene" in get_checklist("MimarksSHumanGut").required
    assert set(get_checklist("core").required) == {"samp_name", "collection_date", "geo_loc_name"}
