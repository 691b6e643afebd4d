"""``civicdesk route``: the routing dry run for one text, or a file of them (issue 19).

A batch reads one text per line (or a CSV's ``--text-col``), annotates the texts in chunks
with one model call each (the model is loaded once), routes each as the pipeline would — with
the places the deployment learned — and prints one JSON object per text, the fields of
``civicdesk route --json`` plus ``line`` (where the text was in the file).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core import db
from core.errors import DomainError
from core.settings import get_settings

CHUNK = 256


def _texts(path: Path, text_col: str | None) -> Iterator[tuple[int, str]]:
    """(line number, text): every non-empty line, or each CSV row's text column(s)."""
    try:
        yield from _read(path, text_col)
    except UnicodeDecodeError as error:
        message = f"{path} is not UTF-8 text ({error.reason})"
        raise DomainError(message, code="dataset_invalid") from error


def _read(path: Path, text_col: str | None) -> Iterator[tuple[int, str]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise DomainError(
            f"cannot read {path}: {error.strerror}", code="dataset_invalid"
        ) from error
    with handle:
        if text_col is None:
            for number, line in enumerate(handle, start=1):
                if line.strip():
                    yield number, line.strip()
            return
        sample = handle.read(4096)
        handle.seek(0)
        try:
            dialect: Any = csv.Sniffer().sniff(sample, delimiters=",;\t|")
        except csv.Error:
            dialect = csv.excel
        reader = csv.DictReader(handle, dialect=dialect)
        columns = [name.strip() for name in text_col.split(",")]
        missing = [name for name in columns if name not in (reader.fieldnames or [])]
        if missing:
            raise DomainError(
                f"column(s) {', '.join(repr(m) for m in missing)} not found; the file has "
                f"{', '.join(repr(f) for f in reader.fieldnames or [])}",
                code="dataset_invalid",
            )
        for number, row in enumerate(reader, start=2):
            text = "\n".join((row.get(name) or "").strip() for name in columns).strip()
            if text:
                yield number, text


def _advise_chunk(
    session: Any, chunk: list[tuple[int, str]], args: argparse.Namespace
) -> list[dict[str, Any]]:
    from intake.place_learning import learned_snapshot
    from nlp.annotate import annotate_batch, load_lexicon
    from routing.advice import advise

    settings = get_settings()
    annotations = annotate_batch(
        [text for _, text in chunk],
        load_lexicon(settings.data_dir),
        use_natasha=settings.nlp_use_natasha,
        learned=learned_snapshot(session),
    )
    out = []
    for (number, text), annotation in zip(chunk, annotations, strict=True):
        advice = advise(session, text=text, language=args.lang, annotation=annotation)
        out.append({"line": number, **advice})
    return out


def route_batch(args: argparse.Namespace) -> int:
    """One JSON object per text of ``args.batch``, in the file's order."""
    db.configure(get_settings())
    chunk: list[tuple[int, str]] = []
    with db.session_factory()() as session:
        for item in _texts(Path(args.batch), args.text_col):
            chunk.append(item)
            if len(chunk) == CHUNK:
                _print(_advise_chunk(session, chunk, args), args)
                chunk = []
        if chunk:
            _print(_advise_chunk(session, chunk, args), args)
    return 0


def _print(results: list[dict[str, Any]], args: argparse.Namespace) -> None:
    for advice in results:
        if args.json:
            print(json.dumps(advice, ensure_ascii=False))
        else:
            print(f"line {advice['line']}:")
            print_advice(advice)
    sys.stdout.flush()


def route_one(args: argparse.Namespace) -> int:
    """The dry run for one text (``civicdesk route "text"``)."""
    from intake.place_learning import learned_snapshot
    from nlp.annotate import annotate, load_lexicon
    from routing.advice import advise

    settings = get_settings()
    db.configure(settings)
    with db.session_factory()() as session:
        annotation = annotate(
            args.text,
            load_lexicon(settings.data_dir),
            use_natasha=settings.nlp_use_natasha,
            address=args.address,
            learned=learned_snapshot(session),
        )
        advice = advise(
            session,
            text=args.text,
            address=args.address,
            district_code=args.district,
            language=args.lang,
            annotation=annotation,
        )
    if args.json:
        print(json.dumps(advice, ensure_ascii=False, indent=2))
    else:
        print_advice(advice)
    return 0


def print_advice(advice: dict[str, Any]) -> None:
    print(f"{advice['category']} ({advice['confidence']:.2f}) → {advice['organization']}")
    print(f"  language: {advice['language']}, district: {advice['district'] or '?'}", end="")
    print(f" ({advice['district_evidence']})" if advice.get("district_evidence") else "")
    if advice["urgency"] != "normal":
        print(f"  urgency: {advice['urgency']} ({', '.join(advice['urgency_triggers'])})")
    if advice.get("not_appeal"):
        print(f"  not an appeal: {advice['not_appeal']}")
    print(f"  rule: {advice['rule']}")
    if advice["triage_reason"]:
        print(f"  triage: {advice['triage_reason']}")
    for alternative in advice["alternatives"]:
        print(
            f"  or {alternative['category']} ({alternative['confidence']:.2f})"
            f" → {alternative['organization']}"
        )
