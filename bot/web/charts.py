"""Inline SVG charts for the admin page, rendered on the server.

No chart library and no script: the admin page must work on an intranet without a CDN, and an SVG
in the HTML prints and screenshots exactly as it shows. Every label is escaped here because the
result is marked safe for the template.
"""

from __future__ import annotations

import datetime as dt
import math

from markupsafe import Markup, escape

from bot import messages

BLUE = "#1f5fa8"
RED = "#c8452c"
GREY = "#d9dee5"
TEXT = "#333"


def _svg(width: int, height: int, label: str, body: list[str]) -> Markup:
    title = escape(label)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="100%" role="img" '
        f'aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><title>{title}</title>'
        + "".join(body) + "</svg>"
    )


def _empty(width: int, height: int, label: str) -> Markup:
    return _svg(width, height, label, [
        f'<text x="{width / 2}" y="{height / 2}" text-anchor="middle" fill="#888" font-size="14">'
        f"{escape(messages.CHART_NO_DATA)}</text>"
    ])


def _nice_max(value: int) -> int:
    """A round axis maximum at or above ``value`` (1, 2, 5 x 10^n)."""
    if value <= 5:
        return 5
    power = 10 ** int(math.floor(math.log10(value)))
    for step in (1, 2, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power


def questions_per_day(per_day: list[tuple[str, int, int]], days: int = 30,
                      today: dt.date | None = None) -> Markup:
    """Stacked columns: answered (blue) and refused (red) questions for each of the last ``days`` days."""
    label = messages.CHART_PER_DAY.format(days=days)
    width, height, left, bottom, top = 900, 240, 36, 30, 24
    if not per_day:
        return _empty(width, height, label)
    today = today or dt.date.today()
    counts = {day: (n, refused) for day, n, refused in per_day}
    dates = [today - dt.timedelta(days=i) for i in range(days - 1, -1, -1)]
    peak = _nice_max(max((n for n, _ in counts.values()), default=0))
    plot_w, plot_h = width - left - 8, height - top - bottom
    slot = plot_w / days
    bar = max(2.0, slot * 0.7)
    body = []
    for i in range(5):  # horizontal grid lines with their values
        value = peak * i / 4
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GREY}"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="13" fill="{TEXT}">'
                    f"{value:g}</text>")
    for i, day in enumerate(dates):
        n, refused = counts.get(day.isoformat(), (0, 0))
        x = left + i * slot + (slot - bar) / 2
        answered_h = plot_h * (n - refused) / peak
        refused_h = plot_h * refused / peak
        base = top + plot_h
        tip = escape(messages.CHART_DAY_TIP.format(day=day.isoformat(), n=n, refused=refused))
        body.append(f"<g><title>{tip}</title>")
        body.append(f'<rect x="{x:.1f}" y="{base - answered_h:.1f}" width="{bar:.1f}" '
                    f'height="{answered_h:.1f}" fill="{BLUE}"/>')
        body.append(f'<rect x="{x:.1f}" y="{base - answered_h - refused_h:.1f}" width="{bar:.1f}" '
                    f'height="{refused_h:.1f}" fill="{RED}"/></g>')
        if i % 5 == 4 or i == days - 1:  # a date label every five days keeps them legible
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                        f'font-size="13" fill="{TEXT}">{day.month}/{day.day}</text>')
    body.append(f'<rect x="{left}" y="4" width="10" height="10" fill="{BLUE}"/>'
                f'<text x="{left + 14}" y="13" font-size="13" fill="{TEXT}">{escape(messages.CHART_ANSWERED)}</text>'
                f'<rect x="{left + 70}" y="4" width="10" height="10" fill="{RED}"/>'
                f'<text x="{left + 84}" y="13" font-size="13" fill="{TEXT}">{escape(messages.CHART_REFUSED)}</text>')
    return _svg(width, height, label, body)


