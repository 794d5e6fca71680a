"""Write the archive an instructor hands to students.

    python -m tools.bundle [--out build/gru-course-student.zip]

It holds the released notebooks, the ``helpers`` package without the instructor's side
(``helpers/reference``, ``helpers/hidden``), the environment files, and a student README
and Makefile (from ``tools/bundle/``). It never holds solutions/, autograde/ or tests/,
and the build stops if a file it would ship carries solution code.
"""

import argparse
import re
import zipfile
from pathlib import Path

import nbformat

from tools.book import title_and_summary
from tools.course import ROOT, existing_assignments, notebook_path

NAME = "gru-course-student"
DEFAULT_OUT = ROOT / "build" / f"{NAME}.zip"
STUDENT_FILES = Path(__file__).resolve().parent / "bundle"
ENVIRONMENT_FILES = ("requirements.txt", "environment.yml", "pyproject.toml")
INSTRUCTOR_ONLY = ("helpers/reference", "helpers/hidden")
SKIPPED = ("__pycache__", ".ipynb_checkpoints")
SOLUTION_CODE = re.compile(r"### BEGIN SOLUTION|### BEGIN HIDDEN TESTS|=== BEGIN MARK SCHEME")


def shipped(path, root):
    relative = path.relative_to(root).as_posix()
    return (path.is_file() and not any(part in SKIPPED for part in path.parts)
            and not any(relative == d or relative.startswith(d + "/") for d in INSTRUCTOR_ONLY))


def course_files(root=ROOT):
    """``{name in the archive: file}`` for the notebooks, helpers and environment files."""
    root = Path(root)
    files = {name: root / name for name in ENVIRONMENT_FILES}
    for folder in ("notebooks", "helpers"):
        for path in sorted((root / folder).rglob("*")):
            if shipped(path, root):
                files[path.relative_to(root).as_posix()] = path
    return files


def student_readme(root=ROOT):
    """The student README, its contents list made from the released notebooks' titles."""
    lines = []
    for assignment in existing_assignments("notebooks", root):
        path = notebook_path("notebooks", assignment, root)
        title, _ = title_and_summary(nbformat.read(path, as_version=4), assignment)
        lines.append(f"- {title}: `{path.relative_to(root).as_posix()}`")
    template = (STUDENT_FILES / "README.md").read_text()
    return template.replace("<!-- contents -->", "\n".join(lines))


def refuse_solutions(files):
    leaks = [name for name, path in files.items()
             if path.suffix in (".py", ".ipynb") and SOLUTION_CODE.search(path.read_text())]
    if leaks:
        raise SystemExit(f"bundle: solution code in {', '.join(leaks)}: run `make release`")


def write_bundle(out=DEFAULT_OUT, root=ROOT):
    """Write the zip (one top folder, ``gru-course-student/``); returns the archive's names."""
    files = course_files(root)
    refuse_solutions(files)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files.items():
            archive.write(path, f"{NAME}/{name}")
        archive.writestr(f"{NAME}/README.md", student_readme(root))
        archive.write(STUDENT_FILES / "Makefile", f"{NAME}/Makefile")
    with zipfile.ZipFile(out) as archive:
        return archive.namelist()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    if not existing_assignments("notebooks"):
        raise SystemExit("bundle: notebooks/ holds no released notebook: run `make release`")
    names = write_bundle(args.out)
    print(f"bundle: {len(names)} files in {args.out}")


if __name__ == "__main__":
    main()
