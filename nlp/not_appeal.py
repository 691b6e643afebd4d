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
# Spam is told by sales wording matched at the start of a word ("бонус" in "бонусы", never
# "займ" inside "по займу" alone). A *strong* term (gambling, crypto, "passive income") is
# spam talk on its own; a *weak* one (продам, скидка, реклама, займ, ставка, заработок) is
# everyday vocabulary of real complaints ("не выплачивают заработную плату, ставка
# уменьшена") and counts only beside a link or a phone number.
STRONG_SPAM_TERMS = (
    "казино",
    "casino",
    "букмекер",
    "промокод",
    "promo",
    "бонус",
    "bonus",
    "крипт",
    "crypto",
    "пассивный доход",
    "пассивного дохода",
    "без вложений",
    "заработок в интернете",
    "заработок онлайн",
    "выигрыш",
    "выиграй",
    "розыгрыш",
    "подписывайся",
    "подписывайтесь",
    "подпишись",
    "переходи по ссылке",
    "переходите по ссылке",
    "жми на ссылку",
    "пиши в директ",
    "пишите в директ",
    "в лс",
)
WEAK_SPAM_TERMS = (
    "заработ",
    "доход от",
    "ставк",
    "кредит без",
    "займ",
    "скидк",
    "акци",
    "реклам",
    "продам",
    "продаю",
    "куплю",
    "купить",
    "недорого",
    "инвестиц",
    "по ссылке",
)
# Words of a complaint, a request or a report: a text with any of them is not spam, whatever
# it sells ("Незаконная реклама на фасаде", "коллекторы по займу звонят", "не дали скидку").
COMPLAINT_MARKERS = frozenset(
    _words_of(
        """
    не нет ни жалоба жалобу жалуюсь прошу просим почему помогите примите разберитесь уберите
    требую незаконно незаконная незаконный незаконные обман обманули обманывают мошенники
    мошенничество коллекторы коллектор угрожают звонят спам нарушение нарушают
    жоқ жок емес неге шағым шагым өтінемін отинемин көмектесіңіз комектесиниз
    """
    )
)
_MARKER_STEMS = ("незаконн", "жалоб", "мошенни", "коллектор", "обман", "наруш")
_PHONE = re.compile(r"(?<!\d)(?:\+7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_HANDLE = re.compile(r"(?<![\w.])@[a-z0-9_]{4,}", re.IGNORECASE)
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


def _terms_at_word_start(padded: str, terms: tuple[str, ...]) -> list[str]:
    return [term for term in terms if f" {term}" in padded]


def _spam(text: str, words: list[str], urls: list[str]) -> NotAppeal | None:
    """Spam needs strong evidence and no sign of a complaint: a link, phone or @handle with
    sales wording, or two sales terms of which one is strong; a bare link is spam too."""
    if urls and len(words) <= 3:
        return NotAppeal("spam", tuple(urls[:3]))
    if any(word in COMPLAINT_MARKERS or word.startswith(_MARKER_STEMS) for word in words):
        return None
    padded = " " + " ".join(words)
    strong = _terms_at_word_start(padded, STRONG_SPAM_TERMS)
    weak = _terms_at_word_start(padded, WEAK_SPAM_TERMS)
    contacts = [*urls, *_PHONE.findall(text), *_HANDLE.findall(text)]
    if (contacts and (strong or weak)) or (strong and len(strong) + len(weak) >= 2):
        return NotAppeal("spam", (*urls[:2], *strong[:3], *weak[:2]))
    return None


def check(text: str) -> NotAppeal | None:
    """``NotAppeal`` when the text carries no request, complaint or report; else None."""
    urls = _URL.findall(text)
    words = _words(_URL.sub(" ", text))
    if not words:
        return NotAppeal("spam" if urls else "empty", tuple(urls[:3]))
    spam = _spam(text, words, urls)
    if spam is not None:
        return spam
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
