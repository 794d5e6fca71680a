"""A student's session and an instructor's, in a real browser: JupyterLab from the course
environment, driven in headless Chromium (Debian's package, installed by `make browser`).

The student's session opens a released notebook in a throwaway copy of the course, runs
every cell and meets the NotImplementedError of the first unanswered exercise, pastes a
correct answer and sees that exercise's test pass, validates with nbgrader's Validate
button, and opens the formgrader from the Nbgrader menu. The instructor's opens a graded
submission in the formgrader, gives a written answer points and a comment, and sees both
survive `make grade` and reach `make export`. Screenshots of each step go to
tests/artifacts/.
"""

import csv
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.answered import first_exercise
from tests.chromium import ARTIFACTS, launch, require_chromium
from tools.course import ROOT, existing_assignments

pytestmark = [pytest.mark.browser, pytest.mark.slow]

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 90
STEP_MS = 90_000
# No news pop-up, no update check, and every cell in the page (no virtual scrolling).
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false",
                                                    "checkForUpdates": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
}
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def copy_course(folder):
    """What JupyterLab and the formgrader need, so the session never touches the real course."""
    shutil.copy(ROOT / "nbgrader_config.py", folder)
    for name in ("notebooks", "solutions"):
        shutil.copytree(ROOT / name, folder / name)
    (folder / "autograde").mkdir()
    return folder


def write_lab_settings(folder):
    for plugin, values in LAB_SETTINGS.items():
        path = folder / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(values))


def lab_environment(tmp):
    """The course environment's bin/ first on PATH; Jupyter's state in ``tmp``."""
    env = {k: v for k, v in os.environ.items() if k != "NBGRADER_EXECUTION"}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    for variable in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_WORKSPACES_DIR"):
        env[variable] = str(tmp / variable.lower())
    env["JUPYTERLAB_SETTINGS_DIR"] = str(tmp / "settings")
    write_lab_settings(tmp / "settings")
    return env


def wait_until_serving(url, token, process, log):
    deadline = time.monotonic() + STARTUP_SECONDS
    request = urllib.request.Request(f"{url}/api/status",
                                     headers={"Authorization": f"token {token}"})
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"JupyterLab exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(request, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"JupyterLab did not answer within {STARTUP_SECONDS} s:\n{log.read_text()}")


