"""Whole Steward runs against the simulators with a contract attached: every request the adapters send and
every answer the simulators give is checked. The runs go through the CLI only (the HTTP boundary), so they
do not depend on how the adapters are organised inside.

Each scenario is chosen to make the adapter send every kind of request it has: a plan and an apply with the
default pack, a rule that also assigns and transitions, paging of comments and timelines, the bulk changelog
(Cloud), a write whose answer is lost (so the adapter re-reads before sending again), one issue by number,
the REST read path and the GraphQL fallback of a server without issue types.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from sim import github as ghsim
from sim.github_projects import SimField
from sim.jira import CLOUD, account_id, credentials
from sim.jira_fields import FieldsJiraSim
from sim.server import Faults, SimServer, Violation

from steward.cli import cli

from .trackers import GitHubContract, JiraContract

NOW = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)
STAMP = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")
PAYLOADS = Path(__file__).parents[1] / "github" / "payloads"

# A rule that makes every write an adapter has: comment, labels both ways, assignee and transition.
EVERY_WRITE = """\
version: 1
rules:
  - id: contract-every-write
    title: Every kind of write
    severity: low
    rationale: The contract tests need each kind of request the adapter can send.
    when:
      labels: {{contains: blocked}}
      status_category: {{ne: done}}
    then:
      - comment: Contract check.
      - add_labels: [contract-checked]
      - remove_labels: [blocked]
      - assign: {assignee}
      - transition: {transition}
"""

# Mapped fields, hierarchy and links: the field list, the mapped fields in the reads, set_field in the edit.
MAPPED_FIELDS = """\
version: 1
fields:
  next_review: {jira: "Next review date", type: date}
  risk: {jira: "Risk level", type: select}
rules:
  - id: contract-fields
    title: Fields read and written
    severity: low
    rationale: The contract tests need the field list, mapped reads and field writes.
    when:
      risk: {eq: High}
      open_blockers: {gte: 0}
      open_children: {gte: 0}
    then:
      - comment: "Next review moves out; parent {{ parent }}."
      - set_field: {field: next_review, value: "+14 days"}
      - set_field: {field: due, value: "+30 days"}
      - set_field: {field: priority, value: High}
"""


# GitHub only: a mapped Projects (v2) field read and written (the project's fields, the items in every issue
# read, the mutations), in a run whose query is pushed down into GitHub's search.
PROJECT_FIELD = """\
version: 1
settings:
  github:
    projects: [octo-org/5]
fields:
  next_review: {github: "Review date", type: date}
  risk: {github: "Risk", type: select}
rules:
  - id: contract-project-field
    title: Every project field write
    severity: low
    rationale: The contract tests need each kind of request the adapter can send.
    when:
      labels: {contains: blocked}
    then:
      - comment: 'Contract check ({{ risk | "unrated" }}).'
      - set_field: {field: next_review, value: "+14 days"}
      - set_field: {field: risk, value: High}
