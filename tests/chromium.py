"""Debian's Chromium (installed by `make browser`), as the browser tests launch it."""

from pathlib import Path

import pytest

from tools.course import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "tests" / "artifacts"  # screenshots, kept after the run (git ignores them)


def require_chromium():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def launch(playwright):
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
