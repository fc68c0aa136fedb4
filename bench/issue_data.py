"""Synthetic bulk-import CSV files: valid business licences, with bad rows where asked."""

from __future__ import annotations

import csv
from pathlib import Path

from licence_service.domain.licence_types import get_licence_type
from licence_service.domain.national_ids import make_organisation_code, make_uscc

HEADER = ["holder_name", "holder_id", "valid_from", "valid_until"]


def holder_id(n: int) -> str:
    """A valid unified social credit code, distinct for each ``n``."""
    return make_uscc("330106", make_organisation_code(f"{n:08d}"))


def row(n: int, type_code: str = "BL01") -> dict[str, str]:
    values = {
        "holder_name": f"杭州青禾科技第{n}分公司",
        "holder_id": holder_id(n),
        "valid_from": "",
        "valid_until": "",
    }
    return values | get_licence_type(type_code).example_fields()


def write_csv(path: Path, rows: int, start: int = 0, bad: dict[int, str] | None = None) -> Path:
    """``rows`` data rows; ``bad`` maps a row index to the column spoiled in that row."""
    ltype = get_licence_type("BL01")
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, HEADER + list(ltype.field_keys))
        writer.writeheader()
        for i in range(rows):
            values = row(start + i)
            spoiled = (bad or {}).get(i)
            if spoiled == "holder_id":  # a wrong check character
                last = values["holder_id"][-1]
                values["holder_id"] = values["holder_id"][:-1] + ("1" if last == "0" else "0")
            elif spoiled == "too_long":  # valid, but more text than one A4 face holds
                values["经营范围"] = "技术开发、技术服务、技术咨询；" * 300
            elif spoiled is not None:
                values[spoiled] = "not-a-date" if spoiled in ("成立日期", "valid_until") else ""
            writer.writerow(values)
    return path
