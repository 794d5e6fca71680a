"""02_gru_equations: its visible and hidden tests pass the solution, the reference and
every correct variant, and name each mistake of tests/wrong_answers/gru_equations.py where
the student first meets it (tests/exercise_suite.py)."""

from tests.exercise_suite import exercise_suite

globals().update(exercise_suite("02_gru_equations"))
