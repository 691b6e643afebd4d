"""Words of a question or an article, one spelling for Russian, Kazakh and Latin typing.

Why: citizens write "садик", "балабақша", "балабакша" (Kazakh on a Russian keyboard) and
"balabaqsha"; operators search with the same mix. Each word is lower-cased, Russian words
are lemmatised with pymorphy3 ("отключили" → "отключить"), Kazakh and unknown words lose
their common endings ("балабақшаға" → "балабакша"), and everything is folded with the
gazetteer's ``nlp.places.fold`` (Kazakh letters to their Russian look-alikes, Latin to
Cyrillic), so the three ways of typing one word meet in the index. Pure: no database.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from nlp.places import fold

_URL = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_KAZAKH_LETTERS = frozenset("әғқңөұүһі")


def _split(words: str) -> list[str]:
    return words.split()


# Function words that carry no topic (folded forms, Russian and Kazakh). Kept short on
# purpose: "не", "нет", "жоқ" stay, a question about what does *not* work needs them.
STOP_WORDS = frozenset(
    fold(word)
    for word in _split(
        """
    и в во на с со к ко о об от до по за из у же ли бы а но или то это этот эта эти
    тот та те как что чтобы где когда какой какая какие каком мне меня мой моя мои
    я мы вы он она они его ее их нам нас вам вас ему ей им при для про над под
    здравствуйте добрый день вечер утро пожалуйста подскажите скажите спасибо
    можно ли есть быть
    және мен бен пен да де та те ма ме ба бе па пе ғой ғана сәлеметсіз сәлем рахмет
    өтінемін айтыңызшы қалай қайда қашан неге бұл осы сол мен біз сіз
    """
    )
)

# Kazakh endings, folded (ң→н, қ→к, і→и, ы→и ...), longest first. Stripped one after
# another (plural, possessive, case) while a stem of 3 letters or more remains.
_KAZAKH_SUFFIXES = tuple(
    sorted(
        {
            fold(suffix)
            for suffix in _split(
                """
            лар лер дар дер тар тер
            ымыз іміз мыз міз ыңыз іңіз ңыз ңіз ым ім ың ің сы сі ы і м ң
            дың дің тың тің ның нің
            ға ге қа ке на не
            да де та те нда нде
            дан ден тан тен нан нен
            мен пен бен
            ды ді ты ті ны ні н
            ша ше
            дағы дегі тағы тегі ндағы ндегі
            """
            )
        },
        key=len,
        reverse=True,
    )
)
_MIN_STEM = 3

_morph_lock = threading.Lock()
_morph: Any = None


def _analyzer() -> Any:
    """pymorphy3's analyzer (its dictionary ships in the wheel), loaded once, lazily."""
    global _morph
    with _morph_lock:
        if _morph is None:
            import pymorphy3

            _morph = pymorphy3.MorphAnalyzer()
        return _morph


def kazakh_stem(folded: str) -> str:
    """A folded word without its Kazakh endings: "балабакшага" → "балабакша"."""
    word = folded
    for _ in range(3):
        for suffix in _KAZAKH_SUFFIXES:
            if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
                word = word[: -len(suffix)]
                break
        else:
            break
    return word


@lru_cache(maxsize=200_000)
def term(word: str) -> str:
    """The index term of one lower-cased word."""
    if word.isdigit():
        return word
    if word.isascii() or any(letter in _KAZAKH_LETTERS for letter in word):
        return kazakh_stem(fold(word))
    morph = _analyzer()
    if morph.word_is_known(word):
        return fold(morph.parse(word)[0].normal_form)
    return kazakh_stem(fold(word))


def plain(text: str) -> str:
    """Lower case, links out (a pasted URL says nothing of the question), ё → е."""
    return _URL.sub(" ", text).lower().replace("ё", "е")


def terms(text: str) -> list[str]:
    """The text's index terms, stop words left out."""
    out: list[str] = []
    for word in _WORD.findall(plain(text)):
        if len(word) > 40:
            continue
        found = term(word)
        if found and found not in STOP_WORDS:
            out.append(found)
    return out


def folded(text: str) -> str:
    """The text folded word by word (for character n-grams): spelling, not grammar."""
    return " ".join(fold(word) for word in _WORD.findall(plain(text)))


# Words that make a message a question rather than a report ("как", "где", "қалай",
# "qalai"), folded; and the Kazakh question particles after a word ("бар ма", "бола ма").
_QUESTION_WORDS = frozenset(
    fold(word)
    for word in _split(
        """
    как где куда когда какой какая какие каким какую кто кому кого чей сколько почему зачем
    откуда можно ли подскажите скажите объясните уточните узнать положено разве
    қалай қайда қайдан қашан қандай кім кімге кімнің неше неге қанша нешеде
    айтыңызшы түсіндіріңізші білуге болама ма ме ба бе па пе
    kalai qalai kaida qaida kashan qashan kandai qandai kim kimge neshe nege kansha qansha
    """
    )
)


def looks_like_question(text: str) -> bool:
    """Whether a message asks something (a question mark, a question word) rather than only
    reporting a problem: the bots answer questions from the knowledge base and file reports."""
    if "?" in text:
        return True
    words = [fold(word) for word in _WORD.findall(plain(text))]
    return any(word in _QUESTION_WORDS for word in words[:40])