"""


@dataclass
class Checked:
    """What a scenario saw: the violations, the described operations exercised, and every GraphQL request."""

    violations: list[Violation] = field(default_factory=list)
    seen: Counter = field(default_factory=Counter)
    graphql: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # runs that did not end as expected

    def add(self, server: SimServer, contract: Any) -> None:
        self.violations += server.violations
        self.seen.update(contract.seen)


def _invoke(args: list[str], env: dict[str, str | None], checked: Checked) -> None:
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=True)
    if result.exit_code != 0:
        checked.failures.append(f"{args[0]} exited {result.exit_code}: {result.output[-500:]}")


def jira(flavor: str, rules_dir: Path) -> Checked:
    checked = Checked()
    rules = rules_dir / f"every-write-{flavor}.yml"
    rules.write_text(EVERY_WRITE.format(assignee=account_id("li.wei") if flavor == CLOUD else "li.wei",
                                        transition='"In Progress"'), encoding="utf-8")
    fields = rules_dir / f"fields-{flavor}.yml"
    fields.write_text(MAPPED_FIELDS, encoding="utf-8")
    # Custom fields, hierarchy and links in every answer; the fields run reads `GET /field` and writes fields.
    sim = FieldsJiraSim(flavor, 60, seed=1, now=NOW, inline_comments=3, long_history_rate=0.3, hierarchy=True)
    contract = JiraContract(flavor)
    faults = Faults(script=[("edit", "lost_response")])  # the adapter re-reads the issue before any resend
    env: dict[str, str | None] = {k: None for k in ("JIRA_EMAIL", "JIRA_API_TOKEN", "JIRA_TOKEN", "JIRA_URL")}
    env.update(credentials(flavor))
    with SimServer(sim, contract=contract, faults=faults) as server:
        base = ["--tracker", "jira", "--jira-url", server.url, "--jql", "project = OPS", "--now", STAMP,
                "--format", "json"]
        for args in (["plan", *base], ["apply", *base], ["apply", *base, "--rules", str(rules)],
                     ["plan", *base, "--since", "2026-11-19T09:00:00Z"], ["apply", *base, "--rules", str(fields)]):
            _invoke(args, env, checked)
        digest = ["digest", *base[:-2], "--post"]  # the digest issue: created, then found again and updated
        for _ in range(2):
            _invoke(digest, {**env, "STEWARD_DIGEST_PROJECT": "OPS"}, checked)
        checked.add(server, contract)
    return checked


def github(work: Path) -> Checked:
    checked = Checked()
    rules = work / "every-write-github.yml"
    rules.write_text(EVERY_WRITE.format(assignee="li-wei", transition="not_planned"), encoding="utf-8")
    contract = GitHubContract()
    recorder = _GraphQLRecorder(contract, checked)
    env = {**ghsim.steward_env("unused"), "GITHUB_ACTIONS": None, "STEWARD_GITHUB_LOGIN": None}
    sim = ghsim.GitHubSim(issues=40, seed=1, long_share=0.1)
    project = sim.add_project("octo-org", 5, "Governance", [
        SimField("PVTF_date", "Review date", "DATE"), SimField("PVTF_risk", "Risk", "SINGLE_SELECT", ["Low", "High"])])
    for number in range(1, 41, 2):  # half the issues are in the project, some with a value
        sim.set_value(project, number, "Review date", "2026-11-01", NOW)
    fields = work / "project-field-github.yml"
    fields.write_text(PROJECT_FIELD, encoding="utf-8")
    faults = Faults(script=[("rest_comment_create", "lost_response")])  # the adapter looks for its marker
    with SimServer(sim, contract=recorder, faults=faults) as server:
        env["GITHUB_API_URL"] = server.url
        # One issue first: the re-check before writing and the reconcile after it then read one issue (the
        # shape the event cassettes record), the full apply reads several.
        for args in (ghsim.run_args("plan"), ghsim.run_args("apply", ghsim.SIM_NOW, "--query", "number:3"),
                     ghsim.run_args("apply"),
                     ghsim.run_args("apply", ghsim.SIM_NOW, "--rules", str(rules)),
                     ghsim.run_args("plan", ghsim.SIM_NOW, "--query", "number:7"),
                     ghsim.run_args("plan", ghsim.SIM_NOW, "--query", "state:all"),
                     ghsim.run_args("apply", ghsim.SIM_NOW, "--rules", str(fields), "--query", "label:blocked"),
                     ghsim.run_args("plan", ghsim.SIM_NOW, "--query", 'no:assignee label:"priority: high"')):
            _invoke(args, env, checked)
        _invoke(ghsim.run_args("plan", ghsim.SIM_NOW, "--query", "state:all"),
                {**env, "STEWARD_GITHUB_READS": "rest"}, checked)
        _invoke(ghsim.run_args("plan", ghsim.SIM_NOW, "--query", "number:7"),
                {**env, "STEWARD_GITHUB_READS": "rest"}, checked)
        _invoke(_event_args(work, server.url), env, checked)
        # The digest of a review period: opened once, then found again and updated.
        for _ in range(2):
            _invoke(["digest", "--tracker", f"github:{ghsim.REPO}", "--now", ghsim.stamp(ghsim.SIM_NOW) or "",
                     "--post"], env, checked)
        checked.add(server, contract)
    typeless = ghsim.GitHubSim(issues=5, seed=2, issue_types=False)  # an older GHES: the adapter drops issueType
    contract = GitHubContract()
    with SimServer(typeless, contract=_GraphQLRecorder(contract, checked)) as server:
        env["GITHUB_API_URL"] = server.url
        _invoke(ghsim.run_args("plan"), env, checked)
        checked.add(server, contract)
    return checked


def _event_args(work: Path, url: str) -> list[str]:
    """`steward event` for an `issues.opened` webhook about issue 3 (octokit's payload, re-pointed at the
    simulator's repository). Outside Actions it asks GitHub who the token is (GET /user)."""
    payload = json.loads((PAYLOADS / "issues_opened.payload.json").read_text(encoding="utf-8"))
    payload["issue"]["number"] = 3
    payload["repository"]["full_name"] = ghsim.REPO
    payload["repository"]["name"], payload["repository"]["owner"]["login"] = ghsim.NAME, ghsim.OWNER
    path = work / "event.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    return ["event", "--github-event", str(path), "--event-name", "issues", "--github-url", url, "--dry-run",
            "--now", ghsim.stamp(ghsim.SIM_NOW) or "", "--format", "json"]


class _GraphQLRecorder:
    """The GitHub contract, also keeping every GraphQL request body (the cassette checks need the documents
    the adapter sends: the cassettes record only their variables)."""

    def __init__(self, contract: GitHubContract, checked: Checked):
        self.contract, self.checked = contract, checked

    def check_request(self, request: Any) -> list[Violation]:
        if request.path.endswith("/graphql"):
            try:
                self.checked.graphql.append(json.loads(request.body))
            except ValueError:
                pass
        return self.contract.check_request(request)

    def check_response(self, request: Any, response: Any) -> list[Violation]:
        return self.contract.check_response(request, response)

