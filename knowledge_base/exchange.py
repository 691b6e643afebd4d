"""Articles in and out as CSV, JSON or YAML (``civicdesk kb import`` / ``kb export``).

One format of record, three encodings: a list of objects with :class:`ArticleIn`'s
fields. In CSV the list fields are cells: steps one per line, tags and sources separated
by ``|``. An import is all or nothing: every row is validated first, and one bad row
(named by its number and field) writes nothing. Articles are matched by ``slug``: a new
slug creates an article, a known one gets a new version when something changed.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import ValidationFailed
from knowledge_base import service
from knowledge_base.models import Article, ArticleStatus
from knowledge_base.schemas import ArticleIn

FIELDS = tuple(ArticleIn.model_fields)
_LINES = ("steps_ru", "steps_kk")
_PIPES = ("tags", "sources")
MAX_ROWS = 20_000


def _format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".yaml", ".yml"):
        return "yaml"
    if suffix in (".json", ".csv"):
        return suffix[1:]
    raise ValidationFailed(
        f"{path.name}: use a .csv, .json, .yaml or .yml file", code="kb_file_format"
    )


def parse(text: str, fmt: str) -> list[dict[str, Any]]:
    """The raw records of a file's text."""
    try:
        if fmt == "csv":
            rows: list[dict[str, Any]] = []
            for row in csv.DictReader(io.StringIO(text)):
                record: dict[str, Any] = {k: v for k, v in row.items() if k and v not in (None, "")}
                for name in _LINES:
                    if name in record:
                        record[name] = [s for s in str(record[name]).splitlines() if s.strip()]
                for name in _PIPES:
                    if name in record:
                        record[name] = [s.strip() for s in str(record[name]).split("|")]
                if "example" in record:
                    record["example"] = str(record["example"]).strip().lower() in (
                        "1",
                        "true",
                        "yes",
                    )
                rows.append(record)
            return rows
        data = json.loads(text) if fmt == "json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError, csv.Error) as error:
        raise ValidationFailed(
            f"the file cannot be read: {error}", code="kb_file_unreadable"
        ) from error
    if isinstance(data, dict) and isinstance(data.get("articles"), list):
        data = data["articles"]
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValidationFailed(
            "the file must hold a list of articles (or {articles: [...]})", code="kb_file_shape"
        )
    return data


def validate(records: Sequence[dict[str, Any]]) -> list[ArticleIn]:
    """Every record checked; all problems reported together, by row and field."""
    if len(records) > MAX_ROWS:
        raise ValidationFailed(f"at most {MAX_ROWS} articles per file", code="kb_file_too_big")
    articles: list[ArticleIn] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, record in enumerate(records, start=1):
        try:
            article = ArticleIn.model_validate(record)
        except ValidationError as error:
            for item in error.errors()[:3]:
                field = ".".join(str(part) for part in item["loc"]) or "?"
                problems.append(f"row {number}, {field}: {item['msg']}")
            continue
        if article.slug in seen:
            problems.append(f"row {number}, slug: {article.slug} appears twice")
        seen.add(article.slug)
        articles.append(article)
    if problems:
        shown = "; ".join(problems[:10])
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise ValidationFailed(f"nothing imported: {shown}{more}", code="kb_import_invalid")
    return articles


def import_articles(
    session: Session, articles: Sequence[ArticleIn], *, by: str, reason: str, publish: bool = False
) -> dict[str, int]:
    """Create or update each article by slug; flushes."""
    created = updated = unchanged = 0
    for data in articles:
        if publish and data.status == "draft":
            data = data.model_copy(update={"status": "published"})
        existing = service.by_slug(session, data.slug)
        if existing is None:
            service.create_article(session, data=data, user=None, by=by, reason=reason)
            created += 1
        elif service.update_article(session, existing, data=data, user=None, by=by, reason=reason):
            updated += 1
        else:
            unchanged += 1
    return {"created": created, "updated": updated, "unchanged": unchanged}


def import_file(
    session: Session, path: Path, *, by: str = "import", publish: bool = False
) -> dict[str, Any]:
    fmt = _format(path)
    if not path.is_file():
        raise ValidationFailed(f"no such file: {path}", code="kb_file_missing")
    records = parse(path.read_text(encoding="utf-8-sig"), fmt)
    articles = validate(records)
    summary = import_articles(
        session, articles, by=by, reason=f"imported from {path.name}", publish=publish
    )
    return {"file": str(path), "articles": len(articles), **summary}


def records(session: Session, *, status: str | None = None) -> list[dict[str, Any]]:
    """Every article as a record (slug order), what an import takes back unchanged."""
    query = select(Article).order_by(Article.slug)
    if status:
        query = query.where(Article.status == ArticleStatus(status))
    codes = service.organization_codes(session)
    out = []
    for article in session.scalars(query):
        record = service.snapshot(article, codes.get(article.organization_id or -1))
        out.append({name: record[name] for name in FIELDS})
    return out


def render(items: Sequence[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return json.dumps(items, ensure_ascii=False, indent=2) + "\n"
    if fmt == "yaml":
        return yaml.safe_dump(list(items), allow_unicode=True, sort_keys=False, width=100)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=FIELDS)
    writer.writeheader()
    for item in items:
        row = {name: item.get(name) for name in FIELDS}
        for name in _LINES:
            row[name] = "\n".join(row[name] or [])
        for name in _PIPES:
            row[name] = " | ".join(row[name] or [])
        row["example"] = "true" if row["example"] else "false"
        writer.writerow({name: "" if value is None else value for name, value in row.items()})
    return buffer.getvalue()


def export_file(session: Session, path: Path, *, status: str | None = None) -> int:
    items = records(session, status=status)
    path.write_text(render(items, _format(path)), encoding="utf-8")
    return len(items)
