"""Build the vcrpy cassettes in tests/jira/cassettes/ from real Jira payloads in tests/jira/fixtures/.

    python tests/jira/make_cassettes.py                 # rebuild the cassettes from the fixtures
    python tests/jira/make_cassettes.py --fixtures DIR  # first re-extract the fixtures from the reference set

Fixture sources (see fixtures/NOTICE.md): apache/incubator-devlake (Apache-2.0) real Jira Cloud crawl,
Atlassian's JRJC test resources (Apache-2.0), mattermost-plugin-jira webhooks (Apache-2.0) and the Jira Cloud
OpenAPI examples (Apache-2.0). Responses are those payloads, re-paged and re-keyed where a scenario needs
more issues than were recorded: the JSON shapes are the vendor's, never invented.

A sweep is a snapshot of the matching ids (Cloud: `GET /search/jql?fields=id`) or keys (Data Center: the
classic search), then the issues read by id (Cloud: `POST /issue/bulkfetch`) or key (`key in (...)`).
Steward's own comments in a reconcile answer are written as the account of the OpenAPI `GET /myself` example.
"""

from __future__ import annotations

import copy
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import requests
import yaml

HERE = Path(__file__).resolve().parent
FIXTURES = HERE / "fixtures"
CASSETTES = HERE / "cassettes"
CLOUD = "https://acme.atlassian.net"
DC = "https://jira.acme.internal"
FIELDS = ("summary,description,issuetype,status,priority,labels,assignee,reporter,created,updated,duedate,"
          "comment,project,components,parent,subtasks,issuelinks")
JQL = "project = EE AND statusCategory != Done"
KEEP_FIELDS = set(FIELDS.split(","))


# ---------------------------------------------------------------- fixtures (from the reference set)

def extract_fixtures(reference: Path) -> None:
    """Copy the payloads the cassettes need, trimmed to the fields Steward reads."""
    FIXTURES.mkdir(exist_ok=True)
    crawl = reference / "devlake-cloud-recordings/raw_jira_api_issues.agile-board-issue-expand-changelog.json"
    rows = json.loads(crawl.read_text())
    issues = []
    for row in rows:
        issue = row["data"]
        issue["fields"] = {k: v for k, v in issue["fields"].items() if k in KEEP_FIELDS}
        issues.append(issue)
    _dump(FIXTURES / "devlake_cloud_issues.json", issues)
    for name in ("search_many-issues.json", "issue_valid-5.0-with-changelog.json"):
        data = json.loads((reference / "jrjc-server-5.0" / name).read_text())
        data.pop("names", None)
        data.pop("schema", None)
        data.pop("transitions", None)
        for issue in data.get("issues", [data]):
            issue["fields"] = {k: v for k, v in issue["fields"].items() if k in KEEP_FIELDS}
        _dump(FIXTURES / f"jrjc_{name}", data)
    hooks = {}
    for name in ("webhook-issue-updated-labels.json", "webhook-issue-updated-raised-priority.json",
                 "webhook-issue-updated-assigned-on-server.json"):
        data = json.loads((reference / "webhooks-mattermost" / name).read_text())
        hooks[name] = {"timestamp": data["timestamp"], "user": data["user"], "changelog": data["changelog"]}
    _dump(FIXTURES / "mattermost_changelogs.json", hooks)
    for name in ("issue-comments-GET.response_200.json", "changelog-bulkfetch-POST.response_200.json",
                 "issue-transitions-GET.response_200.json", "search-jql-GET-enhanced.response_200.json",
                 "issue-bulkfetch-POST.response_200.json"):
        data = json.loads((reference / "cloud-openapi-examples" / name).read_text())
        _dump(FIXTURES / f"openapi_{name}", data)
    swagger = json.loads((reference / "swagger-v3.v3.json").read_text())
    myself = swagger["paths"]["/rest/api/3/myself"]["get"]["responses"]["200"]["content"]["application/json"]
    _dump(FIXTURES / "openapi_myself-GET.response_200.json", json.loads(myself["example"]))


def _strip(node, keys=("avatarUrls", "iconUrl", "timeZone")):
    """Drop presentation-only keys (avatars, icons) so cassettes stay small; nothing Steward reads."""
    if isinstance(node, dict):
        return {k: _strip(v, keys) for k, v in node.items() if k not in keys}
    if isinstance(node, list):
        return [_strip(v, keys) for v in node]
    return node


