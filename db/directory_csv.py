"""The directory's CSV format: reading, validating every row, and writing (no database here).

One row is one service at one location (HSDS service_at_location). The columns are
listed in COLUMNS and documented in the README. Every value is brought to one
canonical form when read, and export writes exactly that form, so export → import →
export gives the same bytes. Problems are reported with the spreadsheet row number
(the header is row 1) and an N_() msgid, so the bot can show them in the admin's
language and the command line in English.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import time
import unicodedata
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

from babel import Locale, UnknownLocaleError

from core.languages import LANGUAGES
from core.text import N_
from db.directory_hours import HoursError, Interval, normalize_hours, parse_hours

LANGS = LANGUAGES


def _tri(name: str) -> tuple[str, ...]:
    return tuple(f"{name}_{lang}" for lang in LANGS)


COLUMNS: tuple[str, ...] = (
    "id",
    "organization_id",
    *_tri("organization_name"),
    *_tri("name"),
    *_tri("description"),
    "categories",
    *_tri("address"),
    *_tri("city"),
    *_tri("region"),
    "latitude",
    "longitude",
    "phones",
    "website",
    "email",
    "hours",
    *_tri("eligibility"),
    *_tri("documents"),
    *_tri("fees"),
    "languages",
    "accepts_criminal_record",
    "status",
    "assured_date",
    "demo",
)
REQUIRED_COLUMNS = ("id", "organization_id", "categories")

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_ROWS = 20_000
MAX_PHONES = 5
# A file of bad cells can hold a million problems (20,000 rows × 56 columns): only the first
# ones are kept to show; the rest are counted.
MAX_KEPT_PROBLEMS = 100
_YIELD_SECONDS = 0.001  # see parse_csv
# Limits keep a card within Telegram's 4096 characters.
_LIMITS: dict[str, int] = {
    "organization_name": 200,
    "name": 200,
    "description": 1000,
    "address": 300,
    "city": 100,
    "region": 100,
    "eligibility": 400,
    "documents": 400,
    "fees": 300,
    "website": 300,
    "email": 200,
    "hours": 300,
    "phones": 200,
}
_MULTILINE = frozenset({"description", "eligibility", "documents", "fees"})
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_PHONE_RE = re.compile(r"^\+?[0-9][0-9 ()-]*$")
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LANGUAGE_RE = re.compile(r"^[a-z]{2,3}$")
# What a spreadsheet reads as the start of a formula (OWASP "CSV injection").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PROTECTED_RE = re.compile(r"^'+[=+\-@\t\r]")  # quotes, then what starts a formula
_PROTECTED_RAW_RE = re.compile(r"^'+[\t\r]")
_CONTROL_RE = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")
_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?$")
_PHONES_CELL_RE = re.compile(r"^[0-9 ()+;,-]*$")
_DEMO_WORDS = {"kk": "демо", "ru": "демо", "en": "demo"}
_CHOICES = {
    "accepts_criminal_record": ("yes", "no", "unknown"),
    "status": ("active", "temporarily_closed"),
    "demo": ("yes", "no"),
}
_DEFAULTS = {"accepts_criminal_record": "unknown", "status": "active", "demo": "no"}


@dataclass(frozen=True)
class Problem:
    """What is wrong: `message` is an N_() msgid filled from `params`; row None = the whole file."""

    message: str
    row: int | None = None
    column: str | None = None
    params: dict[str, str | int] = field(default_factory=dict)

    def render(self, translate: Callable[[str], str] = lambda s: s) -> str:
        text = translate(self.message).format(**self.params)
        if self.column:
            text = f"{self.column}: {text}"
        if self.row is None:
            return text
        return translate(N_("Row {row}: {problem}")).format(row=self.row, problem=text)


@dataclass(frozen=True, slots=True)
class Row:
    """One valid row: every column's canonical text, and the parsed values."""

    number: int
    values: dict[str, str]
    categories: tuple[str, ...]
    phones: tuple[str, ...]
    latitude: float | None
    longitude: float | None
    # (weekday, opens, closes) as in Interval, but plain tuples, which the garbage collector
    # stops tracking: a large import holds hundreds of thousands (a full collection in the
    # parsing thread holds the GIL, so the event loop would wait for it).
    schedule: tuple[tuple[int, int, int], ...]

    @property
    def external_id(self) -> str:
        return self.values["id"]

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.values)


