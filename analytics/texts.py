"""Words of analytics outside the web pages: the burst notice and the weekly report, ru/kk.

The pages' own words are in ``civicdesk/web/analytics/texts.py``; these are written by the
worker (a notice in the inspectors' inbox, a report document), below the shell.
"""

from __future__ import annotations

from typing import Final

LANGUAGES: Final = ("ru", "kk")


def plural_ru(number: int, one: str, few: str, many: str) -> str:
    """The Russian noun form agreeing with ``number`` (1 обращение, 2 обращения, 5 обращений)."""
    tail = number % 100
    if 11 <= tail <= 14:
        return many
    last = number % 10
    if last == 1:
        return one
    return few if 2 <= last <= 4 else many


def _number(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}".replace(".", ",")


def burst_notice(
    *,
    district: tuple[str, str],
    topic: tuple[str, str],
    count: int,
    expected: float,
    spread: float,
    appeals: int,
    incidents: int,
) -> tuple[str, str]:
    """«Ауэзовский район: «Нет воды» — 47 сегодня, обычно 6 ± 3», in Russian and Kazakh."""
    usual = f"{_number(expected)} ± {_number(spread)}"
    ru = (
        f"Всплеск обращений. {district[0]}: «{topic[0]}» — {count} сегодня, обычно {usual}. "
        f"{appeals} {plural_ru(appeals, 'обращение', 'обращения', 'обращений')}"
    )
    kk = (
        f"Өтініштер күрт көбейді. {district[1]}: «{topic[1]}» — бүгін {count}, "
        f"әдетте {usual}. Өтініштер саны: {appeals}"
    )
    if incidents:
        ru += f", {incidents} {plural_ru(incidents, 'инцидент', 'инцидента', 'инцидентов')}"
        kk += f", оқиғалар саны: {incidents}"
    return ru + ".", kk + "."


