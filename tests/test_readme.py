"""What README promises holds: its count of the mistakes the tests are proven against,
and of those the visible tests name, is the count of tests/wrong_answers/."""

import re

from tests.variants import variants
from tools.course import ASSIGNMENTS, ROOT, topic


def test_the_students_promise_counts_the_mistakes_as_they_are():
    text = " ".join((ROOT / "README.md").read_text().split())
    promise = re.search(r"Of the (\d+) mistakes .*?, (\d+) are named by the first check that "
                        r"fails .*? the other (\d+) pass it", text)
    assert promise, "README's students' promise is gone or reworded: update this test"
    mistakes = [v for a in ASSIGNMENTS for v in variants(topic(a)) if v.kind == "mistake"]
    visible = sum(v.seen_by == "visible" for v in mistakes)
    assert tuple(map(int, promise.groups())) == (
        len(mistakes), visible, len(mistakes) - visible)
