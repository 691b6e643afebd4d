"""Every string the web pages show, in Russian and Kazakh, keyed by message id.

Templates call ``t("form.text")``; handlers call :func:`t` with the page's
language. Placeholders use ``str.format`` names (``{min}``, ``{max}``,
``{field}``). A key that is missing in one language is a bug: the test suite
checks that every entry has both.
"""

from __future__ import annotations

from typing import Final

from civicdesk.web.analytics.texts import ANALYTICS_TEXTS
from civicdesk.web.console.texts import CONSOLE_TEXTS
from civicdesk.web.plurals import PluralFormatter
from civicdesk.web.portal.texts import PORTAL_TEXTS
from civicdesk.web.ratings.texts import RATINGS_TEXTS
from civicdesk.web.staff.texts import STAFF_TEXTS

LANGUAGES: Final = ("ru", "kk")
DEFAULT_LANGUAGE: Final = "ru"


#: What every page shares: statuses, channels, roles, the site's frame and errors.
SHARED_TEXTS: Final[dict[str, dict[str, str]]] = {
    # --- the frame -----------------------------------------------------------------------
    "site.name": {"ru": "Открытый Алматы", "kk": "Ашық Алматы"},
    "site.portal": {
        "ru": "Интернет-приёмная акимата",
        "kk": "Әкімдіктің интернет-қабылдауы",
    },
    "site.staff": {"ru": "CivicDesk — рабочее место", "kk": "CivicDesk — жұмыс орны"},
    "site.skip": {"ru": "Перейти к содержанию", "kk": "Мазмұнға өту"},
    "site.language": {"ru": "Язык", "kk": "Тіл"},
    "site.footer": {
        "ru": "Колл-центр «Открытый Алматы»: 1308. Единый контакт-центр: 109. "
        "При угрозе жизни: 112.",
        "kk": "«Ашық Алматы» байланыс орталығы: 1308. Бірыңғай байланыс орталығы: 109. "
        "Өмірге қауіп төнсе: 112.",
    },
    "lang.ru": {"ru": "Русский", "kk": "Русский"},
    "lang.kk": {"ru": "Қазақша", "kk": "Қазақша"},
    "nav.new_appeal": {"ru": "Подать обращение", "kk": "Өтініш беру"},
    "nav.track": {"ru": "Узнать статус", "kk": "Мәртебесін білу"},
    "nav.main": {"ru": "Основное меню", "kk": "Негізгі мәзір"},
    "page.not_found": {"ru": "Страница не найдена", "kk": "Бет табылмады"},
    "status.heading": {"ru": "Обращение {number}", "kk": "{number} өтініші"},
    "status.new_banner": {
        "ru": "Обращение принято. Запишите его номер:",
        "kk": "Өтініш қабылданды. Оның нөмірін жазып алыңыз:",
    },
    "status.new_note": {
        "ru": "По этому номеру на этой странице можно узнать статус и прочитать ответ.",
        "kk": "Осы нөмір арқылы осы бетте мәртебені біліп, жауапты оқи аласыз.",
    },
    "status.status": {"ru": "Статус", "kk": "Мәртебесі"},
    "status.received": {"ru": "Поступило", "kk": "Түскен уақыты"},
    "status.registered": {"ru": "Зарегистрировано", "kk": "Тіркелген күні"},
    "status.due": {"ru": "Срок ответа", "kk": "Жауап беру мерзімі"},
    "status.category": {"ru": "Тема", "kk": "Тақырып"},
    "status.organization": {"ru": "Исполнитель", "kk": "Орындаушы"},
    "status.answer": {"ru": "Ответ", "kk": "Жауап"},
    "status.answered_at": {"ru": "Дата ответа", "kk": "Жауап берілген күні"},
    "status.not_yet": {"ru": "ещё не определено", "kk": "әлі анықталмаған"},
    "status.no_answer": {
        "ru": "Ответ появится здесь, когда исполнитель ответит и ответ пройдёт проверку.",
        "kk": "Орындаушы жауап беріп, жауап тексеруден өткен соң, ол осы жерде пайда болады.",
    },
    "status.privacy": {
        "ru": "Текст обращения и ваши контактные данные на этой странице не показываются.",
        "kk": "Өтініш мәтіні мен байланыс деректеріңіз бұл бетте көрсетілмейді.",
    },
    "status.times": {
        "ru": "Время указано алматинское.",
        "kk": "Уақыт Алматы уақытымен көрсетілген.",
    },
    "status.another": {"ru": "Проверить другой номер", "kk": "Басқа нөмірді тексеру"},
    "notfound.heading": {"ru": "Обращение не найдено", "kk": "Өтініш табылмады"},
    # --- citizen-facing errors, by the service's error code ------------------------------
    "error.text_too_short": {
        "ru": "Текст слишком короткий: напишите не меньше {min} символов.",
        "kk": "Мәтін тым қысқа: кемінде {min} таңба жазыңыз.",
    },
    "error.text_too_long": {
        "ru": "Текст слишком длинный: не больше {max} символов.",
        "kk": "Мәтін тым ұзын: {max} таңбадан аспауы керек.",
    },
    "error.invalid_phone": {
        "ru": "Не удалось распознать номер телефона. Укажите его полностью, "
        "например +7 701 123 45 67.",
        "kk": "Телефон нөмірі танылмады. Оны толық жазыңыз, мысалы +7 701 123 45 67.",
    },
    "error.invalid_email": {
        "ru": "Адрес электронной почты указан неверно.",
        "kk": "Электрондық пошта мекенжайы қате жазылған.",
    },
    "error.field_too_long": {
        "ru": "Слишком длинное значение в поле «{field}».",
        "kk": "«{field}» өрісіндегі мән тым ұзын.",
    },
    "error.unknown_category": {
        "ru": "Такой темы нет в списке. Выберите тему из списка или «Не знаю».",
        "kk": "Мұндай тақырып тізімде жоқ. Тізімнен тақырып таңдаңыз немесе «Білмеймін» "
        "деп қалдырыңыз.",
    },
    "error.unknown_district": {
        "ru": "Такого района нет в списке. Выберите район из списка или «Не знаю».",
        "kk": "Мұндай аудан тізімде жоқ. Тізімнен ауданды таңдаңыз немесе «Білмеймін» "
        "деп қалдырыңыз.",
    },
    "error.unknown_appeal_type": {
        "ru": "Неизвестный вид обращения.",
        "kk": "Өтініштің түрі белгісіз.",
    },
    "error.tracking_number_not_found": {
        "ru": "Обращение с таким номером не найдено. Проверьте номер: он выглядит как "
        "2611-7KQ3M9XA.",
        "kk": "Мұндай нөмірмен өтініш табылмады. Нөмірді тексеріңіз: ол 2611-7KQ3M9XA "
        "сияқты болады.",
    },
    "error.validation_failed": {
        "ru": "Форма заполнена неверно. Проверьте поля и отправьте ещё раз.",
        "kk": "Форма қате толтырылған. Өрістерді тексеріп, қайта жіберіңіз.",
    },
    # --- staff: roles, channels, actors --------------------------------------------------
    "role.operator": {"ru": "Оператор", "kk": "Оператор"},
    "role.executor": {"ru": "Исполнитель", "kk": "Орындаушы"},
    "role.inspector": {"ru": "Инспектор", "kk": "Инспектор"},
    "role.analyst": {"ru": "Аналитик", "kk": "Талдаушы"},
    "role.admin": {"ru": "Администратор", "kk": "Әкімші"},
    "channel.portal": {"ru": "Портал", "kk": "Портал"},
    "channel.mobile": {"ru": "Мобильное приложение", "kk": "Мобильді қосымша"},
    "channel.phone": {"ru": "Телефон 1308", "kk": "1308 телефоны"},
    "channel.telegram": {"ru": "Telegram", "kk": "Telegram"},
    "channel.whatsapp": {"ru": "WhatsApp", "kk": "WhatsApp"},
    "channel.social": {"ru": "Соцсети", "kk": "Әлеуметтік желілер"},
    "channel.front_office": {"ru": "Личный приём", "kk": "Жеке қабылдау"},
    "urgency.high": {"ru": "высокая", "kk": "жоғары"},
    "urgency.normal": {"ru": "обычная", "kk": "қалыпты"},
}


