"""The shapes of the dataset settings forms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    EmailField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, Length, Optional, ValidationError

from fairdb.models import LICENSES, Membership
from fairdb.services.datasets import DatasetError, parse_creators
from fairdb.uploads.forms import PRIVACY_CHOICES


class EditDatasetForm(FlaskForm):
    title = StringField(
        "Title", validators=[DataRequired(message="Give the dataset a title."), Length(max=300)]
    )
    description = TextAreaField("Description", validators=[Optional(), Length(max=20_000)])
    creators = TextAreaField(
        "Creators",
        description="One per line, in citation order: Name; ORCID iD; Affiliation.",
        validators=[Optional(), Length(max=10_000)],
    )
    keywords = StringField(
        "Keywords", description="Separated by commas.", validators=[Optional(), Length(max=1000)]
    )
    license = SelectField(
        "License", choices=[SelectChoice(key, label) for key, label in LICENSES.items()]
    )

    def validate_creators(self, field: Any) -> None:
        try:
            parse_creators(field.data or "")
        except DatasetError as error:
            raise ValidationError(str(error)) from error


class CollaboratorForm(FlaskForm):
    email = EmailField(
        "Email address",
        description="The address they registered with.",
        filters=[lambda value: value.strip() if isinstance(value, str) else value],
        validators=[
            DataRequired(message="Enter the collaborator's email address."),
            Email(
                message="Enter an email address like name@example.org.", check_deliverability=False
            ),
            Length(max=320),
        ],
    )
    role = RadioField(
        "Role",
        choices=[
            SelectChoice(Membership.VIEWER.value, "Viewer: sees and downloads everything"),
            SelectChoice(Membership.EDITOR.value, "Editor: also uploads and edits"),
        ],
        default=Membership.VIEWER.value,
    )


class PrivacyForm(FlaskForm):
    privacy = RadioField("Who can see it", choices=PRIVACY_CHOICES)


class DeleteForm(FlaskForm):
    confirm = StringField(
        "Type the dataset's title to confirm",
        validators=[DataRequired(message="Type the title to confirm the deletion.")],
    )


class EmptyForm(FlaskForm):
    """A button that posts (CSRF only)."""
