"""The `flask fairdb ...` commands for operators."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from fairdb.abundance.ingest import ORIENTATIONS, ingest_abundance
from fairdb.checklists.model import DEFAULT_CHECKLIST, checklist_names
from fairdb.extensions import db
from fairdb.models import Dataset, Privacy, Role
from fairdb.services import (
    access,
    accounts,
    curation,
    datasets,
    ingest,
    reports,
    search_orders,
    tokens,
)
from fairdb.services.passwords import password_problems

fairdb_cli = AppGroup("fairdb", help="fairdb administration.")


@fairdb_cli.command("create-user")
@click.argument("email")
@click.option("--name", "display_name", required=True, help="Display name.")
@click.option("--admin", is_flag=True, help="Give the account the admin role.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, display_name: str, admin: bool, password_stdin: bool) -> None:
    """Create an account (no default admin exists: make one with --admin)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    problems = password_problems(
        password,
        min_length=int(current_app.config["PASSWORD_MIN_LENGTH"]),
        personal=[email, display_name],
    )
    if problems:
        raise click.ClickException(problems[0])
    try:
        user = accounts.create_user(
            email=email,
            display_name=display_name,
            password=password,
            role=Role.ADMIN if admin else Role.RESEARCHER,
        )
    except accounts.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {user.role.value} {user.email} (id {user.id})")


@fairdb_cli.command("create-token")
@click.argument("email")
@click.option("--name", required=True, help="What will use it, shown in the account's list.")
@click.option("--write", "can_write", is_flag=True, help="Allow changes (default: read only).")
def create_token(email: str, name: str, can_write: bool) -> None:
    """Create a personal API token for an account; the token is the last line printed."""
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"No account with the address {email}.")
    if not user.is_active:
        raise click.ClickException(
            f"The account {user.email} is disabled: its tokens would not work."
        )
    try:
        token, plaintext = tokens.create_token(user, name, can_write=can_write)
    except tokens.TokenError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    access_kind = "read+write" if token.can_write else "read"
    # Notes to stderr, the token alone to stdout: TOKEN=$(flask fairdb create-token ...) works.
    click.echo(
        f"created {access_kind} token {token.name!r} for {user.email} (id {token.id})", err=True
    )
    click.echo("Keep it secret; it will not be shown again:", err=True)
    click.echo(plaintext)


@fairdb_cli.command("import-samples")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--owner", "owner_email", required=True, help="Email of the account that owns it.")
@click.option("--dataset", "dataset_id", type=int, help="Add to this existing dataset.")
@click.option("--title", help="Create a new dataset with this title.")
@click.option("--checklist", default=None, help="Checklist of a new dataset.")
@click.option(
    "--privacy",
    type=click.Choice([p.value for p in Privacy]),
    default=Privacy.PRIVATE.value,
    help="Privacy of a new dataset.",
)
def import_samples(
    file: Path,
    owner_email: str,
    dataset_id: int | None,
    title: str | None,
    checklist: str | None,
    privacy: str,
) -> None:
    """Check a sample-metadata file and store it, all or nothing (same rules as the web upload)."""
    if (dataset_id is None) == (title is None):
        raise click.UsageError("Give exactly one of --dataset ID or --title TITLE.")
    owner = accounts.find_user(owner_email)
    if owner is None:
        raise click.ClickException(f"No account with the address {owner_email}.")
    if dataset_id is not None:
        dataset = db.session.get(Dataset, dataset_id)
        if dataset is None:
            raise click.ClickException(f"There is no dataset {dataset_id}.")
        if not access.can_edit_dataset(owner, dataset):
            raise click.ClickException(
                f"{owner.email} may not add samples to dataset {dataset_id}."
            )
    else:
        name = checklist or DEFAULT_CHECKLIST
        if name not in checklist_names():
            raise click.ClickException(
                f"Unknown checklist {name!r}: choose one of {', '.join(checklist_names())}."
            )
        dataset = datasets.create_dataset(
            owner, title=title or "", checklist=name, privacy=Privacy(privacy)
        )
    result = ingest.ingest_samples(dataset, file, file.name, owner)
    if not result.ok:
        db.session.rollback()
        _print_report(result, file.name)
        sys.exit(1)
    curation.record_upload(dataset.id, owner, file.name, "samples", result.stored, result.summary)
    db.session.commit()
    click.echo(f"stored {result.stored} samples into dataset {dataset.id}")
    # As after an upload, but now: a thread would die with this process.
    if current_app.config["SEARCH_ORDER_REFRESH"] != "off":
        _refresh_search_orders(int(current_app.config["SEARCH_ORDER_REFRESH_AFTER"]))


def _print_report(result: ingest.IngestResult, filename: str) -> None:
    click.echo(f"nothing stored: {result.error_count} problem(s) in {filename}", err=True)
    for finding in reports.group_errors(r.as_dict() for r in result.problems):
        where = finding.row_ranges or "file"
        column = f" column {finding.column}" if finding.column else ""
        click.echo(
            f"  {where}{column}: {finding.message} {finding.fix} [{finding.count} cell(s)]",
            err=True,
        )


@fairdb_cli.command("import-abundance")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dataset", "dataset_id", type=int, required=True, help="The dataset it belongs to.")
@click.option(
    "--taxonomy",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A separate taxonomy file (feature id, lineage).",
)
@click.option(
    "--orientation",
    type=click.Choice(ORIENTATIONS),
    default="auto",
    help="Where the samples are (detected from the dataset's sample names by default).",
)
def import_abundance(file: Path, dataset_id: int, taxonomy: Path | None, orientation: str) -> None:
    """Check a feature table (BIOM, CSV, TSV) and store it, all or nothing; recorded as uploaded
    by the dataset's owner."""
    dataset = db.session.get(Dataset, dataset_id)
    if dataset is None:
        raise click.ClickException(f"There is no dataset {dataset_id}.")
    result = ingest_abundance(
        dataset,
        file,
        file.name,
        dataset.owner,
        orientation=orientation,
        taxonomy=(taxonomy, taxonomy.name) if taxonomy is not None else None,
    )
    if not result.ok:
        db.session.rollback()
        _print_report(result, file.name)
        sys.exit(1)
    curation.record_upload(
        dataset.id, dataset.owner, file.name, "abundance", result.stored, result.summary
    )
    db.session.commit()
    summary = result.summary
    click.echo(
        f"stored {result.stored} entries ({summary['features']} features x "
        f"{summary['samples']} samples) into dataset {dataset.id}"
    )


@fairdb_cli.command("search-orders")
@click.option(
    "--behind",
    type=int,
    default=0,
    show_default=True,
    help="Rebuild only the indexes more than this many samples behind.",
)
def refresh_search_orders(behind: int) -> None:
    """Bring the indexes of the search orders (name, date, age) up to the newest sample.

    Uploads do this in the background when they leave an index more than
    SEARCH_ORDER_REFRESH_AFTER samples behind; run it after a bulk load with that turned off.
    Builds CONCURRENTLY: searches and uploads go on meanwhile."""
    _refresh_search_orders(behind)


def _refresh_search_orders(behind: int) -> None:
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        built = search_orders.refresh(connection, concurrently=True, behind=behind)
    for one in built:
        click.echo(f"{one.order}: {one.index}, samples up to id {one.upto}, {one.seconds:.1f} s")
    if not built:
        click.echo("search order indexes: nothing to rebuild")


def init_app(app: Flask) -> None:
    app.cli.add_command(fairdb_cli)
