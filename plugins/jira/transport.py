"""Jira over HTTP: the `jira` library's authenticated session, the shared retry policy, Jira's own wording.

The library owns the session, the authentication and the default headers; every request goes through that
session (`JIRA._session`) with the library's retries switched off, because the shared policy in
plugins/transport.py is stricter about writes.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlparse

import requests
from jira import JIRA
from jira.exceptions import JIRAError
from jira.resilientsession import parse_errors

from steward.core.errors import TrackerError
from steward.plugins.transport import Failure, RetryPolicy, Transport, public_url, read_timeout

from .answers import answer, deep_json

log = logging.getLogger("steward.jira")

DEFAULT_TIMEOUT = 120.0  # seconds: large pages of changelogs are slow


class JiraConnection:
    """Where Jira is, who Steward is there, and one request at a time with the shared policy."""

    def __init__(self, url: str | None, env: Mapping[str, str], policy: RetryPolicy):
        url = (url or env.get("JIRA_URL") or "").strip().rstrip("/")
        if not url:
            raise TrackerError("no Jira URL: set JIRA_URL or pass --jira-url https://your-site.atlassian.net")
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise TrackerError(f"the Jira URL {public_url(url)!r} is not an http(s) URL such as "
                               "https://acme.atlassian.net")
        email, api_token, pat = env.get("JIRA_EMAIL"), env.get("JIRA_API_TOKEN"), env.get("JIRA_TOKEN")
        deployment = (env.get("JIRA_DEPLOYMENT") or "").lower()
        if email and api_token and deployment not in ("datacenter", "server"):
            self.cloud, auth = True, {"basic_auth": (email, api_token)}
            self.credential = "JIRA_EMAIL and JIRA_API_TOKEN"
        elif pat:
            self.cloud, auth = deployment == "cloud", {"token_auth": pat}
            self.credential = "JIRA_TOKEN"
        elif email and api_token:
            self.cloud, auth = False, {"basic_auth": (email, api_token)}
            self.credential = "JIRA_EMAIL and JIRA_API_TOKEN"
        else:
            raise TrackerError("no Jira credentials: set JIRA_EMAIL and JIRA_API_TOKEN (Jira Cloud) or "
                               "JIRA_TOKEN, a personal access token (Data Center / Server)")
        self.base_url = url
        client = JIRA(server=url, get_server_info=False, max_retries=0,
                      timeout=(10, read_timeout(env, DEFAULT_TIMEOUT)), **auth)
        self.session = client._session  # the library's authenticated session: auth and headers
        self.version = "3" if self.cloud else "2"
        # Exchanges run concurrently (read.py reads several pages of issues at once, and read-ahead writes
        # while it reads): the library's ResilientSession is a requests.Session that keeps no per-request
        # state (with max_retries=0 it copies its headers per call), urllib3's connection pool hands each
        # exchange its own connection, and the cookie jar locks itself. Waits and pacing stay per call.
        self.transport = Transport("Jira", url, self._explain, policy, concurrent=True)
        self.requests = 0
        self._counting = threading.Lock()

    def url(self, path: str, version: str | None = None) -> str:
        return f"{self.base_url}/rest/api/{version or self.version}/{path}"

    def issue_url(self, key: str, rest: str = "", version: str | None = None) -> str:
        """The REST URL of an issue; the key is encoded, so no key can reach another path."""
        return self.url(f"issue/{quote(key, safe='')}{rest}", version)

    def request(self, method: str, url: str, what: str, *, params: dict[str, Any] | None = None,
                body: Any = None, write: bool = False) -> Any:
        """One JSON request with the shared retries. A write that may have landed raises Uncertain."""
        return self.transport.call(lambda: self.send(method, url, what, params, body), what, write=write)

    def whoami(self) -> list[str | None]:
        """The ids comments name the account behind the credentials by: Cloud's accountId; Data Center's user
        name and key (`GET /myself`)."""
        what = "asking Jira which account Steward writes as"
        data = answer(self.request("GET", self.url("myself"), what), self.base_url, what)
        ids = [data.get("accountId")] if self.cloud else [data.get("name"), data.get("key")]
        ids = [value for value in ids if isinstance(value, str) and value]
        if not ids:  # without it no comment would be Steward's own, and every step would be written again
            raise TrackerError(f"Jira at {public_url(self.base_url)} answered {what} without the account's "
                               f"{'accountId' if self.cloud else 'name'}")
        return ids

    def read_optional(self, url: str, what: str, params: dict[str, Any] | None = None) -> Any:
        """A read whose 404 means "there is none" (a property never written): None then."""
        def send() -> Any:
            try:
                return self.send("GET", url, what, params, None)
            except Failure as failure:
                if failure.status == 404:
                    return None
                raise

        return self.transport.call(send, what)

    def send(self, method: str, url: str, what: str, params: dict[str, Any] | None, body: Any) -> Any:
        """One exchange, no retries: the parsed answer, or a Failure for the shared policy to judge."""
        with self._counting:
            self.requests += 1
        try:
            response = self.session.request(method, url, params=params,
                                            data=None if body is None else json.dumps(body))
        except JIRAError as error:
            if error.response is None:
                raise Failure(None, error.text or "no response") from None
            response = error.response
        except (requests.ConnectionError, requests.Timeout) as error:
            raise Failure(None, type(error).__name__) from None
        except requests.RequestException as error:
            raise TrackerError(f"cannot reach Jira at {public_url(self.base_url)} while {what}: "
                               f"{type(error).__name__}") from None
        if not response.ok:
            raise Failure(response.status_code, f"HTTP {response.status_code}", response.headers, data=response)
        self.transport.policy.note(response.headers)
        if not response.content:
            return None
        try:
            return response.json()
        except RecursionError:
            return deep_json(response.content, self.base_url, what)
        except ValueError:
            raise TrackerError(f"{public_url(self.base_url)} answered {what} with something that is not JSON: "
                               "is JIRA_URL the base URL of a Jira site?") from None

    def _explain(self, failure: Failure, what: str) -> TrackerError:
        status, response = failure.status, failure.data
        try:
            detail = "; ".join(parse_errors(response))[:500]
        except Exception:  # an odd body must not hide the status
            detail = ""
        detail = f": {detail}" if detail and not detail.lstrip().startswith("<") else ""
        site = public_url(self.base_url)
        if status == 401:
            return TrackerError(f"Jira rejected the credentials in {self.credential} while {what} (HTTP 401). "
                                "Check they are set, current and belong to this site.")
        if status == 403:
            return TrackerError(f"Jira refused {what} (HTTP 403){detail}. The account behind "
                                f"{self.credential} needs Browse projects to read, and Edit issues, Add "
                                "comments, Assign issues and Transition issues to write.")
        if status == 404 and "search" in what:
            return TrackerError(f"no Jira REST API at {site} (HTTP 404 while {what}): check JIRA_URL "
                                "or --jira-url")
        if status == 410:
            return TrackerError(f"{site} no longer offers this API (HTTP 410 while {what}): it looks "
                                "like Jira Cloud; set JIRA_EMAIL and JIRA_API_TOKEN instead of JIRA_TOKEN")
        if status == 400 and "search" in what:
            return TrackerError(f"Jira rejected the JQL{detail}")
        return TrackerError(f"Jira answered HTTP {status} while {what}{detail}")

    def close(self) -> None:
        self.session.close()
