"""The shapes of the dataset and upload forms."""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from fairdb.checklists.model import DEFAULT_CHECKLIST, checklist_names
from fairdb.models import LICENSES, Privacy
from fairdb.services.datasets import DatasetError, parse_creators

PRIVACY_CHOICES = [
    SelectChoice(Privacy.PUBLIC.value, "Public: anyone can find, see and download the samples"),
    SelectChoice(
        Privacy.RESTRICTED.value,
        "Restricted: anyone can find the description; samples only for you, your "
        "collaborators and admins",
    ),
    SelectChoice(Privacy.PRIVATE.value, "Private: only you, your collaborators and admins"),
]


CREATORS_HINT = (
    "One per line, in citation order: Name; ORCID iD; Affiliation (ORCID and affiliation optional)."
)


class DescriptionForm(FlaskForm):
    """What describes a dataset: on the new dataset form and on its edit form."""

    title = StringField(
        "Title",
        validators=[DataRequired(message="Give the dataset a title."), Length(max=300)],
    )
    description = TextAreaField(
        "Description",
        validators=[Optional(), Length(max=20_000)],
        description="What was sampled, why, and how. Shown on the dataset page and in citations.",
    )
    creators = TextAreaField(
        "Creators", description=CREATORS_HINT, validators=[Optional(), Length(max=10_000)]
    )
    keywords = StringField(
        "Keywords", description="Separated by commas.", validators=[Optional(), Length(max=1000)]
    )
    license = SelectField(
        "License",
        choices=[SelectChoice(key, label) for key, label in LICENSES.items()],
        default="CC-BY-4.0",
    )

    def validate_creators(self, field: Any) -> None:
        try:
            parse_creators(field.data or "")
        except DatasetError as error:
            raise ValidationError(str(error)) from error


class DatasetForm(DescriptionForm):
    privacy = RadioField("Who can see it", choices=PRIVACY_CHOICES, default=Privacy.PRIVATE.value)
    checklist = SelectField(
        "Checklist",
        description="The MIxS checklist every sample is checked against.",
        default=DEFAULT_CHECKLIST,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.checklist.choices = [SelectChoice(name, name) for name in checklist_names()]
        self.creators.description = f"{CREATORS_HINT} Leave empty to list yourself."


class UploadForm(FlaskForm):
    file = FileField(
        "Sample metadata file",
        description="CSV, TSV or XLSX with one row per sample and a header row.",
        validators=[FileRequired(message="Choose a file to upload.")],
    )
    # Chosen by the page so it can ask for progress while the upload is being checked.
    token = HiddenField()


class AbundanceForm(FlaskForm):
    file = FileField(
        "Feature table",
        description="BIOM (1.0 JSON or 2.1 HDF5), or CSV/TSV with feature ids in the first column.",
        validators=[FileRequired(message="Choose a file to upload.")],
    )
    taxonomy = FileField(
        "Taxonomy file (optional)",
        description="Feature id and lineage per row (e.g. QIIME 2 taxonomy.tsv), when the table "
        "itself carries none.",
    )
    orientation = SelectField(
        "Where are the samples?",
        choices=[
            SelectChoice("auto", "Detect from the dataset's sample names"),
            SelectChoice("features-as-rows", "In columns (one row per feature)"),
            SelectChoice("samples-as-rows", "In rows (one row per sample)"),
        ],
        default="auto",
    )
    token = HiddenField()
