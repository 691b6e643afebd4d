"""Why an appeal moved, in the reader's language: the history's reasons, the routing reason
and the triage note, rendered from their codes (``appeals.reasons``) on the staff pages.

The table holds one Russian and one Kazakh sentence per code. Codes inside the parameters
(a category, an organization, a channel, a checklist reason) are named from the reference
data in the same language; a person's own words (a comment, a note) are shown as typed.
Sentences are built as "what: which" so no Kazakh case ending hangs on a name that is
filled in. A row whose English is not one of ours shows that text as it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.lifecycle import Status, status_label
from appeals.reasons import Reason, note, parse_legacy
from civicdesk.web.lookups import category_names, district_names
from civicdesk.web.plurals import plural
from civicdesk.web.texts import t
from routing.models import Organization
from sla.texts import PAUSE_REASON_LABELS, RETURN_REASON_LABELS

#: code → (Russian, Kazakh). Placeholders are the prepared values of ``_values``.
REASON_TEXTS: Final[dict[str, dict[str, str]]] = {
    "received": {
        "ru": "поступило по каналу «{channel}»",
        "kk": "«{channel}» арнасы арқылы түсті",
    },
    "registered": {"ru": "зарегистрировано {date}", "kk": "тіркелген күні: {date}"},
    "anonymous": {
        "ru": "анонимное обращение: рассматривается, только если сообщает о готовящемся или "
        "совершённом уголовном правонарушении либо об угрозе государственной или общественной "
        "безопасности",
        "kk": "жасырын өтініш: дайындалып жатқан немесе жасалған қылмыстық құқық бұзушылық "
        "не мемлекеттік немесе қоғамдық қауіпсіздікке төнген қатер туралы хабарласа ғана "
        "қаралады",
    },
    "rule": {
        "ru": "правило № {rule_id}, версия {version}: тема «{category}», {scope} → {organization}",
        "kk": "№ {rule_id} ереже, {version}-нұсқа: «{category}» тақырыбы, {scope} → {organization}",
    },
    "no_category": {"ru": "тема не определена", "kk": "тақырып анықталмады"},
    "unknown_category": {
        "ru": "темы «{category}» нет в справочнике",
        "kk": "«{category}» тақырыбы анықтамалықта жоқ",
    },
    "no_rule": {
        "ru": "для темы «{category}» нет правила маршрутизации",
        "kk": "«{category}» тақырыбына бағыттау ережесі жоқ",
    },
    "rule_without_organization": {
        "ru": "в правиле № {rule_id} не указана организация",
        "kk": "№ {rule_id} ережеде ұйым көрсетілмеген",
    },
    "no_district": {
        "ru": "по теме «{category}» отвечает акимат района, а район не определён",
        "kk": "«{category}» тақырыбы бойынша аудан әкімдігі жауап береді, бірақ аудан анықталмады",
    },
    "unknown_district": {
        "ru": "район «{district}» не найден в справочнике",
        "kk": "«{district}» ауданы анықтамалықта жоқ",
    },
    "organization_retired": {
        "ru": "правило № {rule_id} ведёт в упразднённую организацию: {organization} "
        "(упразднена {retired_on})",
        "kk": "№ {rule_id} ереже таратылған ұйымға бағыттайды: {organization} "
        "(таратылған күні: {retired_on})",
    },
    "not_appeal": {
        "ru": "похоже, это не обращение ({kind}: «{evidence}»): оператор отклонит его или "
        "зарегистрирует",
        "kk": "бұл өтініш емес сияқты ({kind}: «{evidence}»): оператор оны қабылдамайды "
        "немесе тіркейді",
    },
    "low_confidence": {
        "ru": "система не уверена в теме «{category}»: решает оператор{alternatives}",
        "kk": "жүйе «{category}» тақырыбына сенімді емес: оператор шешеді{alternatives}",
    },
    "accepted": {"ru": "исполнитель принял в работу", "kk": "орындаушы жұмысқа алды"},
    "answer_submitted": {"ru": "ответ отправлен на проверку", "kk": "жауап тексеруге жіберілді"},
    "answer_accepted": {"ru": "ответ принят", "kk": "жауап қабылданды"},
    "answer_returned": {
        "ru": "ответ возвращён на доработку: {return_reason}",
        "kk": "жауап пысықтауға қайтарылды: {return_reason}",
    },
    "rejected": {
        "ru": "оставлено без рассмотрения: {rejection}",
        "kk": "қараусыз қалдырылды: {rejection}",
    },
    "quick_answered": {"ru": "ответ дан сразу", "kk": "жауап бірден берілді"},
    "reopened": {"ru": "рассмотрение возобновлено", "kk": "қарау қайта басталды"},
    "low_rating": {
        "ru": "заявитель оценил ответ на {score} из 5{comment}",
        "kk": "өтініш беруші жауапты {score}/5 деп бағалады{comment}",
    },
    "sent_back": {
        "ru": "возвращено на распределение: не компетенция организации",
        "kk": "бөлуге қайтарылды: ұйымның құзыретіне жатпайды",
    },
    "routed": {"ru": "направлено: {organization}{cause}", "kk": "жіберілді: {organization}{cause}"},
    "routed_by": {
        "ru": "направлено вручную ({role}){cause}",
        "kk": "қолмен жіберілді ({role}){cause}",
    },
    "category_set": {
        "ru": "тема {verb}: «{category}»{decision}",
        "kk": "тақырып {verb}: «{category}»{decision}",
    },
    "category_triage": {
        "ru": "тема {verb} ({role}): «{category}»{decision}",
        "kk": "тақырып {verb} ({role}): «{category}»{decision}",
    },
    "operator_call": {
        "ru": "выбрано оператором во время звонка",
        "kk": "қоңырау кезінде оператор таңдады",
    },
    "extended": {
        "ru": "срок продлён, новый срок — {until}",
        "kk": "мерзім ұзартылды, жаңа мерзім — {until}",
    },
    "clock_paused": {
        "ru": "срок приостановлен: {pause_reason}",
        "kk": "мерзім тоқтатыла тұрды: {pause_reason}",
    },
    "clock_resumed": {
        "ru": "срок возобновлён: +{days}{status}{capped}",
        "kk": "мерзім жалғасты: +{days}{status}{capped}",
    },
    "reorganized": {
        "ru": "реорганизация № {change} ({kind}): {from_} → {to}",
        "kk": "№ {change} қайта ұйымдастыру ({kind}): {from_} → {to}",
    },
}

#: The small words the sentences above are assembled from.
WORDS: Final[dict[str, dict[str, str]]] = {
    "any_district": {"ru": "любой район", "kk": "кез келген аудан"},
    "district": {"ru": "район: {name}", "kk": "аудан: {name}"},
    "area": {
        "ru": "участок обслуживания: {name} (улица {street})",
        "kk": "қызмет көрсету аумағы: {name} ({street} көшесі)",
    },
    "alternatives": {"ru": ". Другие варианты: {names}", "kk": ". Басқа нұсқалар: {names}"},
    "confirmed": {"ru": "подтверждена", "kk": "расталды"},
    "corrected": {"ru": "исправлена", "kk": "түзетілді"},
    "comment": {"ru": "; комментарий: «{text}»", "kk": "; түсініктемесі: «{text}»"},
    "status_change": {
        "ru": ", статус сменился на «{status}»",
        "kk": ", мәртебесі «{status}» болып өзгерді",
    },
    "capped": {
        "ru": " (не дальше двух месяцев со дня регистрации)",
        "kk": " (тіркелген күннен бастап екі айдан аспайды)",
    },
    "working_days": {"ru": "рабочий день|рабочих дня|рабочих дней", "kk": "жұмыс күні"},
    "kind.greeting": {"ru": "приветствие", "kk": "сәлемдесу"},
    "kind.thanks": {"ru": "благодарность", "kk": "алғыс"},
    "kind.spam": {"ru": "спам", "kk": "спам"},
    "kind.abuse": {"ru": "оскорбления", "kk": "балағат сөздер"},
    "kind.empty": {"ru": "нет текста", "kk": "мәтін жоқ"},
    "reorg.rename": {"ru": "переименование", "kk": "атауын өзгерту"},
    "reorg.merge": {"ru": "слияние", "kk": "біріктіру"},
    "reorg.split": {"ru": "разделение", "kk": "бөлу"},
    "reorg.retire": {"ru": "упразднение", "kk": "тарату"},
    # escalations (``appeals.escalation_reason``)
    "escalation.overdue": {"ru": "срок ответа истёк", "kk": "жауап беру мерзімі өтті"},
    "escalation.ping_pong": {
        "ru": "обращение вернулось в организацию, которая его уже передала: {path}",
        "kk": "өтініш оны бұрын басқаға жолдаған ұйымға қайта келді: {path}",
    },
    "escalation.moved": {
        "ru": "обращение передавали {count} {times}: {path}",
        "kk": "өтініш {count} рет қайта жолданды: {path}",
    },
    "times": {"ru": "раз|раза|раз", "kk": "рет"},
}


def word(key: str, language: str, **values: object) -> str:
    text = WORDS[key]["kk" if language == "kk" else "ru"]
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Labels:
    """Names of the codes a reason refers to, in one language."""

    language: str
    categories: Mapping[str, str]
    districts: Mapping[str, str]
    organizations: Mapping[str, str]  # by code

    @classmethod
    def load(cls, session: Session, language: str) -> Labels:
        rows = session.execute(select(Organization)).scalars()
        return cls(
            language=language,
            categories=category_names(session, language),
            districts=district_names(session, language),
            organizations={row.code: row.name(language) for row in rows},
        )

    def category(self, code: object) -> str:
        return self.categories.get(str(code), str(code))

    def district(self, code: object) -> str:
        return self.districts.get(str(code), str(code))

    def organization(self, code: object) -> str:
        return self.organizations.get(str(code), str(code))


def _date(value: object) -> str:
    """'2026-12-07' → '07.12.2026' (the pages' date format)."""
    try:
        return f"{date.fromisoformat(str(value)[:10]):%d.%m.%Y}"
    except ValueError:
        return str(value)


def _label(table: Mapping[str, Mapping[str, str]], code: object, language: str) -> str:
    entry = table.get(str(code))
    return entry[language] if entry is not None else str(code)


def _rule_values(p: Mapping[str, Any], labels: Labels) -> dict[str, object]:
    language = labels.language
    scope = (
        word("district", language, name=labels.district(p["district"]))
        if p.get("district")
        else word("any_district", language)
    )
    if p.get("area"):
        scope += ", " + word("area", language, name=p["area"], street=p.get("street") or "")
    return {
        "rule_id": p["rule_id"],
        "version": p["version"],
        "category": labels.category(p["category"]),
        "scope": scope,
        "organization": labels.organization(p["organization"]),
    }


def _cause(p: Mapping[str, Any], labels: Labels) -> str:
    """'; why' from a nested reason (the category correction, the call), else the note."""
    inner = Reason.of(p.get("cause"))
    if inner is not None:
        return "; " + render(inner, labels)
    text = note(p.get("note"))
    return f"; {text}" if text else ""


def _verb(p: Mapping[str, Any], language: str) -> str:
    return word("confirmed" if p.get("confirmed") else "corrected", language)


def _decision(p: Mapping[str, Any], labels: Labels) -> str:
    inner = Reason.of(p.get("decision"))
    return "; " + render(inner, labels) if inner is not None else ""


def _resumed(p: Mapping[str, Any], labels: Labels) -> dict[str, object]:
    language = labels.language
    days = int(p.get("days") or 0)
    why = str(p.get("why") or "")
    status = ""
    if why.startswith("status "):
        try:
            status = word(
                "status_change",
                language,
                status=status_label(Status(why.removeprefix("status ")), language),
            )
        except ValueError:
            status = ""
    return {
        "days": f"{days} {plural(days, word('working_days', language), language)}",
        "status": status,
        "capped": word("capped", language) if p.get("capped") else "",
    }


_Values = Callable[[Mapping[str, Any], Labels], Mapping[str, object]]

#: code → its placeholders' values from the parameters (codes named in the language).
_VALUES: Final[dict[str, _Values]] = {
    "received": lambda p, lb: {"channel": t(f"channel.{p['channel']}", lb.language)},
    "registered": lambda p, lb: {"date": _date(p["date"])},
    "rule": _rule_values,
    "unknown_category": lambda p, lb: {"category": lb.category(p["category"])},
    "no_rule": lambda p, lb: {"category": lb.category(p["category"])},
    "no_district": lambda p, lb: {"category": lb.category(p["category"])},
    "rule_without_organization": lambda p, lb: {"rule_id": p["rule_id"]},
    "unknown_district": lambda p, lb: {"district": lb.district(p["district"])},
    "organization_retired": lambda p, lb: {
        "rule_id": p["rule_id"],
        "organization": lb.organization(p["organization"]),
        "retired_on": _date(p["retired_on"]),
    },
    "not_appeal": lambda p, lb: {
        "kind": word(f"kind.{p['kind']}", lb.language)
        if f"kind.{p['kind']}" in WORDS
        else p["kind"],
        "evidence": ", ".join(str(e) for e in p.get("evidence") or []),
    },
    "low_confidence": lambda p, lb: {
        "category": lb.category(p["category"]),
        "alternatives": word(
            "alternatives",
            lb.language,
            names=", ".join(f"«{lb.category(code)}»" for code, _p in p["alternatives"]),
        )
        if p.get("alternatives")
        else "",
    },
    "answer_returned": lambda p, lb: {
        "return_reason": _label(RETURN_REASON_LABELS, p["return_reason"], lb.language)
    },
    "rejected": lambda p, lb: {"rejection": t(f"rejection.{p['rejection']}", lb.language)},
    "low_rating": lambda p, lb: {
        "score": p["score"],
        "comment": word("comment", lb.language, text=note(p.get("comment")))
        if note(p.get("comment"))
        else "",
    },
    "routed": lambda p, lb: {
        "organization": lb.organization(p["organization"]),
        "cause": _cause(p, lb),
    },
    "routed_by": lambda p, lb: {
        "role": t(f"role.{p['role']}", lb.language),
        "cause": _cause(p, lb),
    },
    "category_set": lambda p, lb: {
        "verb": _verb(p, lb.language),
        "category": lb.category(p["category"]),
        "decision": _decision(p, lb),
    },
    "category_triage": lambda p, lb: {
        "verb": _verb(p, lb.language),
        "category": lb.category(p["category"]),
        "role": t(f"role.{p['role']}", lb.language),
        "decision": _decision(p, lb),
    },
    "extended": lambda p, lb: {"until": _date(p["until"])},
    "clock_paused": lambda p, lb: {
        "pause_reason": _label(PAUSE_REASON_LABELS, p["pause_reason"], lb.language)
    },
    "clock_resumed": _resumed,
    "reorganized": lambda p, lb: {
        "change": p["change"],
        "kind": word(f"reorg.{p['kind']}", lb.language)
        if f"reorg.{p['kind']}" in WORDS
        else p["kind"],
        "from_": lb.organization(p["from"]),
        "to": lb.organization(p["to"]) if p["to"] != "-" else "—",
    },
}

#: Codes whose note (a person's words) follows the sentence; ``routed*`` put it in the cause.
_WITH_NOTE: Final = frozenset(
    {"answer_accepted", "answer_returned", "rejected", "reopened", "sent_back", "extended",
     "clock_paused"}
)  # fmt: skip


def render(reason: Reason, labels: Labels) -> str:
    """One reason in the labels' language; its English when the code is not in the table."""
    entry = REASON_TEXTS.get(reason.code)
    if entry is None:
        return reason.english()
    language = "kk" if labels.language == "kk" else "ru"
    make = _VALUES.get(reason.code)
    try:
        values = make(reason.params, labels) if make is not None else {}
        text = entry[language].format(**values)
    except (KeyError, TypeError, ValueError):  # a row with parameters we no longer write
        return reason.english()
    extra = note(reason.params.get("note")) if reason.code in _WITH_NOTE else ""
    return f"{text} — {extra}" if extra else text


def render_stored(
    code: str | None,
    params: Mapping[str, Any] | None,
    english: str | None,
    labels: Labels,
    *,
    to_status: str | None = None,
) -> str:
    """A stored reason (its code, or the English of an older row read back) for the page."""
    reason = Reason(code, dict(params or {})) if code else parse_legacy(english, to_status)
    if reason is None:
        return english or ""
    return render(reason, labels)


def render_escalation(reason: str | None, labels: Labels) -> str:
    """``appeals.escalation_reason`` ('overdue', 'ping_pong: a → b', 'moved 3 times: …')."""
    if not reason:
        return ""
    language = labels.language
    head, _, path = reason.partition(": ")
    named = " → ".join(labels.organization(code.strip()) for code in path.split("→") if code)
    if reason == "overdue":
        return word("escalation.overdue", language)
    if head == "ping_pong":
        return word("escalation.ping_pong", language, path=named)
    if head.startswith("moved ") and head.endswith(" times"):
        count = head.removeprefix("moved ").removesuffix(" times")
        if count.isdigit():
            times = plural(int(count), word("times", language), language)
            return word("escalation.moved", language, count=count, times=times, path=named)
    return reason
