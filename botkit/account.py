"""``botkit vonage``: the provider account's applications and numbers, from the command line.

- ``create --url BASE``: a new application whose messages webhooks are the bot's
  (``BASE/webhooks/inbound`` and ``BASE/webhooks/status``); its private key is written, mode
  0600, where ``VONAGE_PRIVATE_KEY`` names a file (``./private.key`` when it is unset or holds
  PEM text), and never printed. An existing file is never overwritten: nothing is created.
- ``show [ID]``, ``list``: an application (``VONAGE_APPLICATION_ID`` by default) with its
  webhooks and linked numbers; every application.
- ``update [ID] --url BASE``: move an application's webhooks (e.g. to a new Heroku app).
- ``delete ID``: asks first (``--yes`` does not).
- ``numbers``, ``link NUMBER [--app ID] [--sms-api-url BASE]``: the account's numbers; link one
  to an application (its inbound messages go to that application's webhooks) and, where asked,
  set the legacy SMS API's inbound URL on it (``BASE/webhooks/sms/inbound``).

Credentials: ``VONAGE_API_KEY`` and ``VONAGE_API_SECRET``. Hosts: ``VONAGE_API_URL`` (the
Application API) and ``VONAGE_SMS_API_URL`` (the Numbers API), or ``--api-url`` for both (a
``botkit dev`` sandbox's address). An error prints one line saying what to change and exits 1;
missing settings exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import aiohttp

from botkit.errors import ConfigError
from botkit.settings import Settings, load_settings
from botkit.vonage.applications import AccountApi, AccountError, Webhooks

DEFAULT_KEY_FILE = "private.key"
SMS_INBOUND_PATH = "/webhooks/sms/inbound"
"""Where ``botkit serve`` takes the legacy SMS API's inbound messages."""

_TIMEOUT = aiohttp.ClientTimeout(total=30)

Command = Callable[[AccountApi, argparse.Namespace, Settings], Awaitable[int]]


def add_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add ``botkit vonage ...`` to the ``botkit`` parser's subcommands."""
    vonage = commands.add_parser(
        "vonage",
        parents=[common],
        help="create, show, update and delete the provider application, link numbers",
        description="The provider account's applications and numbers. Needs VONAGE_API_KEY "
        "and VONAGE_API_SECRET.",
    )
    vonage.add_argument(
        "--api-url",
        default=None,
        help="the provider's address for both APIs, e.g. a `botkit dev` sandbox's (default: "
        "VONAGE_API_URL for applications, VONAGE_SMS_API_URL for numbers)",
    )
    verbs = vonage.add_subparsers(dest="verb", required=True)

    create = verbs.add_parser("create", help="create an application for this bot")
    create.add_argument(
        "--url", help="the bot's public base URL (e.g. https://mybot.herokuapp.com)"
    )
    create.add_argument("--name", default=None, help="the name (default: this folder's name)")
    _webhook_options(create)
    create.add_argument(
        "--key-file",
        default=None,
        help="where to write the private key (default: the file VONAGE_PRIVATE_KEY names, "
        f"else ./{DEFAULT_KEY_FILE}); never overwritten",
    )
    create.set_defaults(account=_create)

    show = verbs.add_parser("show", help="show an application, its webhooks and numbers")
    show.add_argument("id", nargs="?", help="the application (default: VONAGE_APPLICATION_ID)")
    show.set_defaults(account=_show)

    listing = verbs.add_parser("list", help="list the account's applications")
    listing.set_defaults(account=_list)

    update = verbs.add_parser("update", help="move an application's webhooks to a new URL")
    update.add_argument("id", nargs="?", help="the application (default: VONAGE_APPLICATION_ID)")
    update.add_argument("--url", help="the bot's new public base URL")
    update.add_argument("--name", default=None, help="a new name")
    _webhook_options(update)
    update.set_defaults(account=_update)

    delete = verbs.add_parser("delete", help="delete an application (asks first)")
    delete.add_argument("id", help="the application to delete")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    delete.set_defaults(account=_delete)

    numbers = verbs.add_parser("numbers", help="list the account's numbers and their application")
    numbers.set_defaults(account=_numbers)

    link = verbs.add_parser("link", help="link a number to an application")
    link.add_argument("number", help="one of the account's numbers, E.164 (e.g. 447700900000)")
    link.add_argument(
        "--app", default=None, help="the application (default: VONAGE_APPLICATION_ID)"
    )
    link.add_argument(
        "--sms-api-url",
        default=None,
        help=f"also send the legacy SMS API's inbound messages to this base URL + "
        f"{SMS_INBOUND_PATH}",
    )
    link.set_defaults(account=_link)
    vonage.set_defaults(run=run)


