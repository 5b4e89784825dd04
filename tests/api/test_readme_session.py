"""The README's API session, run as written against a live gunicorn."""

from __future__ import annotations

import csv
import io
import os
import re
import runpy
from pathlib import Path
from typing import Any

import pytest

from tests.api.test_fuzz import flask_command
from tests.conftest import PASSWORD, ROOT
from tests.uploads_helpers import csv_bytes, rows


def session_code() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = re.search(r"<!-- api-session -->\n```python\n(.*?)```", readme, re.S)
    assert found, "the README has no API session"
    return found.group(1)


@pytest.mark.server
def test_the_readme_session_works_as_written(
    gunicorn_server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    flask_command(gunicorn_server, "create-user", "readme@example.org", "--name", "Readme",
                  "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    token = flask_command(gunicorn_server, "create-token", "readme@example.org", "--name",
                          "readme", "--write").strip().splitlines()[-1]  # fmt: skip
    records = rows(8, prefix="R", host_sex=lambda n: ("female", "male")[n % 2])
    (tmp_path / "samples.csv").write_bytes(csv_bytes(records))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(os.environ, "FAIRDB_URL", gunicorn_server.url)
    monkeypatch.setitem(os.environ, "FAIRDB_TOKEN", token)
    script = tmp_path / "session.py"
    script.write_text(session_code(), encoding="utf-8")
    runpy.run_path(str(script), run_name="__main__")
    printed = capsys.readouterr().out
    assert "8 samples stored" in printed
    assert sorted(re.findall(r"^(R\d+) ", printed, re.M)) == sorted(f"R{n}" for n in (2, 4, 6, 8))
    downloaded = list(csv.DictReader(io.StringIO((tmp_path / "found.csv").read_text())))
    assert sorted(row["samp_name"] for row in downloaded) == sorted(f"R{n}" for n in range(1, 9))


@pytest.mark.server
def test_reads_with_one_token_record_its_last_use_and_do_not_queue(gunicorn_server: Any) -> None:
    """Under gunicorn, where each request's session ends with it: the token's last use is
    committed (it was flushed and rolled back with every GET, holding the row's lock)."""
    import subprocess
    import sys
    from concurrent.futures import ThreadPoolExecutor

    import requests

    flask_command(gunicorn_server, "create-user", "last@example.org", "--name", "Last",
                  "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
    token = flask_command(gunicorn_server, "create-token", "last@example.org", "--name",
                          "reader").strip().splitlines()[-1]  # fmt: skip
    auth = {"Authorization": f"Bearer {token}"}
    with ThreadPoolExecutor(4) as pool:
        answers = list(
            pool.map(
                lambda _: (
                    requests.get(
                        f"{gunicorn_server.url}/api/v1/checklists", headers=auth, timeout=30
                    ).status_code
                ),
                range(8),
            )
        )
    assert answers == [200] * 8
    read = (
        "from fairdb import create_app\n"
        "from fairdb.extensions import db\n"
        "from fairdb.models import ApiToken\n"
        "from sqlalchemy import select\n"
        "with create_app().app_context():\n"
        "    print(db.session.scalar(select(ApiToken.last_used_at)"
        ".where(ApiToken.name == 'reader')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", read],
        cwd=ROOT,
        env=gunicorn_server.env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip().splitlines()[-1] != "None"