#: The weekly report's words (analytics/templates/weekly_report.html), Russian and Kazakh.
REPORT: Final[dict[str, dict[str, str]]] = {
    "title": {
        "ru": "Еженедельный отчёт по обращениям граждан",
        "kk": "Азаматтардың өтініштері бойынша апталық есеп",
    },
    "subtitle": {
        "ru": "«Открытый Алматы» · неделя {week}: {period}",
        "kk": "«Ашық Алматы» · {week} аптасы: {period}",
    },
    "generated": {"ru": "Сформирован {at}", "kk": "{at} жасалды"},
    "compared": {"ru": "в сравнении с {period}", "kk": "{period} кезеңімен салыстырғанда"},
    "summary": {"ru": "Главное за неделю", "kk": "Аптаның негізгісі"},
    "total": {"ru": "Поступило обращений", "kk": "Түскен өтініштер"},
    "change": {"ru": "к прошлой неделе", "kk": "өткен аптаға"},
    "answered": {"ru": "Отвечено", "kk": "Жауап берілді"},
    "on_time": {"ru": "Отвечено в срок", "kk": "Мерзімінде жауап берілді"},
    "overdue_open": {"ru": "Просрочено сейчас", "kk": "Қазір мерзімі өткен"},
    "satisfaction": {"ru": "Индекс удовлетворённости", "kk": "Қанағаттану индексі"},
    "quick_answer_share": {"ru": "Доля ответов сразу", "kk": "Бірден берілген жауаптар үлесі"},
    "target": {"ru": "цель {target} %", "kk": "мақсат {target} %"},
    "met": {"ru": "цель достигнута", "kk": "мақсатқа жетті"},
    "not_met": {"ru": "ниже цели на {gap} п.п.", "kk": "мақсаттан {gap} п.т. төмен"},
    "no_data": {"ru": "нет данных", "kk": "дерек жоқ"},
    "days": {"ru": "Обращения по дням", "kk": "Күндер бойынша өтініштер"},
    "this_week": {"ru": "эта неделя", "kk": "осы апта"},
    "last_week": {"ru": "прошлая неделя", "kk": "өткен апта"},
    "channels": {"ru": "Каналы", "kk": "Арналар"},
    "topics": {"ru": "Частые темы и их изменение", "kk": "Жиі тақырыптар және олардың өзгерісі"},
    "examples": {"ru": "Примеры обращений", "kk": "Өтініштерден мысалдар"},
    "examples_note": {
        "ru": "Тексты приведены с маскированием персональных данных.",
        "kk": "Мәтіндер дербес деректер жасырылып берілді.",
    },
    "districts": {"ru": "Районы", "kk": "Аудандар"},
    "top_by_district": {"ru": "Частые темы по районам", "kk": "Аудандардағы жиі тақырыптар"},
    "hotspots": {"ru": "Очаги", "kk": "Ошақтар"},
    "hot_cells": {
        "ru": "Ячейки H3 (≈0,7 км²) со значимо большим числом обращений, чем у соседних "
        "(Getis-Ord Gi*, FDR 5 %); обращений с координатами: {located} из {total}.",
        "kk": "Көршілерінен өтініштері айтарлықтай көп H3 ұяшықтары (≈0,7 км², Getis-Ord Gi*, "
        "FDR 5 %); координаты бар өтініштер: {total} ішінен {located}.",
    },
    "hot_districts": {
        "ru": "Координат мало ({located} из {total}), поэтому очаги — по районам.",
        "kk": "Координаттар аз ({total} ішінен {located}), сондықтан ошақтар аудандар бойынша.",
    },
    "no_hotspots": {"ru": "Значимых очагов не найдено.", "kk": "Елеулі ошақтар табылмады."},
    "all_topics": {"ru": "все темы", "kk": "барлық тақырыптар"},
    "legend_area": {"ru": "обращения", "kk": "өтініштер"},
    "legend_hot": {"ru": "очаг", "kk": "ошақ"},
    "bursts": {"ru": "Всплески недели", "kk": "Аптаның күрт өсулері"},
    "no_bursts": {"ru": "Всплесков не было.", "kk": "Күрт өсулер болған жоқ."},
    "timeliness": {"ru": "Сроки исполнения", "kk": "Орындау мерзімдері"},
    "timeliness_text": {
        "ru": "Из {received} поступивших за неделю отвечено {answered}, из них в срок "
        "{on_time}; среднее время ответа {days} дн. Сейчас просрочено {overdue} обращений.",
        "kk": "Аптада түскен {received} өтініштің {answered} жауап алды, оның {on_time} "
        "мерзімінде; орташа жауап уақыты {days} күн. Қазір {overdue} өтініштің мерзімі өткен.",
    },
    "most_overdue": {
        "ru": "Организации с наибольшим числом просроченных",
        "kk": "Мерзімі өткен өтініштері ең көп ұйымдар",
    },
    "ranking": {"ru": "Рейтинг организаций", "kk": "Ұйымдар рейтингі"},
    "ranking_note": {
        "ru": "Сводная оценка по срокам, качеству ответов и удовлетворённости (методика "
        "рейтинга, не меньше {min_n} обращений).",
        "kk": "Мерзімдер, жауап сапасы және қанағаттану бойынша жиынтық баға (рейтинг "
        "әдістемесі, кемінде {min_n} өтініш).",
    },
    "top": {"ru": "Лучшие", "kk": "Үздіктер"},
    "anti": {"ru": "Антирейтинг", "kk": "Антирейтинг"},
    "no_ranking": {
        "ru": "Для рейтинга за неделю недостаточно обращений.",
        "kk": "Апталық рейтинг үшін өтініштер жеткіліксіз.",
    },
    "score": {"ru": "Балл", "kk": "Балл"},
    "weak": {"ru": "Слабые места", "kk": "Әлсіз тұстары"},
    "col_name": {"ru": "Наименование", "kk": "Атауы"},
    "col_count": {"ru": "Обращений", "kk": "Өтініштер"},
    "col_previous": {"ru": "Прошлая неделя", "kk": "Өткен апта"},
    "col_change": {"ru": "Изменение", "kk": "Өзгеріс"},
    "col_district": {"ru": "Район", "kk": "Аудан"},
    "col_topic": {"ru": "Тема", "kk": "Тақырып"},
    "col_day": {"ru": "День", "kk": "Күн"},
    "col_usual": {"ru": "Обычно", "kk": "Әдетте"},
    "col_where": {"ru": "Где", "kk": "Қайда"},
    "col_z": {"ru": "z", "kk": "z"},
    "col_expected": {"ru": "Ожидалось", "kk": "Күтілген"},
    "col_organization": {"ru": "Организация", "kk": "Ұйым"},
    "col_overdue": {"ru": "Просрочено", "kk": "Мерзімі өткен"},
    "new": {"ru": "новое", "kk": "жаңа"},
    "unknown": {"ru": "не определено", "kk": "анықталмаған"},
    "c.on_time": {"ru": "в срок", "kk": "мерзімінде"},
    "c.on_target": {"ru": "в целевой срок", "kk": "мақсатты мерзімде"},
    "c.returns": {"ru": "приняты без доработки", "kk": "пысықтаусыз қабылданды"},
    "c.reopened": {"ru": "не переоткрыты", "kk": "қайта ашылмады"},
    "c.satisfaction": {"ru": "удовлетворённость", "kk": "қанағаттану"},
    "c.repeats": {"ru": "без повторных обращений", "kk": "қайталама өтінішсіз"},
    "c.ping_pong": {"ru": "без возврата после переадресации", "kk": "қайта жолданбай"},
    "city": {"ru": "город", "kk": "қала"},
    "footer": {
        "ru": "CivicDesk · данные без персональных сведений · время алматинское",
        "kk": "CivicDesk · дербес мәліметтерсіз деректер · уақыт Алматы бойынша",
    },
}


def report_text(key: str, language: str, /, **values: object) -> str:
    entry = REPORT[key]
    text = entry.get(language) or entry["ru"]
    return text.format(**values) if values else text


#: Channel names for the report (the pages have theirs in the web's shared table).
CHANNELS: Final[dict[str, dict[str, str]]] = {
    "portal": {"ru": "Портал", "kk": "Портал"},
    "mobile": {"ru": "Мобильное приложение", "kk": "Мобильді қосымша"},
    "phone": {"ru": "Телефон 1308", "kk": "1308 телефоны"},
    "telegram": {"ru": "Telegram", "kk": "Telegram"},
    "whatsapp": {"ru": "WhatsApp", "kk": "WhatsApp"},
    "social": {"ru": "Соцсети", "kk": "Әлеуметтік желілер"},
    "front_office": {"ru": "Фронт-офис", "kk": "Фронт-офис"},
}
