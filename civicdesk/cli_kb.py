"""The ``civicdesk`` commands of knowledge base."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: argparse._SubParsersAction[Any]) -> None:
    """Add this capability's commands to the parser."""
