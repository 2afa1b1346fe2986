"""Problems in a TOML file, each located at its line: ``file:line: message``.

TOML parsers give values, not lines; ``Problems`` finds the line a problem is about by searching
the ``[[table]]`` being checked for the key it names or a value its message quotes.
"""

from __future__ import annotations

import re

_HEADER = re.compile(r"^\s*\[\[\s*([A-Za-z0-9_.]+)\s*\]\]\s*(#.*)?$")
_QUOTED = re.compile(r"'([^']+)'")

Span = tuple[int, int]  # first and last line (1-based, inclusive) of one [[table]] of the file


class Problems:
    """Collects problems with the line they are about, searched inside the table being checked."""

    def __init__(self, filename: str, text: str) -> None:
        self.filename, self.lines, self.items = filename, text.splitlines(), list[str]()
        self.scope: Span | None = None
        self._headers = [(n, m.group(1)) for n, line in enumerate(self.lines, 1) if (m := _HEADER.match(line))]

    def spans(self, name: str, count: int, within: Span | None = None) -> list[Span | None]:
        """The line spans of the ``[[name]]`` tables, in file order; unknown (None) unless there are
        exactly ``count`` of them (inline tables have no header to find)."""
        found: list[Span | None] = []
        for index, (number, header) in enumerate(self._headers):
            if header != name or (within and not within[0] <= number <= within[1]):
                continue
            # The next header that is not one of this table's own sub-tables (a scan, not a copy:
            # the parser stays linear in the number of tables, issue 11).
            following = (
                self._headers[i][0]
                for i in range(index + 1, len(self._headers))
                if not self._headers[i][1].startswith(f"{name}.")
            )
            after = next(following, None)
            found.append((number, (after - 1) if after is not None else len(self.lines)))
        return found if len(found) == count else [None] * count

    def line_of(self, needle: str) -> int | None:
        first, last = self.scope or (1, len(self.lines))
        if needle.endswith(" ="):  # a key: 'name =' also matches 'name=' and '"name" ='
            pattern = re.compile(rf"^\s*[\"']?{re.escape(needle[:-2])}[\"']?\s*=")
            matches = (pattern.match(line) is not None for line in self.lines[first - 1 : last])
        else:
            matches = (needle in line for line in self.lines[first - 1 : last])
        return next((first + offset for offset, hit in enumerate(matches) if hit), None)

    def add(self, message: str, near: str | None = None) -> None:
        # The line of the key ``near`` names ('tz ='), else of a value the message quotes, last first
        # ('24:00', 'Mars/Base'), else of ``near``, else the table's header.
        quoted = [f'"{value}"' for value in reversed(_QUOTED.findall(message))]
        key = [near] if near and near.endswith(" =") else []
        candidates = key + quoted + ([near] if near else [])
        line = next((found for c in candidates if (found := self.line_of(c))), None)
        line = line or (self.scope[0] if self.scope else None)
        self.items.append(f"{self.filename}:{line}: {message}" if line else f"{self.filename}: {message}")
