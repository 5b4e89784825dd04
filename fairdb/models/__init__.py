"""Every table of fairdb; importing this package registers them all on the metadata."""

from fairdb.models.base import Base
from fairdb.models.user import AuthSession, Role, User

__all__ = ["AuthSession", "Base", "Role", "User"]
