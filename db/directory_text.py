"""Search keys for the service directory: Unicode folding and safe FTS5 query building.

SQLite's lower()/LIKE fold ASCII only, so «ЖҰМЫС» would not find «жұмыс». Both the
indexed text and the query go through `search_fold()` in Python (NFKC, full Unicode
casefold, ё→е), and the FTS5 table tokenizes with unicode61 as a second line of defence.

Many people in Kazakhstan type Kazakh on a Russian keyboard («Актобе» for «Ақтөбе»,
«жумыс» for «жұмыс»), so the search key also maps the nine Kazakh-only letters to the
Russian letters typed in their place. Only the search key is folded; shown text never is.

A user's words never reach FTS5 syntax: every token is re-quoted as a string
(`"token"*`), so quotes, operators (AND, NEAR, *, ^, :), SQL-looking text and emoji are
just text or are dropped, and no query can raise a syntax error.
"""

from __future__ import annotations

import re
import unicodedata

# Kazakh letter → the Russian letter typed for it on a Russian keyboard.
_KAZAKH_TO_RUSSIAN = str.maketrans(
    {
        "ә": "а",
        "ғ": "г",
        "қ": "к",
        "ң": "н",
        "ө": "о",
        "ұ": "у",
        "ү": "у",
        "һ": "х",
        "і": "и",
        "ё": "е",
    }
)
# Letters and digits of any script; everything else separates words.
_TOKEN_RE = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"(\d+)")
MAX_TOKENS = 8
MAX_TOKEN_LENGTH = 40


def search_fold(text: str) -> str:
    """The search key of a text: NFKC, Unicode casefold, Kazakh letters as typed on a Russian keyboard."""
    return unicodedata.normalize("NFKC", text).casefold().translate(_KAZAKH_TO_RUSSIAN)


def natural_key(text: str) -> tuple[str | int, ...]:
    """A sort key for names: folded like the search key (case, ё, Kazakh letters), with runs
    of digits compared as numbers, so «№4» comes before «№20» and «№25»."""
    parts = _DIGITS.split(search_fold(text))
    return tuple(int(part) if index % 2 else part for index, part in enumerate(parts))


def query_tokens(query: str) -> list[str]:
    """The words of a query as search keys: at most MAX_TOKENS distinct ones, each bounded in length."""
    tokens: list[str] = []
    for token in _TOKEN_RE.findall(search_fold(query)):
        token = token[:MAX_TOKEN_LENGTH]
        if token not in tokens:
            tokens.append(token)
        if len(tokens) == MAX_TOKENS:
            break
    return tokens


def match_expression(
    tokens: list[str], *, any_token: bool = False, column: str | None = None
) -> str:
    """An FTS5 MATCH expression built only from quoted tokens (prefix match from two letters on)."""
    if not tokens:
        raise ValueError("no tokens to match")
    # Tokens hold letters and digits only, so they cannot contain a double quote;
    # doubling would be the escape if they did.
    parts = ['"{}"{}'.format(t.replace('"', '""'), "*" if len(t) >= 2 else "") for t in tokens]
    expression = (" OR " if any_token else " AND ").join(parts)
    if column is not None:
        return f"{{{column}}} : ({expression})"
    return expression
