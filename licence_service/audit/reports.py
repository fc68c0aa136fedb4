"""Audit reports people read: a self-contained HTML page and a PDF, from the JSON report."""

from __future__ import annotations

from html import escape
from io import BytesIO
from typing import Any

_CSS = """
body{font-family:"WenQuanYi Zen Hei","Noto Sans CJK SC",sans-serif;margin:2rem;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}
.cards{display:flex;gap:1rem;flex-wrap:wrap}.card{border:1px solid #ddd;border-radius:6px;
padding:.6rem 1rem;min-width:8rem}.card b{display:block;font-size:1.4rem}
.ok{color:#11702d}.bad{color:#b00}table{border-collapse:collapse;width:100%;font-size:.85rem}
td,th{border-bottom:1px solid #eee;padding:.25rem .4rem;text-align:left;vertical-align:top}
tr.disc td{background:#fde8e8}code{font-size:.8rem}
.swatch.issued{color:#3b7dd8}.swatch.status{color:#d8553b}
"""


def chart_svg(
    stats: list[dict[str, Any]],
    legend: tuple[str, str] = ("issued / amended", "revoked / suspended / cancelled"),
    empty: str = "No events in this range.",
) -> str:
    """Issuance and status changes per period as an inline SVG bar chart (the report's and
    the audit page's, with the page's language in ``legend`` and ``empty``)."""
    periods: dict[str, list[int]] = {}
    for row in stats:
        bucket = periods.setdefault(row["period"], [0, 0])
        bucket[0] += row["issued"] + row["amended"]
        bucket[1] += row["revoked"] + row["suspended"] + row["cancelled"]
    if not periods:
        return f"<p>{escape(empty)}</p>"
    names = sorted(periods)
    top = max(max(v) for v in periods.values()) or 1
    width, height, bar = max(320, 60 * len(names)), 180, 18
    parts = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height + 40}' "
        "role='img' aria-label='issuance and status changes per period'>"
    ]
    for i, name in enumerate(names):
        x = 20 + i * 60
        for j, (value, colour) in enumerate(
            zip(periods[name], ("#3b7dd8", "#d8553b"), strict=True)
        ):
            h = int(value / top * height)
            parts.append(
                f"<rect x='{x + j * bar}' y='{height - h + 10}' width='{bar - 2}' "
                f"height='{h}' fill='{colour}'><title>{value}</title></rect>"
            )
        parts.append(f"<text x='{x}' y='{height + 28}' font-size='11'>{escape(name)}</text>")
    parts.append(
        f"</svg><p><span class='swatch issued'>■</span> {escape(legend[0])} "
        f"<span class='swatch status'>■</span> {escape(legend[1])}</p>"
    )
    return "".join(parts)


