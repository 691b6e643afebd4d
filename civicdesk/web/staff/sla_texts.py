"""Texts of the SLA panel and the staff inbox pages, in Russian and Kazakh."""

from __future__ import annotations

SLA_TEXTS: dict[str, dict[str, str]] = {
    "sla.title": {"ru": "Сроки и контроль", "kk": "Мерзімдер және бақылау"},
    "sla.open_panel": {"ru": "Сроки и контроль", "kk": "Мерзімдер және бақылау"},
    "sla.back": {"ru": "← К обращению", "kk": "← Өтінішке"},
    "sla.due": {"ru": "Срок по закону", "kk": "Заң бойынша мерзім"},
    "sla.target": {"ru": "Внутренний срок", "kk": "Ішкі мерзім"},
    "sla.notice_due": {
        "ru": "Сообщить заявителю о продлении до",
        "kk": "Өтініш берушіге ұзарту туралы хабарлау мерзімі",
    },
    "sla.paused_since": {"ru": "Срок приостановлен с", "kk": "Мерзім тоқтатылған уақыт"},
    "sla.running": {"ru": "Срок идёт", "kk": "Мерзім жүріп жатыр"},
    "sla.overdue": {"ru": "Просрочено", "kk": "Мерзімі өткен"},
    "sla.returns": {"ru": "Возвратов на доработку", "kk": "Пысықтауға қайтарылды"},
    "sla.pause": {"ru": "Приостановить срок", "kk": "Мерзімді тоқтата тұру"},
    "sla.resume": {"ru": "Возобновить срок", "kk": "Мерзімді жалғастыру"},
    "sla.pause_reason": {"ru": "Причина", "kk": "Себебі"},
    "sla.comment": {"ru": "Комментарий", "kk": "Түсініктеме"},
    "sla.pauses": {"ru": "Приостановки", "kk": "Тоқтатулар"},
    "sla.pause_from": {"ru": "С", "kk": "Басталуы"},
    "sla.pause_to": {"ru": "По", "kk": "Аяқталуы"},
    "sla.request_extension": {"ru": "Запросить продление", "kk": "Ұзартуды сұрау"},
    "sla.until": {"ru": "Новый срок", "kk": "Жаңа мерзім"},
    "sla.reason": {"ru": "Обоснование", "kk": "Негіздеме"},
    "sla.extensions": {"ru": "Запросы на продление", "kk": "Ұзарту сұраулары"},
    "sla.approve": {"ru": "Одобрить", "kk": "Мақұлдау"},
    "sla.refuse": {"ru": "Отказать", "kk": "Бас тарту"},
    "sla.state.pending": {"ru": "ожидает решения", "kk": "шешімді күтуде"},
    "sla.state.approved": {"ru": "одобрено", "kk": "мақұлданды"},
    "sla.state.refused": {"ru": "отказано", "kk": "бас тартылды"},
    "sla.review": {"ru": "Проверка ответа", "kk": "Жауапты тексеру"},
    "sla.accept": {"ru": "Принять ответ", "kk": "Жауапты қабылдау"},
    "sla.return": {"ru": "Вернуть на доработку", "kk": "Пысықтауға қайтару"},
    "sla.return_reason": {"ru": "Причина возврата", "kk": "Қайтару себебі"},
    "sla.none": {"ru": "Нет", "kk": "Жоқ"},
    "sla.done": {"ru": "Готово.", "kk": "Дайын."},
    "sla.error": {"ru": "Не получилось", "kk": "Орындалмады"},
    "sla.history_paused": {"ru": "Срок приостановлен", "kk": "Мерзім тоқтатылды"},
    "sla.history_resumed": {"ru": "Срок возобновлён", "kk": "Мерзім жалғасты"},
    "sla.clock_overdue_note": {
        "ru": "Срок истёк: приостановить его нельзя — ответьте или запросите продление.",
        "kk": "Мерзім өтті: оны тоқтатуға болмайды — жауап беріңіз немесе ұзартуды сұраңыз.",
    },
    "inbox.title": {"ru": "Уведомления", "kk": "Хабарламалар"},
    "inbox.empty": {"ru": "Уведомлений нет.", "kk": "Хабарламалар жоқ."},
    "inbox.unread": {"ru": "Непрочитанных: {count}", "kk": "Оқылмағандары: {count}"},
    "inbox.read": {"ru": "Прочитано", "kk": "Оқылды"},
    "inbox.open": {"ru": "Открыть обращение", "kk": "Өтінішті ашу"},
}


def st(language: str, key: str, /, **values: object) -> str:
    """One text in ``language`` (Russian when the language is unknown)."""
    entry = SLA_TEXTS[key]
    text = entry.get(language) or entry["ru"]
    return text.format(**values) if values else text
