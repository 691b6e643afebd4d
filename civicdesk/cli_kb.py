"""``civicdesk kb``: eval | import | export | propose | reindex (issue 15, the knowledge base).

``kb eval`` measures the retriever on any articles file and real questions before a city
trusts it (docs/knowledge-base.md has the figures on RuTube's support data); ``kb import``
and ``kb export`` move articles in and out as CSV, JSON or YAML.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from core.errors import DomainError

log = logging.getLogger(__name__)


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's commands to the parser."""
    kb = commands.add_parser("kb", help="the quick-answer knowledge base")
    sub = kb.add_subparsers(dest="kb_command", required=True)

    evaluate = sub.add_parser("eval", help="top-1/top-5/MRR@10 of the retriever on real questions")
    evaluate.add_argument("--articles", type=Path, required=True, help="CSV of articles")
    evaluate.add_argument("--id-col", required=True, help="rows sharing this value are one article")
    evaluate.add_argument(
        "--text-cols", required=True, help="comma-separated; the first is the article's title"
    )
    evaluate.add_argument("--questions", type=Path, required=True, help="CSV of questions")
    evaluate.add_argument("--question-col", required=True)
    evaluate.add_argument("--gold-col", required=True, help="the answering article's id")
    evaluate.add_argument(
        "--folds",
        type=int,
        help="learn the other folds' questions (re-ranker, calibrated confidence) per fold",
    )
    evaluate.add_argument("--seed", type=int, default=0)
    evaluate.add_argument(
        "--tfidf-only", action="store_true", help="without the e5 encoder (the fallback)"
    )
    evaluate.add_argument(
        "--cache",
        type=Path,
        default=Path("var/kb-eval-vectors.npz"),
        help="file keeping encoded texts between runs ('' for none)",
    )
    evaluate.add_argument("--json", action="store_true")
    evaluate.set_defaults(handler=_eval)

    load = sub.add_parser("import", help="articles from a CSV, JSON or YAML file")
    load.add_argument("file", type=Path)
    load.add_argument("--publish", action="store_true", help="publish imported drafts")
    load.add_argument("--by", default="import", help="who the versions are recorded as made by")
    load.add_argument("--json", action="store_true")
    load.set_defaults(handler=_import)

    dump = sub.add_parser("export", help="articles to a CSV, JSON or YAML file (by extension)")
    dump.add_argument("file", type=Path)
    dump.add_argument("--status", choices=["draft", "published", "archived"])
    dump.set_defaults(handler=_export)

    propose = sub.add_parser(
        "propose", help="cluster appeals answered without an article into proposed articles"
    )
    propose.add_argument("--days", type=int, default=30, help="appeals received in the last N days")
    propose.add_argument("--min-size", type=int, default=3, help="appeals a proposal needs")
    propose.add_argument(
        "--distance", type=float, help="average distance cut of a group (default 0.55 with e5)"
    )
    propose.add_argument("--json", action="store_true")
    propose.set_defaults(handler=_propose)

    reindex = sub.add_parser("reindex", help="rebuild the search index now (learned pairs too)")
    reindex.add_argument("--json", action="store_true")
    reindex.set_defaults(handler=_reindex)


def _eval(args: argparse.Namespace) -> int:
    from knowledge_base.encoder import VectorCache, default_encoder
    from knowledge_base.evaluation import articles_from_rows, evaluate, read_csv

    text_cols = [col.strip() for col in args.text_cols.split(",") if col.strip()]
    if not text_cols:
        raise DomainError("--text-cols names no column", code="validation_failed")
    for path in (args.articles, args.questions):
        if not path.is_file():
            raise DomainError(f"no such file: {path}", code="validation_failed")
    if args.folds is not None and args.folds < 2:
        raise DomainError("--folds must be at least 2", code="validation_failed")
    try:
        articles = articles_from_rows(
            read_csv(args.articles), id_col=args.id_col, text_cols=text_cols
        )
        rows = read_csv(args.questions)
        if rows and (args.question_col not in rows[0] or args.gold_col not in rows[0]):
            raise ValueError(
                f"the questions file needs the columns {args.question_col!r} and {args.gold_col!r}"
            )
        encoder = None if args.tfidf_only else default_encoder()
        cache = VectorCache(args.cache if str(args.cache) not in ("", ".") else None)
        report = evaluate(
            articles,
            [row[args.question_col] or "" for row in rows],
            [(row[args.gold_col] or "").strip() for row in rows],
            encoder=encoder,
            cache=cache,
            folds=args.folds,
            seed=args.seed,
        )
    except ValueError as error:
        raise DomainError(str(error), code="validation_failed") from error
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        for key, value in report.items():
            print(f"{key:22} {value}")
    return 0


def _import(args: argparse.Namespace) -> int:
    from core import db
    from knowledge_base.exchange import import_file

    if not args.file.is_file():
        raise DomainError(f"no such file: {args.file}", code="validation_failed")
    with db.transaction() as session:
        summary = import_file(session, args.file, by=args.by, publish=args.publish)
    print(json.dumps(summary, ensure_ascii=False) if args.json else _lines(summary))
    return 0


def _export(args: argparse.Namespace) -> int:
    from core import db
    from knowledge_base.exchange import export_file

    with db.transaction() as session:
        count = export_file(session, args.file, status=args.status)
    print(f"{count} articles → {args.file}", file=sys.stderr)
    return 0


def _reindex(args: argparse.Namespace) -> int:
    from core import db
    from knowledge_base.search import rebuild

    with db.transaction() as session:
        summary = rebuild(session)
    print(json.dumps(summary, ensure_ascii=False) if args.json else _lines(summary))
    return 0


def _propose(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from core import db
    from core.clock import now
    from knowledge_base.proposals import propose

    if args.days < 1 or args.min_size < 2:
        raise DomainError("--days ≥ 1 and --min-size ≥ 2", code="validation_failed")
    with db.transaction() as session:
        made = propose(
            session,
            since=now() - timedelta(days=args.days),
            min_size=args.min_size,
            distance=args.distance,
        )
        summary = {
            "proposals": len(made),
            "appeals": sum(p.size for p in made),
            "largest": [{"title": p.title[:80], "size": p.size} for p in made[:5]],
        }
    print(json.dumps(summary, ensure_ascii=False) if args.json else _lines(summary))
    return 0


def _lines(summary: dict[str, Any]) -> str:
    return "\n".join(f"{key:14} {value}" for key, value in summary.items())
