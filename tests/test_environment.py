"""requirements.txt and environment.yml state one environment."""

import re

from tools.course import ROOT


def requirement_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[name.lower()] = version
    return pins


def conda_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        entry = re.match(r"\s+- ([A-Za-z0-9_.-]+)\s*(==|=)\s*([\w.]+)\s*$", line)
        if entry and entry.group(1) != "python":
            pins[entry.group(1).lower()] = entry.group(3)
    return pins


def test_every_requirement_is_pinned():
    text = (ROOT / "requirements.txt").read_text()
    lines = [ln.split("#")[0].strip() for ln in text.splitlines()]
    assert all("==" in ln for ln in lines if ln)


def test_requirements_and_environment_agree():
    assert conda_pins() == requirement_pins()


def test_torch_is_the_local_cpu_build():
    assert requirement_pins()["torch"] == "2.13.0"


def test_environment_is_python_311():
    assert re.search(r"^\s+- python=3\.11\s*$", (ROOT / "environment.yml").read_text(), re.M)


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    for name, pinned in requirement_pins().items():
        assert version(name).split("+")[0] == pinned, name
