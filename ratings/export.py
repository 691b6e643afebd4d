"""The ranking as CSV: one line per organization, codes and figures (names in one language).

The table itself is the JSON export; the CSV is for spreadsheets: each component's observed
share and the value the score used, the 95 % intervals, the reasons as component codes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from ratings.methodology import COMPONENTS

HEADER = (
    "rank",
    "previous_rank",
    "movement",
    "organization_code",
    "name",
    "kind",
    "n",
    "score",
    "ci_low",
    "ci_high",
    *(f"{name}_{part}" for name in COMPONENTS for part in ("rate", "value", "n")),
    "reasons",
    "period",
)


def to_csv(table: Mapping[str, Any], *, language: str = "ru") -> str:
    """The table's rows in ranking order (unranked last), UTF-8 text without a BOM."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADER)
    for row in table["rows"]:
        writer.writerow(
            [
                row["rank"] if row["rank"] is not None else "",
                row.get("previous_rank") if row.get("previous_rank") is not None else "",
                row.get("movement") if row.get("movement") is not None else "",
                row["organization_code"],
                row["name_kk"] if language == "kk" else row["name"],
                row["kind"],
                row["n"],
                row["score"],
                row["ci_low"],
                row["ci_high"],
                *(
                    "" if row[name][part] is None else row[name][part]
                    for name in COMPONENTS
                    for part in ("rate", "value", "n")
                ),
                " ".join(row["reasons"]),
                table["period"]["label"],
            ]
        )
    return buffer.getvalue()
