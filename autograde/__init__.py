"""The instructor's side of the course: grade a class in parallel with nbgrader's API.

    python -m autograde.grade [--assignment ID] [--student ID]     (make grade)

``execute`` bounds what a submission can do to its kernel, ``worker`` grades one
submission in a scratch course, ``gradebook`` merges results into the course's
gradebook and reads grades back, ``samples`` builds sample submissions from a release.
"""