def _dump(path: Path, data) -> None:
    data = _strip(data)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


# ---------------------------------------------------------------- cassette helpers

def uri(method: str, url: str, params=None) -> str:
    return requests.Request(method, url, params=params).prepare().url


def interaction(method: str, url: str, status: int, body=None, params=None, headers=None, request_body=None):
    response_headers = {"Content-Type": ["application/json;charset=UTF-8"]}
    for name, value in (headers or {}).items():
        response_headers[name] = [str(value)]
    text = "" if body is None else (body if isinstance(body, str) else json.dumps(body, ensure_ascii=False))
    return {
        "request": {"method": method, "uri": uri(method, url, params), "headers": {},
                    "body": None if request_body is None else json.dumps(request_body)},
        "response": {"status": {"code": status, "message": requests.status_codes._codes[status][0].upper()},
                     "headers": response_headers, "body": {"string": text}},
    }


def write(name: str, interactions) -> None:
    CASSETTES.mkdir(exist_ok=True)
    data = {"interactions": interactions, "version": 1}
    (CASSETTES / f"{name}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000),
                                            encoding="utf-8")


def snapshot_params(jql: str, token: str | None = None, start: int | None = None) -> dict:
    """The search for the matching ids (Cloud: up to 5000 a page) or keys (Data Center: up to 1000)."""
    params = {"jql": jql, "fields": "id", "maxResults": 5000 if start is None else 1000}
    if token:
        params["nextPageToken"] = token
    if start is not None:
        params["startAt"] = start
    return params


