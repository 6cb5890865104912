"""``botkit vonage``: the account's applications and numbers, against a sandbox on loopback.

The sandbox is served as ``botkit dev`` serves it (a real aiohttp server on 127.0.0.1); the
commands run through :func:`botkit.cli.main` in a thread (they are synchronous), reading the
environment as an operator's shell gives it. What the sandbox answers is checked against the
Application API's spec.
"""

from __future__ import annotations

import asyncio
import io
import os
import stat
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import aiohttp
import jsonschema
import pytest

from botkit.cli import main
from botkit.events import Channel
from botkit.sandbox import SANDBOX, Sandbox, create_sandbox_app
from botkit.sandbox.users import parse_user_message
from botkit.vonage.applications import AccountApi, AccountError, Webhooks
from botkit.vonage.openapi import load_spec, to_json_schema
from tests.sandbox.harness import (
    API_KEY,
    API_SECRET,
    APPLICATION_ID,
    MMS_BOT,
    WA_BOT,
    WA_USER,
    BotStandIn,
    KeyPair,
    basic,
    make_key_pair,
    sandbox_options,
    served,
)

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Account:
    url: str
    sandbox: Sandbox
    bot: BotStandIn
    folder: Path

    async def run(self, *argv: str, stdin: str = "") -> tuple[int, str, str]:
        """Run ``botkit vonage ARGV`` as a shell would; return its code, stdout and stderr."""
        return await asyncio.to_thread(_run_main, ["vonage", *argv], stdin)

    async def answer(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """What the sandbox answers a plain client with the account's credentials."""
        headers = {"Authorization": basic()}
        async with (
            aiohttp.ClientSession() as session,
            session.request(method, self.url + path, json=body, headers=headers) as response,
        ):
            return response.status, await response.json()


def _run_main(argv: list[str], stdin: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code = main(argv)
    finally:
        sys.stdin, sys.stdout, sys.stderr = saved
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def keys() -> KeyPair:
    return make_key_pair()


@pytest.fixture
async def account(
    keys: KeyPair, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Account]:
    bot = BotStandIn()
    await bot.start()
    app = create_sandbox_app(**sandbox_options(bot, keys.public_pem))
    for name in list(os.environ):
        if name.startswith("VONAGE_"):
            monkeypatch.delenv(name)
    folder = tmp_path / "pizzabot"
    folder.mkdir()
    monkeypatch.chdir(folder)
    try:
        async with served(app) as url:
            monkeypatch.setenv("VONAGE_API_KEY", API_KEY)
            monkeypatch.setenv("VONAGE_API_SECRET", API_SECRET)
            monkeypatch.setenv("VONAGE_API_URL", url)
            monkeypatch.setenv("VONAGE_SMS_API_URL", url)
            yield Account(url, app[SANDBOX], bot, folder)
    finally:
        await bot.close()


@cache
def _response_validator(path: str, method: str, status: str) -> jsonschema.Validator:
    spec = load_spec("application")
    content = spec["paths"][path][method]["responses"][status]
    schema = to_json_schema(spec, content)["content"]["application/json"]["schema"]
    return jsonschema.Draft202012Validator(schema)


def assert_answer_matches_spec(path: str, method: str, status: int, body: Any) -> None:
    """``body`` is what application.v2.yml says ``method path`` answers with ``status``."""
    _response_validator(path, method, str(status)).validate(body)


async def test_create_show_list_update_link_and_delete_an_application(account: Account) -> None:
    code, out, err = await account.run(
        "create", "--url", account.bot.url("/"), "--name", "pizza bot"
    )

    assert (code, err) == (0, "")
    [created] = [a for a in account.sandbox.applications.all() if a.name == "pizza bot"]
    key_file = account.folder / "private.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
    assert "PRIVATE KEY" not in out
    assert f"VONAGE_APPLICATION_ID={created.id}" in out
    assert created.messages is not None
    assert created.messages.inbound_url == account.bot.url("/webhooks/inbound")
    assert created.messages.status_url == account.bot.url("/webhooks/status")
    status, fetched = await account.answer("GET", f"/v2/applications/{created.id}")
    assert_answer_matches_spec("/{id}", "get", status, fetched)

    code, out, err = await account.run("list")
    assert (code, err) == (0, "")
    assert created.id in out
    assert APPLICATION_ID in out
    status, page = await account.answer("GET", "/v2/applications")
    assert_answer_matches_spec("/", "get", status, page)

    code, out, err = await account.run("update", created.id, "--url", "https://new.example.com")
    assert (code, err) == (0, "")
    assert "https://new.example.com/webhooks/inbound" in out
    moved = account.sandbox.applications.require(created.id)
    assert moved.messages is not None
    assert moved.messages.status_url == "https://new.example.com/webhooks/status"
    assert moved.public_key == created.public_key  # the key stays: the bot still signs with it
    status, fetched = await account.answer("GET", f"/v2/applications/{created.id}")
    assert_answer_matches_spec("/{id}", "get", status, fetched)

    # Creating and updating moved no number: the user still reaches the first application.
    account.sandbox.user_writes(
        Channel.SMS, WA_USER, parse_user_message(Channel.SMS, {"text": "before"})
    )
    assert len(await account.bot.wait_for("/webhooks/inbound", 1)) == 1
    code, out, err = await account.run("update", created.id, "--url", account.bot.url("/"))
    assert code == 0
    code, out, err = await account.run("link", WA_BOT, "--app", created.id)
    assert (code, err) == (0, "")
    assert f"Linked {WA_BOT} (GB)" in out
    assert account.sandbox.applications.linked_to(WA_BOT).id == created.id

    code, out, err = await account.run("show", created.id)
    assert (code, err) == (0, "")
    assert "'pizza bot'" in out
    assert f"{WA_BOT} (GB)" in out

    code, out, err = await account.run(
        "create", "--url", "https://x.example.com", "--name", "spare", "--key-file", "spare.pem"
    )
    assert code == 0
    [spare] = [a for a in account.sandbox.applications.all() if a.name == "spare"]
    code, out, err = await account.run("delete", spare.id, stdin="n\n")
    assert code == 1
    assert "Not deleted." in out
    assert account.sandbox.applications.get(spare.id) is not None
    code, out, err = await account.run("delete", spare.id, stdin="y\n")
    assert (code, err) == (0, "")
    assert account.sandbox.applications.get(spare.id) is None
    code, out, err = await account.run("delete", created.id, "--yes")
    assert code == 1
    assert err.count("\n") == 1
    assert "linked to this application" in err
    assert account.sandbox.applications.get(created.id) is not None


async def test_numbers_and_the_sms_api_url_on_a_number(account: Account) -> None:
    code, out, err = await account.run(
        "link", "+" + WA_BOT, "--app", APPLICATION_ID, "--sms-api-url", "https://bot.example.com"
    )

    assert (code, err) == (0, "")
    code, out, err = await account.run("numbers")
    assert (code, err) == (0, "")
    assert out.strip().splitlines() == [
        f"{WA_BOT} (GB)  application {APPLICATION_ID}  "
        "SMS API: https://bot.example.com/webhooks/sms/inbound",
        f"{MMS_BOT} (US)  application {APPLICATION_ID}",
    ]


async def test_the_key_goes_where_the_settings_expect_it_and_never_over_a_file(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = account.folder / "keys" / "bot.pem"
    expected.parent.mkdir()
    monkeypatch.setenv("VONAGE_PRIVATE_KEY", str(expected))
    before = len(account.sandbox.applications.all())

    code, out, err = await account.run("create", "--url", "https://bot.example.com")

    assert (code, err) == (0, "")
    assert f"VONAGE_PRIVATE_KEY={expected}" in out
    assert stat.S_IMODE(expected.stat().st_mode) == 0o600
    assert [a.name for a in account.sandbox.applications.all()][before:] == ["pizzabot"]

    code, out, err = await account.run("create", "--url", "https://bot.example.com")

    assert code == 2
    assert f"{expected} exists" in err
    assert len(account.sandbox.applications.all()) == before + 1  # nothing created


@pytest.mark.parametrize(
    ("argv", "env", "code", "says"),
    [
        (["list"], {"VONAGE_API_SECRET": "wrong"}, 1, "set VONAGE_API_KEY and VONAGE_API_SECRET"),
        (["list"], {"VONAGE_API_SECRET": ""}, 2, "need VONAGE_API_KEY and VONAGE_API_SECRET"),
        (["show", "no-such-app"], {}, 1, "application no-such-app was not found (404)"),
        (["show"], {}, 2, "set VONAGE_APPLICATION_ID"),
        (["link", "447700900999"], {"VONAGE_APPLICATION_ID": APPLICATION_ID}, 1,
         "447700900999 is not one of this account's numbers"),
        (["update", APPLICATION_ID], {}, 2, "nothing to change"),
        (["create"], {}, 2, "--url"),
        (["create", "--url", "ftp://x"], {}, 2, "not an http(s) URL"),
        (["list"], {"VONAGE_API_URL": "http://127.0.0.1:9"}, 1, "cannot reach"),
    ],
)  # fmt: skip
async def test_errors_print_one_line_saying_what_to_fix(
    account: Account,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    env: dict[str, str],
    code: int,
    says: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    got, _, err = await account.run(*argv)

    assert got == code
    assert says in err
    assert err.count("\n") == 1, err


async def test_what_the_commands_send_is_answered_as_the_spec_says(account: Account) -> None:
    webhooks = Webhooks.for_bot("https://bot.example.com")
    body = {"name": "spec", "capabilities": {"messages": webhooks.capability()}}

    status, created = await account.answer("POST", "/v2/applications", body)
    assert_answer_matches_spec("/", "post", status, created)
    status, updated = await account.answer("PUT", f"/v2/applications/{created['id']}", body)
    assert_answer_matches_spec("/{id}", "put", status, updated)
    status, unknown = await account.answer("PUT", "/v2/applications/nope", body)
    assert_answer_matches_spec("/{id}", "put", status, unknown)


async def test_a_refused_body_names_the_parameter_to_fix(account: Account) -> None:
    async with aiohttp.ClientSession() as session:
        api = AccountApi(
            session,
            api_url=account.url,
            rest_url=account.url,
            api_key=API_KEY,
            api_secret=API_SECRET,
        )
        with pytest.raises(AccountError) as refused:
            await api.create_application("x", Webhooks("https://a/i", "https://a/s", "v2"))

    assert refused.value.status == 400
    assert "fix capabilities.messages.version: must be one of" in str(refused.value)
    status, body = await account.answer("GET", "/v2/applications/nope")
    assert_answer_matches_spec("/{id}", "get", status, body)


async def test_the_installed_command_lists_the_applications(account: Account) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "botkit", "vonage", "--api-url", account.url, "list",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)

    assert (process.returncode, err) == (0, b"")
    assert APPLICATION_ID in out.decode()
