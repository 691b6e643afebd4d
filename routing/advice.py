"""The routing dry run: what the classifier thinks, and which rule would send it where.

Operators see it beside the manual-routing form; admins use ``civicdesk route
"text" --json`` to check rules. It decides exactly as the pipeline does: the
trained classifier's topic with its calibrated confidence and runners-up (each
routed too), the gazetteer's district, urgency with the words that raised it,
and whether the text is an appeal at all.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from appeals.models import Appeal
from core.clock import local, now
from core.errors import ValidationFailed
from core.settings import get_settings
from nlp.annotate import Annotation, annotate, load_lexicon
from routing.models import Category, District, Organization
from routing.service import routing_table


def _organization(session: Session, organization_id: int | None, language: str) -> dict[str, Any]:
    organization = session.get(Organization, organization_id) if organization_id else None
    if organization is None:
        return {"organization": None, "organization_code": None}
    return {"organization": organization.name(language), "organization_code": organization.code}


def advise(
    session: Session,
    *,
    text: str,
    address: str | None = None,
    district_code: str | None = None,
    category_code: str | None = None,
    language: str | None = None,
    annotation: Annotation | None = None,
) -> dict[str, Any]:
    """The annotation and the routing decision for a text, with the top alternatives routed
    too. ``annotation``: already made for this text (a batch of dry runs annotates at once)."""
    if district_code and session.get(District, district_code) is None:
        raise ValidationFailed(f"unknown district {district_code!r}", code="unknown_district")
    settings = get_settings()
    if annotation is None:
        annotation = annotate(
            text,
            load_lexicon(settings.data_dir),
            use_natasha=settings.nlp_use_natasha,
            address=address,
        )
    shown = language or annotation.language
    table = routing_table(session)
    today = local(now()).date()
    district = district_code or annotation.district_code
    category = category_code or annotation.category_code
    place = f"{address or ''} {text}"
    decision = table.decide(
        category_code=category, district_code=district, on=today, place_text=place
    )
    guessed = category_code is None
    low = (
        guessed and category is not None and annotation.confidence < settings.routing_min_confidence
    )
    district_row = session.get(District, district) if district else None
    category_row = session.get(Category, category) if category else None
    alternatives = []
    for code, confidence in annotation.alternatives:
        alternative = table.decide(
            category_code=code, district_code=district, on=today, place_text=place
        )
        alternative_category = session.get(Category, code)
        alternatives.append(
            {
                "category": code,
                "category_name": alternative_category.name(shown) if alternative_category else None,
                "confidence": confidence,
                "rule_id": alternative.rule_id,
                **_organization(session, alternative.organization_id, shown),
            }
        )
    triage = decision.triage_reason
    if low:
        triage = "low_confidence"
    if guessed and annotation.not_appeal:
        triage = "not_appeal"
    return {
        "language": annotation.language,
        "reply_language": annotation.reply_language,
        "category": category,
        "category_name": category_row.name(shown) if category_row else None,
        "confidence": annotation.confidence if guessed else 1.0,
        "district": district,
        "district_name": district_row.name(shown) if district_row else None,
        "district_evidence": annotation.district_evidence if not district_code else None,
        "district_source": annotation.district_source if not district_code else "given",
        "service_areas": table.areas_in(place),
        "urgency": annotation.urgency,
        "urgency_triggers": annotation.urgency_triggers,
        "urgency_reasons": annotation.urgency_reasons,
        "not_appeal": annotation.not_appeal,
        "not_appeal_evidence": annotation.not_appeal_evidence,
        "topic_source": annotation.topic_source if guessed else "given",
        "model_version": _model_version() if annotation.topic_source == "model" else None,
        "min_confidence": settings.routing_min_confidence,
        "appeal_type": annotation.appeal_type,
        **_organization(session, decision.organization_id, shown),
        "rule_id": decision.rule_id,
        "rule": decision.reason,
        "rule_reason": decision.why.as_dict(),
        "triage_reason": triage,
        "alternatives": alternatives,
        # The city's history (text → executor): shown where the rules route nothing.
        "learned_executor": learned_executor(session, text, shown),
    }


def learned_executor(session: Session, text: str, language: str) -> dict[str, Any] | None:
    """What the model of the city's own history proposes (``nlp_executor_model_dir``): an
    active organization and the model's calibrated confidence, or None (no model, a label
    that names no organization, or a guess less sure than ``nlp_executor_min_confidence``)."""
    from nlp import topic
    from nlp.engine import ModelError

    settings = get_settings()
    try:
        loaded = topic.get_model_at(topic.resolve_path(settings.nlp_executor_model_dir))
    except ModelError:
        return None
    [prediction] = loaded.classifier.predict([text], top_k=1)
    if prediction.confidence < settings.nlp_executor_min_confidence:
        return None
    organization = organization_for_label(session, prediction.label)
    if organization is None or not organization.is_active_on(local(now()).date()):
        return None
    return {
        "organization_code": organization.code,
        "organization": organization.name(language),
        "confidence": round(prediction.confidence, 4),
        "label": prediction.label,
        "model_version": loaded.metadata.version,
    }


def organization_for_label(session: Session, label: str) -> Organization | None:
    """A history's executor label → the organization: its code, or its Russian or Kazakh
    name (case and spaces aside)."""
    found = session.scalars(select(Organization).where(Organization.code == label)).first()
    if found is not None:
        return found
    wanted = " ".join(label.lower().split())
    for organization in session.scalars(select(Organization)):
        names = (organization.name_ru, organization.name_kk)
        if any(" ".join(name.lower().split()) == wanted for name in names):
            return organization
    return None


def _model_version() -> str | None:
    from nlp import topic

    try:
        return topic.get_model().metadata.version
    except Exception:  # the annotation fell back to keywords; no version to show
        return None


def advise_for_appeal(session: Session, appeal: Appeal, *, language: str = "ru") -> dict[str, Any]:
    """The dry run for an appeal as it stands (its own district and address), and how it
    was actually routed."""
    advice = advise(
        session,
        text=appeal.text,
        address=appeal.address,
        district_code=appeal.district_code,
        language=language,
    )
    advice["current"] = {
        **_organization(session, appeal.organization_id, language),
        "rule_id": appeal.routing_rule_id,
        "reason": appeal.routing_reason,
        "triage_reason": appeal.triage_reason,
    }
    return advice
