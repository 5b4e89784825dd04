"""Every table of fairdb; importing this package registers them all on the metadata."""

from fairdb.models.abundance import RANKS, Abundance, AbundanceTable, Feature, SampleTotal
from fairdb.models.api import ApiToken, IdempotentAnswer
from fairdb.models.base import Base
from fairdb.models.dataset import LICENSES, Dataset, Privacy, Upload, UploadAttempt
from fairdb.models.membership import Collaborator, DatasetEvent, Membership
from fairdb.models.privacy import PrivacySpend
from fairdb.models.sample import TYPED_COLUMNS, Sample
from fairdb.models.search import SampleFacet, SearchOrder, SearchTerm
from fairdb.models.user import AuthSession, Role, User

__all__ = [
    "LICENSES",
    "RANKS",
    "TYPED_COLUMNS",
    "Abundance",
    "AbundanceTable",
    "ApiToken",
    "AuthSession",
    "Base",
    "Collaborator",
    "Dataset",
    "DatasetEvent",
    "Feature",
    "IdempotentAnswer",
    "Membership",
    "Privacy",
    "PrivacySpend",
    "Role",
    "Sample",
    "SampleFacet",
    "SampleTotal",
    "SearchOrder",
    "SearchTerm",
    "Upload",
    "UploadAttempt",
    "User",
]
