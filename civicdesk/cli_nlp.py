"""``civicdesk`` subcommands: nlp train | eval (issue 4) | places (issue 19).

``nlp eval`` is how a city measures the topic engine on its own history before
trusting it: k-fold cross-validation on one labeled CSV, or train on one file
and test on another. ``nlp train`` writes a model directory (model files +
metadata.json with version, data fingerprint and held-out figures).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from core.errors import DomainError
from core.settings import get_settings


def _engine_options(args: argparse.Namespace) -> dict[str, object]:
    """The few knobs the CLI exposes; the engine's defaults are the measured configuration."""
    options: dict[str, object] = {}
    for name in ("C", "model", "max_chars", "calibration"):
        value = getattr(args, name, None)
        if value is not None:
            options[name] = value
    if args.engine == "transformers":
        from nlp.topic import engine_options, resolve_path

        given = getattr(args, "checkpoint", None)
        if given:
            options["checkpoint"] = str(resolve_path(given))
        else:
            options.update(engine_options("transformers", get_settings()))
    return options


def _check_eval_arguments(args: argparse.Namespace) -> None:
    """Either --corpus, or --csv with its columns and one of --test-csv / --folds (≥ 2)."""
    if args.corpus:
        given = [flag for flag, value in (("--csv", args.csv), ("--test-csv", args.test_csv),
                 ("--folds", args.folds), ("--text-col", args.text_col),
                 ("--label-col", args.label_col)) if value is not None]  # fmt: skip
        if given:
            raise DomainError(
                f"--corpus evaluates the project corpus: drop {', '.join(given)}",
                code="validation_failed",
            )
        return
    if not args.csv or not args.text_col or not args.label_col:
        raise DomainError(
            "give --csv, --text-col and --label-col (or --corpus)", code="validation_failed"
        )
    if args.test_csv is None and args.folds is None:
        raise DomainError("give --test-csv PATH or --folds N", code="validation_failed")
    if args.folds is not None and args.folds < 2:
        raise DomainError(
            f"--folds must be at least 2 (got {args.folds}): each fold is tested by a model "
            "trained on the others",
            code="validation_failed",
        )


def _corpus_report(args: argparse.Namespace, options: dict[str, object]) -> dict[str, Any]:
    """Train on the project corpus's train split, report on its held-out split (phrasings
    no training row uses), with the project's corpus options for the default engine."""
    from nlp.corpus import corpus_path, load_corpus, texts_and_labels
    from nlp.evaluation import evaluate_split
    from nlp.topic import engine_options

    settings = get_settings()
    train_texts, train_labels = texts_and_labels(load_corpus(settings.data_dir, split="train"))
    test_texts, test_labels = texts_and_labels(load_corpus(settings.data_dir, split="test"))
    options = {**engine_options(args.engine, settings), **options}
    report = evaluate_split(
        train_texts, train_labels, test_texts, test_labels, engine=args.engine, **options
    )
    report["protocol"] = (
        f"project corpus: train split → held-out split (split=test), seed {args.seed}"
    )
    report["data"] = {
        "path": str(corpus_path(settings.data_dir)),
        "n_rows": len(train_texts) + len(test_texts),
        "dropped_empty_label": 0,
        "dropped_empty_text": 0,
        "text_columns": ["text"],
        "label_column": "category",
    }
    report["options"] = {key: str(value) for key, value in options.items()}
    return report


def _eval(args: argparse.Namespace) -> int:
    from nlp.datasets import read_labeled_csv
    from nlp.evaluation import cross_validate, evaluate_split

    _check_eval_arguments(args)
    args.engine = args.engine or get_settings().nlp_engine
    options = _engine_options(args)
    if args.corpus:
        _print_report(_corpus_report(args, options), as_json=args.json)
        return 0
    data = read_labeled_csv(
        args.csv, text_columns=args.text_col, label_column=args.label_col, sep=args.sep
    )
    if args.test_csv:
        test = read_labeled_csv(
            args.test_csv, text_columns=args.text_col, label_column=args.label_col, sep=args.sep
        )
        report = evaluate_split(
            data.texts, data.labels, test.texts, test.labels, engine=args.engine, **options
        )
        report["test_data"] = test.describe()
    else:
        report = cross_validate(
            data.texts,
            data.labels,
            folds=args.folds,
            seed=args.seed,
            engine=args.engine,
            **options,
        )
    report["data"] = data.describe()
    report["options"] = options
    _print_report(report, as_json=args.json)
    return 0


def _print_report(report: dict[str, Any], *, as_json: bool) -> None:
    print(json.dumps(report, ensure_ascii=False, indent=2) if as_json else format_report(report))