def cloud_snapshot(issues: list[dict], jql: str = JQL, pages: int = 1) -> list[dict]:
    """The Cloud snapshot search, answering only ids (`fields=id`), in `pages` pages."""
    size = -(-len(issues) // pages)
    tokens = [None] + [f"CAEaAgg{chr(68 + n)}" for n in range(pages - 1)]
    out = []
    for n in range(pages):
        body = {"issues": [{"id": i["id"]} for i in issues[n * size:(n + 1) * size]], "isLast": n == pages - 1}
        if n < pages - 1:
            body["nextPageToken"] = tokens[n + 1]
        out.append(interaction("GET", f"{CLOUD}/rest/api/3/search/jql", 200, body, snapshot_params(jql, tokens[n])))
    return out


def bulk_read(issues: list[dict], fields: str = FIELDS, changelog: bool = True) -> dict:
    """Cloud's bulk issue read of these issues (by id), answering them as BulkIssueResults."""
    body = {"issueIdsOrKeys": [i["id"] for i in issues], "fields": fields.split(","),
            "properties": ["steward.markers"]}
    if changelog:
        body["expand"] = ["changelog"]
    return interaction("POST", f"{CLOUD}/rest/api/3/issue/bulkfetch", 200, {"issues": issues, "issueErrors": []},
                       request_body=body)


def myself() -> dict:
    return interaction("GET", f"{CLOUD}/rest/api/3/myself", 200, fixture("openapi_myself-GET.response_200.json"))


# ---------------------------------------------------------------- data

def cloud_issues(count: int) -> list[dict]:
    """`count` Cloud issues: the 33 recorded ones, then copies re-keyed EE-1001, EE-1002, ..."""
    real = fixture("devlake_cloud_issues.json")
    out = []
    for index in range(count):
        issue = copy.deepcopy(real[index % len(real)])
        if index >= len(real):
            number = 1000 + index
            issue["id"] = str(20000 + index)
            issue["key"] = f"EE-{number}"
            issue["self"] = f"{CLOUD}/rest/api/3/issue/{issue['id']}"
        out.append(issue)
    return out


def truncate(issue: dict, missing: int) -> None:
    """Mark the inline changelog as cut: `total` counts histories the response left out."""
    changelog = issue["changelog"]
    changelog["maxResults"] = len(changelog["histories"])
    changelog["total"] = len(changelog["histories"]) + missing


def bulk_histories(issue_id: str, stamp_offset: int) -> list[dict]:
    """Histories the bulk fetch returns: real webhook changelog items (labels, priority) for this issue."""
    hooks = fixture("mattermost_changelogs.json")
    template = fixture("openapi_changelog-bulkfetch-POST.response_200.json")["issueChangeLogs"][0]["changeHistories"][0]
    out = []
    for n, name in enumerate(("webhook-issue-updated-labels.json", "webhook-issue-updated-raised-priority.json")):
        history = copy.deepcopy(template)
        history["id"] = f"{hooks[name]['changelog']['id']}{issue_id}"
        history["created"] = 1650000000 + stamp_offset + n  # the bulk endpoint sends epoch seconds
        history["items"] = hooks[name]["changelog"]["items"]
        out.append(history)
    return out


# ---------------------------------------------------------------- scenarios

def cloud_read_paged() -> None:
    """250 issues: ids in two snapshot pages, read in three bulk reads; 30 have a truncated changelog
    completed by ONE bulk changelog call."""
    issues = cloud_issues(250)
    truncated = issues[::8][:30]
    for issue in truncated:
        truncate(issue, 2)
    interactions = cloud_snapshot(issues, pages=2)  # Jira may answer fewer ids than asked: a second page
    interactions += [bulk_read(issues[start:start + 100]) for start in range(0, 250, 100)]
    bulk = {"issueChangeLogs": [{"issueId": issue["id"], "changeHistories": bulk_histories(issue["id"], k * 10)}
                                for k, issue in enumerate(truncated)], "nextPageToken": None}
    interactions.append(interaction("POST", f"{CLOUD}/rest/api/3/changelog/bulkfetch", 200, bulk,
                                    request_body={"issueIdsOrKeys": [i["id"] for i in truncated]}))
    write("cloud_read_paged", interactions)


def dc_issues() -> tuple[list[dict], int]:
    data = fixture("jrjc_search_many-issues.json")
    first = data["issues"]
    with_changelog = fixture("jrjc_issue_valid-5.0-with-changelog.json")
    server_hook = fixture("mattermost_changelogs.json")["webhook-issue-updated-assigned-on-server.json"]
    history = dict(server_hook["changelog"], created="2019-02-16T22:02:10.065+0000", author=server_hook["user"])
    second = []
    for index in range(data["total"] - len(first)):
        issue = copy.deepcopy(first[index % len(first)])
        issue["key"] = f"TST-{100 + index}"
        issue["id"] = str(10100 + index)
        second.append(issue)
    # Server histories come oldest first, without fieldId; one more from a Server webhook (Server assignee).
    first[0]["changelog"] = copy.deepcopy(with_changelog["changelog"])
    first[0]["changelog"]["histories"].append(history)
    return first + second, len(first)


def dc_read_paged() -> None:
    """Data Center: classic search, startAt paging, the server capping each page at 8 issues: the snapshot of
    keys in two pages, then the issues by key (`key in (...)`) in two pages. No `properties` parameter."""
    issues, page = dc_issues()
    total = len(issues)
    interactions = []
    for start in range(0, total, page):
        keys_only = [{k: i[k] for k in ("expand", "id", "self", "key") if k in i} for i in issues[start:start + page]]
        body = {"expand": "schema,names", "startAt": start, "maxResults": page, "total": total, "issues": keys_only}
        interactions.append(interaction("GET", f"{DC}/rest/api/2/search", 200, body, snapshot_params(JQL, start=start)))
    by_key = "key in (" + ", ".join(f'"{i["key"]}"' for i in issues) + ")"
    for start in range(0, total, page):
        body = {"expand": "schema,names", "startAt": start, "maxResults": page, "total": total,
                "issues": issues[start:start + page]}
        params = {"jql": by_key, "startAt": start, "maxResults": total, "fields": FIELDS, "validateQuery": "false",
                  "expand": "changelog"}
        interactions.append(interaction("GET", f"{DC}/rest/api/2/search", 200, body, params))
    write("dc_read_paged", interactions)


def cloud_adf_and_comments() -> None:
    """v3 ADF bodies; one issue's inline comment list is truncated and completed by one comment page."""
    issues = cloud_issues(2)
    adf_comments = fixture("openapi_issue-comments-GET.response_200.json")
    issues[0]["fields"]["description"] = adf_comments["comments"][0]["body"]
    issues[0]["fields"]["comment"] = {"comments": copy.deepcopy(adf_comments["comments"]), "maxResults": 1,
                                      "total": 3, "startAt": 0}
    rest = copy.deepcopy(adf_comments)
    extra = []
    for n in (1, 2):
        comment = copy.deepcopy(adf_comments["comments"][0])
        comment["id"] = str(10000 + n)
        comment["created"] = f"2021-01-1{7 + n}T12:34:00.000+0000"
        extra.append(comment)
    rest.update({"comments": extra, "startAt": 1, "maxResults": 5000, "total": 3})
    interactions = [
        *cloud_snapshot(issues),
        bulk_read(issues),
        interaction("GET", f"{CLOUD}/rest/api/3/issue/{issues[0]['key']}/comment", 200, rest,
                    {"startAt": 1, "maxResults": 5000}),
    ]
    write("cloud_adf_comments", interactions)


def cloud_malformed() -> None:
    """Missing fields, nulls, odd values: read without a traceback."""
    base = cloud_issues(1)[0]
    odd = []
    for n, mutate in enumerate((
        lambda i: i.update(fields=None),
        lambda i: i.update(changelog=None),
        lambda i: i["fields"].update(status=None, priority=None, assignee=None, reporter=None, labels=None,
                                     created=None, updated="not a date", duedate="", comment=None,
                                     issuetype=None, project=None, summary=None),
        lambda i: i["fields"].update(comment={"comments": [None, {"body": "no date"}, {"created": "x"}]}),
        lambda i: i["changelog"].update(total=4, maxResults=4, histories=[
                                            None, {"items": None}, {"created": "bad", "items": []},
                                                   {"created": "2020-06-12T09:16:17.582+0800",
                                                    "items": [None, {"field": "labels"}]}]),
        lambda i: i.update(properties={"steward.markers": {"markers": [{"rule": "x"}, "junk"]}}),
        lambda i: i.pop("fields"),
    )):
        issue = copy.deepcopy(base)
        issue["key"] = f"EE-{900 + n}"
        issue["id"] = str(30000 + n)
        mutate(issue)
        odd.append(issue)
    odd.append({"id": "39999", "self": f"{CLOUD}/rest/api/3/issue/39999"})  # no key at all
    write("cloud_malformed", [*cloud_snapshot(odd), bulk_read(odd)])


def cloud_429() -> None:
    issues = cloud_issues(3)
    limited = {"X-RateLimit-Limit": 350, "X-RateLimit-Remaining": 0, "Retry-After": 7,
               "X-RateLimit-Reset": "2026-11-21T09:40:07Z", "RateLimit-Reason": "jira-quota-global-based"}
    write("cloud_429", [
        interaction("GET", f"{CLOUD}/rest/api/3/search/jql", 429, "", snapshot_params(JQL), limited),
        *cloud_snapshot(issues),
        bulk_read(issues),
    ])


def cloud_5xx_read() -> None:
    issues = cloud_issues(2)
    write("cloud_5xx_read", [
        interaction("GET", f"{CLOUD}/rest/api/3/search/jql", 502, "<html>Bad gateway</html>", snapshot_params(JQL)),
        interaction("GET", f"{CLOUD}/rest/api/3/search/jql", 503, {"errorMessages": ["Service unavailable"]},
                    snapshot_params(JQL)),
        *cloud_snapshot(issues),
        bulk_read(issues),
    ])


def edit(key: str, status: int = 204, body=None, base: str = CLOUD):
    return interaction("PUT", f"{base}/rest/api/2/issue/{key}", status, body)


def cloud_writes() -> None:
    """Every write shape: comment+labels+marker, labels only, assignment, transition, clean-up removal."""
    transitions = fixture("openapi_issue-transitions-GET.response_200.json")
    write("cloud_writes", [
        edit("EE-1"),
        edit("EE-2"),
        edit("EE-3"),
        interaction("GET", f"{CLOUD}/rest/api/3/issue/EE-4/transitions", 200, transitions),
        interaction("POST", f"{CLOUD}/rest/api/3/issue/EE-4/transitions", 204),
        edit("EE-4"),
    ])
    write("dc_writes", [edit("TST-1", base=DC)])


def reread(key: str, landed: bool):
    """GET issue after an uncertain write: with Steward's comment and property when it had landed."""
    issue = cloud_issues(1)[0]
    issue["key"] = key
    comments = []
    props = {}
    if landed:
        comments = [{"id": "10099", "author": {"accountId": "5b10a2844c20165700ede21g"},
                     "body": {"type": "doc", "version": 1, "content": [
                         {"type": "paragraph", "content": [{"type": "text", "text": "Please assign one owner."}]},
                         {"type": "rule"},
                         {"type": "paragraph", "content": [
                             {"type": "text", "text": "Steward · rule unowned-exception · step 1",
                              "marks": [{"type": "em"}]}]}]},
                     "created": "2026-11-21T09:00:01.000+0000"}]
        props = {"steward.markers": {"markers": [{"rule": "unowned-exception", "level": 1,
                                                  "at": "2026-11-21T09:00:00Z"}]}}
    issue["fields"] = {"labels": ["needs-owner"] if landed else [],
                       "comment": {"comments": comments, "total": len(comments), "maxResults": 5000, "startAt": 0}}
    issue["properties"] = props
    return interaction("GET", f"{CLOUD}/rest/api/3/issue/{key}", 200, issue,
                       {"fields": "comment,labels", "properties": "steward.markers"})


def cloud_503_write() -> None:
    busy = {"errorMessages": ["Service unavailable"]}
    # the re-read shows a comment with Steward's footer: whose it is takes asking who Steward is
    write("cloud_503_write_landed", [edit("EE-1", 503, busy), reread("EE-1", True), myself()])
    write("cloud_503_write_not_landed", [edit("EE-1", 503, busy), reread("EE-1", False), edit("EE-1")])


def errors() -> None:
    params = snapshot_params(JQL)
    url = f"{CLOUD}/rest/api/3/search/jql"
    write("error_401", [interaction("GET", url, 401, "Client must be authenticated to access this resource.",
                                    params, {"Content-Type": "text/html;charset=UTF-8"})])
    write("error_403", [interaction("GET", url, 403, {"errorMessages": ["You do not have permission to browse."]},
                                    params)])
    write("error_400_jql", [interaction("GET", url, 400, {
        "errorMessages": ["Error in the JQL Query: Expecting operator but got 'EE'. (line 1, character 9)"],
        "warningMessages": []}, params)])
    write("error_404_html", [interaction("GET", url, 404, "<!DOCTYPE html><html><body>Not Found</body></html>",
                                         params, {"Content-Type": "text/html"})])
    write("error_200_html", [interaction("GET", url, 200, "<!DOCTYPE html><html><body>Log in</body></html>",
                                         params, {"Content-Type": "text/html"})])
    write("error_410_dc_on_cloud", [interaction("GET", f"{CLOUD}/rest/api/2/search", 410, {
        "errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API."]},
        snapshot_params(JQL, start=0))])


