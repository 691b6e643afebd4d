"""What each notification says, in Russian and Kazakh.

Placeholders are ``str.format`` names filled at send time (``{tracking}``,
``{status}``, ``{due}``, …); a key missing in one language is a bug, and the
tests check that both languages have the same placeholders.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("ru", "kk")

TEXTS: Final[dict[str, dict[str, str]]] = {
    "receipt": {
        "ru": "Ваше обращение зарегистрировано.\nНомер: {tracking}\n"
        "Дата регистрации: {registered_on}\nСрок ответа: {due}\n"
        "Статус можно узнать в этом чате или на портале по номеру обращения.",
        "kk": "Өтінішіңіз тіркелді.\nНөмірі: {tracking}\n"
        "Тіркелген күні: {registered_on}\nЖауап беру мерзімі: {due}\n"
        "Мәртебесін осы чатта немесе порталда өтініш нөмірі бойынша білуге болады.",
    },
    "status_changed": {
        "ru": "Обращение {tracking}: {status}.",
        "kk": "{tracking} өтініші: {status}.",
    },
    "extension_notice": {
        "ru": "Срок рассмотрения обращения {tracking} продлён до {due}.\nПричина: {reason}",
        "kk": "{tracking} өтінішін қарау мерзімі ұзартылды, жаңа мерзім — {due}.\nСебебі: {reason}",
    },
    "extension_status": {
        "ru": "срок продлён до {due}",
        "kk": "мерзімі ұзартылды: {due}",
    },
    "answer": {
        "ru": "Ответ на обращение {tracking}:\n\n{answer}",
        "kk": "{tracking} өтінішіне жауап:\n\n{answer}",
    },
    "rating_request": {
        "ru": "Оцените, пожалуйста, ответ на обращение {tracking}: "
        "от 1 (очень плохо) до 5 (отлично).",
        "kk": "{tracking} өтінішіне берілген жауапты бағалаңыз: "
        "1-ден (өте нашар) 5-ке (өте жақсы) дейін.",
    },
    "no_date": {"ru": "уточняется", "kk": "нақтыланады"},
    # The deadline is 18:00 of that day, the day included: "не позднее", not "до" (before).
    "due_by": {"ru": "не позднее {date}", "kk": "{date}, осы күнді қоса алғанда"},
}


def render(key: str, language: str, **values: str) -> str:
    """The text ``key`` in ``language`` (Russian when the language is unknown)."""
    entry = TEXTS[key]
    return entry.get(language, entry["ru"]).format(**values)