def format_report(report: dict[str, Any]) -> str:
    """The evaluation as a person reads it: headline figures, per-class table, confusions."""
    data = report["data"]
    lines = [
        f"engine {report['engine']}, {report['protocol']}",
        f"data {data['path']}: {data['n_rows']} rows, "
        f"dropped {data['dropped_empty_label']} with an empty label "
        f"and {data['dropped_empty_text']} with an empty text",
        "",
        f"  accuracy        {report['accuracy']:.1%}"
        f"   (majority class {report['majority_rate']:.1%})",
        f"  macro-F1        {report['macro_f1']:.1%}",
        f"  weighted-F1     {report['weighted_f1']:.1%}",
        f"  top-3 accuracy  {report['top3_accuracy']:.1%}",
        f"  n_test          {report['n_test']}  ({report['n_labels_test']} labels)",
        f"  texts/second    {report['texts_per_second']}",
        f"  calibration     ECE {report['expected_calibration_error']:.3f}, mean confidence "
        f"{report['mean_confidence_correct']} when right, {report['mean_confidence_wrong']} "
        "when wrong",
    ]
    if "fold_accuracy" in report:
        folds = ", ".join(f"{a:.1%}" for a in report["fold_accuracy"])
        lines.append(f"  folds           {folds}")
    for row in report.get("triage_thresholds", []):
        if row["min_confidence"] is not None:
            lines.append(
                f"  precision ≥ {row['target_precision']:.0%}: route without an operator at "
                f"confidence ≥ {row['min_confidence']:.2f} ({row['routed_share']:.0%} of appeals)"
            )
    if "test_rows_label_unseen_in_train" in report:
        lines.append(
            f"  test rows whose label never occurs in training: "
            f"{report['test_rows_label_unseen_in_train']}"
        )
    lines += ["", f"  {'precision':>9} {'recall':>7} {'f1':>6} {'support':>7}  class"]
    per_class = sorted(report["per_class"].items(), key=lambda item: -int(item[1]["support"]))
    for label, scores in per_class:
        lines.append(
            f"  {scores['precision']:9.2f} {scores['recall']:7.2f} {scores['f1']:6.2f}"
            f" {scores['support']:7d}  {label}"
        )
    lines += ["", "most frequent confusions (true → predicted):"]
    for pair in report["confusion_pairs"]:
        lines.append(f"  {pair['count']:5d}  {pair['true']} → {pair['predicted']}")
    return "\n".join(lines)


def _train(args: argparse.Namespace) -> int:
    from nlp.topic import engine_options, resolve_path

    settings = get_settings()
    # The same reading as the pipeline's: a relative --out is under the repository root.
    out = resolve_path(args.out or settings.nlp_model_dir)
    engine = args.engine or settings.nlp_engine
    args.engine = engine
    if not args.csv:
        if args.text_col or args.label_col:
            raise DomainError("--text-col/--label-col need --csv", code="validation_failed")
        from intake.nlp_training import train_project_model

        summary = train_project_model(
            settings=settings,
            out_dir=out,
            engine=engine,
            options={**engine_options(engine, settings), **_engine_options(args)},
        )
        print(json.dumps(summary, ensure_ascii=False, indent=2, default=str))
        return 0
    if not args.text_col or not args.label_col:
        raise DomainError("--csv needs --text-col and --label-col", code="validation_failed")
    from nlp.datasets import read_labeled_csv
    from nlp.engine import save_model
    from nlp.training import train_model

    data = read_labeled_csv(
        args.csv, text_columns=args.text_col, label_column=args.label_col, sep=args.sep
    )
    classifier, metadata = train_model(
        data.texts,
        data.labels,
        engine=engine,
        source=data.describe(),
        holdout=args.holdout,
        seed=args.seed,
        **_engine_options(args),
    )
    save_model(classifier, out, metadata)
    evaluation = metadata.evaluation
    print(
        json.dumps(
            {
                "model_dir": str(out),
                "engine": metadata.engine,
                "version": metadata.version,
                "n_examples": metadata.trained_on["n_examples"],
                "n_labels": len(metadata.labels),
                "evaluation": {
                    key: evaluation[key]
                    for key in ("protocol", "accuracy", "macro_f1", "top3_accuracy", "n_test")
                    if key in evaluation
                },
            },
            ensure_ascii=False,
            indent=2,
        )
    )
    return 0


