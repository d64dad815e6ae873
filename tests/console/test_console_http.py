"""The console's doors, over HTTP: sessions, CSRF, no action through GET, escaping."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import httpx

from connector.console.session import Sessions
from tests.console.conftest import Space
from tests.console.support import call, csrf_of, logged_in

NOW = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


def test_a_session_cookie_is_signed_bound_and_ends() -> None:
    sessions = Sessions("operator-token")
    session, cookie = sessions.issue(NOW)
    assert sessions.read(cookie, NOW) == session
    assert sessions.read(cookie[:-2] + "xx", NOW) is None  # forged
    assert sessions.read(cookie, NOW + timedelta(hours=9)) is None  # old
    assert Sessions("another-token").read(cookie, NOW) is None  # another connector's
    assert sessions.csrf_ok(session, sessions.csrf(session))
    assert not sessions.csrf_ok(session, "guess")
    assert not sessions.csrf_ok(session, None)


def test_pages_need_a_login(space: Space) -> None:
    with httpx.Client(base_url=space["c"].settings.public_url) as client:
        for path in ("/console/overview", "/console/datasets", "/console/river", "/console/audit"):
            answer = client.get(path)
            assert answer.status_code == 303
            assert answer.headers["location"].startswith("/console/login")
        assert client.get("/console/river/events").status_code == 401


def test_a_wrong_token_is_refused_and_the_cookie_is_strict(space: Space) -> None:
    with httpx.Client(base_url=space["c"].settings.public_url) as client:
        page = client.get("/console/login")
        assert page.headers["content-security-policy"].startswith("default-src 'self'")
        csrf = page.text.split('name="csrf" value="')[1].split('"')[0]
        wrong = client.post("/console/login", data={"csrf": csrf, "token": "not-it"})
        assert wrong.status_code == 400
        assert "トークンが違います" in wrong.text  # C村: Japanese by default
        assert "tsunagu_session" not in wrong.headers.get("set-cookie", "")
    with logged_in(space, "c") as client:
        session = next(c for c in client.cookies.jar if c.name == "tsunagu_session")
    assert session.has_nonstandard_attr("HttpOnly")
    assert session.get_nonstandard_attr("SameSite", "").lower() == "strict"


def test_a_login_without_its_form_token_is_refused(space: Space) -> None:
    with httpx.Client(base_url=space["c"].settings.public_url) as client:
        token = space["c"].settings.management_token
        answer = client.post("/console/login", data={"token": token})
        assert answer.status_code == 400
        assert "tsunagu_session" not in answer.headers.get("set-cookie", "")


def test_actions_need_post_and_the_csrf_token(space: Space) -> None:
    with logged_in(space, "b") as client:
        body = {
            "id": "urn:tsunagu:dataset:b:held",
            "title": "held",
            "offers": [{"policy": {"permission": [{"action": "use"}]}, "requires_approval": True}],
        }
        call(space, "b", "POST", "/datasets", json=body)
        started = call(
            space,
            "c",
            "POST",
            "/negotiations",
            json={"provider": space["b"].did, "dataset_id": body["id"]},
        )
        held = space.run(
            lambda: space["c"].client.wait_for("negotiations", started["id"], ["REQUESTED"])
        )
        provider_side = next(
            n
            for n in call(space, "b", "GET", "/negotiations")
            if n["peer_pid"] == held["peer_pid"] or n["id"] == held["peer_pid"]
        )
        pid = provider_side["id"]
        path = f"/console/negotiations/{pid}/approve"
        assert client.get(path).status_code == 405  # nothing acts through GET
        assert client.post(path, data={}).status_code == 403  # no CSRF token
        assert client.post(path, data={"csrf": "forged"}).status_code == 403
        assert call(space, "b", "GET", f"/negotiations/{pid}")["awaiting_decision"]  # unchanged
        answer = client.post(path, data={"csrf": csrf_of(client)})
        assert answer.status_code == 303
        done = space.run(
            lambda: space["c"].client.wait_for("negotiations", started["id"], ["FINALIZED"])
        )
        assert done["state"] == "FINALIZED"


def test_a_peer_controlled_title_renders_as_text(space: Space) -> None:
    title = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    call(space, "b", "POST", "/datasets", json={"id": "urn:tsunagu:dataset:b:x", "title": title})
    with logged_in(space, "b") as client:
        page = client.get("/console/datasets").text
        assert "<script>alert" not in page
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page


def test_a_bad_dataset_form_says_why_and_stores_nothing(space: Space) -> None:
    with logged_in(space, "b") as client:
        csrf = csrf_of(client, "/console/datasets")
        answer = client.post(
            "/console/datasets",
            data={
                "csrf": csrf,
                "id": "urn:tsunagu:dataset:b:bad",
                "title": "bad",
                "policy": "{oops",
            },
        )
        assert answer.status_code == 400
        assert "not JSON" in answer.text
        answer = client.post(
            "/console/datasets",
            data={
                "csrf": csrf,
                "id": "urn:tsunagu:dataset:b:bad",
                "title": "bad",
                "policy": '{"permission": [{"action": "usee"}]}',
            },
        )
        assert answer.status_code == 400
        assert "usee" in answer.text
        assert 'value="urn:tsunagu:dataset:b:bad"' in answer.text  # the form keeps what was typed
        assert all(
            d["id"] != "urn:tsunagu:dataset:b:bad" for d in call(space, "b", "GET", "/datasets")
        )


def test_a_counter_offer_from_the_console(space: Space) -> None:
    dataset = "urn:tsunagu:dataset:b:countered"
    offer = {"policy": {"permission": [{"action": "use"}]}, "requires_approval": True}
    call(space, "b", "POST", "/datasets", json={"id": dataset, "title": "t", "offers": [offer]})
    started = call(
        space,
        "c",
        "POST",
        "/negotiations",
        json={"provider": space["b"].did, "dataset_id": dataset},
    )
    space.run(lambda: space["c"].client.wait_for("negotiations", started["id"], ["REQUESTED"]))
    pid = next(
        n["id"] for n in call(space, "b", "GET", "/negotiations") if n["dataset_id"] == dataset
    )
    narrower = {
        "permission": [
            {
                "action": "use",
                "constraint": [
                    {"leftOperand": "purpose", "operator": "eq", "rightOperand": "disasterResponse"}
                ],
            }
        ]
    }
    with logged_in(space, "b") as client:
        path = f"/console/negotiations/{pid}/counter-offer"
        bad = client.post(path, data={"csrf": csrf_of(client), "policy": "{nope"})
        assert bad.status_code == 400 and "not JSON" in bad.text
        assert call(space, "b", "GET", f"/negotiations/{pid}")["awaiting_decision"]  # unchanged
        sent = client.post(path, data={"csrf": csrf_of(client), "policy": json.dumps(narrower)})
        assert sent.status_code == 303, sent.text.split('role="alert">')[-1][:300]
    settled = ["OFFERED", "ACCEPTED", "AGREED", "VERIFIED", "FINALIZED"]
    record = space.run(lambda: space["b"].client.wait_for("negotiations", pid, settled))
    assert not record["awaiting_decision"]
    assert record["offer"]["permission"][0]["constraint"][0]["rightOperand"] == "disasterResponse"


def test_search_across_the_data_space_and_negotiate(space: Space) -> None:
    from connector.demo.catalog_moment import _entry

    dataset = "urn:tsunagu:dataset:085901:river-water-level"
    offer = {"policy": {"@id": "urn:tsunagu:offer:b:open", "permission": [{"action": "use"}]}}
    call(space, "b", "POST", "/datasets", json={"id": dataset, "title": "水位", "offers": [offer]})
    document = _entry(
        space["b"],
        "085901",
        dataset,
        title="中流大橋 河川水位",
        title_en="Churyu Bridge river water level",
        keyword="水位, 河川",
        keyword_en="water level",
        theme="river-water-level",
    )
    call(space, "b", "POST", "/catalog/entries", json={"document": document, "format": "yaml"})
    with logged_in(space, "c") as client:
        csrf = csrf_of(client, "/console/search")
        assert client.get("/console/search/harvest").status_code == 405
        assert client.post("/console/search/harvest", data={"csrf": csrf}).status_code == 303
        page = client.get("/console/search", params={"q": "水位"})
        assert page.status_code == 200
        assert "中流大橋 河川水位" in page.text and dataset in page.text
        answer = client.post(
            "/console/search/negotiate",
            data={"csrf": csrf, "provider": space["b"].did, "dataset": dataset},
        )
        assert answer.status_code == 303
    started = [n for n in call(space, "c", "GET", "/negotiations") if n["dataset_id"] == dataset]
    assert len(started) == 1
    done = space.run(
        lambda: space["c"].client.wait_for("negotiations", started[0]["id"], ["FINALIZED"])
    )
    assert done["state"] == "FINALIZED"


def test_consent_records_are_listed_and_withdrawn_from_the_console(space: Space) -> None:
    purpose = "https://w3id.org/tsunagu/vocab/purpose/disaster-response"
    given = call(
        space,
        "b",
        "POST",
        "/consents",
        json={"subject": "B-0042", "purposes": [purpose], "recipients": ["role:municipality"]},
    )
    record = given.get("record", given)
    with logged_in(space, "b") as client:
        page = client.get("/console/consents", params={"status": "given"})
        assert "B-0042" in page.text
        assert client.get("/console/consents/withdraw").status_code == 405
        answer = client.post(
            "/console/consents/withdraw", data={"csrf": csrf_of(client), "record": record["id"]}
        )
        assert answer.status_code == 303
        assert "B-0042" not in client.get("/console/consents", params={"status": "given"}).text
    assert call(space, "b", "GET", f"/consents/{record['id']}")["status"] == "withdrawn"
