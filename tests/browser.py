"""Chromium, headless (Debian's; `inv test` installs it): a page's DOM after its scripts ran,
the requests the page made, a screenshot."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

# no first-run work, no sandbox (root in a container), no GPU: the page alone
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--disable-extensions", "--no-first-run", "--mute-audio",
         "--hide-scrollbars")


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        pytest.fail("no chromium for the browser tests: `inv test` installs it (or apt-get "
                    "install chromium)", pytrace=False)
    return found


def _run(profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120)


def dom(page: str, profile: Path, netlog: Path | None = None) -> str:
    """The page's DOM once it has loaded (its inline scripts have run by then)."""
    extra = [f"--log-net-log={netlog}"] if netlog else []
    done = _run(profile, *extra, "--dump-dom", page)
    assert done.returncode == 0 and "<html" in done.stdout, done.stderr[-2000:]
    return done.stdout


def page_requests(netlog: Path) -> list[str]:
    """The URLs the page itself asked for (the browser's own update checks left out: those
    are not made for a document loaded from a file://)."""
    text = netlog.read_text().rstrip()
    try:
        data = json.loads(text)
    except ValueError:  # a log cut short at exit lacks its closing brackets
        data = json.loads(text.rstrip(",") + "]}")
    start = {v: k for k, v in data["constants"]["logEventTypes"].items()}
    return [e["params"]["url"] for e in data["events"]
            if start.get(e["type"]) == "URL_REQUEST_START_JOB"
            and "file://" in e.get("params", {}).get("network_isolation_key", "")]


def screenshot(page: str, out: Path, profile: Path, size: str = "1280,1600") -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    done = _run(profile, f"--window-size={size}", f"--screenshot={out}", page)
    assert done.returncode == 0 and out.is_file(), done.stderr[-2000:]
    return out
