"""The shapes of the dataset settings forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    RadioField,
    SelectChoice,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length

from fairdb.auth.forms import email_field
from fairdb.models import Membership
from fairdb.uploads.forms import PRIVACY_CHOICES, DescriptionForm

# The edit form is the description part of the new dataset form.
EditDatasetForm = DescriptionForm


class CollaboratorForm(FlaskForm):
    email = email_field(
        "Enter the collaborator's email address.", "The address they registered with."
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
    justification = TextAreaField(
        "Why publish it anyway",
        description="Recorded in the dataset's history and shown to administrators.",
        validators=[Length(max=2000)],
    )


class DeleteForm(FlaskForm):
    confirm = StringField(
        "Type the dataset's title to confirm",
        validators=[DataRequired(message="Type the title to confirm the deletion.")],
    )


class EmptyForm(FlaskForm):
    """A button that posts (CSRF only)."""
