"""The instructor's guide: per notebook, what a teaching assistant needs to grade alike.

    python -m tools.guide          (make guide)

Built from the solutions (learning goals, written questions with their model answers and
rubrics) and from the mistakes the hidden tests name (tests/wrong_answers/).
"""

import re
from dataclasses import dataclass

RUBRIC = re.compile(r"^\*\*Rubric \((\d+) points?\)\.\*\*\s*$", re.M)
CRITERION = re.compile(r"^- \((\d+)\) (.+)$", re.M)
MODEL = re.compile(r"\*Model answer\.\*")


@dataclass
class WrittenAnswer:
    model: str           # the model answer, markdown
    points: int          # what the rubric's heading says the question is worth
    criteria: list       # (points, criterion) pairs


def parse_written_answer(source):
    """The model answer and the rubric of a written answer's solution cell."""
    rubric = RUBRIC.search(source)
    model_at = MODEL.search(source)
    end = rubric.start() if rubric else len(source)
    model = source[model_at.end():end].strip() if model_at else ""
    if not rubric:
        return WrittenAnswer(model, 0, [])
    criteria = [(int(points), text.strip())
                for points, text in CRITERION.findall(source[rubric.end():])]
    return WrittenAnswer(model, int(rubric.group(1)), criteria)
