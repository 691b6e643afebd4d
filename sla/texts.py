"""Texts of the staff inbox (reminders, escalations, extensions, returns) in Russian and
Kazakh. No personal data: tracking number, category and deadline only."""

from __future__ import annotations

from datetime import datetime

from core.clock import ALMATY

TEMPLATES: dict[str, dict[str, str]] = {
    "remind": {
        "ru": "Напоминание: срок ответа на обращение {tn} ({category}) — {due}.",
        "kk": "Еске салу: {tn} өтінішіне ({category}) жауап беру мерзімі — {due}.",
    },
    "breach_executor": {
        "ru": "Срок ответа на обращение {tn} ({category}) истёк {due}. Обращение просрочено.",
        "kk": "{tn} өтінішіне ({category}) жауап беру мерзімі {due} өтті. Өтініштің мерзімі "
        "өткен.",
    },
    "breach_head": {
        "ru": "Ваша организация просрочила ответ на обращение {tn} ({category}): срок истёк {due}.",
        "kk": (
            "Сіздің ұйымыңыз {tn} өтінішіне ({category}) жауап беру мерзімін өткізді: "
            "мерзім {due} өтті."
        ),
    },
    "breach_inspectors": {
        "ru": "Просрочено обращение {tn} ({category}): срок истёк {due}. Передано на контроль.",
        "kk": "{tn} өтінішінің ({category}) мерзімі өтті: мерзім {due} аяқталды. Бақылауға "
        "алынды.",
    },
    "extension_requested": {
        "ru": "Запрошено продление срока по обращению {tn} ({category}) до {due}.",
        "kk": "{tn} өтініші ({category}) бойынша мерзімді ұзарту сұралды; сұралған мерзім — "
        "{due}.",
    },
    "extension_approved": {
        "ru": "Продление срока по обращению {tn} ({category}) одобрено: новый срок — {due}.",
        "kk": "{tn} өтініші ({category}) бойынша мерзімді ұзарту мақұлданды: жаңа мерзім — {due}.",
    },
    "extension_refused": {
        "ru": "В продлении срока по обращению {tn} ({category}) отказано. Срок — {due}.",
        "kk": "{tn} өтініші ({category}) бойынша мерзімді ұзартудан бас тартылды. Мерзім — {due}.",
    },
    "extension_notice_missed": {
        "ru": (
            "Заявителю не сообщено о продлении срока по обращению {tn} ({category}): "
            "уведомление должно было уйти до {due}. Сообщите заявителю."
        ),
        "kk": (
            "Өтініш берушіге {tn} өтініші ({category}) бойынша мерзімнің ұзартылғаны "
            "хабарланбады: хабарламаның соңғы мерзімі — {due}. Өтініш берушіге хабарлаңыз."
        ),
    },
    "answer_returned": {
        "ru": "Ответ на обращение {tn} ({category}) возвращён на доработку: {reason}.",
        "kk": "{tn} өтінішіне ({category}) жауап пысықтауға қайтарылды: {reason}.",
    },
}

RETURN_REASON_LABELS: dict[str, dict[str, str]] = {
    "no_substance": {"ru": "ответ не по существу", "kk": "жауап мәні бойынша емес"},
    "formal_reply": {"ru": "формальная отписка", "kk": "формалды жауап"},
    "wrong_organization": {"ru": "ответ не той организации", "kk": "басқа ұйымның жауабы"},
    "missing_work_deadline": {
        "ru": "не указан срок выполнения работ",
        "kk": "жұмыстарды орындау мерзімі көрсетілмеген",
    },
    "other": {"ru": "другое", "kk": "басқа"},
}

PAUSE_REASON_LABELS: dict[str, dict[str, str]] = {
    "citizen_clarification": {
        "ru": "ожидание уточнения от заявителя",
        "kk": "өтініш берушіден нақтылауды күту",
    },
    "citizen_documents": {
        "ru": "ожидание документов от заявителя",
        "kk": "өтініш берушіден құжаттарды күту",
    },
    "expert_opinion": {"ru": "ожидание заключения экспертизы", "kk": "сараптама қорытындысын күту"},
    "other": {"ru": "другое", "kk": "басқа"},
}


def format_due(moment: datetime | None) -> str:
    """A deadline as people in Almaty read it."""
    if moment is None:
        return "—"
    return moment.astimezone(ALMATY).strftime("%d.%m.%Y %H:%M")


def render(
    key: str,
    *,
    tracking_number: str,
    category: tuple[str, str] | None,
    due: datetime | None,
    reason_code: str | None = None,
) -> tuple[str, str]:
    """The (Russian, Kazakh) texts of one notification."""
    template = TEMPLATES[key]
    texts: list[str] = []
    for language, index in (("ru", 0), ("kk", 1)):
        label = category[index] if category else "—"
        reason = RETURN_REASON_LABELS.get(reason_code or "", {}).get(language, "")
        texts.append(
            template[language].format(
                tn=tracking_number, category=label, due=format_due(due), reason=reason
            )
        )
    return texts[0], texts[1]
