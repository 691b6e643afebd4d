"""Messages that are not appeals: greetings, thanks, spam, abuse — with the reason and the words.

Bots and the social-media monitor ask ``check()`` before opening an appeal; the
pipeline sends such a text to the operators' triage queue (``not_appeal``)
rather than to an organization. A rule, not the classifier: "спасибо" after an
answer and "здравствуйте" before the question are certain cases, and a wrong
"not an appeal" must stay rare, so only texts with no substance left over are
caught (a complaint full of swearing is still a complaint).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
_URL = re.compile(r"(?:https?://|www\.|t\.me/|wa\.me/|bit\.ly/)\S*", re.IGNORECASE)


def _words_of(text: str) -> list[str]:
    return text.split()


GREETING_WORDS = frozenset(
    _words_of(
        """
    здравствуйте здравствуй здрасте здрасьте привет приветствую салам салем доброе добрый
    добрый день утро вечер ночи хай hello hi алло ало ау есть кто тут кто нибудь слышит
    сәлем сәлеметсіз сәлеметсіздер бе ма ме саламатсыз ба ассалаумағалейкум ассаламуалейкум
    қайырлы таң күн кеш уважаемые уважаемый
    """
    )
)
THANKS_WORDS = frozenset(
    _words_of(
        """
    спасибо спс пасиб благодарю благодарим большое огромное вам всем за ответ ответы помощь
    оперативность быстро очень понял поняла ясно хорошо ок окей ok thanks thank you
    рахмет рақмет көп үлкен алғыс айтамын сізге сіздерге жауап жауабыңызға үшін түсіндім жақсы
    и вас тоже до свидания всего доброго сау болыңыз
    """
    )
)
SPAM_STEMS = (
    "заработ",
    "казино",
    "ставк",
    "букмекер",
    "кредит без",
    "займ",
    "подписывай",
    "подпишись",
    "переходи по ссылке",
    "по ссылке",
    "скидк",
    "промокод",
    "бонус",
    "крипт",
    "инвестиц",
    "пассивный доход",
    "доход от",
    "выигр",
    "розыгрыш",
    "реклам",
    "продам",
    "купить",
    "casino",
    "bonus",
    "crypto",
    "promo",
)
ABUSE_STEMS = (
    "хуй",
    "хуе",
    "хуя",
    "пизд",
    "ебан",
    "ебат",
    "ебал",
    "бля",
    "сука",
    "суки",
    "мудак",
    "мудил",
    "уебок",
    "уёбок",
    "дебил",
    "идиот",
    "тупые",
    "твари",
    "ублюд",
    "ақымақ",
    "оңбаған",
    "малғұн",
)


@dataclass(frozen=True)
class NotAppeal:
    """Why a text is not an appeal (``greeting``, ``thanks``, ``spam``, ``abuse``, ``empty``)."""

    reason: str
    evidence: tuple[str, ...]

    @property
    def rejection_reason(self) -> str:
        """The lifecycle's rejection reason an operator would pick."""
        return {"spam": "spam", "abuse": "abusive"}.get(self.reason, "no_substance")


def _words(text: str) -> list[str]:
    return [word.lower().replace("ё", "е") for word in _WORD.findall(text)]


def check(text: str) -> NotAppeal | None:
    """``NotAppeal`` when the text carries no request, complaint or report; else None."""
    lowered = text.lower().replace("ё", "е")
    urls = _URL.findall(text)
    words = _words(_URL.sub(" ", text))
    if not words:
        return NotAppeal("spam" if urls else "empty", tuple(urls[:3]))
    spam = [stem for stem in SPAM_STEMS if stem in lowered]
    if len(spam) + (1 if urls else 0) >= 2 or (urls and len(words) <= 3):
        return NotAppeal("spam", (*urls[:2], *spam[:3]))
    abuse = [word for word in words if word.startswith(ABUSE_STEMS)]
    if abuse:
        substance = [
            word
            for word in words
            if word not in abuse and word not in GREETING_WORDS and len(word) > 3
        ]
        if len(substance) <= 2:
            return NotAppeal("abuse", tuple(abuse[:3]))
    if len(words) <= 8 and all(word in GREETING_WORDS for word in words):
        return NotAppeal("greeting", tuple(words[:4]))
    if len(words) <= 8 and all(word in THANKS_WORDS or word in GREETING_WORDS for word in words):
        thanks = [word for word in words if word in THANKS_WORDS]
        if thanks:
            return NotAppeal("thanks", tuple(thanks[:4]))
    return None
