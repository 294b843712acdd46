"""Malformed answers never produce a traceback (issue 13, part 5): a read answered 200 with an empty body,
`null`, an HTML page, a list or the wrong types ends the run with one line naming the site and what was being
read; exit 2 when nothing was written, 3 when some steps were. Jira keys are encoded where they go into paths
(part 10), and Atlassian Document Format is read without recursion, however deep."""

from __future__ import annotations

import json
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sim.jira import CLOUD, DATACENTER, WRITE_KINDS, JiraSim, credentials
from sim.jira_broken import BODIES, BrokenJira
from sim.server import Request, Response, SimServer

from steward.core.errors import TrackerError
from steward.plugins.jira.parse import adf_text
from steward.plugins.jira.tracker import JiraTracker
from trackers.test_jira_e2e import NOW, TOKEN
from trackers.test_jira_paging import apply

PROBLEMS = {
    "empty": "answered searching issues with nothing instead of a JSON object",
    "null": "answered searching issues with nothing instead of a JSON object",
    "html": "answered searching issues with something that is not JSON",
    "list": "answered searching issues with a list instead of a JSON object",
    "issues_text": "answered searching issues without a list of issues (a text instead)",
    "issue_text": "answered searching issues with an issue without its",
    "total_text": "answered searching issues with total = 'many', not a count",
}


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
@pytest.mark.parametrize("mode", BODIES)
def test_a_search_answered_with_something_else_is_one_line_and_exit_2(flavor, mode):
    if mode == "total_text" and flavor == CLOUD:
        pytest.skip("Cloud's enhanced search has no total")
    sim = JiraSim(flavor, 30, seed=5, now=NOW)
    with SimServer(BrokenJira(sim, mode)) as server:
        done = apply(server, flavor)
        assert server.requests(*WRITE_KINDS) == 0
    assert done.returncode == 2, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and PROBLEMS[mode] in lines[0], done.stderr
    assert server.url.split("//")[1] in lines[0]  # it names the site


@pytest.mark.parametrize(("flavor", "target", "after"), [(CLOUD, "issue_bulk", 3), (DATACENTER, "search", 4)])
@pytest.mark.parametrize("mode", ["empty", "html", "issues_text"])
def test_a_broken_page_after_writes_stops_the_run_and_exits_3(flavor, target, after, mode):
    """Pages read one at a time (no read-ahead, one read in flight), so the broken page comes after the first
    page's writes."""
    sim = JiraSim(flavor, 250, seed=6, now=NOW)
    with SimServer(BrokenJira(sim, mode, target=target, after=after)) as server:
        done = apply(server, flavor, STEWARD_READ_AHEAD="0", STEWARD_JIRA_PARALLEL="1")
        assert server.requests(*WRITE_KINDS) > 0
    assert done.returncode == 3, done.stderr
    report = json.loads(done.stdout)
    assert "reading issues" in json.dumps(report) and "Traceback" not in done.stderr


@pytest.mark.parametrize(("flavor", "target", "after"), [(CLOUD, "issue_bulk", 3), (DATACENTER, "search", 4)])
@pytest.mark.parametrize("parallel", ["1", "3"])
def test_with_read_ahead_a_broken_page_still_gets_a_truthful_exit_code(flavor, target, after, parallel):
    """Reading ahead (and several reads in flight), the broken page may arrive before or after the first
    writes: 2 when nothing was written, 3 when something was, never 0."""
    sim = JiraSim(flavor, 250, seed=6, now=NOW)
    with SimServer(BrokenJira(sim, "html", target=target, after=after)) as server:
        done = apply(server, flavor, STEWARD_JIRA_PARALLEL=parallel)
        written = server.requests(*WRITE_KINDS)
    assert done.returncode == (3 if written else 2), done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(("flavor", "after"), [(CLOUD, 1), (DATACENTER, 2)])
def test_a_broken_re_check_before_the_first_write_exits_2(flavor, after):
    """The re-read just before writing fails: the page's planned steps were never written."""
    sim = JiraSim(flavor, 250, seed=6, now=NOW)
    target = "issue_bulk" if flavor == CLOUD else "search"
    with SimServer(BrokenJira(sim, "html", target=target, after=after)) as server:
        done = apply(server, flavor)
        assert server.requests(*WRITE_KINDS) == 0
    assert done.returncode == 2, done.stderr
    assert "answered reading issues with something that is not JSON" in done.stderr


def test_an_account_lookup_without_the_account_is_an_error_not_a_stranger():
    """Without its own id, no comment would be Steward's own and every step would be written again."""
    sim = JiraSim(CLOUD, 5, seed=1, now=NOW)
    with SimServer(Recorder(sim, drop=("accountId",))) as server:
        tracker = JiraTracker(server.url, credentials(CLOUD, TOKEN), sleep=lambda s: None)
        with pytest.raises(TrackerError, match="without the account's accountId"):
            tracker.identity().authors  # noqa: B018  (asking is the point)


