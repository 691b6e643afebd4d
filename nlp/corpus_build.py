"""Build the project's synthetic training corpus, ``data/nlp/corpus.csv`` (deterministic).

    .venv/bin/python -m nlp.corpus_build            # rewrites data/nlp/corpus.csv
    .venv/bin/python -m nlp.corpus_build --check    # fails if the committed file is stale

Every row is composed from hand-written material: per-category problem clauses in
Russian and Kazakh (``data/nlp/phrases.yaml``), places from the Almaty gazetteer
(``data/districts.yaml`` and ``data/nlp/gazetteer.yaml``) and frames (greetings,
durations, requests, complaints), then augmented the way people really type: typos,
a Russian keyboard for Kazakh letters, Latin transliteration, code-mixing, no
punctuation or capitals. The last clause of each list is held out: rows built on it
form the ``test`` split, so an evaluation on the corpus meets unseen wordings.
The hand-written samples of ``data/sample_appeals.yaml`` join the ``train`` split.
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

SEED = 20261122
ROWS_PER_CATEGORY = 60
COLUMNS = ("text", "category", "language", "split", "source", "variant")
DATA = Path(__file__).resolve().parent.parent / "data"

GREETINGS_RU = (
    "Здравствуйте!",
    "Здравствуйте,",
    "Добрый день.",
    "Добрый вечер!",
    "Уважаемый аким!",
    "Уважаемые сотрудники акимата,",
    "Алло,",
    "Салам,",
    "Помогите пожалуйста!",
    "Обращаюсь к вам,",
)
GREETINGS_KK = (
    "Сәлеметсіз бе!",
    "Сәлеметсіздер ме,",
    "Құрметті әкім!",
    "Саламатсыз ба,",
    "Қайырлы күн!",
    "Ассалаумағалейкум,",
    "Құрметті әкімдік,",
)
DURATIONS_RU = (
    "уже неделю",
    "третий день",
    "с понедельника",
    "второй месяц",
    "который год",
    "с прошлой осени",
    "уже давно",
    "со вчерашнего дня",
)
DURATIONS_KK = (
    "бір аптадан бері",
    "үш күн болды",
    "екі ай болды",
    "кешеден бері",
    "бірнеше жыл болды",
    "дүйсенбіден бері",
)
REQUESTS_RU = (
    "Просим принять меры.",
    "Помогите!",
    "Прошу разобраться.",
    "Когда это исправят?",
    "Примите меры пожалуйста",
    "Сколько можно ждать?",
    "Просим решить вопрос как можно скорее.",
    "Прошу дать ответ.",
    "Надеемся на вашу помощь.",
)
REQUESTS_KK = (
    "Шара қолдануыңызды сұраймыз.",
    "Көмектесіңіздер!",
    "Қашан шешіледі?",
    "Тез арада шешуді сұраймын.",
    "Жауап беруіңізді сұраймын.",
    "Көмек күтеміз.",
)
COMPLAINTS_RU = (
    "Звонили в 109, бесполезно.",
    "Писали уже, ничего не сделано.",
    "Это безобразие!",
    "Люди возмущены.",
    "Никакой реакции от ответственных.",
    "Обещали ещё в прошлом месяце.",
    "Жители устали жаловаться.",
)
COMPLAINTS_KK = (
    "Бірнеше рет хабарластық, нәтиже жоқ.",
    "Тұрғындар наразы.",
    "Ешкім жауап бермейді.",
    "Өткен айда уәде берген еді.",
)
# Topic-neutral context that makes long messages long, as in real ones.
CONTEXT_RU = (
    "Мы живём здесь больше двадцати лет.",
    "В доме много пожилых людей и маленьких детей.",
    "Фото прилагаю.",
    "Уже обращались в акимат района, ответа так и не получили.",
    "Управляющая компания говорит, что это не их вопрос.",
    "Я пишу не первый раз, в прошлый раз заявку закрыли без результата.",
    "Соседи подписались под обращением, нас больше тридцати человек.",
    "Прошу не пересылать это обращение по кругу, а решить по существу.",
)
CONTEXT_KK = (
    "Біз мұнда жиырма жылдан астам тұрамыз.",
    "Үйде қарттар мен кішкентай балалар көп.",
    "Суретті қоса беремін.",
    "Аудан әкімдігіне бұрын да жүгіндік, жауап болмады.",
    "Бұл туралы бірінші рет жазып отырған жоқпын.",
    "Көршілер де қол қойды, бізде отыздан астам адам бар.",
)
SIGNATURES_RU = ("С уважением, жители дома.", "Жители.", "Заранее спасибо.", "Спасибо.")
SIGNATURES_KK = ("Құрметпен, тұрғындар.", "Алдын ала рахмет.", "Рахмет.")
# Words that slip into the other language in real messages (code-mixing).
KK_INSERTS = ("өтінемін", "көмектесіңіздерші", "рахмет", "жаным", "ағай", "апай", "ғой")
RU_INSERTS = ("пожалуйста", "вообще", "короче", "срочно", "блин", "реально", "просто")
_KK_TO_RU_KEYBOARD = str.maketrans("әғқңөұүһіӘҒҚҢӨҰҮҺІ", "агкноуухиАГКНОУУХИ")
_LATIN = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
    "з": "z", "и": "i", "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
    "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "ts",
    "ч": "ch", "ш": "sh", "щ": "sch", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
    "я": "ya", "ә": "a", "ғ": "g", "қ": "q", "ң": "ng", "ө": "o", "ұ": "u", "ү": "u",
    "һ": "h", "і": "i",
}  # fmt: skip


@dataclass(frozen=True)
class Place:
    name: str  # as written, capitalized
    kind: str  # microdistrict, street, landmark


def _read(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def _title(name: str) -> str:
    return "-".join(
        " ".join(word[:1].upper() + word[1:] for word in part.split(" "))
        for part in name.split("-")
    )


def load_places(data_dir: Path = DATA) -> list[Place]:
    """Microdistricts, landmarks and streets the generator writes into texts."""
    gazetteer = _read(data_dir / "nlp" / "gazetteer.yaml")
    places: list[Place] = []
    for entry in gazetteer["places"]:
        for name in entry["names"]:
            places.append(Place(_title(name) if name.islower() else name, entry["kind"]))
    for district in _read(data_dir / "districts.yaml"):
        for name in district["places"]:
            if not name.startswith(("мкр ", "микрорайон ")):
                places.append(Place(_title(name), "landmark"))
    return places


def _is_kazakh(name: str) -> bool:
    return any(letter in "әғқңөұүһі" for letter in name.lower())


def place_phrase(rng: random.Random, places: Sequence[Place], language: str) -> str:
    """A place mention in the style of the language: "мкр Самал-2", "Абай даңғылы 52"."""
    place = rng.choice(places)
    name, number = place.name, rng.randint(1, 180)
    if language == "kk":
        if place.kind == "street":
            return rng.choice((f"{name} көшесі {number}", f"{name} көшесінде", f"{name} даңғылы"))
        if place.kind == "microdistrict":
            return rng.choice((f"{name} ықшамауданы", f"{name}-{number % 9 + 1} шағын ауданы"))
        return rng.choice((f"{name} маңында", f"{name} жанында"))
    if place.kind == "street":
        return rng.choice(
            (f"ул. {name} {number}", f"улица {name}, дом {number}", f"{name} {number}",
             f"пр. {name}", f"на {name}")
        )  # fmt: skip
    if place.kind == "microdistrict":
        return rng.choice((f"мкр {name}", f"микрорайон {name}-{number % 9 + 1}", f"{name}"))
    return rng.choice((f"район {name}", f"возле {name}", f"рядом с {name}"))


def _sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] if text else text


def compose(
    rng: random.Random, clauses: Sequence[str], places: Sequence[Place], language: str
) -> str:
    """One appeal: a clause in a frame (greeting, place, duration, request …), short to long."""
    ru = language == "ru"
    clause = rng.choice(clauses)
    length = rng.choices(("short", "medium", "long"), weights=(3, 4, 4))[0]
    parts: list[str] = []
    if length != "short" and rng.random() < 0.55:
        parts.append(rng.choice(GREETINGS_RU if ru else GREETINGS_KK))
    place = place_phrase(rng, places, language) if rng.random() < 0.7 else ""
    duration = rng.choice(DURATIONS_RU if ru else DURATIONS_KK) if rng.random() < 0.35 else ""
    body = clause
    if duration:
        body = f"{body} {duration}" if rng.random() < 0.5 else f"{duration} {body}"
    if place:
        body = rng.choice((f"{place}, {body}", f"{place}: {body}", f"{body}, {place}"))
    parts.append(_sentence(body) + ".")
    if length == "long":
        others = [other for other in clauses if other != clause]
        if others and rng.random() < 0.6:
            parts.append(_sentence(rng.choice(others)) + ".")
        context = CONTEXT_RU if ru else CONTEXT_KK
        parts.extend(rng.sample(context, rng.randint(1, 2)))
        parts.append(rng.choice(COMPLAINTS_RU if ru else COMPLAINTS_KK))
    if length != "short":
        parts.append(rng.choice(REQUESTS_RU if ru else REQUESTS_KK))
    if length == "long" and rng.random() < 0.4:
        parts.append(rng.choice(SIGNATURES_RU if ru else SIGNATURES_KK))
    return " ".join(part for part in parts if part)


def mix(rng: random.Random, ru_text: str, kk_clause: str) -> str:
    """Code-mixing as people write it: Kazakh words in Russian, or two clauses side by side."""
    roll = rng.random()
    if roll < 0.4:
        words = ru_text.split()
        for _ in range(rng.randint(1, 2)):
            words.insert(rng.randint(0, len(words)), rng.choice(KK_INSERTS))
        return " ".join(words)
    if roll < 0.7:
        return f"{rng.choice(GREETINGS_KK)} {ru_text}"
    words = kk_clause.split()
    words.insert(rng.randint(0, len(words)), rng.choice(RU_INSERTS))
    return f"{_sentence(' '.join(words))}. {rng.choice(REQUESTS_RU)}"


def typos(rng: random.Random, text: str, rate: float = 0.08) -> str:
    """Character swaps, drops and doubled letters in some longer words."""
    words = text.split(" ")
    for index, word in enumerate(words):
        if len(word) < 4 or rng.random() >= rate:
            continue
        position = rng.randint(1, len(word) - 2)
        kind = rng.random()
        if kind < 0.4:
            word = word[:position] + word[position + 1] + word[position] + word[position + 2 :]
        elif kind < 0.75:
            word = word[:position] + word[position + 1 :]
        else:
            word = word[:position] + word[position] + word[position:]
        words[index] = word
    return " ".join(words)


def transliterate(text: str) -> str:
    """Cyrillic to the Latin spelling people use when the keyboard has no Cyrillic."""
    out = []
    for char in text:
        latin = _LATIN.get(char.lower())
        if latin is None:
            out.append(char)
        else:
            out.append(latin.capitalize() if char.isupper() else latin)
    return "".join(out)


def flatten(text: str) -> str:
    """No capitals, no punctuation: how many messenger texts arrive."""
    return " ".join(re.sub(r"[^\w\s-]", " ", text.lower()).split())


def augment(rng: random.Random, text: str, language: str) -> tuple[str, str]:
    """Apply some of the real-world distortions; returns the text and what was done."""
    done: list[str] = []
    if language != "ru" and rng.random() < 0.25:
        text = text.translate(_KK_TO_RU_KEYBOARD)
        done.append("ru_keyboard")
    if rng.random() < 0.25:
        text = typos(rng, text)
        done.append("typos")
    if rng.random() < 0.06:
        text = transliterate(text)
        done.append("latin")
    roll = rng.random()
    if roll < 0.3:
        text = flatten(text)
        done.append("flat")
    elif roll < 0.33:
        text = text.upper()
        done.append("caps")
    return text, "+".join(done) or "plain"


def build_rows(data_dir: Path = DATA, *, seed: int = SEED) -> list[dict[str, str]]:
    phrases: dict[str, dict[str, list[str]]] = _read(data_dir / "nlp" / "phrases.yaml")
    samples = _read(data_dir / "sample_appeals.yaml")
    places = load_places(data_dir)
    rng = random.Random(seed)  # noqa: S311 - a reproducible corpus, not a secret
    rows: list[dict[str, str]] = []
    for code in sorted(phrases):
        ru, kk = phrases[code]["ru"], phrases[code]["kk"]
        pools = {"train": (ru[:-1], kk[:-1]), "test": (ru[-1:], kk[-1:])}
        for index in range(ROWS_PER_CATEGORY):
            # About one row in five is built on the held-out clauses.
            split = "test" if index % 5 == 4 else "train"
            ru_pool, kk_pool = pools[split]
            language = rng.choices(("ru", "kk", "mixed"), weights=(6, 3, 1))[0]
            if language == "mixed":
                text = mix(rng, compose(rng, ru_pool, places, "ru"), rng.choice(kk_pool))
            else:
                text = compose(rng, ru_pool if language == "ru" else kk_pool, places, language)
            text, variant = augment(rng, text, language)
            rows.append(
                {
                    "text": text,
                    "category": code,
                    "language": language,
                    "split": split,
                    "source": "template",
                    "variant": variant,
                }
            )
    for sample in samples:
        place = place_phrase(rng, places, sample["language"])
        rows.append(
            {
                "text": sample["text"].replace("{place}", place),
                "category": sample["category"],
                "language": sample["language"],
                "split": "train",
                "source": "sample",
                "variant": "plain",
            }
        )
    seen: set[str] = set()
    unique: list[dict[str, str]] = []
    for row in sorted(rows, key=lambda row: row["split"] != "train"):  # train rows win
        key = flatten(row["text"])
        if key not in seen:
            seen.add(key)
            unique.append(row)
    return unique


def render(rows: Sequence[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=DATA / "nlp" / "corpus.csv")
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--check", action="store_true", help="fail if --out differs")
    args = parser.parse_args(argv)
    content = render(build_rows(seed=args.seed))
    if args.check:
        current = args.out.read_text(encoding="utf-8") if args.out.exists() else ""
        if current != content:
            print(f"{args.out} is stale: run python -m nlp.corpus_build", file=sys.stderr)
            return 1
        return 0
    args.out.write_text(content, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
