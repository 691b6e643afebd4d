"""A command run against a database nobody migrated says so in one line, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_command_on_an_unmigrated_database_says_to_migrate(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("CIVICDESK_")}
    env = {**clean, "CIVICDESK_DATABASE_URL": f"sqlite:///{tmp_path / 'empty.sqlite3'}"}
    completed = subprocess.run(
        [sys.executable, "-m", "civicdesk.cli", "route", "Во дворе не вывозят мусор", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert completed.returncode == 2, completed.stderr[-2000:]
    assert completed.stderr.startswith("error [database_not_migrated]: the database has no table")
    assert "civicdesk migrate" in completed.stderr
    assert "Traceback" not in completed.stderr
