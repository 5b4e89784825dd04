"""Upload attempts: progress and reports written on their own connection, outside the data's
all-or-nothing transaction, so a page can watch a long upload and a failed one leaves a report."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select, update

from fairdb.extensions import db
from fairdb.models import UploadAttempt
from fairdb.models.base import utcnow


def start(
    *, token: str, dataset_id: int, user_id: int, filename: str, size: int, kind: str = "samples"
) -> int:
    with db.engine.begin() as connection:
        attempt_id = connection.execute(
            insert(UploadAttempt)
            .values(
                token=token,
                kind=kind,
                dataset_id=dataset_id,
                user_id=user_id,
                filename=filename[:255],
                status="checking",
                rows_done=0,
                bytes_total=size,
                bytes_done=size,
                report={},
                created_at=utcnow(),
                updated_at=utcnow(),
            )
            .returning(UploadAttempt.id)
        ).scalar_one()
    return int(attempt_id)


def progress(attempt_id: int, rows_done: int) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            update(UploadAttempt)
            .where(UploadAttempt.id == attempt_id)
            .values(rows_done=rows_done, updated_at=utcnow())
        )


def finish(attempt_id: int, status: str, report: dict[str, Any]) -> None:
    with db.engine.begin() as connection:
        connection.execute(
            update(UploadAttempt)
            .where(UploadAttempt.id == attempt_id)
            .values(status=status, report=report, updated_at=utcnow())
        )


def by_token(token: str) -> UploadAttempt | None:
    return db.session.scalar(select(UploadAttempt).where(UploadAttempt.token == token))
