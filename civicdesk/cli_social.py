"""The ``civicdesk social`` commands: eval | train | poll | send.

``social eval`` is how a city measures the "is it an appeal?" classifier on its own
labelled comments before trusting it: each text (with its post, when a context column is
given) is classified by the deployment's model and compared with the label (1 = appeal).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from core.errors import DomainError
from core.settings import get_settings


def _eval(args: argparse.Namespace) -> int:
    from channels.social import classifier
    from channels.social.service import model_dir

    settings = get_settings()
    path = Path(args.csv)
    if not path.is_file():
        raise DomainError(f"no such file: {path}", code="validation_failed")
    try:
        examples = classifier.read_examples(
            path, text_col=args.text_col, label_col=args.label_col, context_col=args.context_col
        )
    except (ValueError, UnicodeDecodeError) as error:
        raise DomainError(str(error), code="validation_failed") from error
    if not examples:
        raise DomainError(f"{path.name} has no rows", code="validation_failed")
    engine = args.engine or settings.social_classifier
    model, metadata = classifier.current(
        model_dir(settings), engine=engine, data_dir=settings.data_dir
    )
    probabilities = classifier.probabilities(
        model, [(e.text, e.context if args.context_col else "") for e in examples]
    )
    threshold = args.threshold
    result: dict[str, Any] = classifier.scores(
        [e.label for e in examples], [p >= threshold for p in probabilities]
    )
    result.update(threshold=threshold, engine=metadata.engine, model=metadata.version)
    if args.json:
        print(json.dumps(result, ensure_ascii=False))
    else:
        print(
            f"n={result['n']}  precision={result['precision']:.3f}  "
            f"recall={result['recall']:.3f}  f1={result['f1']:.3f}  "
            f"(threshold {threshold}, {metadata.engine} {metadata.version})"
        )
    return 0


def _train(args: argparse.Namespace) -> int:
    from channels.social import classifier
    from channels.social.moderation import decisions_as_examples
    from channels.social.service import model_dir
    from core import db
    from nlp.engine import save_model

    settings = get_settings()
    decisions: list[classifier.Example] = []
    if not args.without_decisions:
        with db.transaction() as session:  # configured from the settings on first use
            decisions = decisions_as_examples(session)
    engine = args.engine or settings.social_classifier
    # An operator's decision is a real comment: it counts more than a written example.
    weighted = [example for example in decisions for _ in range(args.decision_weight)]
    model, metadata = classifier.train(
        [*classifier.builtin_examples(settings.data_dir), *weighted],
        engine=engine,
        source={"data": "data/social/comments.csv", "decisions": len(decisions)},
        evaluate=args.evaluate,
    )
    out = Path(args.out) if args.out else model_dir(settings)
    save_model(model, out, metadata)
    classifier.forget_loaded()
    print(
        json.dumps(
            {
                "model": metadata.version,
                "engine": metadata.engine,
                "directory": str(out),
                "examples": metadata.trained_on["n_examples"],
                "decisions": len(decisions),
                "evaluation": metadata.evaluation,
            },
            ensure_ascii=False,
        )
    )
    return 0


def _poll(args: argparse.Namespace) -> int:
    from channels.social.poller import poll

    settings = get_settings()
    report = poll(settings)
    print(json.dumps(report.__dict__, ensure_ascii=False))
    return 1 if report.errors and not report.posts else 0


def _send(args: argparse.Namespace) -> int:
    from channels.social.jobs import sweep

    settings = get_settings()
    print(json.dumps(sweep(settings), ensure_ascii=False, default=str))
    return 0


def _guarded(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except DomainError as error:
            print(f"error [{error.code}]: {error.message}", file=sys.stderr)
            return 2

    return run


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's commands to the parser."""
    social = commands.add_parser("social", help="social-media monitoring (comments → appeals)")
    sub = social.add_subparsers(dest="social_command", required=True)

    evaluate = sub.add_parser(
        "eval", help="precision and recall of 'is it an appeal?' on a labelled CSV"
    )
    evaluate.add_argument("--csv", required=True, help="UTF-8 CSV with a header row")
    evaluate.add_argument("--text-col", required=True, help="the comment's column")
    evaluate.add_argument("--label-col", required=True, help="1 = an appeal, 0 = not")
    evaluate.add_argument("--context-col", help="the post the comment stands under")
    evaluate.add_argument(
        "--threshold", type=float, default=0.5, help="P(appeal) from which a text is an appeal"
    )
    evaluate.add_argument("--engine", choices=["social-e5", "social-tfidf"])
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.set_defaults(handler=_guarded(_eval))

    train = sub.add_parser(
        "train", help="retrain from data/social/comments.csv and the operators' decisions"
    )
    train.add_argument("--engine", choices=["social-e5", "social-tfidf"])
    train.add_argument("--out", help="model directory (default CIVICDESK_SOCIAL_MODEL_DIR)")
    train.add_argument("--evaluate", action="store_true", help="5-fold figures in the metadata")
    train.add_argument("--without-decisions", action="store_true")
    train.add_argument("--decision-weight", type=int, default=3, choices=range(1, 11))
    train.set_defaults(handler=_guarded(_train))

    poll = sub.add_parser("poll", help="one pass of the Graph API poller over the accounts")
    poll.set_defaults(handler=_guarded(_poll))

    send = sub.add_parser("send", help="send due replies (and poll when due)")
    send.set_defaults(handler=_guarded(_send))
