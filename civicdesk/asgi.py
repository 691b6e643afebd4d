"""ASGI entry for uvicorn: ``civicdesk.asgi:app``."""

from civicdesk.app import create_app

app = create_app()
