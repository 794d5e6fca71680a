import shutil

import pytest

from tools.course import ROOT


@pytest.fixture
def course_copy(tmp_path):
    """A throwaway course folder (config and solutions), so tests never touch the real
    gradebook or notebooks/."""
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    shutil.copytree(ROOT / "solutions", tmp_path / "solutions")
    (tmp_path / "autograde").mkdir()
    return tmp_path


from tests.hidden_suite import seal_lifted  # noqa: E402,F401 - a fixture for every test file
