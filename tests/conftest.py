import sys


def pytest_configure(config):
    # Entry-point plugins are not loaded under test: see steward.core.plugins.
    sys._called_from_test = True
