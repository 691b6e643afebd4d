"""The analytics pages' words, in Russian and Kazakh (joined into ``civicdesk/web/texts.py``)."""

from __future__ import annotations

from typing import Final

ANALYTICS_TEXTS: Final[dict[str, dict[str, str]]] = {
    "analytics.nav": {"ru": "Аналитика", "kk": "Талдау"},
    "analytics.heading": {"ru": "Аналитика обращений", "kk": "Өтініштер талдауы"},
    "analytics.forbidden": {
        "ru": "Аналитика доступна аналитикам, инспекторам и администраторам.",
        "kk": "Талдау тек талдаушыларға, инспекторларға және әкімшілерге қолжетімді.",
    },
    "analytics.period": {"ru": "Период", "kk": "Кезең"},
    "analytics.from": {"ru": "с", "kk": "бастап"},
    "analytics.to": {"ru": "по", "kk": "дейін"},
    "analytics.show": {"ru": "Показать", "kk": "Көрсету"},
    "analytics.preset_7": {"ru": "7 дней", "kk": "7 күн"},
    "analytics.preset_30": {"ru": "30 дней", "kk": "30 күн"},
    "analytics.preset_week": {"ru": "Прошлая неделя", "kk": "Өткен апта"},
    "analytics.preset_month": {"ru": "Этот месяц", "kk": "Осы ай"},
    "analytics.compared": {
        "ru": "{period} в сравнении с {previous}. Данные на {at}.",
        "kk": "{period} кезеңі {previous} кезеңімен салыстырылды. Деректер {at} жағдайы бойынша.",
    },
    "analytics.bad_period": {
        "ru": "Период задан неверно: даты в виде дд.мм.гггг или гггг-мм-дд, начало не позже "
        "конца, не длиннее 366 дней.",
        "kk": "Кезең қате берілген: күндер кк.аа.жжжж немесе жжжж-аа-кк түрінде, басы соңынан "
        "кеш емес, 366 күннен аспауы керек.",
    },
    "analytics.contents": {"ru": "Разделы", "kk": "Бөлімдер"},
    # --- KPI tiles ----------------------------------------------------------------------
    "analytics.total": {"ru": "Обращений", "kk": "Өтініштер"},
    "analytics.change": {"ru": "к прошлому периоду", "kk": "өткен кезеңге"},
    "analytics.on_time": {"ru": "Отвечено в срок", "kk": "Мерзімінде жауап берілді"},
    "analytics.overdue_open": {"ru": "Просрочено сейчас", "kk": "Қазір мерзімі өткен"},
    "analytics.avg_days": {"ru": "Среднее время ответа, дн.", "kk": "Орташа жауап уақыты, күн"},
    "analytics.kpi.satisfaction": {"ru": "Индекс удовлетворённости", "kk": "Қанағаттану индексі"},
    "analytics.kpi.quick_answer_share": {
        "ru": "Доля ответов сразу (быстрый ответ)",
        "kk": "Бірден берілген жауаптар үлесі",
    },
    "analytics.kpi.target": {"ru": "цель {target} %", "kk": "мақсат {target} %"},
    "analytics.kpi.no_target": {"ru": "цель не задана", "kk": "мақсат белгіленбеген"},
    "analytics.kpi.met": {"ru": "цель достигнута", "kk": "мақсатқа жетті"},
    "analytics.kpi.not_met": {"ru": "ниже цели", "kk": "мақсаттан төмен"},
    "analytics.kpi.of": {"ru": "{good} из {total}", "kk": "{total} ішінен {good}"},
    "analytics.kpi.none": {"ru": "нет данных", "kk": "дерек жоқ"},
    # --- sections -----------------------------------------------------------------------
    "analytics.section.day": {"ru": "По дням", "kk": "Күндер бойынша"},
    "analytics.section.week": {"ru": "По неделям (12 недель)", "kk": "Апталар бойынша (12 апта)"},
    "analytics.section.channels": {"ru": "По каналам", "kk": "Арналар бойынша"},
    "analytics.section.districts": {"ru": "По районам", "kk": "Аудандар бойынша"},
    "analytics.section.organizations": {
        "ru": "По организациям (городским службам)",
        "kk": "Ұйымдар (қалалық қызметтер) бойынша",
    },
    "analytics.section.areas": {"ru": "По темам: разделы", "kk": "Тақырыптар: бөлімдер"},
    "analytics.section.categories": {"ru": "По темам: подтемы", "kk": "Тақырыптар: тармақтар"},
    "analytics.section.top_districts": {
        "ru": "Частые темы по районам",
        "kk": "Аудандардағы жиі тақырыптар",
    },
    "analytics.section.top_organizations": {
        "ru": "Частые темы по службам",
        "kk": "Қызметтердегі жиі тақырыптар",
    },
    "analytics.section.statuses": {"ru": "Статусы и сроки", "kk": "Мәртебелер мен мерзімдер"},
    "analytics.section.overdue": {
        "ru": "Больше всего просроченных сейчас",
        "kk": "Қазір мерзімі өткендері ең көп",
    },
    "analytics.section.kpis": {"ru": "Показатели (KPI)", "kk": "Көрсеткіштер (KPI)"},
    "analytics.section.hotspots": {"ru": "Очаги на карте", "kk": "Картадағы ошақтар"},
    "analytics.section.bursts": {"ru": "Всплески", "kk": "Күрт өсулер"},
    "analytics.section.reports": {"ru": "Еженедельные отчёты", "kk": "Апталық есептер"},
    # --- tables -------------------------------------------------------------------------
    "analytics.col.name": {"ru": "Наименование", "kk": "Атауы"},
    "analytics.col.day": {"ru": "День", "kk": "Күн"},
    "analytics.col.week": {"ru": "Неделя с", "kk": "Апта басы"},
    "analytics.col.count": {"ru": "Обращений", "kk": "Өтініштер"},
    "analytics.col.previous": {"ru": "Прошлый период", "kk": "Өткен кезең"},
    "analytics.col.change": {"ru": "Изменение", "kk": "Өзгеріс"},
    "analytics.col.topic": {"ru": "Тема", "kk": "Тақырып"},
    "analytics.col.district": {"ru": "Район", "kk": "Аудан"},
    "analytics.col.organization": {"ru": "Организация", "kk": "Ұйым"},
    "analytics.col.status": {"ru": "Статус", "kk": "Мәртебе"},
    "analytics.col.usual": {"ru": "Обычно", "kk": "Әдетте"},
    "analytics.col.appeals": {"ru": "Обращения", "kk": "Өтініштер"},
    "analytics.col.cell": {"ru": "Ячейка H3", "kk": "H3 ұяшығы"},
    "analytics.col.z": {"ru": "Gi* (z)", "kk": "Gi* (z)"},
    "analytics.col.expected": {"ru": "Ожидалось", "kk": "Күтілген"},
    "analytics.col.file": {"ru": "Файл", "kk": "Файл"},
    "analytics.col.created": {"ru": "Сформирован", "kk": "Жасалған"},
    "analytics.this_period": {"ru": "Этот период", "kk": "Осы кезең"},
    "analytics.previous_period": {"ru": "Прошлый период", "kk": "Өткен кезең"},
    "analytics.csv": {"ru": "CSV", "kk": "CSV"},
    "analytics.csv_title": {"ru": "Скачать таблицу в CSV", "kk": "Кестені CSV түрінде жүктеу"},
    "analytics.chart_alt": {"ru": "График: {what}", "kk": "График: {what}"},
    "analytics.new": {"ru": "новое", "kk": "жаңа"},
    "analytics.unknown": {"ru": "не определено", "kk": "анықталмаған"},
    "analytics.empty": {"ru": "За этот период обращений нет.", "kk": "Бұл кезеңде өтініш жоқ."},
    "analytics.timeliness": {
        "ru": "Из {received} поступивших: отвечено {answered}, в срок {on_time}, с опозданием "
        "{late}; открыто {open}, из них просрочено {overdue}.",
        "kk": "Түскен {received} өтініштің: {answered} жауап берілді, оның {on_time} мерзімінде, "
        "{late} кешігіп; {open} ашық, оның {overdue} мерзімі өткен.",
    },
    # --- hot spots and bursts -------------------------------------------------------------
    "analytics.hot.all": {"ru": "Все темы", "kk": "Барлық тақырыптар"},
    "analytics.hot.computed": {
        "ru": "Рассчитано {at} за {days} дней по {located} обращениям с координатами из {total}.",
        "kk": "{at} есептелді: {days} күн, барлығы {total} өтініштің координаты бар {located}.",
    },
    "analytics.hot.none_yet": {
        "ru": "Очаги рассчитываются ночью; расчёта ещё не было.",
        "kk": "Ошақтар түнде есептеледі; әзірге есептелмеген.",
    },
    "analytics.hot.by_district": {
        "ru": "Координат мало, поэтому очаги — по районам: тема в районе заметно выше, чем "
        "ожидается по доле района в городе.",
        "kk": "Координаттар аз, сондықтан ошақтар аудан бойынша: аудандағы тақырып ауданның "
        "қаладағы үлесінен күтілгеннен едәуір жоғары.",
    },
    "analytics.hot.method": {
        "ru": "Ячейки H3 (≈0,7 км²), статистика Getis-Ord Gi* по шести соседним ячейкам, "
        "поправка на множественные сравнения (FDR 5 %).",
        "kk": "H3 ұяшықтары (≈0,7 км²), алты көрші ұяшық бойынша Getis-Ord Gi* статистикасы, "
        "көптік салыстыруға түзету (FDR 5 %).",
    },
    "analytics.hot.none": {"ru": "Очагов не найдено.", "kk": "Ошақ табылмады."},
    "analytics.hot.legend_area": {"ru": "обращения", "kk": "өтініштер"},
    "analytics.hot.legend_hot": {"ru": "очаг", "kk": "ошақ"},
    "analytics.hot.map": {"ru": "Карта очагов: {topic}", "kk": "Ошақтар картасы: {topic}"},
    "analytics.bursts.none": {
        "ru": "За последние 30 дней всплесков не было.",
        "kk": "Соңғы 30 күнде күрт өсу болған жоқ.",
    },
    "analytics.bursts.rule": {
        "ru": "Всплеск — число обращений темы в районе за день намного выше обычного для "
        "этого дня недели (отрицательное биномиальное распределение по 8 неделям, p < 0,0001, "
        "не меньше 5 обращений).",
        "kk": "Күрт өсу — ауданда тақырып бойынша бір күнгі өтініштер саны аптаның осы күніне "
        "әдеттегіден әлдеқайда көп (8 апта бойынша теріс биномдық үлестірім, p < 0,0001, "
        "кемінде 5 өтініш).",
    },
    "analytics.bursts.heading": {
        "ru": "Всплеск: {district}, «{topic}», {day}",
        "kk": "Күрт өсу: {district}, «{topic}», {day}",
    },
    "analytics.bursts.summary": {
        "ru": "{count} обращений за день, обычно {usual}. Инциденты: {incidents}.",
        "kk": "Бір күнде {count} өтініш, әдетте {usual}. Оқиғалар: {incidents}.",
    },
    "analytics.bursts.open": {"ru": "Подробнее", "kk": "Толығырақ"},
    "analytics.bursts.back": {"ru": "К аналитике", "kk": "Талдауға оралу"},
    "analytics.bursts.not_found": {"ru": "Всплеск не найден.", "kk": "Күрт өсу табылмады."},
    "analytics.reports.none": {
        "ru": "Отчётов ещё нет: они формируются по понедельникам утром.",
        "kk": "Есептер әлі жоқ: олар дүйсенбі күні таңертең жасалады.",
    },
    "analytics.reports.generate": {
        "ru": "Сформировать отчёт за неделю",
        "kk": "Апталық есепті жасау",
    },
    "analytics.reports.week": {"ru": "Неделя", "kk": "Апта"},
    "analytics.reports.bad_week": {
        "ru": "Неделя задаётся как 2026-W49.",
        "kk": "Апта 2026-W49 түрінде беріледі.",
    },
    "analytics.reports.done": {
        "ru": "Отчёт за {week} сформирован.",
        "kk": "{week} аптасының есебі жасалды.",
    },
    "analytics.lang.ru": {"ru": "русский", "kk": "орысша"},
    "analytics.lang.kk": {"ru": "казахский", "kk": "қазақша"},
}
