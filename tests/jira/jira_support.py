"""Constants and the cassette recorder shared by the Jira adapter tests."""

from __future__ import annotations

from pathlib import Path

import vcr

HERE = Path(__file__).resolve().parent
CLOUD = "https://acme.atlassian.net"
DC = "https://jira.acme.internal"
JQL = "project = EE AND statusCategory != Done"
# Cassette tests read one page at a time: vcrpy 8 (the newest for Python 3.10) does not replay requests sent
# from the parallel readers' threads, which would then reach for the network. Parallel reads are tested against
# the loopback simulator (tests/trackers/test_jira_parallel.py), whose answers cross real sockets.
ONE_AT_A_TIME = {"STEWARD_JIRA_PARALLEL": "1"}
CLOUD_ENV = {"JIRA_EMAIL": "ops@acme.com", "JIRA_API_TOKEN": "SECRET-cloud-token-123", **ONE_AT_A_TIME}
DC_ENV = {"JIRA_TOKEN": "SECRET-dc-pat-456", **ONE_AT_A_TIME}

recorder = vcr.VCR(
    cassette_library_dir=str(HERE / "cassettes"),
    record_mode="none",
    filter_headers=["authorization"],
    match_on=["method", "scheme", "host", "port", "path", "query"],
    decode_compressed_response=True,
)
