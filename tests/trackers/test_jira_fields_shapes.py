"""The fields simulator's custom field values, parent, sub-tasks, links and components have the vendor's shapes:
every key path it emits there occurs in a recorded payload (tests/jira/fixtures/recorded_field_values.json: a
real Cloud crawl and Jira 5.0's all-expanded issue)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sim.jira import CLOUD, DATACENTER
from sim.jira_fields import FieldsJiraSim

from trackers.test_jira_shapes import BASE, fixture, not_in_vendor

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
RECORDED = fixture("recorded_field_values.json")
# The same custom field ids as the recorded Cloud crawl: a date picker, a date-time, a select list.
SAME_IDS = ("customfield_10060", "customfield_10022", "customfield_10012")


def _part(issues: list[dict], names: tuple[str, ...]) -> list[dict]:
    return [{"fields": {k: v for k, v in issue["fields"].items() if k in names}} for issue in issues]


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_hierarchy_and_links_have_the_recorded_shapes(flavor):
    sim = FieldsJiraSim(flavor, 30, seed=3, now=NOW, hierarchy=True, missing_rate=0)
    issues = [sim.render(k, BASE, "2", None, None, False) for k in sim.issues]
    vendor = RECORDED["devlake_cloud"] + [RECORDED["jrjc_server_all_expanded"]]
    names = ("parent", "subtasks", "components")
    assert [p for issue in _part(issues, names) for p in not_in_vendor(issue, *_part(vendor, names))] == []
    # Links: Jira 5.0's recorded links; newer Jira (Cloud, Data Center since 6.1) adds statusCategory to the
    # linked issue's status, as the Cloud crawl's `parent` and `subtasks` show.
    links = [{"fields": {"issuelinks": i["fields"]["issuelinks"]}} for i in issues if i["fields"]["issuelinks"]]
    cloud_status = {"fields": {"issuelinks": [{"inwardIssue": s, "outwardIssue": s} for s in
                                              RECORDED["devlake_cloud"][0]["fields"]["subtasks"]]}}
    server_links = _part([RECORDED["jrjc_server_all_expanded"]], ("issuelinks",))[0]
    assert links and [p for link in links for p in not_in_vendor(link, server_links, cloud_status)] == []


def test_custom_field_values_have_the_recorded_cloud_shapes():
    sim = FieldsJiraSim(CLOUD, 30, seed=3, now=NOW, missing_rate=0)
    issues = [sim.render(k, BASE, "2", set(SAME_IDS), None, False) for k in sim.issues]
    vendor = _part(RECORDED["devlake_cloud"], SAME_IDS)
    assert [p for issue in issues for p in not_in_vendor({"fields": issue["fields"]}, *vendor)] == []
    assert all(set(i["fields"]) == set(SAME_IDS) for i in issues)
