"""Logging in to the console through an OpenID Connect provider: a real one on loopback
(tests/console/oidc_provider.py), real HTTP and signatures, and the refusals."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from connector.console.oidc import OidcConfig
from connector.errors import ConfigError
from tests.console.conftest import Space
from tests.console.oidc_provider import LoopbackProvider
from tests.console.support import logged_in


@pytest.fixture
def provider(space: Space) -> Iterator[LoopbackProvider]:
    """The provider, and B町 configured to let its operator log in through it."""
    p = LoopbackProvider()
    space.run(p.server.start)
    p.redirect_uris.add(f"{space['b'].settings.public_url}/console/oidc/callback")
    space.run(lambda: space.space.reconfigure("b", console_oidc=p.settings()))
    try:
        yield p
    finally:
        space.run(p.server.stop)


def _to_provider(client: httpx.Client) -> str:
    """Start a login on the console: the URL it sends the browser to."""
    page = client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf and 'id="login-oidc"' in page.text
    answer = client.post(
        "/console/oidc/login", data={"csrf": csrf.group(1), "next": "/console/agreements"}
    )
    assert answer.status_code == 200, answer.text
    found = re.search(r'content="0;url=([^"]+)"', answer.text)
    assert found, answer.text
    return html.unescape(found.group(1))


def _callback(provider_url: str) -> str:
    """Let the provider answer (it logs the user in without asking): the callback URL."""
    answer = httpx.get(provider_url)
    assert answer.status_code == 302, answer.text
    return answer.headers["location"]


@pytest.mark.parametrize("alg", ["RS256", "EdDSA"])
def test_an_operator_logs_in_through_the_provider(
    space: Space, provider: LoopbackProvider, alg: str
) -> None:
    provider.behaviour.alg = alg
    with httpx.Client(base_url=space["b"].settings.public_url, timeout=30) as client:
        assert client.get("/console/overview").status_code == 303  # not yet
        url = _to_provider(client)
        assert url.startswith(f"{provider.issuer}/authorize?")
        assert "code_challenge_method=S256" in url and "nonce=" in url and "state=" in url
        landed = client.get(_callback(url))
        assert landed.status_code == 200
        assert 'content="0;url=/console/agreements"' in landed.text
        assert client.get("/console/overview").status_code == 200  # the same session as a token's


def _refusal(
    space: Space, provider: LoopbackProvider, **behaviour: Any
) -> tuple[httpx.Response, httpx.Client]:
    for key, value in behaviour.items():
        setattr(provider.behaviour, key, value)
    client = httpx.Client(base_url=space["b"].settings.public_url, timeout=30)
    answer = client.get(_callback(_to_provider(client)))
    return answer, client


def test_the_console_refuses_what_it_must_not_believe(
    space: Space, provider: LoopbackProvider
) -> None:
    cases = [
        ({"audience": "another-app"}, "oidc_wrong_audience"),
        ({"rogue_key": True}, "oidc_bad_signature"),
        ({"subject": "stranger@elsewhere.example"}, "oidc_not_operator"),
        ({"nonce": "someone-elses-login"}, "oidc_nonce_mismatch"),
    ]
    for behaviour, code in cases:
        answer, client = _refusal(space, provider, **behaviour)
        try:
            assert answer.status_code == 403, (code, answer.text)
            assert f"<code>{code}</code>" in answer.text
            assert "ログインできませんでした" in answer.text  # a page that says so, in plain words
            assert client.get("/console/overview").status_code == 303  # and no session
        finally:
            client.close()
        provider.behaviour = type(provider.behaviour)()


@pytest.mark.usefixtures("provider")
def test_a_replayed_state_is_refused(space: Space) -> None:
    with httpx.Client(base_url=space["b"].settings.public_url, timeout=30) as client:
        callback = _callback(_to_provider(client))
        started = dict(client.cookies)  # what an attacker who saw the exchange would hold
        assert client.get(callback).status_code == 200
    with httpx.Client(
        base_url=space["b"].settings.public_url, cookies=started, timeout=30
    ) as other:
        again = other.get(callback)
        assert again.status_code == 403
        assert "<code>oidc_state_replayed</code>" in again.text
        # a forged state (no login of ours) is refused too
        forged = other.get("/console/oidc/callback?code=x&state=made-up")
        assert forged.status_code == 403
        assert "oidc_state_mismatch" in forged.text or "oidc_no_login" in forged.text


def test_the_configuration_must_name_who_is_an_operator() -> None:
    base = {"issuer": "https://id.example", "client_id": "c", "client_secret": "s"}
    with pytest.raises(ConfigError, match="nobody is an operator"):
        OidcConfig.parse(base, public_url="https://b.example", dev_mode=False)
    with pytest.raises(ConfigError, match="https"):
        OidcConfig.parse(
            {**base, "issuer": "http://id.example", "allowed_subjects": ["a"]},
            public_url="https://b.example",
            dev_mode=False,
        )
    by_group = OidcConfig.parse(
        {**base, "operator_claim": "groups", "operator_values": ["tsunagu-operators"]},
        public_url="https://b.example",
        dev_mode=False,
    )
    assert by_group.redirect_uri == "https://b.example/console/oidc/callback"
    assert by_group.is_operator({"sub": "x", "groups": ["staff", "tsunagu-operators"]})
    assert not by_group.is_operator({"sub": "x", "groups": ["staff"]})
    assert not by_group.is_operator({"sub": "x"})


@pytest.mark.browser
def test_logging_in_through_the_provider_in_a_browser(
    space: Space, provider: LoopbackProvider, page: Any, artifacts: Path
) -> None:
    page.goto(space.url("b", "/console/login"))
    page.screenshot(path=str(artifacts / "login-oidc.png"), full_page=True)
    provider.behaviour.subject = "stranger@elsewhere.example"
    page.click("#login-oidc")
    page.wait_for_selector("#refusal")
    assert "oidc_not_operator" in page.locator("#refusal").inner_text()
    page.screenshot(path=str(artifacts / "login-oidc-refused.png"), full_page=True)
    provider.behaviour.subject = "operator@b-town.example"
    page.click("#login-oidc")
    page.wait_for_url("**/console/overview")
    assert space["b"].did in page.content()
    page.click("#logout")
    page.wait_for_url("**/console/login**")
    page.goto(space.url("b", "/console/overview"))
    page.wait_for_url("**/console/login**")


def test_the_providers_addresses_pass_the_outbound_policy(
    space: Space, provider: LoopbackProvider
) -> None:
    """The discovery document is the provider's word: an address the outbound policy refuses
    stops the login with a clear code before the browser is sent anywhere."""
    cases = [
        {"jwks_uri": "http://169.254.169.254/latest/meta-data"},  # cloud metadata, never
        {"token_endpoint": "http://10.20.30.40/token"},  # private and plain http
        {"end_session_endpoint": "http://user:pw@127.0.0.1/logout"},  # user info
    ]
    for endpoints in cases:
        provider.behaviour.endpoints = endpoints
        space.run(lambda: space.space.reconfigure("b", console_oidc=provider.settings()))
        with httpx.Client(base_url=space["b"].settings.public_url, timeout=30) as client:
            page = client.get("/console/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
            assert csrf
            answer = client.post("/console/oidc/login", data={"csrf": csrf.group(1)})
            assert answer.status_code == 403, (endpoints, answer.text)
            assert "<code>oidc_endpoint_refused</code>" in answer.text, endpoints
            (key,) = endpoints
            assert key in html.unescape(answer.text)  # which address, in words
            assert client.get("/console/overview").status_code == 303


def test_an_oversized_token_answer_is_refused(space: Space, provider: LoopbackProvider) -> None:
    provider.behaviour.token_padding = 2 << 20  # the cap is 1 MiB
    answer, client = _refusal(space, provider)
    try:
        assert answer.status_code in (403, 502), answer.text
        assert "<code>oidc_unavailable</code>" in answer.text and "bytes" in answer.text
        assert client.get("/console/overview").status_code == 303
    finally:
        client.close()


def test_logging_out_ends_the_providers_session_too(
    space: Space, provider: LoopbackProvider
) -> None:
    provider.behaviour.logout = True
    space.run(lambda: space.space.reconfigure("b", console_oidc=provider.settings()))
    with httpx.Client(base_url=space["b"].settings.public_url, timeout=30) as client:
        assert client.get(_callback(_to_provider(client))).status_code == 200
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/overview").text)
        assert csrf
        left = client.post("/console/logout", data={"csrf": csrf.group(1)})
        assert left.status_code == 200
        found = re.search(r'content="0;url=([^"]+)"', left.text)
        assert found and found.group(1).startswith(f"{provider.issuer}/logout?")
        back = httpx.get(html.unescape(found.group(1)))  # the browser goes to the provider
        assert back.status_code == 302
        assert back.headers["location"].endswith("/console/login?notice=logged_out")
        (seen,) = provider.logouts
        assert seen["id_token_hint"].count(".") == 2 and seen["client_id"] == "tsunagu-console"
        assert client.get("/console/overview").status_code == 303  # ended here too

    # a session from the operator token logs out here only, even with the provider offering it
    with logged_in(space, "b") as client:
        csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/console/overview").text)
        assert csrf
        left = client.post("/console/logout", data={"csrf": csrf.group(1)})
        assert left.status_code == 303 and left.headers["location"].startswith("/console/login")
    assert len(provider.logouts) == 1
