"""Put a graded submission's autograded notebook and feedback page into the course, in
place of the last run's, so that no page outlives the scores it shows."""

import html
import shutil
from pathlib import Path

PAGE = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>{assignment}: not graded</title></head>
<body style="font-family: sans-serif; max-width: 40em; margin: 3em auto">
<h1>{assignment}</h1>
<p>Your submission could not be graded automatically:</p>
<p><strong>{reason}</strong></p>
<p>Its score is {score}. Ask your instructor if this is unexpected.</p>
</body></html>
"""


def destination(root, kind, student, assignment):
    return Path(root) / "autograde" / kind / student / assignment


def publish(root, result, score=None):
    """Replace this submission's folders under autograde/autograded/ and feedback/ with the
    result's; where the result has no feedback page, write one that says why."""
    for kind in ("autograded", "feedback"):
        target = destination(root, kind, result.student, result.assignment)
        shutil.rmtree(target, ignore_errors=True)
        source = result.folders.get(kind)
        if source and Path(source).is_dir():
            shutil.copytree(source, target)
            shutil.rmtree(source, ignore_errors=True)
    if "feedback" not in result.folders:
        target = destination(root, "feedback", result.student, result.assignment)
        target.mkdir(parents=True, exist_ok=True)
        (target / f"{result.assignment}.html").write_text(PAGE.format(
            assignment=html.escape(result.assignment), reason=html.escape(result.reason),
            score="0" if score is None else f"{score:g}"))


def discard(result):
    """Remove the result's scratch folders without publishing them."""
    for source in result.folders.values():
        shutil.rmtree(source, ignore_errors=True)
