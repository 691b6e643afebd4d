"""Indexes the staff search needs (declared here, created by migration 0012_experience).

``ix_appeals_search_vector``: the GIN index of the text's Russian full-text vector;
``ix_appeals_received_at``: the newest-first list; the trigram indexes (``pg_trgm``) find
part of a tracking number, a phone or a name with ``LIKE '%…%'``, which the planner serves
from them with no function of pg_trgm named in the query.
"""

from __future__ import annotations

from sqlalchemy import Index

from appeals.models import Appeal, Citizen
from core.db import table_of

_appeals = table_of(Appeal).c
_citizens = table_of(Citizen).c

SEARCH_VECTOR = Index("ix_appeals_search_vector", _appeals.search_vector, postgresql_using="gin")
RECEIVED_AT = Index("ix_appeals_received_at", _appeals.received_at, _appeals.id)
TRACKING_NUMBER_TRGM = Index(
    "ix_appeals_tracking_number_trgm",
    _appeals.tracking_number,
    postgresql_using="gin",
    postgresql_ops={"tracking_number": "gin_trgm_ops"},
)
FULL_NAME_TRGM = Index(
    "ix_citizens_full_name_trgm",
    _citizens.full_name,
    postgresql_using="gin",
    postgresql_ops={"full_name": "gin_trgm_ops"},
)
PHONE_TRGM = Index(
    "ix_citizens_phone_e164_trgm",
    _citizens.phone_e164,
    postgresql_using="gin",
    postgresql_ops={"phone_e164": "gin_trgm_ops"},
)
