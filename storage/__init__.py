"""Persistence for carecheck: SQLite on a thread of its own, one small repository per aggregate.

Open a `Database`, then build the repositories on it:

    db = await Database.open("carecheck.db")
    sessions = SessionRepo(db)
"""

from storage.actions import Action, ActionRepo
from storage.db import Database
from storage.digest_log import DigestRepo
from storage.errors import (
    AlreadyExists,
    InviteError,
    MigrationError,
    NotFound,
    SecretError,
    StaleRevision,
    StorageError,
)
from storage.invites import Invite, InviteRepo
from storage.orgs import Org, OrgRepo, Unit
from storage.people import Membership, PeopleRepo, Person
from storage.scripts import ScriptRepo, ScriptVersion
from storage.secret import load_or_create_secret, respondent_key
from storage.sessions import AnswerRow, ExportRow, SessionRepo, SessionRow

__all__ = [
    "Action",
    "ActionRepo",
    "AlreadyExists",
    "AnswerRow",
    "Database",
    "DigestRepo",
    "ExportRow",
    "Invite",
    "InviteError",
    "InviteRepo",
    "Membership",
    "MigrationError",
    "NotFound",
    "Org",
    "OrgRepo",
    "PeopleRepo",
    "Person",
    "ScriptRepo",
    "ScriptVersion",
    "SecretError",
    "SessionRepo",
    "SessionRow",
    "StaleRevision",
    "StorageError",
    "Unit",
    "load_or_create_secret",
    "respondent_key",
]
