"""Schemathesis against a live gunicorn: every operation of the OpenAPI document, with
generated valid and invalid input, answers without a server error and as documented (status,
content type, body schema, headers)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.abundance.helpers import counts, tsv
from tests.conftest import PASSWORD, ROOT, Served, serve, stop_served
from tests.uploads_helpers import rows

EXAMPLES = int(os.environ.get("FAIRDB_FUZZ_EXAMPLES", "30"))


def flask_command(served: Served, *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [Path(sys.executable).parent / "flask", "--app", "wsgi", "fairdb", *args],
        cwd=ROOT,
        env=served.env,
        input=stdin,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return done.stdout


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Served, str]]:
    """A server of its own (fuzzing creates and deletes datasets), with a public dataset of
    samples and an abundance table for the generated calls to find."""
    served = serve(tmp_path_factory.mktemp("fuzz"), FAIRDB_API_RATE_LIMIT="1000000 per minute")
    try:
        flask_command(served, "create-user", "fuzz@example.org", "--name", "Fuzz",
                      "--password-stdin", stdin=PASSWORD + "\n")  # fmt: skip
        token = flask_command(served, "create-token", "fuzz@example.org", "--name", "fuzz",
                              "--write").strip().splitlines()[-1]  # fmt: skip
        auth = {"Authorization": f"Bearer {token}"}
        api = served.url + "/api/v1"
        made = requests.post(
            f"{api}/datasets",
            json={"title": "Fuzzed cohort", "checklist": "MimsHumanGut", "privacy_level": "public"},
            headers=auth,
            timeout=30,
        )
        assert made.status_code == 201, made.text
        samples = f"{api}/datasets/{made.json()['id']}/samples"
        stored = requests.post(samples, json=rows(6), headers=auth, timeout=60)
        assert stored.status_code == 201, stored.text
        table = requests.post(
            f"{api}/datasets/{made.json()['id']}/tables",
            files={"file": ("table.tsv", tsv(counts()))},
            headers=auth,
            timeout=60,
        )
        assert table.status_code == 201, table.text
        yield served, token
    finally:
        stop_served(served)


def test_no_operation_errs_or_strays_from_the_document(fuzzed: tuple[Served, str]) -> None:
    import schemathesis
    from hypothesis import HealthCheck, given, settings
    from schemathesis.specs.openapi.checks import positive_data_acceptance

    served, token = fuzzed
    schema = schemathesis.openapi.from_url(served.url + "/api/v1/openapi.json")
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:

        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def call(case: Any) -> None:
            # Schema-valid input may still break rules JSON Schema cannot say (an ORCID check
            # digit, the checklist's cell rules, unique sample names): a 4xx for it is right.
            case.call_and_validate(
                base_url=served.url + "/api/v1",
                headers={"Authorization": f"Bearer {token}"},
                excluded_checks=[positive_data_acceptance],
            )

        try:
            call()
        except Exception as error:  # noqa: BLE001 - collected, reported together below
            failures.append(f"{operation.label}: {error}"[:3000])
    assert failures == [], "\n\n".join(failures)
