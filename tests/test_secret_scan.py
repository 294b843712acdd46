"""The credential scan fails a session that leaks a test token, and stays quiet for one that doesn't.

The inner sessions run in a subprocess whose output is kept in memory and whose files live outside this
session's temporary directory, so the tokens they leak on purpose never reach this session's own scan.
The tokens are also built at run time, so no written file holds them literally.
"""

import base64
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from secret_scan import leaks

TESTS = Path(__file__).resolve().parent
PREFIX = "SECRET" + "-"

LEAKY = f"""
import logging

def test_prints():
    print("connecting with " + {PREFIX!r} + "leaky-token-1")

def test_logs():
    logging.getLogger("steward").warning("auth %s", "test-token-" + "not-real")

def test_writes(tmp_path):
    (tmp_path / "report.html").write_text("<p>" + {PREFIX!r} + "in-a-file</p>")
"""

CONFTEST = """
from pathlib import Path
from secret_scan import SecretScan

def pytest_configure(config):
    config.pluginmanager.register(SecretScan(Path(__file__).parent), "secret_scan")
"""


def _run(source: str) -> subprocess.CompletedProcess:
    work = Path(tempfile.mkdtemp(prefix="steward-scan-"))
    try:
        (work / "conftest.py").write_text(CONFTEST)
        (work / "test_inner.py").write_text(source)
        env = {**os.environ, "PYTHONPATH": str(TESTS)}
        return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(work),
                               "--basetemp", str(work / "tmp"), str(work)],
                              cwd=work, env=env, capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def test_a_leaking_session_fails_and_names_each_place():
    result = _run(LEAKY)
    assert result.returncode == 1
    out = result.stdout
    assert "3 passed" in out  # the tests themselves pass; the scan fails the session
    assert "test credentials leaked" in out
    assert f"test_prints [Captured stdout call]: {PREFIX}leaky-token-1" in out
    assert "test_logs [Captured log call]: test-token-" + "not-real" in out
    assert f"report.html: {PREFIX}in-a-file" in out


def test_a_clean_session_passes():
    result = _run("def test_quiet():\n    print('nothing to hide')\n")
    assert result.returncode == 0, result.stdout
    assert "test credentials leaked" not in result.stdout


def test_basic_auth_encoding_is_found():
    header = base64.b64encode(b"ops@acme.com:test-token-" + b"not-real")
    assert leaks(b"Authorization: Basic " + header) == [header.decode()]
