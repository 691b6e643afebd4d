"""Server-rendered pages: the citizens' portal and the staff side."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles


def install_web(app: FastAPI) -> None:
    """Mount the portal, the staff pages and their static files."""
    from civicdesk.web import staff_auth
    from civicdesk.web.portal import pages as portal
    from civicdesk.web.rendering import STATIC_DIR
    from civicdesk.web.staff import pages as staff

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> FileResponse:
        """Browsers ask for it on every page; a 404 there fills the logs."""
        return FileResponse(
            STATIC_DIR / "favicon.ico",
            media_type="image/x-icon",
            headers={"Cache-Control": "public, max-age=604800"},
        )

    staff_auth.install_login_redirect(app)
    app.include_router(portal.router)
    app.include_router(staff_auth.router)
    app.include_router(staff.router)
    from civicdesk.web.staff import corrections as staff_corrections

    app.include_router(staff_corrections.router)
    from civicdesk.web.board import pages as sla_board

    app.include_router(sla_board.router)
    from civicdesk.web.analytics import pages as analytics_pages

    app.include_router(analytics_pages.router)  # analytics for the Situation Center (issue 17)
    from civicdesk.web.kb import pages as kb_pages

    app.include_router(kb_pages.router)  # the knowledge base's editor pages (issue 15)
    from civicdesk.web.social import pages as social_pages

    app.include_router(social_pages.router)  # social-media monitoring for operators (issue 18)
    from civicdesk.web.ratings import operators as ratings_operators
    from civicdesk.web.ratings import organization as ratings_organization
    from civicdesk.web.ratings import pages as ratings_pages

    app.include_router(ratings_pages.router)  # the ranking pages (issue 16)
    app.include_router(ratings_organization.router)
    app.include_router(ratings_operators.router)
