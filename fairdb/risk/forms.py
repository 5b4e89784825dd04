"""The shapes of the privacy forms: a file to measure, a noisy question, saving a version."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import FloatField, SelectChoice, SelectField, StringField
from wtforms.validators import InputRequired, NumberRange, Optional

from fairdb.checklists.model import checklist_names


class FileRiskForm(FlaskForm):
    """A sample file measured before it becomes a dataset (stored nowhere)."""

    file = FileField(
        "Sample metadata file (CSV, TSV or XLSX)",
        validators=[FileRequired(message="Choose a file to measure.")],
    )
    checklist = SelectField(
        "Checklist its columns follow",
        choices=[SelectChoice(name, name) for name in checklist_names()],
        default="MimsHumanGut",
    )


class NoisyForm(FlaskForm):
    """One question answered with noise, paid from the dataset's privacy budget."""

    question = SelectField("Question", validators=[InputRequired()])
    epsilon = FloatField(
        "Epsilon to spend (smaller: more noise, less of the budget)",
        validators=[
            Optional(),
            NumberRange(min=0.01, max=1.0, message="Spend between 0.01 and 1.0 on one question."),
        ],
    )


class SaveVersionForm(FlaskForm):
    """Store the generalised records as a new private dataset."""

    title = StringField("Title of the anonymised version", validators=[InputRequired()])
