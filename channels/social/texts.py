"""What the city says under a comment and in a private reply, in Russian and Kazakh.

A public reply carries the tracking number and never personal data: the comment is public,
so is the reply. The term is the АППК's 15 working days (the citizen learns the exact due
date from the portal by the number).
"""

from __future__ import annotations

import re

LANGUAGES = ("ru", "kk")

TEXTS: dict[str, dict[str, str]] = {
    "receipt": {
        "ru": "Здравствуйте! Ваше обращение зарегистрировано, номер {tracking}. "
        "Ответ поступит в течение 15 рабочих дней. Статус можно узнать на портале по этому "
        "номеру.",
        "kk": "Сәлеметсіз бе! Өтінішіңіз тіркелді, нөмірі {tracking}. Жауап 15 жұмыс күні "
        "ішінде беріледі. Өтініштің жай-күйін порталдан осы нөмір бойынша білуге болады.",
    },
    "phone_request": {
        "ru": "Здравствуйте! Ваше обращение {tracking} зарегистрировано. Чтобы исполнитель мог "
        "с вами связаться, напишите, пожалуйста, в ответ свой номер телефона. Номер увидят "
        "только сотрудники, рассматривающие обращение.",
        "kk": "Сәлеметсіз бе! {tracking} өтінішіңіз тіркелді. Орындаушы сізбен байланыса алуы "
        "үшін осы хабарламаға жауап ретінде телефон нөміріңізді жазыңыз. Нөміріңізді өтінішті "
        "қарайтын қызметкерлер ғана көреді.",
    },
    "answer": {
        "ru": "Ответ по обращению {tracking}: {summary}\nПолный ответ — на портале по номеру "
        "обращения.",
        "kk": "{tracking} өтініші бойынша жауап: {summary}\nТолық жауап порталда өтініш нөмірі "
        "бойынша қолжетімді.",
    },
    "phone_linked": {
        "ru": "Спасибо, номер сохранён. Исполнитель свяжется с вами при необходимости.",
        "kk": "Рақмет, нөміріңіз сақталды. Қажет болса, орындаушы сізбен хабарласады.",
    },
    "context": {
        "ru": "Комментарий к публикации ({platform}): «{post}»",
        "kk": "Жарияланымға қалдырылған пікір ({platform}): «{post}»",
    },
}

SUMMARY_CHARS = 400
_PHONE = re.compile(r"(?<!\d)(?:\+?7|8)[\s(-]*\d{3}[\s)-]*\d{3}[\s-]*\d{2}[\s-]*\d{2}(?!\d)")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.\w+")
_LONG_NUMBER = re.compile(r"\b\d{12}\b")  # an ИИН/БИН


def text(key: str, language: str, **values: str) -> str:
    table = TEXTS[key]
    return table[language if language in LANGUAGES else "ru"].format(**values)


def without_personal_data(answer: str) -> str:
    """An answer's text fit to be public: phones, e-mails and ИИН masked."""
    answer = _PHONE.sub("[телефон]", answer)
    answer = _EMAIL.sub("[e-mail]", answer)
    return _LONG_NUMBER.sub("[ИИН]", answer)


def summary(answer: str) -> str:
    """The head of the answer (whole sentences where they fit), personal data masked."""
    plain = " ".join(without_personal_data(answer).split())
    if len(plain) <= SUMMARY_CHARS:
        return plain
    cut = plain.rfind(". ", 0, SUMMARY_CHARS)
    return plain[: cut + 1] if cut > SUMMARY_CHARS // 2 else plain[: SUMMARY_CHARS - 1] + "…"
