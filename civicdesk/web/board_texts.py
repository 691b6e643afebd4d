"""The SLA board's words, in Russian and Kazakh (the frame's words stay in ``texts.py``)."""

from __future__ import annotations

from typing import Final

from civicdesk.web.texts import DEFAULT_LANGUAGE, t

BOARD_TEXTS: Final[dict[str, dict[str, str]]] = {
    "board.nav": {"ru": "Контроль сроков", "kk": "Мерзім бақылауы"},
    "board.heading": {"ru": "Контроль сроков исполнения", "kk": "Орындау мерзімдерін бақылау"},
    "board.scope_org": {
        "ru": "Показаны только обращения вашей организации: {name}.",
        "kk": "Тек сіздің ұйымыңыздың өтініштері көрсетілген: {name}.",
    },
    "board.updated": {
        "ru": "Обновлено {at}; страница обновляется каждые {seconds} с.",
        "kk": "{at} жаңартылды; бет әр {seconds} с сайын жаңарады.",
    },
    "board.risk_rule": {
        "ru": "«Под угрозой» — срок в ближайшие {days} рабочих дня после сегодняшнего "
        "или пропущен внутренний целевой срок.",
        "kk": "«Қауіп төнген» — мерзімі бүгіннен кейінгі {days} жұмыс күні ішінде "
        "немесе ішкі мақсатты мерзімі өтіп кеткен.",
    },
    # --- buckets ---------------------------------------------------------------------------
    "bucket.overdue": {"ru": "Просрочено", "kk": "Мерзімі өткен"},
    "bucket.due_today": {"ru": "Срок сегодня", "kk": "Мерзімі бүгін"},
    "bucket.at_risk": {"ru": "Под угрозой", "kk": "Қауіп төнген"},
    "bucket.on_time": {"ru": "В срок", "kk": "Мерзімінде"},
    "bucket.paused": {"ru": "Приостановлено", "kk": "Тоқтатылған"},
    "bucket.total": {"ru": "Всего", "kk": "Барлығы"},
    "bucket.all": {"ru": "Все открытые", "kk": "Барлық ашық"},
    # --- the table ------------------------------------------------------------------------
    "board.by_organization": {"ru": "По организациям", "kk": "Ұйымдар бойынша"},
    "board.by_district": {"ru": "По районам", "kk": "Аудандар бойынша"},
    "board.organization": {"ru": "Организация", "kk": "Ұйым"},
    "board.district": {"ru": "Район", "kk": "Аудан"},
    "board.unassigned": {"ru": "Не назначено", "kk": "Тағайындалмаған"},
    "board.no_district": {"ru": "Район не определён", "kk": "Аудан анықталмаған"},
    "board.totals": {"ru": "Итого", "kk": "Жиыны"},
    "board.sort": {"ru": "Сортировка", "kk": "Сұрыптау"},
    "board.sort_overdue": {"ru": "по просрочке", "kk": "мерзімі өткендер бойынша"},
    "board.sort_total": {"ru": "по количеству", "kk": "саны бойынша"},
    "board.sort_name": {"ru": "по названию", "kk": "атауы бойынша"},
    "board.empty": {
        "ru": "Открытых обращений по этим условиям нет.",
        "kk": "Осы шарттар бойынша ашық өтініштер жоқ.",
    },
    "board.open_list": {"ru": "Открыть список: {what}", "kk": "Тізімді ашу: {what}"},
    # --- filters --------------------------------------------------------------------------
    "filter.legend": {"ru": "Фильтры", "kk": "Сүзгілер"},
    "filter.organization": {"ru": "Организация", "kk": "Ұйым"},
    "filter.district": {"ru": "Район", "kk": "Аудан"},
    "filter.category": {"ru": "Тема", "kk": "Тақырып"},
    "filter.channel": {"ru": "Канал", "kk": "Арна"},
    "filter.from": {"ru": "Поступило с", "kk": "Түскен күні, бастап"},
    "filter.to": {"ru": "по", "kk": "дейін"},
    "filter.any": {"ru": "все", "kk": "барлығы"},
    "filter.apply": {"ru": "Показать", "kk": "Көрсету"},
    "filter.reset": {"ru": "Сбросить", "kk": "Тазарту"},
    "filter.other": {"ru": "Прочее", "kk": "Басқа"},
    "channel.portal": {"ru": "Портал", "kk": "Портал"},
    "channel.mobile": {"ru": "Мобильное приложение", "kk": "Мобильді қосымша"},
    "channel.phone": {"ru": "Телефон 1308", "kk": "1308 телефоны"},
    "channel.telegram": {"ru": "Telegram", "kk": "Telegram"},
    "channel.whatsapp": {"ru": "WhatsApp", "kk": "WhatsApp"},
    "channel.social": {"ru": "Соцсети", "kk": "Әлеуметтік желілер"},
    "channel.front_office": {"ru": "Фронт-офис", "kk": "Фронт-офис"},
    # --- the list -------------------------------------------------------------------------
    "blist.heading": {"ru": "Список: {what}", "kk": "Тізім: {what}"},
    "blist.count": {
        "ru": "{first}–{last} из {total}",
        "kk": "{total} ішінен {first}–{last}",
    },
    "blist.csv": {"ru": "Выгрузить CSV", "kk": "CSV жүктеу"},
    "blist.csv_note": {
        "ru": "Без персональных данных: номер, тема, организация, район, канал, даты.",
        "kk": "Дербес деректерсіз: нөмір, тақырып, ұйым, аудан, арна, күндер.",
    },
    "blist.number": {"ru": "Номер", "kk": "Нөмір"},
    "blist.bucket": {"ru": "Срок", "kk": "Мерзім"},
    "blist.received": {"ru": "Поступило", "kk": "Түсті"},
    "blist.due": {"ru": "Срок ответа", "kk": "Жауап мерзімі"},
    "blist.target": {"ru": "Целевой срок", "kk": "Мақсатты мерзім"},
    "blist.answered": {"ru": "Ответ дан", "kk": "Жауап берілді"},
    "blist.status": {"ru": "Статус", "kk": "Мәртебе"},
    "blist.escalated": {"ru": "эскалация", "kk": "эскалация"},
    "blist.returns": {"ru": "возвратов: {count}", "kk": "қайтарылды: {count}"},
    "blist.late": {"ru": "с опозданием", "kk": "кешіктірілді"},
    "blist.prev": {"ru": "← Назад", "kk": "← Артқа"},
    "blist.next": {"ru": "Далее →", "kk": "Әрі қарай →"},
    "blist.close": {"ru": "Скрыть список", "kk": "Тізімді жасыру"},
    # --- the review queue -----------------------------------------------------------------
    "review.heading": {
        "ru": "Ответы на проверке ({count})",
        "kk": "Тексерудегі жауаптар ({count})",
    },
    "review.note": {
        "ru": "Старые первыми. Принять или вернуть на доработку — на странице обращения.",
        "kk": "Ескілері алдымен. Қабылдау немесе пысықтауға қайтару — өтініш бетінде.",
    },
    "review.tile": {"ru": "На проверке", "kk": "Тексеруде"},
    "review.all": {"ru": "Вся очередь проверки", "kk": "Барлық тексеру кезегі"},
    "review.empty": {"ru": "Очередь проверки пуста.", "kk": "Тексеру кезегі бос."},
    "review.back": {"ru": "← К контролю сроков", "kk": "← Мерзім бақылауына"},
    # --- problems -------------------------------------------------------------------------
    "problem.heading": {"ru": "Фильтр не применён", "kk": "Сүзгі қолданылмады"},
    "problem.unknown_organization": {
        "ru": "Такой организации нет.",
        "kk": "Мұндай ұйым жоқ.",
    },
    "problem.unknown_district": {"ru": "Такого района нет.", "kk": "Мұндай аудан жоқ."},
    "problem.unknown_category": {"ru": "Такой темы нет.", "kk": "Мұндай тақырып жоқ."},
    "problem.unknown_channel": {"ru": "Такого канала нет.", "kk": "Мұндай арна жоқ."},
    "problem.unknown_bucket": {
        "ru": "Такой группы сроков нет.",
        "kk": "Мұндай мерзім тобы жоқ.",
    },
    "problem.bad_date": {
        "ru": "Дата должна быть в формате ГГГГ-ММ-ДД.",
        "kk": "Күн ЖЖЖЖ-АА-КК форматында болуы керек.",
    },
    "problem.bad_date_range": {
        "ru": "Конец периода раньше начала (или период слишком длинный).",
        "kk": "Кезеңнің соңы басынан ерте (немесе кезең тым ұзақ).",
    },
    "problem.bad_choice": {"ru": "Неизвестное значение.", "kk": "Белгісіз мән."},
    "problem.other_organization": {
        "ru": "Исполнитель видит только обращения своей организации.",
        "kk": "Орындаушы тек өз ұйымының өтініштерін көреді.",
    },
    "problem.role_not_allowed": {
        "ru": "Контроль сроков доступен инспекторам, аналитикам, администраторам и исполнителям.",
        "kk": "Мерзім бақылауы инспекторларға, талдаушыларға, әкімшілерге "
        "және орындаушыларға қолжетімді.",
    },
}


def bt(language: str, key: str, /, **values: object) -> str:
    """A board text in ``language``; keys the board does not define come from ``texts.py``."""
    entry = BOARD_TEXTS.get(key)
    if entry is None:
        return t(key, language, **values)
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
