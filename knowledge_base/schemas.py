"""What the API, the import and the editor pages accept and return."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

SLUG = r"^[a-z0-9][a-z0-9-]{1,118}$"


class ArticleIn(BaseModel):
    """One article as an editor or a file gives it; Russian is required, Kazakh expected."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    slug: str = Field(pattern=SLUG)
    kind: Literal["article", "life_situation"] = "article"
    status: Literal["draft", "published", "archived"] = "draft"
    title_ru: str = Field(min_length=3, max_length=300)
    title_kk: str = Field(default="", max_length=300)
    body_ru: str = Field(min_length=3, max_length=20_000)
    body_kk: str = Field(default="", max_length=20_000)
    steps_ru: list[str] = Field(default_factory=list, max_length=50)
    steps_kk: list[str] = Field(default_factory=list, max_length=50)
    organization: str | None = Field(default=None, max_length=64)  # organization code
    category: str | None = Field(default=None, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=30)
    sources: list[str] = Field(default_factory=list, max_length=20)
    checked_on: date | None = None
    example: bool = False

    @field_validator("steps_ru", "steps_kk", "tags", "sources", mode="before")
    @classmethod
    def _no_blank(cls, items: object) -> object:
        """Blank items out; numbers as text (YAML reads the tag 104 as a number)."""
        if not isinstance(items, list):
            return items
        texts = [str(item).strip() if isinstance(item, int | float) else item for item in items]
        return [item.strip() if isinstance(item, str) else item for item in texts if item != ""]


class ArticleOut(BaseModel):
    id: int
    slug: str
    kind: str
    status: str
    title_ru: str
    title_kk: str
    body_ru: str
    body_kk: str
    steps_ru: list[str]
    steps_kk: list[str]
    organization: str | None
    category: str | None
    tags: list[str]
    sources: list[str]
    checked_on: date | None
    example: bool
    version: int


class VersionOut(BaseModel):
    version: int
    edited_by: str
    reason: str
    created_at: str
    status: str


class HitOut(BaseModel):
    """One suggested article for a question, in the asked language."""

    id: int
    slug: str
    title: str
    answer: str  # the text an operator inserts or a bot sends
    confidence: float  # calibrated probability that this article answers the question
    confidence_words: str  # the same, said in words (ru or kk)
    sure: bool  # above the threshold the bots answer on their own
    organization: str | None


class SearchOut(BaseModel):
    query: str
    lang: str
    retriever: str  # "e5+tfidf" or "tfidf" (the fallback)
    hits: list[HitOut]


class PairIn(BaseModel):
    """An operator's or a citizen's choice: this article answered (or not) this question."""

    model_config = ConfigDict(extra="forbid")

    question: str = Field(min_length=2, max_length=5000)
    lang: Literal["ru", "kk"] = "ru"
    helped: bool | None = None
