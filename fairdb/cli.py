"""The `flask fairdb ...` commands for operators."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from fairdb.extensions import db
from fairdb.models import Role
from fairdb.services import accounts
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


def init_app(app: Flask) -> None:
    app.cli.add_command(fairdb_cli)
