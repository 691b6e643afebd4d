"""``civicdesk`` subcommands: nlp train | eval (issue 4).

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
    for name in ("C", "model", "max_chars"):
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


def _eval(args: argparse.Namespace) -> int:
    from nlp.datasets import read_labeled_csv
    from nlp.evaluation import cross_validate, evaluate_split

    data = read_labeled_csv(
        args.csv, text_columns=args.text_col, label_column=args.label_col, sep=args.sep
    )
    args.engine = args.engine or get_settings().nlp_engine
    options = _engine_options(args)
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
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    else:
        print(format_report(report))
    return 0


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
    from nlp.engine import save_model, train_model

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


def _guarded(handler: Any) -> Any:
    """Bad input (missing column, unreadable file, no model) → one clear line, exit code 2."""

    def run(args: argparse.Namespace) -> int:
        try:
            return int(handler(args))
        except DomainError as error:
            print(f"error [{error.code}]: {error.message}", file=sys.stderr)
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
        "--checkpoint",
        help="transformers: local checkpoint directory (default: "
        "CIVICDESK_NLP_TRANSFORMERS_CHECKPOINT); relative to the repository",
    )


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's subcommands to the civicdesk parser."""
    nlp = commands.add_parser("nlp", help="topic classifier: train, evaluate")
    sub = nlp.add_subparsers(dest="nlp_command", required=True)

    evaluate = sub.add_parser(
        "eval", help="accuracy, macro-F1, top-3, per-class report on a labeled CSV"
    )
    evaluate.add_argument("--csv", required=True, help="labeled CSV (training data)")
    evaluate.add_argument(
        "--text-col", required=True, help="text column; several comma-separated are joined"
    )
    evaluate.add_argument("--label-col", required=True)
    how = evaluate.add_mutually_exclusive_group(required=True)
    how.add_argument("--test-csv", help="train on --csv, report on this file")
    how.add_argument("--folds", type=int, help="k-fold cross-validation on --csv")
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
