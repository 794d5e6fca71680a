"""What the course's notebooks and tests share.

- ``helpers.checks``: assertions whose failure explains itself to a student.
- ``helpers.data``: every data set of the course, generated offline from a seed.
- ``helpers.plotting``: the course's figure style.
- ``helpers.runtime``: seeding, and experiment sizes that shrink under grading.
- ``helpers.reference`` and ``helpers.hidden``: the instructor's side (reference
  answers and hidden tests); the student bundle ships without them.
"""