E2E_KEYS = ("EE-1", "EE-10", "K5-2", "K5-3", "K5-4")
E2E_NOW = datetime(2026, 11, 21, 9, 0, tzinfo=timezone.utc)


E2E_RUN = "e2e0c0de"  # the run id the e2e test gives its tracker: the reconcile answer shows its comments


def e2e_needs():
    """The rules of e2e_rules.yml, the pushed-down JQL the Runner searches, and the fields and changelog they read."""
    from steward.core import rulefile
    from steward.plugins.jira.pushdown import combine_jql, pushdown_clause, read_needs

    rules = rulefile.load([str(FIXTURES / "e2e_rules.yml")])
    fields, changelog = read_needs(rules.rules)
    return rules, combine_jql(JQL, pushdown_clause(rules.rules)), ",".join(fields), changelog


def answered(issue: dict, fields: str, changelog: bool) -> dict:
    """An issue as Jira answers it: only the fields asked for, the changelog only when expanded."""
    issue = copy.deepcopy(issue)
    issue["fields"] = {k: v for k, v in issue["fields"].items() if k in fields.split(",")}
    if not changelog:
        issue.pop("changelog", None)
    return issue


def planned_steps(rules):
    """The steps the Runner plans for the e2e issues, replayed from the e2e_plan cassette just written."""
    from jira_support import CLOUD_ENV, recorder

    from steward.core.runner import Runner, RunOptions
    from steward.plugins.jira.tracker import JiraTracker

    with recorder.use_cassette("e2e_plan.yaml"):
        tracker = JiraTracker(CLOUD, CLOUD_ENV, sleep=lambda seconds: None, run=E2E_RUN)
        return Runner(tracker, rules, RunOptions(now=E2E_NOW, query=JQL)).run().steps


