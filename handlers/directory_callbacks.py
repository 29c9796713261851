"""The directory's buttons: callback data for the public directory and its admin side.

Ids only (Telegram allows 64 bytes): every press re-reads the entry or report with the
presser's rights. Cards, lists and report notices stay in chats for days, so each prefix
ends in a version: changing a factory's fields (adding, removing, retyping, reordering, or
changing an enum's values) means bumping its version (`dl1` → `dl2`). A press on a button
made by the old version then matches nothing and gets the fallback's "This button is no
longer active" instead of being read with the wrong fields.
tests/unit/test_callback_data.py checks the 64 bytes and that no two prefixes are the same.
"""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.i18n import N_

ASK_PLACE = -1  # DirList.place: show the place filter first (when there is a choice)
ALL_PLACES = 0


class DirHome(CallbackData, prefix="dh1"):
    """The directory's home screen (categories)."""


class DirList(CallbackData, prefix="dl1"):
    """A category's services, a page at a time, in a place (or the place filter first)."""

    cat: int
    place: int = ASK_PLACE
    page: int = 0
    rec: bool = False  # only services that accept people with a criminal record


class DirCard(CallbackData, prefix="dc1"):
    """An entry's card, sent as a new message."""

    id: int


class DirAskSearch(CallbackData, prefix="dq1"):
    """Asks for the words of a search."""


class DirSearchPage(CallbackData, prefix="dp1"):
    """A page of the person's latest search (`seq` is checked against it)."""

    seq: int
    page: int


class DirNear(CallbackData, prefix="dn1"):
    """Asks for a location, then lists the nearest services."""

    cat: int = 0  # 0: every category


class DirReport(CallbackData, prefix="dr1"):
    """Starts a problem report about an entry."""

    id: int


class Reason(StrEnum):
    """What is wrong with an entry (stored in dir_report.reason)."""

    CLOSED = "closed"
    PHONE = "phone"
    ADDRESS = "address"
    HOURS = "hours"
    REFUSED = "refused"
    OTHER = "other"


REASON_LABELS: dict[Reason, str] = {
    Reason.CLOSED: N_("It is closed or does not exist"),
    Reason.PHONE: N_("The phone number is wrong"),
    Reason.ADDRESS: N_("The address or map is wrong"),
    Reason.HOURS: N_("The hours are wrong"),
    Reason.REFUSED: N_("They refused to help me"),
    Reason.OTHER: N_("Something else"),
}


class DirReason(CallbackData, prefix="dw1"):
    """The reason chosen for a problem report."""

    id: int
    reason: Reason


class DirReportSend(CallbackData, prefix="ds1"):
    """Sends the problem report without a comment."""

    id: int


# -- administrators ----------------------------------------------------------------------------


class DirHide(CallbackData, prefix="dv1"):
    """Hides an entry from clients (`hide`), or shows it again."""

    id: int
    hide: bool


class DirResolve(CallbackData, prefix="dd1"):
    """Resolves a problem report, pressed under the notice or in the /reports list."""

    id: int
    in_list: bool = False  # pressed in the /reports list (redrawn), not under the notice


class DirReports(CallbackData, prefix="do1"):
    """The open problem reports."""


class DirExport(CallbackData, prefix="de1"):
    """The whole directory as a CSV file."""


class DirImportValid(CallbackData, prefix="di1"):
    """Imports the rows without problems from the file last refused."""