def _webhook_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--inbound-url", default=None, help="the inbound URL, instead of --url's")
    parser.add_argument("--status-url", default=None, help="the status URL, instead of --url's")
    parser.add_argument(
        "--webhook-version",
        choices=["v1", "v0.1"],
        default=None,
        help="the webhook format (default: v1 for a new application, else unchanged)",
    )


def run(args: argparse.Namespace) -> int:
    """Run one ``botkit vonage`` verb; return the exit code."""
    environ = dict(os.environ)
    # The key file may not exist yet: `create` writes it.
    key_setting = environ.pop("VONAGE_PRIVATE_KEY", None)
    settings = load_settings(environ)
    args.key_setting = key_setting
    if not settings.vonage_api_key or not settings.vonage_api_secret:
        raise ConfigError(
            "the account APIs need VONAGE_API_KEY and VONAGE_API_SECRET: set them to your "
            "account's (the dashboard's API settings; `botkit dev` prints its sandbox's)"
        )
    command: Command = args.account
    try:
        return asyncio.run(_with_api(command, args, settings))
    except AccountError as exc:
        print(f"botkit vonage: {exc}", file=sys.stderr)
        return 1


async def _with_api(command: Command, args: argparse.Namespace, settings: Settings) -> int:
    key, secret = settings.vonage_api_key, settings.vonage_api_secret
    assert key is not None
    assert secret is not None
    async with aiohttp.ClientSession(timeout=_TIMEOUT) as session:
        api = AccountApi(
            session,
            api_url=args.api_url or settings.vonage_api_url,
            rest_url=args.api_url or settings.vonage_sms_api_url,
            api_key=key,
            api_secret=secret.get_secret_value(),
        )
        return await command(api, args, settings)


def _webhooks(args: argparse.Namespace, current: Webhooks | None = None) -> Webhooks:
    version = args.webhook_version or (current.version if current else "v1")
    if args.url:
        base = Webhooks.for_bot(args.url, version)
    elif current is not None:
        base = Webhooks(current.inbound_url, current.status_url, version)
    elif args.inbound_url and args.status_url:
        base = Webhooks(None, None, version)
    else:
        raise ConfigError("give the bot's public base URL: --url https://mybot.example.com")
    webhooks = Webhooks(
        args.inbound_url or base.inbound_url, args.status_url or base.status_url, base.version
    )
    for url in (webhooks.inbound_url, webhooks.status_url):
        if url and not url.startswith(("http://", "https://")):
            raise ConfigError(f"{url!r} is not an http(s) URL")
    return webhooks


def _key_path(args: argparse.Namespace) -> Path:
    if args.key_file:
        return Path(args.key_file).expanduser()
    setting = (args.key_setting or "").strip()
    if setting and "-----BEGIN" not in setting:
        return Path(setting).expanduser()
    return Path(DEFAULT_KEY_FILE)