class Recorder:
    """Passes requests on, keeping their raw paths; `drop` leaves those keys out of `GET /myself`."""

    def __init__(self, sim: JiraSim, drop: tuple[str, ...] = ()):
        self.sim, self.paths, self.drop = sim, [], drop

    def kind(self, request: Request) -> str:
        return self.sim.kind(request)

    def is_write(self, request: Request) -> bool:
        return self.sim.is_write(request)

    def handle(self, request: Request) -> Response:
        self.paths.append(request.path)
        response = self.sim.handle(request)
        if self.sim.kind(request) == "myself" and isinstance(response.body, dict):
            response = Response(200, {k: v for k, v in response.body.items() if k not in self.drop})
        return response


@pytest.mark.parametrize("flavor", [CLOUD, DATACENTER])
def test_a_key_is_encoded_into_one_path_segment(flavor):
    sim = JiraSim(flavor, 3, seed=1, now=NOW)
    recorder = Recorder(sim)
    with SimServer(recorder) as server:
        tracker = JiraTracker(server.url, credentials(flavor, TOKEN), sleep=lambda s: None)
        with pytest.raises(TrackerError):
            tracker.fetch_one("OPS-1/../../myself?x=")
    assert recorder.paths[-1].endswith("/issue/OPS-1%2F..%2F..%2Fmyself%3Fx%3D"), recorder.paths


DEEP = 5000


class DeepDescription:
    """A simulator whose OPS-1 description is ADF nested DEEP levels (spliced into the encoded answer)."""

    def __init__(self, sim: JiraSim):
        self.sim = sim
        sim._materialize("OPS-1").override = {"description": "DEEP-ADF"}

    def kind(self, request: Request) -> str:
        return self.sim.kind(request)

    def is_write(self, request: Request) -> bool:
        return self.sim.is_write(request)

    def handle(self, request: Request) -> Response:
        response = self.sim.handle(request)
        encoded = response.encoded()
        if b'"DEEP-ADF"' not in encoded:
            return response
        deep = ('{"type": "blockquote", "content": [' * DEEP + '{"type": "text", "text": "deep text"}'
                + "]}" * DEEP)
        return Response(response.status, encoded.replace(b'"DEEP-ADF"', deep.encode()),
                        {"Content-Type": "application/json"})


def test_a_description_nested_thousands_deep_is_read_as_text():
    sim = JiraSim(CLOUD, 3, seed=1, now=NOW)
    with SimServer(DeepDescription(sim)) as server:
        tracker = JiraTracker(server.url, credentials(CLOUD, TOKEN), sleep=lambda s: None)
        issue = tracker.fetch_one("OPS-1")
        pages = list(tracker.fetch("project = OPS"))
    assert issue is not None and issue.body == "deep text"
    assert [i.body for page in pages for i in page if i.key == "OPS-1"] == ["deep text"]
    assert sys.getrecursionlimit() < DEEP  # read without raising the limit for the whole process


def _reference(node):
    """The recursive reading adf_text replaced, kept as the meaning it must keep."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    if isinstance(node, list):
        return "".join(_reference(child) for child in node)
    if not isinstance(node, dict):
        return str(node)
    kind = node.get("type")
    if kind == "text":
        return str(node.get("text") or "")
    if kind == "hardBreak":
        return "\n"
    if kind == "rule":
        return "----\n"
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if kind in ("mention", "emoji", "status", "date"):
        return str(attrs.get("text") or attrs.get("shortName") or attrs.get("timestamp") or "")
    if kind in ("inlineCard", "blockCard", "embedCard"):
        return str(attrs.get("url") or "")
    inner = _reference(node.get("content") or [])
    if kind in ("paragraph", "heading", "listItem", "blockquote", "codeBlock", "panel", "tableRow"):
        return inner.rstrip("\n") + "\n"
    return inner


KINDS = ["text", "hardBreak", "rule", "mention", "inlineCard", "paragraph", "heading", "listItem", "blockquote",
         "bulletList", "doc", "table", None]
texts = st.sampled_from(["", "a", "\n", "b\n\n", "x y", "\n\nz"])
leaves = st.one_of(texts, st.none(), st.integers(0, 9),
                   st.builds(lambda t: {"type": "text", "text": t}, texts),
                   st.builds(lambda k, t: {"type": k, "attrs": {"text": t, "url": t}},
                             st.sampled_from(["mention", "inlineCard", "hardBreak", "rule"]), texts))
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.builds(lambda k, c: {"type": k, "content": c}, st.sampled_from(KINDS), st.lists(inner, max_size=4))),
    max_leaves=30)


@settings(max_examples=400, deadline=None)
@given(trees)
def test_adf_text_reads_every_tree_as_the_recursive_reading_did(tree):
    assert adf_text(tree) == _reference(tree)
