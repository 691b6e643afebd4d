"""Why an appeal moved: reasons as codes with parameters, and their English form.

A status change, a routing decision and a triage note are stored as a code and its
parameters (``appeal_status_changes.reason_code``/``reason_params``,
``appeals.routing_reason_code``/``routing_reason_params``), so each reader sees them in
their own language: the staff pages render them in Russian or Kazakh
(``civicdesk.web.staff.reasons``). The English text (``reason``, ``routing_reason``) is
derived from the same code for the API and the logs, word for word what it always was.

Rows written before the codes existed carry only the English text: ``parse_legacy`` reads
it back into a code where it is one of ours, so old history renders in the reader's
language too. Pure: no database here.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

#: A parameter: text, a number, a flag, a list of (code, probability) pairs, or a nested
#: reason as ``{"code": …, "params": {…}}`` (a routing decision inside a manual routing).
Params = Mapping[str, Any]


@dataclass(frozen=True)
class Reason:
    """One reason: a stable ``code`` and the ``params`` its texts are filled from."""

    code: str
    params: Params = field(default_factory=dict)

    def english(self) -> str:
        """The English text for the API and logs (the ``reason`` columns)."""
        render = ENGLISH.get(self.code)
        if render is None:
            return str(self.params.get("text") or self.code)
        return render(self.params)

    def as_dict(self) -> dict[str, Any]:
        """The JSON form stored in ``*_params`` when nested in another reason."""
        return {"code": self.code, "params": dict(self.params)}

    @classmethod
    def of(cls, value: object) -> Reason | None:
        """A reason from its stored dict form (None for anything else)."""
        if isinstance(value, Mapping) and isinstance(value.get("code"), str):
            params = value.get("params")
            return cls(value["code"], dict(params) if isinstance(params, Mapping) else {})
        return None


def note(text: str | None) -> str:
    """Free text typed by a person, stripped ('' for none)."""
    return (text or "").strip()


def _note_after(params: Params, prefix: str) -> str:
    text = note(params.get("note"))
    return f"{prefix}: {text}" if text else prefix


def _rule(params: Params) -> str:
    scope = [f"district {params['district']}" if params.get("district") else "any district"]
    if params.get("area"):
        scope.append(f"{params['area']} ({params.get('street', '')})")
    target = f"akimat of district {params['district_of']}" if params.get("akimat") else None
    return (
        f"rule #{params['rule_id']} v{params['version']}: {params['category']} in "
        f"{', '.join(scope)} → {target or 'citywide organization'} {params['organization']}"
    )


def _low_confidence(params: Params) -> str:
    runners_up = ", ".join(f"{code} {p:.2f}" for code, p in params.get("alternatives") or [])
    return (
        f"topic {params['category']} guessed with confidence {params['confidence']:.2f}"
        f" < {params['threshold']:.2f}"
        + (f" (or {runners_up})" if runners_up else "")
        + ": an operator decides"
    )


def _nested(params: Params, key: str) -> str:
    inner = Reason.of(params.get(key))
    return inner.english() if inner is not None else str(params.get(key) or "")


def _clock_resumed(params: Params) -> str:
    capped = "; capped at two months from registration" if params.get("capped") else ""
    return f"clock resumed ({params['why']}): +{params['days']} working day(s){capped}"


ANONYMOUS_TEXT: Final = (
    "anonymous: anonymous appeals are considered only when they report a crime or a threat "
    "to public safety"
)

#: code → its English text. Each reproduces the text the code replaced.
ENGLISH: Final[dict[str, Callable[[Params], str]]] = {
    # --- the pipeline ----------------------------------------------------------------------
    "received": lambda p: f"received via {p['channel']}",
    "registered": lambda p: f"registered on {p['date']}",
    "anonymous": lambda p: ANONYMOUS_TEXT,
    "rule": _rule,
    # --- triage: why no organization was chosen --------------------------------------------
    "no_category": lambda p: "the topic could not be determined",
    "unknown_category": lambda p: f"category {p['category']!r} is not in the taxonomy",
    "no_rule": lambda p: f"no routing rule for category {p['category']}",
    "rule_without_organization": lambda p: f"rule #{p['rule_id']} names no organization",
    "no_district": lambda p: (
        f"category {p['category']} is answered by a district akimat; district unknown"
    ),
    "unknown_district": lambda p: f"district {p['district']!r} is unknown",
    "organization_retired": lambda p: (
        f"rule #{p['rule_id']} names {p['organization']}, retired on {p['retired_on']}"
    ),
    "not_appeal": lambda p: (
        f"not an appeal ({p['kind']}: {', '.join(p.get('evidence') or [])})"
        ": an operator rejects it or files it"
    ),
    "low_confidence": _low_confidence,
    # --- people's actions ------------------------------------------------------------------
    "accepted": lambda p: "accepted by executor",
    "answer_submitted": lambda p: "answer submitted for review",
    "answer_accepted": lambda p: note(p.get("note")) or "answer accepted",
    "answer_returned": lambda p: _note_after(p, str(p["return_reason"])),
    "rejected": lambda p: f"{p['rejection']}: {note(p.get('note'))}",
    "quick_answered": lambda p: "answered on the spot",
    "reopened": lambda p: note(p.get("note")),
    "low_rating": lambda p: f"the citizen rated the answer {p['score']} of 5",
    "sent_back": lambda p: f"sent back: {note(p.get('note'))}",
    "routed": lambda p: f"to {p['organization']}: {note(p.get('note'))}",
    "routed_by": lambda p: (
        f"routed by {p['role']} {p['username']}: {note(p.get('note')) or 'manual'}"
    ),
    "category_set": lambda p: (
        f"category {'confirmed' if p.get('confirmed') else 'corrected to'} {p['category']}"
        + (f"; {_nested(p, 'decision')}" if p.get("decision") else "")
    ),
    "category_triage": lambda p: (
        f"category {'confirmed' if p.get('confirmed') else 'corrected to'} {p['category']} "
        f"by {p['role']}: " + _nested(p, "decision")
    ),
    "operator_call": lambda p: "chosen by the operator during the call",
    "extended": lambda p: f"until {p['until']}: {note(p.get('note'))}",
    "clock_paused": lambda p: _note_after(p, f"clock paused: {p['pause_reason']}"),
    "clock_resumed": _clock_resumed,
    "reorganized": lambda p: f"reorganization #{p['change']}: {p['kind']} {p['from']}→{p['to']}",
}


# --- rows written before the codes: the English read back ----------------------------------

_R = re.compile
_LEGACY: Final[list[tuple[re.Pattern[str], Callable[[re.Match[str]], Reason]]]] = [
    (_R(r"received via (\w+)"), lambda m: Reason("received", {"channel": m[1]})),
    (_R(r"registered on (\d{4}-\d{2}-\d{2})"), lambda m: Reason("registered", {"date": m[1]})),
    (_R(re.escape(ANONYMOUS_TEXT)), lambda m: Reason("anonymous")),
    (
        _R(
            r"rule #(\d+) v(\d+): ([\w.]+) in (?:district ([\w-]+)|any district)"
            r"(?:, ([\w.-]+) \((.*)\))? → (?:akimat of district ([\w-]+)|citywide organization)"
            r" ([\w.-]+)"
        ),
        lambda m: Reason(
            "rule",
            {
                "rule_id": int(m[1]),
                "version": int(m[2]),
                "category": m[3],
                "district": m[4],
                "area": m[5],
                "street": m[6],
                "akimat": m[7] is not None,
                "district_of": m[7],
                "organization": m[8],
            },
        ),
    ),
    (_R(r"the topic could not be determined"), lambda m: Reason("no_category")),
    (
        _R(r"category '([\w.]+)' is not in the taxonomy"),
        lambda m: Reason("unknown_category", {"category": m[1]}),
    ),
    (_R(r"no routing rule for category ([\w.]+)"), lambda m: Reason("no_rule", {"category": m[1]})),
    (
        _R(r"rule #(\d+) names no organization"),
        lambda m: Reason("rule_without_organization", {"rule_id": int(m[1])}),
    ),
    (
        _R(r"category ([\w.]+) is answered by a district akimat; district unknown"),
        lambda m: Reason("no_district", {"category": m[1]}),
    ),
    (
        _R(r"district '([\w-]+)' is unknown"),
        lambda m: Reason("unknown_district", {"district": m[1]}),
    ),
    (
        _R(r"rule #(\d+) names ([\w.-]+), retired on ([\d-]+)"),
        lambda m: Reason(
            "organization_retired",
            {"rule_id": int(m[1]), "organization": m[2], "retired_on": m[3]},
        ),
    ),
    (
        _R(r"not an appeal \((\w+): (.*)\): an operator rejects it or files it"),
        lambda m: Reason(
            "not_appeal", {"kind": m[1], "evidence": [e for e in m[2].split(", ") if e]}
        ),
    ),
    (
        _R(
            r"topic ([\w.]+) guessed with confidence ([\d.]+) < ([\d.]+)"
            r"(?: \(or (.*)\))?: an operator decides"
        ),
        lambda m: Reason(
            "low_confidence",
            {
                "category": m[1],
                "confidence": float(m[2]),
                "threshold": float(m[3]),
                "alternatives": [
                    [part.rsplit(" ", 1)[0], float(part.rsplit(" ", 1)[1])]
                    for part in (m[4] or "").split(", ")
                    if " " in part
                ],
            },
        ),
    ),
    (_R(r"accepted by executor"), lambda m: Reason("accepted")),
    (_R(r"answer submitted for review"), lambda m: Reason("answer_submitted")),
    (_R(r"answer accepted"), lambda m: Reason("answer_accepted")),
    (_R(r"answered on the spot"), lambda m: Reason("quick_answered")),
    (
        _R(r"the citizen rated the answer (\d) of 5"),
        lambda m: Reason("low_rating", {"score": int(m[1])}),
    ),
    (_R(r"sent back: (.*)", re.S), lambda m: Reason("sent_back", {"note": m[1]})),
    (
        _R(r"routed by (\w+) (\S+): (.*)", re.S),
        lambda m: _with_cause("routed_by", {"role": m[1], "username": m[2]}, m[3]),
    ),
    (
        _R(r"to ([\w.-]+): (.*)", re.S),
        lambda m: _with_cause("routed", {"organization": m[1]}, m[2]),
    ),
    (
        _R(r"category (confirmed|corrected to) ([\w.]+); (.*)", re.S),
        lambda m: Reason(
            "category_set",
            {"category": m[2], "confirmed": m[1] == "confirmed", "decision": _legacy_dict(m[3])},
        ),
    ),
    (
        _R(r"category (confirmed|corrected to) ([\w.]+) by (\w+): (.*)", re.S),
        lambda m: Reason(
            "category_triage",
            {
                "category": m[2],
                "confirmed": m[1] == "confirmed",
                "role": m[3],
                "decision": _legacy_dict(m[4]),
            },
        ),
    ),
    (
        _R(r"category (confirmed|corrected to) ([\w.]+)"),
        lambda m: Reason(
            "category_set", {"category": m[2], "confirmed": m[1] == "confirmed", "decision": None}
        ),
    ),
    (_R(r"chosen by the operator during the call"), lambda m: Reason("operator_call")),
    (
        _R(r"until (\d{4}-\d{2}-\d{2}): (.*)", re.S),
        lambda m: Reason("extended", {"until": m[1], "note": m[2]}),
    ),
    (
        _R(r"clock paused: (\w+)(?:: (.*))?", re.S),
        lambda m: Reason("clock_paused", {"pause_reason": m[1], "note": m[2] or ""}),
    ),
    (
        _R(r"clock resumed \(([^)]*)\): \+(\d+) working day\(s\)(; capped.*)?"),
        lambda m: Reason(
            "clock_resumed", {"why": m[1], "days": int(m[2]), "capped": m[3] is not None}
        ),
    ),
    (
        _R(r"reorganization #(\d+): (\w+) ([\w.-]+)→([\w.-]+)"),
        lambda m: Reason(
            "reorganized", {"change": int(m[1]), "kind": m[2], "from": m[3], "to": m[4]}
        ),
    ),
]


def _legacy_dict(text: str) -> dict[str, Any] | None:
    inner = parse_legacy(text)
    return inner.as_dict() if inner is not None else None


def _with_cause(code: str, params: dict[str, Any], text: str) -> Reason:
    """A manual routing's English note: the system's own words (a category correction, the
    operator's call) become its cause; a person's words stay the note."""
    inner = parse_legacy(text)
    if inner is not None:
        return Reason(code, {**params, "note": "", "cause": inner.as_dict()})
    return Reason(code, {**params, "note": "" if text == "manual" else text, "cause": None})


#: By the status a row led to: the texts that were a code and a person's note.
_LEGACY_BY_STATUS: Final[dict[str, tuple[re.Pattern[str], Callable[[re.Match[str]], Reason]]]] = {
    "rejected": (
        _R(r"([a-z_]+): (.*)", re.S),
        lambda m: Reason("rejected", {"rejection": m[1], "note": m[2]}),
    ),
    "returned": (
        _R(r"([a-z_]+)(?:: (.*))?", re.S),
        lambda m: Reason("answer_returned", {"return_reason": m[1], "note": m[2] or ""}),
    ),
    "closed": (_R(r"(.*)", re.S), lambda m: Reason("answer_accepted", {"note": m[1]})),
    "reopened": (_R(r"(.*)", re.S), lambda m: Reason("reopened", {"note": m[1]})),
}


def parse_legacy(text: str | None, to_status: str | None = None) -> Reason | None:
    """The code behind an English reason we wrote before codes were stored; None when the
    text is not one of ours (free text then renders as it is). ``to_status``, the status
    the row led to, tells a rejection's code from a return's."""
    if not text:
        return None
    text = text.strip()
    for pattern, build in _LEGACY:
        match = pattern.fullmatch(text)
        if match is not None:
            return build(match)
    by_status = _LEGACY_BY_STATUS.get(to_status or "")
    if by_status is not None:
        match = by_status[0].fullmatch(text)
        if match is not None:
            return by_status[1](match)
    return None


def stored(
    code: str | None, params: Params | None, english: str | None, to_status: str | None = None
) -> Reason | None:
    """The reason of a stored row: its code when it has one, else the English read back."""
    if code:
        return Reason(code, dict(params or {}))
    return parse_legacy(english, to_status)