def _write_key(path: Path, pem: str) -> None:
    """Write ``pem`` to a new file readable by its owner only (never over an existing one)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(pem)


async def _create(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    webhooks = _webhooks(args)
    key_path = _key_path(args)
    if key_path.exists():
        raise ConfigError(
            f"{key_path} exists (another application's key?): move it away, or give "
            "--key-file a new path"
        )
    if not key_path.parent.is_dir():
        raise ConfigError(f"{key_path.parent} is not a folder: give --key-file a path in one")
    name = args.name or Path.cwd().name or "botkit bot"
    created = await api.create_application(name, webhooks)
    application_id = str(created.get("id"))
    private_key = created.get("keys", {}).get("private_key")
    if not isinstance(private_key, str) or not private_key:
        raise AccountError(
            f"the provider created application {application_id} without a private key: "
            "generate a new key pair for it in the dashboard"
        )
    try:
        _write_key(key_path, private_key)
    except OSError as exc:
        # The provider keeps no copy of the key: an application without it cannot send.
        await api.delete_application(application_id)
        raise AccountError(
            f"could not write the private key to {key_path} ({exc.strerror}); the application "
            "was deleted again: give --key-file a writable path"
        ) from None
    print(f"Created application {name!r}: {application_id}")
    _print_webhooks(webhooks)
    print(f"  private key:  {key_path} (mode 0600; keep it secret, the provider has no copy)")
    print("\nSet in the bot's environment:")
    print(f"  VONAGE_APPLICATION_ID={application_id}")
    print(f"  VONAGE_PRIVATE_KEY={key_path}")
    print("\nThen link a number to it: botkit vonage link NUMBER")
    return 0


def _print_webhooks(webhooks: Webhooks | None) -> None:
    if webhooks is None:
        print("  messages:     (no messages capability)")
        return
    print(f"  inbound_url:  {webhooks.inbound_url or '(none)'}")
    print(f"  status_url:   {webhooks.status_url or '(none)'}")
    print(f"  webhooks:     {webhooks.version}")


def _application_id(given: str | None, settings: Settings) -> str:
    application_id = given or settings.vonage_application_id
    if not application_id:
        raise ConfigError("name the application, or set VONAGE_APPLICATION_ID")
    return application_id


async def _show(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    application = await api.application(_application_id(args.id, settings))
    numbers = await api.numbers(application_id=str(application.get("id")))
    print(f"{application.get('id')}  {application.get('name')!r}")
    _print_webhooks(Webhooks.of(application))
    linked = ", ".join(_number_line(n) for n in numbers) or "(none: botkit vonage link NUMBER)"
    print(f"  numbers:      {linked}")
    return 0


def _number_line(number: Mapping[str, Any]) -> str:
    return f"{number.get('msisdn')} ({number.get('country')})"


async def _list(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    applications = await api.applications()
    if not applications:
        print("No applications: botkit vonage create --url https://mybot.example.com")
    for application in applications:
        webhooks = Webhooks.of(application)
        inbound = webhooks.inbound_url if webhooks else None
        mark = "*" if application.get("id") == settings.vonage_application_id else " "
        print(f"{mark} {application.get('id')}  {application.get('name')!r}  {inbound or '-'}")
    return 0


async def _update(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    if not (args.url or args.inbound_url or args.status_url or args.webhook_version or args.name):
        raise ConfigError(
            "nothing to change: give --url (or --inbound-url/--status-url), --webhook-version "
            "or --name"
        )
    current = await api.application(_application_id(args.id, settings))
    webhooks = _webhooks(args, Webhooks.of(current) or Webhooks(None, None))
    updated = await api.update_application(current, name=args.name, webhooks=webhooks)
    print(f"Updated application {updated.get('name')!r}: {updated.get('id')}")
    _print_webhooks(Webhooks.of(updated))
    return 0


async def _delete(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    application = await api.application(args.id)
    name = application.get("name")
    if not args.yes:
        numbers = await api.numbers(application_id=args.id)
        linked = ", ".join(_number_line(n) for n in numbers)
        warning = f" Numbers linked to it stop reaching the bot: {linked}." if linked else ""
        print(f"Delete application {name!r} ({args.id})?{warning} [y/N] ", end="", flush=True)
        answer = sys.stdin.readline().strip().lower()
        if answer not in ("y", "yes"):
            print("Not deleted.")
            return 1
    await api.delete_application(args.id)
    print(f"Deleted application {name!r}: {args.id}")
    return 0


async def _numbers(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    numbers = await api.numbers()
    if not numbers:
        print("The account has no numbers: buy one in the dashboard")
    for number in numbers:
        application = number.get("app_id") or number.get("messagesCallbackValue") or "-"
        sms_api = f"  SMS API: {number['moHttpUrl']}" if number.get("moHttpUrl") else ""
        print(f"{_number_line(number)}  application {application}{sms_api}")
    return 0


async def _link(api: AccountApi, args: argparse.Namespace, settings: Settings) -> int:
    application = await api.application(_application_id(args.app, settings))
    number = await api.number(args.number)
    mo_http_url = None
    if args.sms_api_url:
        if not args.sms_api_url.startswith(("http://", "https://")):
            raise ConfigError(f"--sms-api-url {args.sms_api_url!r} is not an http(s) URL")
        mo_http_url = args.sms_api_url.rstrip("/") + SMS_INBOUND_PATH
    await api.update_number(number, app_id=str(application.get("id")), mo_http_url=mo_http_url)
    print(
        f"Linked {_number_line(number)} to application {application.get('name')!r}: "
        f"{application.get('id')}"
    )
    _print_webhooks(Webhooks.of(application))
    if mo_http_url:
        print(f"  SMS API:      {mo_http_url}")
    return 0
