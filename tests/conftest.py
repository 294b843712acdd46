import sys
from pathlib import Path

import network_guard
from secret_scan import SecretScan


def pytest_configure(config):
    # Entry-point plugins are not loaded under test: see steward.core.plugins.
    sys._called_from_test = True
    network_guard.install()  # no test reaches past the loopback (tests/network_guard.py)
    if not config.pluginmanager.has_plugin("secret_scan"):
        config.pluginmanager.register(SecretScan(Path(__file__).resolve().parent), "secret_scan")
