"""Who sees what of a case: the declaration every adapter applies.

A case is read by people who stand in different places: the applicant, whoever handles a
step, the experts seated on its committee, people it was copied to, the officers over it,
the officers who organise its committee, the inspectors. Most of what a case holds is for
all of them. What is not — an objector's name and telephone, who sits on a committee and
how each member voted, the random draw behind it — is declared here, by the block or process
that writes it, as a :class:`Visibility`; ``states.engine.visibility`` applies it the same
way to the API, the pages, the exports and the notices, so no adapter decides for itself.

What is for everyone who may open the case is declared too (``open``), so that a key
nobody thought about is caught by a test rather than shown by default: the forms people
filled in are open by their own declaration, the engine's annotations (comments, copies,
signatures, attachments) by :data:`CASE_RECORD`, and each block and process names the rest.
The public never reads a case; it reads the publicity list, its own masked projection.

Pure: no database.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Audience(StrEnum):
    """Where a reader stands towards one case. One reader may stand in several places."""

    APPLICANT = "applicant"  # the person the case is about
    HANDLER = "handler"  # holds or held a task on it (a signer, a transferee)
    PANEL = "panel"  # seated on its committee
    COPIED = "copied"  # it was copied to them (抄送), read-only
    READER = "reader"  # sees it through a role over its unit that is not an officer's
    OFFICER = "officer"  # a personnel officer or leader over its unit
    ORGANISER = "organiser"  # an officer over the unit its committee sits at
    INSPECTOR = "inspector"  # an inspector over its unit


EVERYONE = frozenset(Audience)
# Officers and inspectors: an objector's identity, for instance.
STAFF = frozenset({Audience.OFFICER, Audience.ORGANISER, Audience.INSPECTOR})
# Those who answer for a committee: who sits on it and how each member voted.
OVERSIGHT = frozenset({Audience.ORGANISER, Audience.INSPECTOR})


@dataclass(frozen=True)
class Shown:
    """Who sees one field; ``others`` is what everyone else sees instead (a summary such as
    a committee's tally), or None when the field is left out for them."""

    to: frozenset[Audience]
    others: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class Visibility:
    """The restricted parts of a process's cases.

    ``data`` names keys of the case's data; ``payload`` names keys of its audit payloads
    (whatever event wrote them); ``open`` names keys, of either, that everyone who may open
    the case reads; ``anonymous`` says who may see *which person* sat on the committee — for
    everyone else the committee's rows and tasks carry no name. Blocks declare their own; a
    process adds them together with ``|``.
    """

    data: Mapping[str, Shown] = field(default_factory=dict)
    payload: Mapping[str, Shown] = field(default_factory=dict)
    open: frozenset[str] = frozenset()
    anonymous: frozenset[Audience] | None = None
    # The applicant's own record as a reviewer reads it beside the case (a teacher's title,
    # years, ethics): ``record`` its restricted keys, ``record_open`` those everyone who may
    # open the case reads. A record key named in neither is shown to nobody (fail closed):
    # a record holds far more than a case, and a new row must be decided, not leaked.
    record: Mapping[str, Shown] = field(default_factory=dict)
    record_open: frozenset[str] = frozenset()

    def __or__(self, other: Visibility) -> Visibility:
        restricted = set(self.data) | set(self.payload) | set(other.data) | set(other.payload)
        clash = (set(self.data) & set(other.data)) | (set(self.payload) & set(other.payload))
        clash |= (self.open | other.open) & restricted
        clash |= set(self.record) & set(other.record)
        clash |= (self.record_open | other.record_open) & (set(self.record) | set(other.record))
        if clash:
            raise ValueError(f"visibility declared twice for {sorted(clash)}")
        if None not in (self.anonymous, other.anonymous) and self.anonymous != other.anonymous:
            raise ValueError("two different audiences for the committee's identity")
        return Visibility(
            data={**self.data, **other.data},
            payload={**self.payload, **other.payload},
            open=self.open | other.open,
            anonymous=self.anonymous if self.anonymous is not None else other.anonymous,
            record={**self.record, **other.record},
            record_open=self.record_open | other.record_open,
        )

    def declared(self) -> frozenset[str]:
        """Every key this declaration names, data and payload alike."""
        return frozenset(self.data) | frozenset(self.payload) | self.open


# What the engine itself writes on every process's cases: the opening form, comments, copies
# (抄送), added signers (加签) and their signatures, attachments, transfers, urging, a
# decision held for signers, a rule's refusal turned into a rejection. All of it is for
# everyone who may open the case.
CASE_RECORD = Visibility(
    open=frozenset(
        {
            "form",
            "comment",
            "reason",
            "to",
            "task",
            "tasks",
            "signer",
            "position",
            "opinion",
            "signatures",
            "attachment",
            "filename",
            "size",
            "sha256",
            "event",
            "rule",
            "requested",
            "pending_decision",
            "decisions",
            "return_reason",
        }
    )
)


def _violations(entries: Any) -> int:
    """What everyone else learns of a teacher's ethics record: how many violations it holds,
    not when or what."""
    return len(entries) if isinstance(entries, list | tuple) else 0


# A teacher's record beside a case about them (title review today; rotation and support
# teaching tomorrow). The ethics record's dates and words and the history of the rural-service
# years (who recorded what, from which file) are for the teacher and the officers and
# inspectors over the case; a committee member, a principal or someone it was copied to reads
# the record's facts and only whether any violation is on it.
TEACHER_RECORD = Visibility(
    record={
        "ethics": Shown(frozenset({Audience.APPLICANT}) | STAFF, others=_violations),
        "rural_ledger": Shown(frozenset({Audience.APPLICANT}) | STAFF),
    },
    record_open=frozenset(
        {
            "school",
            "title",
            "title_date",
            "education",
            "teaching_years",
            "rural_years",
            "backbone_level",
        }
    ),
)
