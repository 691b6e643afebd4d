"""How often the language of an appeal (and so of our reply) is recognized, per way of typing.

    python bench/nlp_language.py [--json]

On ``data/nlp/corpus.csv`` (labeled ru / kk / mixed, with the variant that says how a row
was typed) and, when present, on the kzgovdata-synthetic kk/ru pairs of ../shared/datasets
(someone else's text; its Kazakh side is also folded to Russian-keyboard look-alikes and
romanized here, the two ways Kazakh arrives without Kazakh letters). Figures, not speed.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from nlp.annotate import load_lexicon
from nlp.corpus import load_corpus
from nlp.language import languages as _languages

REPO = Path(__file__).resolve().parent.parent
KZGOVDATA = REPO.parent / "shared" / "datasets" / "kzgovdata-synthetic" / "data.csv"
_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
_LATIN = dict(
    zip(
        "абвгғдеёжзийкқлмнңоөпрстуұүфхһцчшщъыьіэюяә",
        [
            "a", "b", "v", "g", "g", "d", "e", "e", "zh", "z", "i", "y", "k", "q", "l", "m",
            "n", "ng", "o", "o", "p", "r", "s", "t", "u", "u", "u", "f", "h", "h", "ts", "ch",
            "sh", "sch", "", "y", "", "i", "e", "yu", "ya", "a",
        ],
        strict=True,
    )
)  # fmt: skip


NAMES = load_lexicon(REPO / "data").place_words


def languages(text: str) -> tuple[str, str]:
    return _languages(text, names=NAMES)


def romanize(text: str) -> str:
    return "".join(_LATIN.get(char, char) for char in text.lower())


def _share(hits: int, total: int) -> dict[str, object]:
    return {"right": hits, "of": total, "share": round(hits / total, 3) if total else None}


def corpus_figures() -> dict[str, object]:
    rows = load_corpus(REPO / "data")
    groups: dict[str, list[tuple[str, str, str]]] = {}
    for row in rows:
        language, reply = languages(row.text)
        if row.language == "kk":
            way = (
                "latin"
                if "latin" in row.variant
                else ("ru_keyboard" if "ru_keyboard" in row.variant else "kazakh_letters")
            )
            key = f"kk/{way}"
        else:
            key = row.language
        groups.setdefault(key, []).append((row.language, language, reply))
    figures: dict[str, object] = {}
    for key, members in sorted(groups.items()):
        truth = members[0][0]
        reply_truth = "ru" if truth == "ru" else "kk"
        figures[key] = {
            "language": _share(sum(found == truth for _, found, _ in members), len(members)),
            "reply": _share(sum(reply == reply_truth for *_, reply in members), len(members))
            if truth != "mixed"
            else None,
            "found": dict(Counter(found for _, found, _ in members)),
        }
    return figures


def kzgovdata_figures() -> dict[str, object]:
    if not KZGOVDATA.is_file():
        return {"skipped": f"{KZGOVDATA} not found"}
    with KZGOVDATA.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    ways = {
        "kk/kazakh_letters": [row["text_kz"] for row in rows],
        "kk/ru_keyboard": [row["text_kz"].lower().translate(_FOLD) for row in rows],
        "kk/latin": [romanize(row["text_kz"]) for row in rows],
    }
    figures: dict[str, object] = {
        key: _share(sum(languages(text)[1] == "kk" for text in texts), len(texts))
        for key, texts in ways.items()
    }
    figures["ru"] = _share(sum(languages(row["text_ru"])[0] == "ru" for row in rows), len(rows))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    result = {"corpus": corpus_figures(), "kzgovdata_reply_kk": kzgovdata_figures()}
    print(json.dumps(result, ensure_ascii=False, indent=2 if args.json else None))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