def refused_share(refused: int, total: int) -> Markup:
    """A ring: the share of questions the knowledge base could not answer."""
    label = messages.CHART_REFUSED_SHARE
    size = 200
    if total <= 0:
        return _empty(size, size, label)
    share = refused / total
    radius, cx, cy, stroke = 70, 100, 100, 26
    circumference = 2 * math.pi * radius
    arc = circumference * share
    body = [
        f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{BLUE}" stroke-width="{stroke}"/>',
        # The red arc starts at 12 o'clock: rotate the circle's own start (3 o'clock) by -90 degrees.
        f'<circle cx="{cx}" cy="{cy}" r="{radius}" fill="none" stroke="{RED}" stroke-width="{stroke}" '
        f'stroke-dasharray="{arc:.2f} {circumference:.2f}" transform="rotate(-90 {cx} {cy})"/>',
        f'<text x="{cx}" y="{cy + 2}" text-anchor="middle" font-size="30" font-weight="bold" fill="{RED}">'
        f"{share:.0%}</text>",
        f'<text x="{cx}" y="{cy + 26}" text-anchor="middle" font-size="12" fill="{TEXT}">'
        f"{escape(messages.CHART_REFUSED_COUNT.format(refused=refused, total=total))}</text>",
    ]
    return _svg(size, size, messages.CHART_REFUSED_SHARE_TITLE.format(label=label, share=share, refused=refused, total=total), body)


def horizontal_bars(rows: list[tuple[str, int]], label: str, color: str = BLUE, width: int = 900,
                    left: int = 360, label_chars: int = 28) -> Markup:
    """One bar per row, longest first; long labels are shortened, the full text is the tooltip.

    ``width`` is the drawing's own unit width: give a narrow panel a narrow drawing so its text is
    not scaled down to nothing.
    """
    row_h = 26
    height = max(60, row_h * len(rows) + 12)
    if not rows:
        return _empty(width, 60, label)
    peak = max(n for _, n in rows) or 1
    plot_w = width - left - 50
    body = []
    for i, (name, n) in enumerate(rows):
        y = 6 + i * row_h
        shown = name if len(name) <= label_chars else name[: label_chars - 1] + "…"
        bar = max(2.0, plot_w * n / peak)
        body.append(f"<g><title>{escape(name)}：{n}</title>")
        body.append(f'<text x="{left - 8}" y="{y + 17}" text-anchor="end" font-size="13" fill="{TEXT}">'
                    f"{escape(shown)}</text>")
        body.append(f'<rect x="{left}" y="{y + 4}" width="{bar:.1f}" height="{row_h - 8}" '
                    f'fill="{color}" rx="2"/>')
        body.append(f'<text x="{left + bar + 6:.1f}" y="{y + 17}" font-size="12" fill="{TEXT}">'
                    f"{n}</text></g>")
    return _svg(width, height, label, body)


# ----- the unanswered queue's daily trend (issue 15, helper "queue") -----
def daily_columns(per_day: list[tuple[str, int]], label: str, color: str = RED) -> Markup:
    """One column per day (oldest first), with a date label every five days; all-zero days show as gaps."""
    width, height, left, bottom, top = 900, 220, 36, 30, 12
    if not per_day or not any(n for _, n in per_day):
        return _empty(width, height, label)
    peak = _nice_max(max(n for _, n in per_day))
    plot_w, plot_h = width - left - 8, height - top - bottom
    slot = plot_w / len(per_day)
    bar = max(2.0, slot * 0.7)
    body = []
    for i in range(5):
        y = top + plot_h - plot_h * i / 4
        body.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" stroke="{GREY}"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end" font-size="13" fill="{TEXT}">'
                    f"{peak * i / 4:g}</text>")
    for i, (day, n) in enumerate(per_day):
        x = left + i * slot + (slot - bar) / 2
        h = plot_h * n / peak
        body.append(f'<g class="day"><title>{escape(f"{day}：{n}")}</title><rect x="{x:.1f}" '
                    f'y="{top + plot_h - h:.1f}" width="{bar:.1f}" height="{h:.1f}" fill="{color}"/></g>')
        if i % 5 == (len(per_day) - 1) % 5:  # the last day always labelled, then every fifth back
            month, dom = day[5:7].lstrip("0"), day[8:10].lstrip("0")
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
                        f'font-size="13" fill="{TEXT}">{month}/{dom}</text>')
    return _svg(width, height, label, body)