def _join(*tables: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """One table for ``t``; a page's own table may not replace another's key."""
    joined: dict[str, dict[str, str]] = {}
    for table in tables:
        clashes = sorted(joined.keys() & table.keys())
        if clashes:
            raise RuntimeError(f"text keys defined twice: {clashes}")
        joined.update(table)
    return joined


TEXTS: Final = _join(
    SHARED_TEXTS, PORTAL_TEXTS, STAFF_TEXTS, CONSOLE_TEXTS, RATINGS_TEXTS, ANALYTICS_TEXTS
)


def t(key: str, language: str = DEFAULT_LANGUAGE, /, **values: object) -> str:
    """The message ``key`` in ``language``, with ``{placeholders}`` filled from ``values``.

    An unknown key is shown as itself, so a typo is visible on the page rather than a 500.
    """
    entry = TEXTS.get(key)
    if entry is None:
        return key
    text = entry.get(language) or entry[DEFAULT_LANGUAGE]
    # ``{count:one|few|many}`` picks the noun's form agreeing with the number.
    return PluralFormatter(language).format(text, **values) if values else text


def has(key: str) -> bool:
    return key in TEXTS


def normalize_language(value: str | None) -> str | None:
    """'kk' or 'ru' when ``value`` names one of them, else None."""
    if value is None:
        return None
    value = value.strip().lower()
    return value if value in LANGUAGES else None
