"""Constants and the cassette recorder shared by the Jira adapter tests."""

from __future__ import annotations

from pathlib import Path

import vcr

HERE = Path(__file__).resolve().parent
CLOUD = "https://acme.atlassian.net"
DC = "https://jira.acme.internal"
JQL = "project = EE AND statusCategory != Done"
CLOUD_ENV = {"JIRA_EMAIL": "ops@acme.com", "JIRA_API_TOKEN": "SECRET-cloud-token-123"}
DC_ENV = {"JIRA_TOKEN": "SECRET-dc-pat-456"}

recorder = vcr.VCR(
    cassette_library_dir=str(HERE / "cassettes"),
    record_mode="none",
    filter_headers=["authorization"],
    match_on=["method", "scheme", "host", "port", "path", "query"],
    decode_compressed_response=True,
)
