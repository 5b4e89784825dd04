"""The dataset list: what each visitor finds, with words and filters."""

from __future__ import annotations

import re

from fairdb.extensions import db
from fairdb.models import Privacy
from fairdb.services import datasets
from tests.conftest import sign_in


def titles(response) -> list[str]:
    assert response.status_code == 200
    return re.findall(
        r'<h2><a href="/datasets/\d+">([^<]+)</a></h2>', response.get_data(as_text=True)
    )


def test_words_and_filters_narrow_the_list(client, create_user):
    owner = create_user("owner@example.org", name="Olga Owner")
    for title, license, keywords, privacy in (
        ("Dutch adults gut", "CC-BY-4.0", ["adults", "Netherlands"], Privacy.PUBLIC),
        ("Kenyan infants stool", "CC0-1.0", ["infants"], Privacy.RESTRICTED),
        ("Hidden pilot", "CC0-1.0", ["pilot"], Privacy.PRIVATE),
    ):
        datasets.create_dataset(
            owner,
            title=title,
            checklist="MimsHumanGut",
            license=license,
            keywords=keywords,
            privacy=privacy,
        )
    db.session.commit()
    assert sorted(titles(client.get("/datasets"))) == ["Dutch adults gut", "Kenyan infants stool"]
    assert titles(client.get("/datasets?q=infants")) == ["Kenyan infants stool"]
    assert titles(client.get("/datasets?q=olga")) == [
        "Dutch adults gut",
        "Kenyan infants stool",
    ] or (
        sorted(titles(client.get("/datasets?q=olga")))
        == ["Dutch adults gut", "Kenyan infants stool"]
    )
    assert titles(client.get("/datasets?license=CC0-1.0")) == ["Kenyan infants stool"]
    assert titles(client.get("/datasets?keyword=Netherlands")) == ["Dutch adults gut"]
    assert titles(client.get("/datasets?privacy=restricted")) == ["Kenyan infants stool"]
    assert titles(client.get("/datasets?q=hidden")) == []
    assert "0 datasets" in client.get("/datasets?q=hidden").get_data(as_text=True)
    sign_in(client, owner.email)
    assert titles(client.get("/datasets?q=hidden")) == ["Hidden pilot"]
