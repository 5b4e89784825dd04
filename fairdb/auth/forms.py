"""The shapes of the account and API token forms."""

from __future__ import annotations

from typing import Any

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, IntegerField, PasswordField, StringField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    ValidationError,
)
from wtforms.widgets import HiddenInput

from fairdb.services.passwords import password_problems


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def email_field(missing: str, description: str | None = None) -> Any:
    """An email address field: stripped, checked for its shape (not its deliverability)."""
    return EmailField(
        "Email address",
        description=description,
        filters=[_strip],
        validators=[
            DataRequired(message=missing),
            Email(
                message="Enter an email address like name@example.org.", check_deliverability=False
            ),
            Length(max=320),
        ],
    )


class LoginForm(FlaskForm):
    email = EmailField(
        "Email address", filters=[_strip], validators=[DataRequired(), Length(max=320)]
    )
    password = PasswordField("Password", validators=[DataRequired(), Length(max=256)])


class RegisterForm(FlaskForm):
    email = email_field("Enter your email address.")
    display_name = StringField(
        "Display name",
        description="Shown to collaborators and as the creator of your datasets.",
        validators=[DataRequired(message="Enter the name others should see."), Length(max=120)],
    )
    password = PasswordField("Password", validators=[DataRequired(message="Choose a password.")])
    confirm = PasswordField(
        "Repeat password",
        validators=[
            DataRequired(message="Repeat the password."),
            EqualTo("password", message="The two passwords differ: type the same password twice."),
        ],
    )

    def validate_password(self, field: Any) -> None:
        problems = password_problems(
            field.data or "",
            min_length=int(current_app.config["PASSWORD_MIN_LENGTH"]),
            personal=[self.email.data or "", self.display_name.data or ""],
        )
        if problems:
            raise ValidationError(problems[0])


class CreateTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        description="What will use it, such as “analysis laptop” or “nightly import script”.",
        filters=[_strip],
        validators=[
            DataRequired(message="Give the token a name."),
            Length(max=100, message="Use at most 100 characters for the name."),
        ],
    )
    can_write = BooleanField("Allow changes (write)")


class RevokeTokenForm(FlaskForm):
    """A Revoke button: which token, and the CSRF token."""

    token_id = IntegerField(widget=HiddenInput(), validators=[InputRequired()])