def _places(args: argparse.Namespace) -> int:
    """What the city learned of its places from confirmed districts (issue 19)."""
    from core import db
    from intake.place_learning import last_run, learned_places, relearn

    settings = get_settings()
    db.configure(settings)
    with db.transaction() as session:
        if args.learn:
            relearn(session, settings)
        rows = learned_places(session, kind=args.kind)
        report: dict[str, Any] = {
            "last_run": last_run(session),
            "min_appeals": settings.nlp_places_min_appeals,
            "min_share": settings.nlp_places_min_share,
            "learned": rows[: args.limit] if args.limit else rows,
            "learned_total": len(rows),
        }
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    run = report["last_run"]
    if run is None:
        print("nothing learned yet: run `civicdesk nlp places --learn` (the worker does it hourly)")
        return 0
    print(
        f"learned {report['learned_total']} place(s) from {run['evidence_appeals']} appeal(s) "
        f"with a confirmed district ({run['at']}); a place needs ≥ {report['min_appeals']} "
        f"appeals, ≥ {report['min_share']:.0%} agreeing"
    )
    print(f"  {'appeals':>7} {'of':>5} {'share':>6}  {'district':<10} place")
    for row in report["learned"]:
        print(
            f"  {row['appeals']:7d} {row['of_appeals']:5d} {row['share']:6.0%}  "
            f"{row['district']:<10} {row['place']}"
        )
    return 0


def _guarded(handler: Any) -> Any:
    """Bad input (missing column, unreadable file, no model) → one clear line, exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except DomainError as error:
            print(f"error [{error.code}]: {error.message}", file=sys.stderr)
            return 2
        except ValueError as error:  # data the engine cannot use (one label, no test rows)
            print(f"error [validation_failed]: {error}", file=sys.stderr)
            return 2

    return run


def _add_engine_options(parser: argparse.ArgumentParser, *, default_engine: str | None) -> None:
    parser.add_argument(
        "--engine",
        default=default_engine,
        choices=["tfidf-linear", "tfidf-e5", "transformers"],
        help="default: the configured CIVICDESK_NLP_ENGINE (tfidf-linear)",
    )
    parser.add_argument("--sep", default="auto", help="CSV separator (default: sniffed)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--C", dest="C", type=float, help="tfidf-linear/-e5: regularisation")
    parser.add_argument("--model", choices=["svc", "lr"], help="tfidf-linear: linear model")
    parser.add_argument("--max-chars", dest="max_chars", type=int, help="read only the head")
    parser.add_argument(
        "--calibration",
        choices=["auto", "temperature", "isotonic"],
        help="tfidf-linear/-e5: how confidence is calibrated on held-out folds (default auto: "
        "the numbers decide)",
    )
    parser.add_argument(
        "--checkpoint",
        help="transformers: local checkpoint directory (default: "
        "CIVICDESK_NLP_TRANSFORMERS_CHECKPOINT); relative to the repository",
    )


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's subcommands to the civicdesk parser."""
    nlp = commands.add_parser("nlp", help="topic classifier: train, evaluate")
    sub = nlp.add_subparsers(dest="nlp_command", required=True)

    evaluate = sub.add_parser(
        "eval",
        help="accuracy, macro-F1, top-3, per-class report on a labeled CSV or the project corpus",
    )
    evaluate.add_argument(
        "--corpus",
        action="store_true",
        help="the project corpus (data/nlp/corpus.csv): train split → held-out split",
    )
    evaluate.add_argument("--csv", help="labeled CSV (training data)")
    evaluate.add_argument("--text-col", help="text column; several comma-separated are joined")
    evaluate.add_argument("--label-col")
    how = evaluate.add_mutually_exclusive_group()
    how.add_argument("--test-csv", help="train on --csv, report on this file")
    how.add_argument("--folds", type=int, help="k-fold cross-validation on --csv (≥ 2)")
    evaluate.add_argument("--json", action="store_true")
    _add_engine_options(evaluate, default_engine=None)
    evaluate.set_defaults(handler=_guarded(_eval))

    train = sub.add_parser(
        "train", help="train a model: the project's corpus + corrections, or --csv data"
    )
    train.add_argument("--csv", help="labeled CSV; without it: the project's own corpus")
    train.add_argument("--text-col")
    train.add_argument("--label-col")
    train.add_argument(
        "--out",
        help="model directory (default: CIVICDESK_NLP_MODEL_DIR); relative to the repository",
    )
    train.add_argument(
        "--holdout", type=float, default=0.2, help="share held out for the recorded figures"
    )
    _add_engine_options(train, default_engine=None)
    train.set_defaults(handler=_guarded(_train))

    places = sub.add_parser(
        "places", help="places learned from appeals whose district a person confirmed"
    )
    places.add_argument("--learn", action="store_true", help="relearn from the evidence now")
    places.add_argument("--kind", choices=["street", "name", "cell"], help="one kind of place")
    places.add_argument("--limit", type=int, default=0, help="show at most this many")
    places.add_argument("--json", action="store_true")
    places.set_defaults(handler=_guarded(_places))
