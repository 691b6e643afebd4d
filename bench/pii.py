"""Personal data inside appeal texts: what the masker (core.pii, airlock-pii) finds and spares.

    python bench/pii.py [--planted 2000] [--seed 0] [--examples 5]

Two measurements on the project corpus (data/nlp/corpus.csv, ru/kk/mixed appeals):

- ``corpus``: every text as it is. The corpus holds no contacts, so each hit of a contact
  kind (ИИН, БИН, phone, e-mail, card, IBAN) is a false alarm that would hide part of an
  appeal from executors and analysts; ``PERSON`` hits are names an analyst would not see
  (some real: «Меня зовут …»). ``texts_masked`` per kind, with ``--examples`` of each on
  stderr for a person to judge.
- ``planted``: ``--planted`` corpus texts, each with one contact sentence added in the text's
  language, in the formats people type (ИИН with a valid check digit, phones as +7 / 8 /
  spaced / bracketed / dashed, e-mails, cards with a valid Luhn digit, KZ IBANs, a given name
  with a surname or patronymic). ``found`` per kind: the planted span masked as that kind;
  ``planted_rest_spared``: the rest of the text left as it was.
- ``decoys``: sentences full of numbers and names that are nobody's personal data (accounts,
  cadastral and route numbers, streets named after people); ``decoys_masked`` should be 0.

Also ``ms_p50`` / ``ms_p95`` per text for the contact kinds (what executors' pages pay).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from appeals.views import ALL_KINDS, CONTACT_KINDS  # noqa: E402
from core.pii import find  # noqa: E402

GIVEN = ("Асель", "Нурлан", "Айгүл", "Ерлан", "Мария", "Дмитрий", "Жанар", "Бауыржан")
FAMILY = ("Нурланова", "Серікқызы", "Ахметов", "Иванова", "Сапарбекұлы", "Касымова", "Петров")


def iin(rng: random.Random) -> str:
    """A ИИН with a valid check digit: birth date, century and sex, serial, control."""
    while True:
        digits = [
            *map(int, f"{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"),
            rng.choice((3, 4, 5, 6)),
            *(rng.randint(0, 9) for _ in range(4)),
        ]
        control = sum(d * w for d, w in zip(digits, range(1, 12), strict=True)) % 11
        if control == 10:
            weights = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
            control = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if control != 10:
            return "".join(map(str, digits)) + str(control)


def phone(rng: random.Random) -> str:
    operator = rng.choice(("701", "702", "705", "707", "747", "771", "775", "778", "727"))
    number = f"{rng.randint(0, 9_999_999):07d}"
    a, b, c = number[:3], number[3:5], number[5:]
    return rng.choice(
        (
            f"+7 {operator} {a} {b} {c}",
            f"8 {operator} {a} {b} {c}",
            f"8({operator}){a}-{b}-{c}",
            f"+7({operator}) {a}-{b}-{c}",
            f"8{operator}{number}",
            f"+7{operator}{number}",
            f"8-{operator}-{a}-{b}-{c}",
            f"{operator} {a} {b} {c}",  # no country or trunk prefix
            f"8 ({operator}) {a}-{b}-{c}",
        )
    )


def card(rng: random.Random) -> str:
    digits = [4, 4, 0, 0, *(rng.randint(0, 9) for _ in range(11))]
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    digits.append((10 - total % 10) % 10)
    text = "".join(map(str, digits))
    return " ".join(text[i : i + 4] for i in range(0, 16, 4))


def iban(rng: random.Random) -> str:
    """A KZ IBAN (20 characters) with valid ISO 7064 check digits."""
    bank = f"{rng.randint(100, 999)}{''.join(rng.choice('0123456789ABC') for _ in range(13))}"
    numeric = "".join(str(int(ch, 36)) for ch in bank + "KZ00")
    check = 98 - int(numeric) % 97
    return f"KZ{check:02d}{bank}"


PLANTS = {
    "IIN": (("мой ИИН {}", "ИИН: {}"), ("ЖСН {}", "менің ЖСН-ім {}"), iin),
    "PHONE": (("мой телефон {}", "звоните {}"), ("телефоным {}", "хабарласыңыз {}"), phone),
    "EMAIL": (
        ("почта {}", "пишите на {}"),
        ("поштам {}", "жауапты {} жіберіңіз"),
        lambda rng: (
            f"{rng.choice(GIVEN).lower()}.{rng.randint(1, 999)}@"
            + rng.choice(("mail.kz", "gmail.com", "mail.ru", "inbox.kz"))
        ),
    ),
    "CARD": (("деньги списали с карты {}",), ("картадан {} ақша шешілді",), card),
    "KZ_IBAN": (("мой счёт {}",), ("шотым {}",), iban),
    "PERSON": (
        ("меня зовут {}",),
        ("менің атым {}",),
        lambda rng: f"{rng.choice(GIVEN)} {rng.choice(FAMILY)}",
    ),
}
# Numbers and names that are not anyone's personal data: masking them hides the appeal.
DECOYS = (
    "Лицевой счёт 1234567890, долг 15 400 тенге, квитанция за 11.2025.",
    "Кадастровый номер 20:315:011:123, участок 0,12 га.",
    "Дом 150/2, кв. 48, подъезд 3, с 12.01.2025 по 15.01.2025 нет воды.",
    "Автобус № 32 и 121 не ходят с 06:40 до 08:15, остановка Абая – Розыбакиева.",
    "Улица Бауыржана Момышулы 12 и проспект Назарбаева 240, мкр Самал-2, д. 33.",
    "Госномер 123ABC02 стоит на газоне третий день.",
    "Номер заявки 2611-ABCDEFGH, ответ не пришёл.",
    "Шот 2025-12, 1308 нөміріне хабарластым, 40 минут күттім.",
    "Показания счётчика 004512, пломба № 7734120.",
    "Температура в квартире +14, батареи холодные с 1 декабря.",
)


def corpus() -> list[tuple[str, str]]:
    with (ROOT / "data" / "nlp" / "corpus.csv").open(encoding="utf-8") as handle:
        return [(row["text"], row["language"]) for row in csv.DictReader(handle)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--planted", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--examples", type=int, default=5, help="hits per kind shown on stderr")
    args = parser.parse_args()
    texts = corpus()
    find("прогрев")  # airlock-pii compiles its patterns on first use

    masked: Counter[str] = Counter()
    examples: dict[str, list[str]] = {}
    timings = []
    for text, _ in texts:
        started = time.perf_counter()
        find(text, CONTACT_KINDS)
        timings.append((time.perf_counter() - started) * 1000)
        hits = find(text, ALL_KINDS)
        masked.update({kind for _, _, kind in hits})
        for start, end, kind in hits:
            shown = examples.setdefault(kind, [])
            if len(shown) < args.examples:
                shown.append(f"{text[max(0, start - 30) : end + 30]!r} -> {text[start:end]!r}")

    rng = random.Random(args.seed)
    planted: Counter[str] = Counter()
    found: Counter[str] = Counter()
    spared = 0
    kinds = list(PLANTS)
    for index in range(args.planted):
        text, language = rng.choice(texts)
        kind = kinds[index % len(kinds)]
        russian, kazakh, make = PLANTS[kind]
        value = make(rng)
        sentence = rng.choice(kazakh if language == "kk" else russian).format(value)
        full = f"{text.rstrip()} {sentence[0].upper()}{sentence[1:]}."
        start = full.index(value)
        end = start + len(value)
        hits = find(full, ALL_KINDS)
        planted[kind] += 1
        found[kind] += any(k == kind and s <= start and e >= end for s, e, k in hits)
        spared += all(s >= len(text) for s, _, _ in hits)  # nothing masked before it

    decoys_masked = {decoy: find(decoy, ALL_KINDS) for decoy in DECOYS}
    decoys_masked = {decoy: hits for decoy, hits in decoys_masked.items() if hits}
    for decoy, hits in decoys_masked.items():
        print("decoy masked:", decoy, [decoy[s:e] + ":" + k for s, e, k in hits], file=sys.stderr)
    for kind, shown in examples.items():
        print(f"{kind}:", *shown, sep="\n  ", file=sys.stderr)
    quantiles = statistics.quantiles(timings, n=20)
    print(
        json.dumps(
            {
                "corpus": {
                    "texts": len(texts),
                    "texts_masked": dict(masked.most_common()),
                    "contact_kinds_share": round(
                        sum(masked[kind] for kind in CONTACT_KINDS) / len(texts), 4
                    ),
                },
                "planted": {
                    kind: {"planted": planted[kind], "found": round(found[kind] / planted[kind], 3)}
                    for kind in kinds
                },
                "planted_rest_spared": round(spared / args.planted, 3),
                "decoys": len(DECOYS),
                "decoys_masked": len(decoys_masked),
                "ms_p50": round(statistics.median(timings), 3),
                "ms_p95": round(quantiles[18], 3),
            },
            ensure_ascii=False,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