def _rows(rows: list[dict[str, Any]]) -> str:
    """A plain table of event dicts (keys of the first row as columns)."""
    if not rows:
        return "<p>none</p>"
    cols = list(rows[0])
    head = "".join(f"<th>{escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(str(r.get(c, '')))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def render_html(report: dict[str, Any], stats: list[dict[str, Any]]) -> str:
    s = report["summary"]
    verdict = (
        "<span class='ok'>consistent</span>"
        if report["consistent"]
        else f"<span class='bad'>{s['discrepancies']} discrepancies</span>"
    )
    cards = "".join(
        f"<div class='card'>{escape(label)}<b>{value}</b></div>"
        for label, value in (
            ("batches", s["batches"]),
            ("leaves", s["leaves"]),
            ("status changes", s["status_changes"]),
            ("version links", s["version_links"]),
            ("licences", s["licences"]),
            ("discrepancies", s["discrepancies"]),
            ("events/s", s["events_per_second"]),
        )
    )
    disc = (
        "".join(
            f"<tr class='disc'><td>{escape(d['kind'])}</td><td><code>{escape(d['licence'])}</code>"
            f"</td><td>{escape(d['detail'])}</td><td>{escape(d['since'] or '')}</td></tr>"
            for d in report["discrepancies"]
        )
        or "<tr><td colspan='4' class='ok'>none</td></tr>"
    )
    timeline = []
    for lic in report["licences"]:
        events = []
        for v in lic["versions"]:
            events.append(
                f"v{v['version']:03d} anchored {v.get('time') or '—'} "
                f"(block {v.get('block', '—')}) status {v.get('status', 'not on chain')}"
            )
            events += [
                f"&nbsp;&nbsp;→ {c['status']} {c['time']} (block {c['block']})"
                for c in v.get("status_changes", [])
            ]
        events += [
            f"{a['kind'].lower()} {escape(a['identifier'].split('/')[-1])} "
            f"{a.get('time') or 'not on chain'} {a.get('status', '')}"
            for a in lic["attachments"]
        ]
        timeline.append(
            f"<tr><td><code>{escape(lic['licence'])}</code><br>{escape(lic['type'])}"
            f"</td><td>{'<br>'.join(events)}</td></tr>"
        )
    chain = report["chain"]
    return (
        "<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'>"
        f"<title>Audit replay {escape(report['generated_at'])}</title><style>{_CSS}</style></head>"
        f"<body><h1>审计回放 Audit replay — {verdict}</h1>"
        f"<p>Registry <code>{escape(chain['registry'])}</code>, blocks {chain['from_block']}–"
        f"{chain['to_block']}, generated {escape(report['generated_at'])}.</p>"
        f"<div class='cards'>{cards}</div>"
        "<h2>Discrepancies</h2><table><tr><th>kind</th><th>licence</th><th>what differs</th>"
        f"<th>since</th></tr>{disc}</table>"
        f"<h2>Issuance and status changes</h2>{chart_svg(stats)}"
        f"<h2>Operation log</h2><p>{escape(str(report['operation_log']))}</p>"
        f"<h2>Data flows (sharing ledger)</h2>{_rows(report.get('sharing', []))}"
        f"<h2>Consortium changes (region directory)</h2>{_rows(report.get('governance', []))}"
        "<h2>Licences</h2><table><tr><th>licence</th><th>timeline</th></tr>"
        f"{''.join(timeline)}</table></body></html>"
    )


def render_pdf(report: dict[str, Any], stats: list[dict[str, Any]]) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    from licence_service.documents.fonts import cjk_font_name

    font = cjk_font_name()
    body = ParagraphStyle("body", fontName=font, fontSize=8.5, leading=11)
    head = ParagraphStyle("head", fontName=font, fontSize=15, leading=19, spaceAfter=6)
    sub = ParagraphStyle("sub", fontName=font, fontSize=11, leading=14, spaceBefore=8)
    s = report["summary"]
    state = "consistent" if report["consistent"] else f"{s['discrepancies']} discrepancies"
    flow: list[Any] = [
        Paragraph(f"审计回放 Audit replay — {escape(state)}", head),
        Paragraph(
            escape(
                f"registry {report['chain']['registry']}, blocks "
                f"{report['chain']['from_block']}–{report['chain']['to_block']}, "
                f"generated {report['generated_at']}"
            ),
            body,
        ),
        Spacer(1, 4 * mm),
    ]
    style = TableStyle(
        [
            ("FONT", (0, 0), (-1, -1), font, 8),
            ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ]
    )
    flow.append(Table([list(s.keys()), [str(v) for v in s.values()]], style=style))
    flow.append(Paragraph("Discrepancies", sub))
    rows = (
        [["kind", "licence", "what differs", "since"]]
        + [
            [
                d["kind"],
                Paragraph(escape(d["licence"]), body),
                Paragraph(escape(d["detail"]), body),
                d["since"] or "",
            ]
            for d in report["discrepancies"]
        ]
        if report["discrepancies"]
        else [["none"]]
    )
    bad = TableStyle([*style.getCommands(), ("BACKGROUND", (0, 1), (-1, -1), colors.mistyrose)])
    flow.append(
        Table(
            rows,
            colWidths=None if len(rows[0]) == 1 else [30 * mm, 55 * mm, 70 * mm, 30 * mm],
            style=bad,
        )
    )
    flow.append(Paragraph("Statistics", sub))
    if stats:
        cols = list(stats[0].keys())
        flow.append(Table([cols] + [[str(r[c]) for c in cols] for r in stats], style=style))
    flow.append(Paragraph("Operation log", sub))
    flow.append(Paragraph(escape(str(report["operation_log"])), body))
    buf = BytesIO()
    SimpleDocTemplate(
        buf, pagesize=A4, title="Audit replay", leftMargin=12 * mm, rightMargin=12 * mm
    ).build(flow)
    return buf.getvalue()
