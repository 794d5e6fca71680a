"""Answers students write, declared beside their code in ``tests/wrong_answers/<topic>.py``.

    @correct("sigmoid")                       # written differently, full marks
    def sigmoid__split(x): ...

    @correct("gru_cell_backward", given={"gru_cell_forward": gru_cell_forward__fused})
    def gru_cell_backward__fused(dh, cache): ...  # right with the forward it was written for

    @mistake("sigmoid", "sign of the exponent is flipped")   # a phrase its message names
    def sigmoid__sign_flipped(x): ...

    @mistake("clip_grad_norm", "in place", seen_by="hidden")  # the visible test passes it
    def clip_grad_norm__in_place(grads, max_norm): ...

    @delegates("sigmoid")                     # calls what the exercise forbids
    def sigmoid__reference(x): ...

``tests/exercise_suite.py`` runs every declared variant through its exercise's test cells
(visible part, then hidden part) and asserts what each declaration says.
"""

import ast
import importlib
import inspect
from dataclasses import dataclass

SEEN_BY = ("visible", "hidden")


@dataclass(frozen=True)
class Variant:
    exercise: str      # the graded name it answers
    kind: str          # "correct", "mistake" or "delegates"
    answer: object     # the function or class
    names: str = ""    # mistakes: a phrase the failure message contains; delegates: the call
    seen_by: str = ""  # mistakes: the first part of the test cell that fails
    given: tuple = ()  # correct answers: (graded name, answer) pairs it is written with

    @property
    def answers(self):
        """What replaces the solution's answers: the variant and what it is given."""
        return {self.exercise: self.answer, **dict(self.given)}

    @property
    def id(self):
        return self.answer.__name__


def _declare(exercise, kind, names="", seen_by="", given=()):
    def register(answer):
        answer.__variant__ = Variant(exercise, kind, answer, names, seen_by, given)
        return answer
    return register


def correct(exercise, given=None):
    """``given``: other answers it is written with, by graded name (a backward that reads
    the cache of its own forward)."""
    return _declare(exercise, "correct", given=tuple((given or {}).items()))


def mistake(exercise, names, seen_by="visible"):
    if seen_by not in SEEN_BY:
        raise ValueError(f"seen_by must be one of {SEEN_BY}, got {seen_by!r}")
    return _declare(exercise, "mistake", names, seen_by)


def delegates(exercise, calls="helpers.reference"):
    return _declare(exercise, "delegates", calls)


def variants(topic):
    """Every variant declared in ``tests/wrong_answers/<topic>.py``, in file order."""
    module = importlib.import_module(f"tests.wrong_answers.{topic}")
    return [value.__variant__ for value in vars(module).values()
            if hasattr(value, "__variant__") and value.__module__ == module.__name__]


def standalone_source(variant):
    """Source that defines the variant under its graded name (what a sample submission
    pastes into an answer cell): the variant with the imports and module-level helpers it
    uses, run in a namespace of its own so that its helpers shadow nothing of the
    notebook's. Decorators are left out."""
    module = inspect.getmodule(variant.answer)
    tree = ast.parse(inspect.getsource(module))
    imports = [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)
               and not _imports_course_internals(node)]
    definitions = {name: node for node in tree.body for name in _defined(node)}
    needed, queue = [], [variant.answer.__name__]
    while queue:
        name = queue.pop()
        node = definitions.get(name)
        if node is None or node in needed:
            continue
        needed.append(node)
        queue += [n.id for n in ast.walk(node) if isinstance(n, ast.Name)]
    chosen = [node for node in tree.body if node in needed]
    for node in chosen:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            node.decorator_list = []
    body = "\n\n".join(ast.unparse(node) for node in imports + chosen)
    return (f"exec({body!r}, _wrong_answer := {{}})\n"
            f"{variant.exercise} = _wrong_answer[{variant.answer.__name__!r}]\n")


def _defined(node):
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign):
        return [t.id for t in node.targets if isinstance(t, ast.Name)]
    return []


def _imports_course_internals(node):
    """An import of the tests or of the instructor's side, which a submission cannot have."""
    if isinstance(node, ast.ImportFrom):
        names = [f"{node.module}.{alias.name}" for alias in node.names]
    else:
        names = [alias.name for alias in node.names]
    return any(name.startswith(("tests", "helpers.reference", "helpers.hidden"))
               for name in names)