def graded_submission(course, assignment):
    """A correct submission of ``assignment`` by student "ada", graded with make grade's code:
    its written answers wait for the formgrader."""
    from autograde import samples, worker
    from autograde.grade import grade_class

    release, solution = samples.load(course, assignment)
    samples.write(course / "autograde" / "submitted", "ada", assignment,
                  samples.filled(release, solution))
    grade_class(worker.Options(root=course), assignment=assignment, jobs=1, progress=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free local port with a random token, in a course copy holding one
    graded submission; yields (url, token, course)."""
    require_chromium()
    tmp = tmp_path_factory.mktemp("lab")
    course = copy_course(tmp_path_factory.mktemp("course"))
    graded_submission(course, first_exercise().assignment)
    url, token, log = f"http://127.0.0.1:{free_port()}", secrets.token_hex(16), tmp / "lab.log"
    command = [BIN / "jupyter", "lab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
               f"--ServerApp.port={url.rsplit(':', 1)[1]}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={course}"]
    with open(log, "w") as log_file:
        process = subprocess.Popen(command, cwd=course, env=lab_environment(tmp),
                                   stdout=log_file, stderr=subprocess.STDOUT)
    try:
        wait_until_serving(url, token, process, log)
        yield url, token, course
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def page(lab):
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=STEP_MS)
    with sync_playwright() as playwright:
        browser = launch(playwright)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(STEP_MS)
        try:
            yield page
        finally:
            browser.close()


def screenshot(page, name):
    page.screenshot(path=str(ARTIFACTS / f"browser_{name}.png"))


def wait_for_kernel(page):
    """Until the status bar reports the kernel connected and idle.

    The toolbar's execution indicator says "idle" before the kernel exists, and a "Run All"
    sent then is dropped without a word: every cell stays ``[ ]``.
    """
    from playwright.sync_api import expect

    status = page.get_by_role("contentinfo").get_by_role("button", name=re.compile(r"\| Idle$"))
    expect(status).to_be_visible()


def run_all_cells(page):
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.get_by_role("menuitem", name=re.compile(r"^Run All Cells")).click()


def run_cell(page, cell):
    """Select ``cell``, run it with Shift+Enter and wait for its new execution count."""
    from playwright.sync_api import expect

    prompt = cell.locator(".jp-InputPrompt")
    before = prompt.text_content()
    cell.locator(".jp-InputPrompt").click()
    page.keyboard.press("Shift+Enter")
    expect(prompt).not_to_have_text(before)
    expect(prompt).to_have_text(re.compile(r"\[\d+\]:"))


def test_a_student_session_in_jupyterlab(lab, page):
    from playwright.sync_api import expect

    url, token, _ = lab
    exercise = first_exercise()
    name = exercise.assignment
    try:
        page.goto(f"{url}/lab/tree/notebooks/{name}/{name}.ipynb?token={token}")
        wait_for_kernel(page)
        cells = page.locator(".jp-Notebook .jp-Cell")
        answer_cell, test_cell = cells.nth(exercise.answer_index), cells.nth(exercise.test_index)

        # Unanswered, the first exercise's test is where "Run All" stops.
        run_all_cells(page)
        expect(test_cell.locator(ERROR_OUTPUT)).to_contain_text("NotImplementedError")
        failing = [i for i in range(cells.count()) if cells.nth(i).locator(ERROR_OUTPUT).count()]
        assert failing == [exercise.test_index], f"cells {failing} failed, expected only the test"
        test_cell.locator(ERROR_OUTPUT).scroll_into_view_if_needed()
        screenshot(page, "1_unanswered_fails")

        # A correct answer, pasted in place of the stub: its test now passes, silently.
        answer_cell.locator(".cm-content").click()
        page.keyboard.press("Control+A")
        page.keyboard.insert_text(exercise.answer)
        run_cell(page, answer_cell)
        run_cell(page, test_cell)
        expect(test_cell.locator(".jp-OutputArea-output")).to_have_count(0)
        answer_cell.evaluate("cell => cell.scrollIntoView({block: 'start'})")
        screenshot(page, "2_answer_passes")

        # nbgrader's Validate button: the exercises still unanswered are reported.
        page.keyboard.press("Control+S")
        expect(page.locator(".jp-mod-dirty")).to_have_count(0)
        page.locator(".jp-Toolbar").get_by_role("button", name="Validate").click()
        dialog = page.locator(".jp-Dialog")
        expect(dialog).to_contain_text("Validation Results")
        expect(dialog).to_contain_text("failed")
        screenshot(page, "3_validate")
        dialog.get_by_role("button", name="Ok").click()

        # The instructor's formgrader, from the Nbgrader menu, lists every assignment.
        page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
        page.get_by_role("menuitem", name="Formgrader").click()
        formgrader = page.frame_locator("iframe").first
        for assignment in existing_assignments("solutions"):
            expect(formgrader.get_by_role("link", name=assignment, exact=True)).to_be_visible()
        screenshot(page, "4_formgrader")
    except Exception:
        screenshot(page, "failure")
        raise


COMMENT = "Right about z; say why the tanh RNN cannot keep its factor near 1."


def wait_until(condition, what, seconds=60, state=None):
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {seconds} s for {what}" + (f": {state()}" if state else ""))
        time.sleep(0.5)


def written_answer(course, assignment):
    """(the notebook submission's id in the gradebook, the first written answer's grade id)."""
    from nbgrader.api import Gradebook

    from autograde import gradebook

    with Gradebook(gradebook.db_url(course)) as gb:
        notebook = gb.find_submission_notebook(assignment, assignment, "ada")
        written = next(g for g in notebook.grades if g.cell.cell_type == "markdown")
        return notebook.id, written.name


def test_an_instructor_grades_a_written_answer_in_the_formgrader(lab, page):
    from nbgrader.api import Gradebook
    from playwright.sync_api import expect

    from autograde import export, gradebook, worker
    from autograde.grade import grade_class

    url, token, course = lab
    assignment = first_exercise().assignment
    submission, cell = written_answer(course, assignment)

    def manual():
        with Gradebook(gradebook.db_url(course)) as gb:
            grade = gb.find_grade(cell, assignment, assignment, "ada")
            text = gb.find_comment(cell, assignment, assignment, "ada").manual_comment
            return grade.manual_score, text

    try:
        page.goto(f"{url}/lab?token={token}")  # logs in: the formgrader's API calls need it
        page.goto(f"{url}/formgrader/submissions/{submission}/")
        page.wait_for_load_state("networkidle")  # the grades are fetched, then rendered
        score = page.locator(f"input.score#{cell}")
        expect(score).to_be_visible()
        score.click()
        score.fill("2")
        score.press("Tab")
        comment = page.locator(f"textarea.comment#{cell}-comment")
        comment.click()
        comment.fill(COMMENT)
        comment.press("Tab")
        wait_until(lambda: manual() == (2, COMMENT), "the formgrader to save the grade",
                   state=manual)
        score.scroll_into_view_if_needed()
        screenshot(page, "5_formgrader_grades_by_hand")  # docs/formgrader.png is a copy
    except Exception:
        screenshot(page, "failure_formgrader")
        raise

    grade_class(worker.Options(root=course), assignment=assignment, jobs=1, progress=False)
    assert manual()[0] == 2  # make grade again keeps the grader's points and comment
    export.export(course, "csv", assignment=assignment)
    with (course / "autograde" / "export" / "grades.csv").open() as file:
        [row] = [r for r in csv.DictReader(file) if r["student"] == "ada"]
    assert row["manual"] == "2" and cell not in row["pending"].split()
