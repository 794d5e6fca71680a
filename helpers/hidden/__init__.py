"""Hidden tests: the checks that nbgrader's hidden test cells call.

One module per notebook, named like its reference module. Each check first
computes what is expected (with ``helpers.reference``), then runs the student's
code sealed (``helpers.hidden.seal``), then compares with ``helpers.checks``,
naming the known mistake that fits. Like the reference, this package is the
instructor's: the student bundle ships without it.
"""