def steward_comment(step, n: int) -> dict:
    """The comment Steward wrote for a step, as Cloud answers it (v3): wiki text becomes ADF, `----` a rule
    and `_..._` emphasis; written by the account of the `GET /myself` example."""
    from steward.core.markers import footer

    text = next(a.value for a in step.actions if a.type == "comment")
    line = footer(step, E2E_RUN).strip().split("\n")[-1].strip("_")
    me = fixture("openapi_myself-GET.response_200.json")
    author = {k: me[k] for k in ("accountId", "active", "displayName", "self")}
    comment = copy.deepcopy(fixture("openapi_issue-comments-GET.response_200.json")["comments"][0])
    comment.pop("visibility", None)
    comment.update(id=str(20000 + n), author=author, updateAuthor=author, created="2026-11-21T09:00:01.000+0000",
                   updated="2026-11-21T09:00:01.000+0000",
                   self=f"{CLOUD}/rest/api/3/issue/{step.issue}/comment/{20000 + n}",
                   body={"type": "doc", "version": 1, "content": [
                       {"type": "paragraph", "content": [{"type": "text", "text": text}]}, {"type": "rule"},
                       {"type": "paragraph", "content": [{"type": "text", "text": line, "marks": [{"type": "em"}]}]}]})
    return comment


