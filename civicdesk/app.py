"""The FastAPI application factory."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from sqlalchemy import text

from analytics.open311_api import router as open311_router
from channels.bots_api import router as bots_router
from channels.portal_api import router as portal_router
from channels.portal_api import staff_router as attachments_staff_router
from channels.portal_api import upload_limit
from channels.telephony.api import router as callcenter_router
from civicdesk.api_docs import install_docs
from civicdesk.appeals_api import router as staff_appeals_router
from civicdesk.errors import install_error_handlers
from civicdesk.http_guard import HttpGuard, install_access_log_redaction
from civicdesk.staff_api import router as staff_router
from civicdesk.web.console.pages import router as console_router
from civicdesk.web.staff.sla_panel import router as sla_panel_router
from core import db
from core.api_deps import DbSession
from core.auth_api import router as auth_router
from core.settings import Settings, get_settings
from intake.api import router as appeals_router
from intake.corrections_api import router as category_corrections_router
from intake.place_api import router as district_corrections_router
from intake.repeats.identity_api import router as citizens_router
from intake.repeats.links_api import router as links_router
from routing.advice_api import router as routing_help_router
from routing.api import router as reference_router
from routing.api import rules_router
from routing.coexecutors_api import router as coexecutors_router
from routing.reorganization_api import router as reorganization_router
from sla.api import router as sla_router
from sla.board_api import router as sla_board_router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level)
    db.configure(settings)
    app = FastAPI(
        title="CivicDesk",
        version="0.1.0",
        description="Appeals engine of a public reception office: submit, route, track, answer.",
        docs_url=None,  # served offline by civicdesk.api_docs
        redoc_url=None,
    )
    install_error_handlers(app)
    install_docs(app)
    install_access_log_redaction()
    # Body size and read time, security headers, the last net for errors (issue 13).
    app.add_middleware(
        HttpGuard,
        max_body_bytes=settings.http_max_body_bytes,
        upload_limit=upload_limit(),
        body_timeout_s=settings.http_body_timeout_s,
    )
    app.include_router(auth_router)
    app.include_router(routing_help_router)  # before /appeals/{id}: its paths are more specific
    app.include_router(coexecutors_router)
    app.include_router(category_corrections_router)  # nlp corrections (issue 4B)
    app.include_router(district_corrections_router)  # districts people confirmed (issue 19)
    app.include_router(links_router)
    app.include_router(citizens_router)
    app.include_router(appeals_router)  # submit and track
    app.include_router(staff_appeals_router)  # the staff's list, one appeal, actions
    app.include_router(reference_router)
    app.include_router(rules_router)
    app.include_router(reorganization_router)
    app.include_router(staff_router)
    app.include_router(console_router)  # the operator console (issue 8)
    app.include_router(callcenter_router)  # calls, queue metrics, callbacks (issue 8A)
    app.include_router(bots_router)  # Telegram and WhatsApp webhooks (issue 7A)
    app.include_router(portal_router)  # portal / mobile-app JSON API (issue 7B)
    app.include_router(attachments_staff_router)  # attachment files for staff (issue 7B)
    app.include_router(sla_board_router)
    app.include_router(sla_router)
    app.include_router(sla_panel_router)  # SLA clock forms and the staff inbox (issue 6A)
    app.include_router(open311_router)  # Open311 GeoReport v2 (issue 17)
    from civicdesk.ratings_api import include_ratings_api

    include_ratings_api(app)  # the ranking, satisfaction, operators' view (issue 16)

    from knowledge_base.api import router as kb_router

    app.include_router(kb_router)  # the quick-answer knowledge base (issue 15)
    from channels.social.api import router as social_router
    from channels.social.api import webhooks as social_webhooks

    app.include_router(social_webhooks)  # Instagram, Facebook Pages, VK webhooks (issue 18)
    app.include_router(social_router)  # the monitoring's staff API (issue 18)
    from channels.social.config import accounts as social_accounts

    social_accounts(settings)  # a bad CIVICDESK_SOCIAL_ACCOUNTS stops the start, named
    from civicdesk.web import install_web

    install_web(app)

    @app.get("/healthz", tags=["ops"])
    def health(session: DbSession) -> dict[str, str]:
        session.execute(text("SELECT 1"))
        return {"status": "ok", "jobs": "inline" if settings.jobs_inline else "rq"}

    return app
