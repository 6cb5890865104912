"""Errors botkit raises, each saying what was wrong and what to do."""

from __future__ import annotations

from dataclasses import dataclass


class BotkitError(Exception):
    """Base of every error botkit raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a payload: where (a dotted path such as ``to.number``) and what was
    expected there."""

    field: str
    expected: str

    def __str__(self) -> str:
        return f"{self.field}: {self.expected}"


class InvalidPayload(BotkitError):
    """A webhook payload the provider would never send: missing, mistyped or absurd fields.

    The server answers it with 400 and a JSON body listing :attr:`problems`.
    """

    def __init__(self, problems: list[Problem] | Problem, *, format_name: str | None = None):
        self.problems = [problems] if isinstance(problems, Problem) else list(problems)
        self.format_name = format_name
        where = f" ({format_name} webhook)" if format_name else ""
        super().__init__(f"invalid payload{where}: " + "; ".join(str(p) for p in self.problems))


class SignatureError(BotkitError):
    """A webhook whose signature is missing, forged or stale; answered with 401."""


class ConfigError(BotkitError):
    """A setting is missing or malformed; raised at start, before the server listens."""