def e2e() -> None:
    """plan, then apply through the Runner: the snapshot with the pushed-down JQL and one bulk read; for apply,
    the re-check before writing, one PUT per issue, the reconcile read after (showing Steward's comments, so
    whose they are is asked: GET /myself)."""
    from steward.core.markers import step_marker
    from steward.plugins.jira.write import marker_value

    rules, jql, fields, changelog = e2e_needs()
    raws = [i for i in cloud_issues(33) if i["key"] in E2E_KEYS]  # what Jira answers for that JQL
    sweep = [*cloud_snapshot(raws, jql), bulk_read([answered(i, fields, changelog) for i in raws], fields, changelog)]
    write("e2e_plan", sweep)
    steps = planned_steps(rules)
    order = list(dict.fromkeys(step.issue for step in steps))  # the order the Runner writes the issues in
    by_key = {i["key"]: i for i in raws}
    recheck = bulk_read([answered(by_key[k], "comment,labels", False) for k in order], "comment,labels", False)
    recheck["request"]["body"] = json.dumps({**json.loads(recheck["request"]["body"]), "issueIdsOrKeys": order})
    written = []
    for key in order:
        issue = answered(by_key[key], "comment", False)
        comments = issue["fields"]["comment"]
        comments["comments"] = comments["comments"] + [steward_comment(s, n) for n, s in enumerate(steps)
                                                       if s.issue == key]
        comments["total"] = comments["maxResults"] = len(comments["comments"])
        # and the marker property the edits wrote, which the bulk read returns with the issue
        issue["properties"] = {"steward.markers": marker_value([step_marker(s, E2E_NOW, E2E_RUN) for s in steps
                                                                if s.issue == key])}
        written.append(issue)
    reconcile = bulk_read(written, "comment", False)
    reconcile["request"]["body"] = json.dumps({**json.loads(reconcile["request"]["body"]), "issueIdsOrKeys": order})
    write("e2e_apply", sweep + [recheck] + [edit(key) for key in order] + [reconcile, myself()])


def main(argv: list[str]) -> None:
    if "--fixtures" in argv:
        extract_fixtures(Path(argv[argv.index("--fixtures") + 1]))
    for build in (cloud_read_paged, dc_read_paged, cloud_adf_and_comments, cloud_malformed, cloud_429,
                  cloud_5xx_read, cloud_writes, cloud_503_write, errors, e2e):
        build()


if __name__ == "__main__":
    main(sys.argv[1:])