@dataclass
class Parsed:
    """What a file holds: its valid rows, and its problems (the first MAX_KEPT_PROBLEMS are
    kept to show; every one is counted). A problem with the whole file is always kept."""

    rows: list[Row] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    read: int = 0  # data rows read (empty lines not counted)
    problem_count: int = 0  # problems in rows, kept or not
    bad_rows: int = 0  # rows with at least one problem
    _kept: int = 0  # row problems in `problems`

    @property
    def file_problem(self) -> Problem | None:
        return next((p for p in self.problems if p.row is None), None)

    @property
    def more_problems(self) -> int:
        """Row problems counted but not kept."""
        return self.problem_count - self._kept

    def add_row_problems(self, found: Sequence[Problem]) -> None:
        """One bad row's problems."""
        self.bad_rows += 1
        self.problem_count += len(found)
        keep = list(found[: max(0, MAX_KEPT_PROBLEMS - self._kept)])
        self.problems += keep
        self._kept += len(keep)

    def refuse(self, problem: Problem) -> None:
        """A problem with the whole file: nothing in it is imported."""
        self.problems.append(problem)
        self.rows = []


def fingerprint(values: dict[str, str]) -> str:
    joined = "\x1f".join(values.get(column, "") for column in COLUMNS)
    return hashlib.sha256(joined.encode("utf-8")).hexdigest()


def format_coordinate(value: float) -> str:
    return repr(round(value, 6))


# -- reading -------------------------------------------------------------------------------


