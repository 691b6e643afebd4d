"""Shared data sets are found beside the repository, wherever it is cloned (issue 14, item 13).

``../shared/datasets`` relative to the repository, never an absolute path of one machine;
a missing data set skips its tests with the reason, and fails them under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import REPO_ROOT
from tests import nlp_support


def test_no_test_names_an_absolute_path_to_the_shared_data_sets() -> None:
    offenders = [
        path.name
        for path in (REPO_ROOT / "tests").glob("*.py")
        if "/work" + "/shared" in path.read_text(encoding="utf-8")
    ]
    assert offenders == []
    assert REPO_ROOT.parent / "shared" / "datasets" == nlp_support.SHARED_DATASETS


def test_a_missing_data_set_skips_with_its_name_or_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nlp_support, "SHARED_DATASETS", tmp_path)
    monkeypatch.setenv("CI", "")
    with pytest.raises(pytest.skip.Exception, match=r"ryazan-nashdom-2019/appeals\.csv"):
        nlp_support.shared_dataset("ryazan-nashdom-2019/appeals.csv")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        nlp_support.shared_dataset("ryazan-nashdom-2019/appeals.csv")
    (tmp_path / "set").mkdir()
    (tmp_path / "set" / "data.csv").write_text("text\n", encoding="utf-8")
    assert nlp_support.shared_dataset("set/data.csv") == tmp_path / "set" / "data.csv"
