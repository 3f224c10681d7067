"""`promote status` rendered: a terminal table, Markdown for step summaries and PR bodies,
JSON, and one self-contained HTML page (no external assets) a job can publish."""

from __future__ import annotations

from datetime import datetime

from promoter import sinks
from promoter.policies import stamp
from promoter.queries.status import Board, Cell

escape = sinks.html_text

BEHIND = "↓"
"""Marks a cell whose environment runs an older version than its source."""


def age(cell: Cell, now: datetime) -> str:
    if cell.since is None:
        return ""
    minutes = max(0, int((now - cell.since).total_seconds() // 60))
    if minutes < 60:
        text = f"{minutes}m"
    elif minutes < 48 * 60:
        text = f"{minutes // 60}h"
    else:
        text = f"{minutes // 1440}d"
    return text if cell.since_exact else f">{text}"


def cell_text(board: Board, app: str, env: str) -> str:
    cell = board.cell(app, env)
    if cell is None:
        return "-"
    waiting = f" → {cell.in_flight.describe()}" if cell.in_flight else ""
    if cell.reference is None:
        return ("?" if cell.problem or not waiting else "-") + waiting
    text = cell.version
    when = age(cell, board.generated)
    if when:
        text += f" ({when})"
    if cell.behind:
        text += f" {BEHIND}"
    held = next((h for h in board.holds if h.env == env and h.app == app), None)
    if held is not None:
        text += " held"
    return text + waiting


_NOTED = ("hold:", "freeze:", "window:")
"""Blocks the notes already give per hold and per closed environment."""


def _notes(board: Board) -> list[str]:
    notes = [f"{BEHIND}: older than the environment it is promoted from"]
    for hold in board.holds:
        notes.append(f"hold: {hold.app} in {hold.env} at {hold.version} ({hold.reason})")
    for env in board.environments:
        if env.closed:
            notes.append(f"{env.name}: {env.closed}")
    problems = [c for c in board.cells.values() if c.problem]
    notes += [f"{c.app} in {c.env}: {c.problem}" for c in problems]
    notes += [
        f"{c.app} in {c.env}: blocked ({c.blocked[0]})"
        for c in board.cells.values()
        if c.blocked and not c.blocked[0].startswith(_NOTED)
    ]
    return notes


def text(board: Board) -> str:
    headers = ["app", *(e.name for e in board.environments)]
    rows = [
        [app, *(cell_text(board, app, e.name) for e in board.environments)] for app in board.apps
    ]
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines += ["", *_notes(board), f"as of {stamp(board.generated)}"]
    return "\n".join(lines) + "\n"


def markdown(board: Board) -> str:
    envs = [e.name for e in board.environments]
    md = sinks.markdown_text
    lines = ["| app | " + " | ".join(md(e) for e in envs) + " |", "|---|" + "---|" * len(envs)]
    for app in board.apps:
        cells = [md(cell_text(board, app, env)) for env in envs]
        lines.append(f"| {md(app)} | " + " | ".join(cells) + " |")
    lines += [""] + [f"- {md(note)}" for note in _notes(board)]
    lines += ["", f"_as of {stamp(board.generated)}_"]
    return "\n".join(lines) + "\n"


def as_json(board: Board) -> dict[str, object]:
    return {
        "schema_version": 1,
        "generated": board.generated.isoformat(),
        "environments": [
            {"name": e.name, "base": e.base, "from": e.source, "closed": e.closed}
            for e in board.environments
        ],
        "apps": list(board.apps),
        "cells": [
            {
                "app": c.app,
                "env": c.env,
                "reference": str(c.reference) if c.reference else None,
                "version": c.version or None,
                "since": c.since.isoformat() if c.since else None,
                "since_exact": c.since_exact,
                "behind": c.behind,
                "problem": c.problem,
                "in_flight": c.in_flight.as_json() if c.in_flight else None,
                "blocked": c.blocked[0] if c.blocked else None,
                "blocked_until": c.blocked[1] if c.blocked else None,
            }
            for c in board.cells.values()
        ],
        "holds": [
            {"env": h.env, "app": h.app, "version": h.version, "reason": h.reason, "at": h.at}
            for h in board.holds
        ],
    }


_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#1b1f24}
table{border-collapse:collapse}th,td{border:1px solid #d0d7de;padding:.35rem .7rem;text-align:left}
th{background:#f6f8fa}td.behind{background:#fff8c5}td.held{background:#ffebe9}
td.missing{color:#8c959f}td.inflight{font-style:italic}ul{padding-left:1.2rem}
small{color:#57606a}
"""


def page(board: Board) -> str:
    envs = [e.name for e in board.environments]
    head = "".join(f"<th>{escape(e)}</th>" for e in envs)
    rows = []
    for app in board.apps:
        cells = []
        for env in envs:
            cell = board.cell(app, env)
            classes = []
            if cell is None or cell.reference is None:
                classes.append("missing")
            elif cell.behind:
                classes.append("behind")
            if any(h.env == env and h.app == app for h in board.holds):
                classes.append("held")
            version = cell.version if cell is not None else ""
            pending = cell.in_flight if cell is not None else None
            if pending is not None:
                classes.append("inflight")
            waiting = escape(pending.reference.version) if pending else ""
            cells.append(
                f'<td class="{" ".join(classes)}" data-env="{escape(env)}" '
                f'data-version="{escape(version)}" data-in-flight="{waiting}">'
                f"{escape(cell_text(board, app, env))}</td>"
            )
        rows.append(f'<tr data-app="{escape(app)}"><th>{escape(app)}</th>{"".join(cells)}</tr>')
    notes = "".join(f"<li>{escape(n)}</li>" for n in _notes(board))
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>promoter status</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<h1>What runs where</h1>"
        f'<table id="status"><thead><tr><th>app</th>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
        f"<ul>{notes}</ul><small>as of {escape(stamp(board.generated))}</small>"
        "</body></html>\n"
    )