def _decode(data: bytes) -> str | Problem:
    if len(data) > MAX_FILE_BYTES:
        return Problem(
            N_("the file is larger than {limit} MB"), params={"limit": MAX_FILE_BYTES >> 20}
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return Problem(
            N_(
                "the file is not UTF-8 text. Save it as “CSV UTF-8”: Kazakh letters are lost in other encodings."
            )
        )
    if "\x00" in text:
        return Problem(N_("the file is not a text CSV file"))
    if not text.strip():
        return Problem(N_("the file is empty"))
    return text


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return ";" if header.count(";") > header.count(",") else ","


def _header(cells: list[str]) -> list[str] | Problem:
    names = [unicodedata.normalize("NFKC", c).strip().lower() for c in cells]
    seen: set[str] = set()
    for name in names:
        if not name:
            continue
        if name not in COLUMNS:
            return Problem(
                N_("unknown column “{column}” in the header row (the README lists the columns)"),
                params={"column": name[:40]},
            )
        if name in seen:
            return Problem(
                N_("the column “{column}” appears twice in the header row"),
                params={"column": name},
            )
        seen.add(name)
    for required in REQUIRED_COLUMNS:
        if required not in seen:
            return Problem(
                N_("the header row has no column “{column}” (is the first row the header?)"),
                params={"column": required},
            )
    return names


def parse_csv(data: bytes, category_codes: Collection[str], today: date) -> Parsed:
    """Read and check every row. Valid rows are kept even when others are bad (see import).

    Pure CPU work (seconds for a large file): callers on an event loop run it in a thread,
    and it hands the GIL over every millisecond, so that thread slows the loop very little."""
    parsed = Parsed()
    text = _decode(data)
    if isinstance(text, Problem):
        parsed.refuse(text)
        return parsed
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    checker = _RowChecker(category_codes, today)
    next_yield = 0.0
    try:
        header = _header(next(reader))
        if isinstance(header, Problem):
            parsed.refuse(header)
            return parsed
        for index, cells in enumerate(reader):
            number = index + 2
            if not any(c.strip() for c in cells):
                continue
            parsed.read += 1
            if parsed.read > MAX_ROWS:
                return Parsed(
                    problems=[
                        Problem(
                            N_("the file has more than {limit} rows"), params={"limit": MAX_ROWS}
                        )
                    ],
                    read=parsed.read,
                )
            extra = [c for c in cells[len(header) :] if c.strip()]
            if extra:
                parsed.add_row_problems(
                    [
                        Problem(
                            N_("cells in the row: {cells}; columns in the header: {columns}"),
                            row=number,
                            params={"cells": len(cells), "columns": len(header)},
                        )
                    ]
                )
                continue
            raw = {name: cell for name, cell in zip(header, cells, strict=False) if name}
            if time.monotonic() >= next_yield:
                # Let other threads have the GIL now rather than after the 5 ms switch
                # interval: the event loop and the database threads wait for it.
                time.sleep(0)
                next_yield = time.monotonic() + _YIELD_SECONDS
            row = checker.check(number, raw)
            if isinstance(row, Row):
                parsed.rows.append(row)
            else:
                parsed.add_row_problems(row)
    except csv.Error:
        parsed.refuse(
            Problem(
                N_("the file cannot be read as CSV near row {row} (check the quotes)"),
                params={"row": reader.line_num},
            )
        )
    return parsed


def _stem(column: str) -> str:
    stem, _, lang = column.rpartition("_")
    return stem if stem and lang in LANGS else column


_BASES = {column: _stem(column) for column in COLUMNS}


def _base(column: str) -> str:
    """'description' for 'description_kk'; other columns unchanged."""
    return _BASES.get(column) or _stem(column)


def _clean(column: str, value: str) -> str:
    if _PROTECTED_RAW_RE.match(value):  # '<tab> or '<CR> from spreadsheet_safe
        value = value[1:]
    value = unicodedata.normalize("NFC", value).replace("\r\n", "\n").replace("\r", "\n")
    value = value.replace("\t", " ")
    if _base(column) in _MULTILINE:
        lines = [" ".join(line.split()) for line in value.split("\n")]
        value = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    else:
        value = " ".join(value.split())
    # Undo spreadsheet_safe after cleaning, so the value read is the value exported.
    return value[1:] if _PROTECTED_RE.match(value) else value


def _has_control(value: str) -> bool:
    """Any character of Unicode category Cc (U+0000–U+001F, U+007F–U+009F) but a line end."""
    return _CONTROL_RE.search(value) is not None


class _RowChecker:
    def __init__(self, category_codes: Collection[str], today: date) -> None:
        self.category_codes = category_codes
        self.today = today
        self.ids: dict[str, int] = {}
        self.organizations: dict[str, tuple[int, tuple[str, ...]]] = {}

    def check(self, number: int, raw: dict[str, str]) -> Row | list[Problem]:
        """The valid row, or its problems."""
        found: list[Problem] = []

        def bad(message: str, column: str | None = None, **params: str | int) -> None:
            found.append(Problem(message, row=number, column=column, params=params))

        values: dict[str, str] = {}
        for column in COLUMNS:
            value = _clean(column, raw.get(column, ""))
            if _has_control(value):
                bad(N_("contains control characters"), column)
            limit = _LIMITS.get(_base(column))
            if limit is not None and len(value) > limit:
                bad(N_("is longer than {limit} characters"), column, limit=limit)
            values[column] = value

        for column in ("id", "organization_id"):
            if not values[column]:
                bad(N_("is required"), column)
            elif not _ID_RE.match(values[column]):
                bad(
                    N_("may hold only Latin letters, digits, “-”, “_” and “.” (up to 64)"),
                    column,
                )
        external_id = values["id"]
        if external_id in self.ids:
            bad(
                N_("the id “{value}” is already used in row {row}"),
                "id",
                value=external_id,
                row=self.ids[external_id],
            )
        elif external_id:
            self.ids[external_id] = number

        if not any(values[c] for c in _tri("name")):
            bad(N_("a name is needed in at least one of name_kk, name_ru, name_en"))
        org_names = tuple(values[c] for c in _tri("organization_name"))
        if not any(org_names):
            bad(
                N_(
                    "the organization needs a name in organization_name_kk, organization_name_ru or organization_name_en"
                )
            )
        org_id = values["organization_id"]
        if org_id in self.organizations and self.organizations[org_id][1] != org_names:
            bad(
                N_("organization “{value}” has other names in row {row}"),
                "organization_id",
                value=org_id,
                row=self.organizations[org_id][0],
            )
        elif org_id:
            self.organizations.setdefault(org_id, (number, org_names))

        categories = self._categories(values, bad)
        phones = self._phones(values, bad)
        latitude, longitude = self._location(values, bad)
        schedule = self._hours(values, bad)
        self._choices(values, bad)
        self._languages(values, bad)
        self._links(values, bad)
        self._date(values, bad)
        if values["demo"] == "yes":
            for lang in LANGS:
                if _DEMO_WORDS[lang] not in values[f"description_{lang}"].casefold():
                    bad(
                        N_("a demo row must say “{word}” in its description"),
                        f"description_{lang}",
                        word=_DEMO_WORDS[lang],
                    )

        if found:
            return found
        return Row(
            number=number,
            values=values,
            categories=categories,
            phones=phones,
            latitude=latitude,
            longitude=longitude,
            schedule=tuple((i.weekday, i.opens, i.closes) for i in schedule),
        )

    def _categories(self, values: dict[str, str], bad: _Bad) -> tuple[str, ...]:
        codes: list[str] = []
        for part in re.split(r"[;,]", values["categories"]):
            code = part.strip().lower()
            if not code:
                continue
            if code not in self.category_codes:
                bad(
                    N_("unknown category “{value}”; known: {known}"),
                    "categories",
                    value=code[:40],
                    known=", ".join(sorted(self.category_codes)),
                )
            elif code not in codes:
                codes.append(code)
        if not codes and not values["categories"]:
            bad(N_("is required"), "categories")
        order = list(self.category_codes)
        codes.sort(key=order.index)  # one canonical order, so re-exports are stable
        values["categories"] = ";".join(codes)
        return tuple(codes)

    @staticmethod
    def _phones(values: dict[str, str], bad: _Bad) -> tuple[str, ...]:
        phones: list[str] = []
        for part in re.split(r"[;,]", values["phones"]):
            number = " ".join(part.split())
            if not number:
                continue
            digits = sum(ch.isdigit() for ch in number)
            if not _PHONE_RE.match(number) or not 2 <= digits <= 15:
                bad(
                    N_("“{value}” is not a phone number (digits, spaces, + ( ) -)"),
                    "phones",
                    value=number[:40],
                )
            phones.append(number)
        if len(phones) > MAX_PHONES:
            bad(N_("at most {limit} phone numbers"), "phones", limit=MAX_PHONES)
        values["phones"] = "; ".join(phones)
        return tuple(phones)

    @staticmethod
    def _location(values: dict[str, str], bad: _Bad) -> tuple[float | None, float | None]:
        lat_text, lon_text = values["latitude"], values["longitude"]
        if not lat_text and not lon_text:
            return None, None
        if not lat_text or not lon_text:
            bad(N_("latitude and longitude go together: give both or neither"))
            return None, None
        coordinates: list[float] = []
        for column, text, bound in (("latitude", lat_text, 90), ("longitude", lon_text, 180)):
            try:
                value = float(text.replace(",", "."))
            except ValueError:
                bad(N_("“{value}” is not a number"), column, value=text[:40])
                continue
            if not -bound <= value <= bound or value != value:  # NaN fails both
                bad(N_("“{value}” is out of range"), column, value=text[:40])
                continue
            coordinates.append(round(value, 6))
        if len(coordinates) != 2:
            return None, None
        values["latitude"], values["longitude"] = (format_coordinate(c) for c in coordinates)
        return coordinates[0], coordinates[1]

    @staticmethod
    def _hours(values: dict[str, str], bad: _Bad) -> list[Interval]:
        values["hours"] = normalize_hours(values["hours"])
        try:
            return parse_hours(values["hours"])
        except HoursError as exc:
            bad(exc.reason, "hours", **exc.params)
            return []

    @staticmethod
    def _choices(values: dict[str, str], bad: _Bad) -> None:
        for column, allowed in _CHOICES.items():
            value = values[column].lower() or _DEFAULTS[column]
            if value not in allowed:
                bad(N_("must be one of: {allowed}"), column, allowed=", ".join(allowed))
            values[column] = value

    @staticmethod
    def _languages(values: dict[str, str], bad: _Bad) -> None:
        codes: list[str] = []
        for part in re.split(r"[;,\s]+", values["languages"].lower()):
            if not part:
                continue
            known = bool(_LANGUAGE_RE.match(part))
            if known:
                try:
                    Locale.parse(part)
                except (UnknownLocaleError, ValueError):
                    known = False
            if not known:
                bad(
                    N_("unknown language code “{value}” (use kk, ru, en…)"),
                    "languages",
                    value=part[:20],
                )
            elif part not in codes:
                codes.append(part)
        values["languages"] = ";".join(codes)

    @staticmethod
    def _links(values: dict[str, str], bad: _Bad) -> None:
        if values["website"] and not _URL_RE.match(values["website"]):
            bad(N_("must be a link starting with http:// or https://"), "website")
        if values["email"] and not _EMAIL_RE.match(values["email"]):
            bad(N_("“{value}” is not an e-mail address"), "email", value=values["email"][:60])

    def _date(self, values: dict[str, str], bad: _Bad) -> None:
        text = values["assured_date"]
        if not text:
            return
        try:
            if not _DATE_RE.match(text):
                raise ValueError(text)
            when = date.fromisoformat(text)
        except ValueError:
            bad(N_("must be a date such as 2025-03-14"), "assured_date")
            return
        if when > self.today:
            bad(N_("is in the future"), "assured_date")


_Bad = Callable[..., None]


# -- writing -------------------------------------------------------------------------------


def spreadsheet_safe(column: str, value: str) -> str:
    """A cell a spreadsheet would run as a formula (= + - @ tab CR first) gets a leading '.

    Plain numbers (a latitude of -12.5) and phone numbers (+7 ...) cannot run and stay as
    they are. A value that itself starts with quotes before one of those characters gets
    one more, so that import, which takes exactly one such quote off, reads it back
    unchanged: export → import → export stays byte-equal.
    """
    if _PROTECTED_RE.match(value):
        return "'" + value
    if not value.startswith(_FORMULA_STARTS) or _NUMBER_RE.match(value):
        return value
    if column == "phones" and _PHONES_CELL_RE.match(value):
        return value
    return "'" + value


def write_csv(rows: Iterable[dict[str, str]]) -> bytes:
    """UTF-8 with a byte order mark (so spreadsheet programs see the Kazakh letters), comma-separated.

    Cells that would start a formula are protected with a leading ' (spreadsheet_safe)."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for values in rows:
        writer.writerow([spreadsheet_safe(column, values.get(column, "")) for column in COLUMNS])
    return out.getvalue().encode("utf-8-sig")
