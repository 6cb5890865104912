"""A bot class's definition, checked when Python creates the class.

:func:`define` reads a :class:`~botkit.Bot` subclass -- its data model (the type argument), its
handlers, its class settings -- and builds its state machine. Whatever cannot work as written
raises :class:`BotDefinitionError` at once, naming the class, the setting and the ``file:line``
to fix, rather than failing at the first user who reaches it (or, for a template, a day later
when WhatsApp's window has closed):

- ``states``, ``initial``, ``transitions`` (each entry: its trigger, its states, and the bot
  methods its ``conditions``/``unless``/``before``/``after``/``prepare`` name);
- ``version``, ``renamed_states``, ``apology``, ``senders``, ``templates``, ``unsupported``;
- ``timeouts``: each names a state of the class and a trigger valid from it, with a duration
  from a second to a year;
- ``fallbacks``: a list of :class:`~botkit.failover.Fallback` per channel, none falling back to
  the channel it leaves;
- the data model: a pydantic model (or ``dict``) that a new conversation can create empty;
- ``unclear_replies``: each key a state of the class (or ``"*"``), each value a text;
- each handler's ``state`` and ``then`` (a trigger, or a state to move to), the fields an
  ``on.choice`` question names, and every ``on_enter_<state>``/``on_exit_<state>``.
"""

from __future__ import annotations

import ast
import linecache
import string
import sys
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from types import FrameType
from typing import Any

from pydantic import BaseModel, ValidationError

from botkit.errors import BotkitError
from botkit.events import Channel, InboundTemplate
from botkit.failover import Fallback
from botkit.handlers import SPEC_ATTRIBUTE, Ask, HandlerSpec
from botkit.machine import BotMachine, Callback
from botkit.outbound import Template
from botkit.timers import MAX_DELAY, Timeout

__all__ = ["BotDefinitionError", "ClassSite", "Definition", "class_site", "define"]


class BotDefinitionError(BotkitError):
    """A bot class that cannot work as written; the message names the line to fix."""


@dataclass(frozen=True)
class Definition:
    """What a bot class is made of, once checked."""

    data_model: type[BaseModel] | None
    """The conversation's data model; None for a plain ``dict``."""
    specs: tuple[HandlerSpec, ...]
    """Every handler of the class and its bases, in the order written."""
    machine: BotMachine


@dataclass(frozen=True)
class ClassSite:
    """Where a class statement is: the file and the line of its ``class`` keyword."""

    file: str
    line: int


_CALLBACK_KEYS = ("conditions", "unless", "before", "after", "prepare")
"""The keys of a transition that name the bot's methods, in ``transitions``' list order after
``[trigger, source, dest]``."""

_TRANSITION_KEYS = frozenset(("trigger", "source", "dest", *_CALLBACK_KEYS))

_UNSUPPORTED_POLICIES = ("degrade", "refuse")


def class_site(skip: int = 1) -> ClassSite | None:
    """The class statement being executed, seen from inside ``__init_subclass__``.

    ``skip`` frames are left out (this function's caller by default); so are the frames of any
    other ``__init_subclass__`` in between, so that a base overriding it keeps the right line.
    """
    frame: FrameType | None = sys._getframe(skip + 1)
    while frame is not None and frame.f_code.co_name == "__init_subclass__":
        frame = frame.f_back
    if frame is None:
        return None
    return ClassSite(frame.f_code.co_filename, frame.f_lineno)


def define(cls: type[Any], base: type, site: ClassSite | None) -> Definition:
    """Check ``cls`` (a subclass of the bot base class ``base``, whose ``class`` statement is at
    ``site``) and build what it is made of; raise :class:`BotDefinitionError` if it cannot
    work."""
    where = _Where(cls, site)
    data_model = _data_model(cls, base, where)
    states, initial = _states(cls, where)
    triggers = _transitions(cls, states, where)
    _settings(cls, states, where)
    _timeouts(cls, states, triggers, where)
    specs = _collect_specs(cls)
    moves = _moves(specs, states, triggers)
    _unclear(cls, states, where)
    enter, exit = _handlers(cls, specs, states, triggers, data_model)
    try:
        machine = BotMachine(states, [*cls.transitions, *moves], initial, enter=enter, exit=exit)
    except (TypeError, ValueError, AttributeError) as exc:
        raise BotDefinitionError(
            f"{cls.__name__}.transitions ({where.setting('transitions')}): {exc}"
        ) from exc
    return Definition(data_model, specs, machine)


# --- where a setting is written ----------------------------------------------------------------


class _Where:
    """Finds the ``file:line`` of a class setting, for error messages.

    The source is parsed only when an error is about to be raised, so a correct class costs
    nothing here.
    """

    def __init__(self, cls: type, site: ClassSite | None) -> None:
        self.cls = cls
        self.site = site

    def klass(self) -> str:
        """The class statement."""
        if self.site is None:
            return self.cls.__qualname__
        return f"{self.site.file}:{self.site.line}"

    def setting(self, name: str, item: int | None = None) -> str:
        """The assignment of the class setting ``name`` (its ``item``-th element when it is a
        literal list, tuple or dict), in the class of the hierarchy that sets it."""
        owner = next((k for k in self.cls.__mro__ if name in vars(k)), None)
        site = self.site if owner is self.cls else getattr(owner, "_defined_at", None)
        if owner is None or site is None:
            return self.klass()
        node = _class_node(site, owner.__name__)
        if node is None:
            return f"{site.file}:{site.line}"
        line = site.line
        for statement in node.body:
            value = _assigned(statement, name)
            if value is None:
                continue
            line = statement.lineno
            elements = _elements(value)
            if item is not None and item < len(elements):
                line = elements[item].lineno
        return f"{site.file}:{line}"


def _class_node(site: ClassSite, name: str) -> ast.ClassDef | None:
    source = "".join(linecache.getlines(site.file))
    if not source:
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name and node.lineno == site.line:
            return node
    return None


def _assigned(statement: ast.stmt, name: str) -> ast.expr | None:
    """The value ``statement`` assigns to ``name``, if it is such an assignment."""
    if isinstance(statement, ast.Assign):
        if any(isinstance(t, ast.Name) and t.id == name for t in statement.targets):
            return statement.value
    elif (
        isinstance(statement, ast.AnnAssign)
        and isinstance(statement.target, ast.Name)
        and statement.target.id == name
        and statement.value is not None
    ):
        return statement.value
    return None


def _elements(value: ast.expr) -> list[ast.expr]:
    if isinstance(value, ast.List | ast.Tuple):
        return [] if any(isinstance(e, ast.Starred) for e in value.elts) else list(value.elts)
    if isinstance(value, ast.Dict) and None not in value.keys:
        return [k for k in value.keys if k is not None]
    return []


# --- the data model ----------------------------------------------------------------------------


def _data_model(cls: type, base: type, where: _Where) -> type[BaseModel] | None:
    for declared in getattr(cls, "__orig_bases__", ()):
        if typing.get_origin(declared) is not base:
            continue
        (arg,) = typing.get_args(declared)
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            _check_new_data(cls, base, arg, where)
            return arg
        if arg is Any or arg is dict or typing.get_origin(arg) is dict:
            return None
        if isinstance(arg, typing.TypeVar):
            break
        raise BotDefinitionError(
            f"{cls.__name__} ({where.klass()}): the data model {_type_name(arg)} must be a "
            f"pydantic BaseModel subclass (or dict): botkit validates and stores it as JSON"
        )
    inherited: type[BaseModel] | None = getattr(cls, "data_model", None)
    return inherited


def _check_new_data(cls: type, base: type, model: type[BaseModel], where: _Where) -> None:
    if getattr(cls, "new_data", None) is not getattr(base, "new_data", None):
        return
    try:
        model()
    except ValidationError as exc:
        missing = ", ".join(str(e["loc"][0]) for e in exc.errors() if e["loc"]) or str(exc)
        raise BotDefinitionError(
            f"{cls.__name__} ({where.klass()}): a new conversation starts with "
            f"{model.__name__}(), which fails: give {missing} a default, or override new_data()"
        ) from None


def _type_name(value: object) -> str:
    return getattr(value, "__name__", None) or repr(value)


# --- states and transitions --------------------------------------------------------------------


def _states(cls: Any, where: _Where) -> tuple[list[str], str]:
    name = cls.__name__
    raw = cls.states
    if isinstance(raw, str) or not isinstance(raw, Sequence):
        raise BotDefinitionError(
            f"{name}.states ({where.setting('states')}): must be a list or tuple of state "
            f"names, got {raw!r}"
        )
    states = list(raw)
    if not states or not all(isinstance(s, str) and s for s in states):
        raise BotDefinitionError(
            f"{name}.states ({where.setting('states')}): must be a non-empty list of state names"
        )
    if len(set(states)) != len(states):
        raise BotDefinitionError(
            f"{name}.states ({where.setting('states')}): lists a state twice: {states}"
        )
    if cls.initial is not None and not isinstance(cls.initial, str):
        raise BotDefinitionError(
            f"{name}.initial ({where.setting('initial')}): must be a state name or None, "
            f"got {cls.initial!r}"
        )
    initial = cls.initial or states[0]
    if initial not in states:
        raise BotDefinitionError(
            f"{name}.initial ({where.setting('initial')}): {initial!r} is not one of "
            f"{name}.states: {', '.join(states)}"
        )
    return states, initial


def _transitions(cls: Any, states: list[str], where: _Where) -> dict[str, set[str]]:
    """The triggers and the states each is valid from."""
    name = cls.__name__
    raw = cls.transitions
    if isinstance(raw, str | Mapping) or not isinstance(raw, Sequence):
        raise BotDefinitionError(
            f"{name}.transitions ({where.setting('transitions')}): must be a list or tuple of "
            f"transitions, got {raw!r}"
        )
    triggers: dict[str, set[str]] = {}
    for index, transition in enumerate(raw):
        if isinstance(transition, Mapping):
            spec = dict(transition)
            shown: object = spec
        elif isinstance(transition, Sequence) and not isinstance(transition, str):
            spec = dict(
                zip(("trigger", "source", "dest", *_CALLBACK_KEYS), transition, strict=False)
            )
            shown = list(transition)
        else:
            spec, shown = {}, transition
        site = f"{name}.transitions entry {shown!r} ({where.setting('transitions', index)})"
        if not spec:
            raise BotDefinitionError(
                f"{site}: a transition is [trigger, source, dest] or a dict with those keys"
            )
        unknown = set(spec) - _TRANSITION_KEYS
        if unknown:
            raise BotDefinitionError(
                f"{site}: unknown key(s) {', '.join(sorted(map(str, unknown)))}; a transition "
                f"has {', '.join(sorted(_TRANSITION_KEYS))}"
            )
        trigger, source, dest = spec.get("trigger"), spec.get("source"), spec.get("dest")
        if not isinstance(trigger, str) or not trigger:
            raise BotDefinitionError(f"{site}: needs a trigger name")
        if source == "*":
            sources = states
        elif isinstance(source, str):
            sources = [source]
        elif isinstance(source, Sequence) and all(isinstance(s, str) for s in source):
            sources = list(source)
        else:
            raise BotDefinitionError(f"{site}: source must be a state, a list of states or '*'")
        for state in sources:
            _check_state(cls, state, site, states)
        if dest is not None and dest != "=":
            if not isinstance(dest, str):
                raise BotDefinitionError(f"{site}: dest must be a state name")
            _check_state(cls, dest, site, states)
        for key in _CALLBACK_KEYS:
            for method in _names(spec.get(key)):
                if not callable(getattr(cls, method, None)):
                    raise BotDefinitionError(
                        f"{site}: {key} names {method!r}, which is not a method of {name}"
                    )
        triggers.setdefault(trigger, set()).update(sources)
    return triggers


def _names(value: object) -> list[str]:
    """The method names a transition callback setting gives (callables are not names)."""
    values = [value] if isinstance(value, str) else value if isinstance(value, Sequence) else []
    # A dotted name is a function ``transitions`` imports, not a method of the bot.
    return [v for v in values if isinstance(v, str) and "." not in v]


def _check_state(cls: type, state: str, what: str, states: list[str]) -> None:
    if state not in states:
        raise BotDefinitionError(
            f"{what}: state {state!r} is not one of {cls.__name__}.states: {', '.join(states)}"
        )


# --- the other class settings ------------------------------------------------------------------


def _settings(cls: Any, states: list[str], where: _Where) -> None:
    name = cls.__name__

    def fail(setting: str, problem: str, item: int | None = None) -> BotDefinitionError:
        return BotDefinitionError(f"{name}.{setting} ({where.setting(setting, item)}): {problem}")

    version = cls.version
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise fail("version", f"must be a whole number from 1 up, got {version!r}")

    renamed = cls.renamed_states
    if not isinstance(renamed, Mapping):
        raise fail("renamed_states", f"must be a dict of old name -> new name, got {renamed!r}")
    for index, (old, new) in enumerate(renamed.items()):
        if not isinstance(old, str) or not isinstance(new, str):
            raise fail("renamed_states", f"{old!r}: {new!r} must map a name to a name", index)
        if new not in states:
            raise fail(
                "renamed_states",
                f"{old!r} is renamed to {new!r}, which is not one of {name}.states: "
                f"{', '.join(states)}",
                index,
            )
        if old in states:
            raise fail(
                "renamed_states",
                f"{old!r} is still one of {name}.states, so a stored {old!r} is never renamed",
                index,
            )

    apology = cls.apology
    if apology is not None and (not isinstance(apology, str) or not apology.strip()):
        raise fail("apology", f"must be the text to send, or None, got {apology!r}")

    senders = _by_channel(cls, "senders", "address", fail)
    for index, (channel, address) in enumerate(senders.items()):
        if not isinstance(address, str) or not address.strip():
            raise fail("senders", f"the address for {channel!r} must be text: {address!r}", index)

    _templates(cls, fail)
    _fallbacks(cls, fail)

    if cls.unsupported not in _UNSUPPORTED_POLICIES:
        raise fail(
            "unsupported",
            f"must be 'degrade' or 'refuse', got {cls.unsupported!r}",
        )

    if not isinstance(cls.read_receipts, bool):
        raise fail("read_receipts", f"must be True or False, got {cls.read_receipts!r}")


def _timeouts(cls: Any, states: list[str], triggers: dict[str, set[str]], where: _Where) -> None:
    name = cls.__name__
    timeouts = cls.timeouts

    def fail(problem: str, item: int | None = None) -> BotDefinitionError:
        return BotDefinitionError(f"{name}.timeouts ({where.setting('timeouts', item)}): {problem}")

    if not isinstance(timeouts, Mapping):
        raise fail(f"must be a dict of state -> Timeout, got {timeouts!r}")
    for index, (state, timeout) in enumerate(timeouts.items()):
        if state not in states:
            raise fail(
                f"{state!r} is not one of {name}.states: {', '.join(map(str, states))}", index
            )
        if not isinstance(timeout, Timeout):
            raise fail(f"{state!r} must map to a botkit.Timeout, got {timeout!r}", index)
        try:
            duration = timeout.duration
        except (TypeError, OverflowError) as exc:
            raise fail(
                f"{state!r}: the duration is not a number of time units: {exc}", index
            ) from None
        if not timedelta(seconds=1) <= duration <= MAX_DELAY:
            raise fail(
                f"{state!r}: the timeout must be from 1 second to {MAX_DELAY.days} days, "
                f"got {duration}",
                index,
            )
        if timeout.trigger not in triggers:
            raise fail(
                f"{state!r}: trigger={timeout.trigger!r} is not a trigger of {name}; triggers: "
                f"{', '.join(sorted(triggers)) or 'none'}",
                index,
            )
        if state not in triggers[timeout.trigger]:
            raise fail(
                f"{state!r}: trigger={timeout.trigger!r} is not valid from state {state!r}",
                index,
            )


def _by_channel(
    cls: Any, setting: str, value: str, fail: Callable[..., BotDefinitionError]
) -> Mapping[Any, Any]:
    """The class setting ``setting``, checked to be a dict keyed by channel."""
    found = getattr(cls, setting)
    if not isinstance(found, Mapping):
        raise fail(setting, f"must be a dict of channel -> {value}, got {found!r}")
    channels = ", ".join(c.value for c in Channel)
    for index, channel in enumerate(found):
        if channel not in set(Channel):
            raise fail(setting, f"{channel!r} is not a channel; channels: {channels}", index)
    return found


def _fallbacks(cls: Any, fail: Callable[..., BotDefinitionError]) -> None:
    fallbacks = _by_channel(cls, "fallbacks", "[Fallback, ...]", fail)
    for index, (channel, steps) in enumerate(fallbacks.items()):
        if not isinstance(steps, Sequence) or not all(isinstance(s, Fallback) for s in steps):
            raise fail(
                "fallbacks",
                f"{channel!r} must map to a list of botkit.Fallback, got {steps!r}",
                index,
            )
        before = Channel(channel)
        for step in steps:
            if step.channel is before:
                raise fail(
                    "fallbacks",
                    f"{Channel(channel).value!r}: a step falls back from {before.value} to "
                    f"{step.channel.value}; "
                    "give each Fallback another channel than the step before it",
                    index,
                )
            before = step.channel


def _templates(cls: Any, fail: Callable[..., BotDefinitionError]) -> None:
    templates = cls.templates
    if not isinstance(templates, Mapping):
        raise fail("templates", f"must be a dict of reply text -> Template, got {templates!r}")
    for index, (key, template) in enumerate(templates.items()):
        if not isinstance(key, str) or not key:
            raise fail("templates", f"the key {key!r} must be the text of a reply", index)
        if not isinstance(template, Template):
            hint = (
                " (that is an inbound message's content: import Template from botkit)"
                if isinstance(template, InboundTemplate)
                else ""
            )
            raise fail(
                "templates",
                f"{key!r} must map to a botkit.Template, got {type(template).__name__}{hint}",
                index,
            )
        problem = _template_fields_problem(key, template)
        if problem is not None:
            raise fail("templates", f"{key!r}: {problem}", index)


def _template_fields_problem(key: str, template: Template) -> str | None:
    """Why ``template``'s parameters cannot be filled from the fields of ``key``, or None."""
    try:
        fields = {name for _, name, _, _ in string.Formatter().parse(key) if name}
    except ValueError:
        return None  # not a pattern: the key matches its exact text
    if not fields or not all(name.isidentifier() for name in fields):
        return None
    values = dict.fromkeys(fields, "")
    for parameter in template.parameters:
        try:
            parameter.format_map(values)
        except (KeyError, IndexError, ValueError) as exc:
            return (
                f"the parameter {parameter!r} of template {template.name!r} must use only the "
                f"fields of its key ({', '.join(sorted(fields))}): {exc!r}; write literal "
                f"braces doubled"
            )
    return None


# --- handlers ----------------------------------------------------------------------------------


def _collect_specs(cls: type) -> tuple[HandlerSpec, ...]:
    specs: list[HandlerSpec] = []
    seen: set[str] = set()
    for klass in cls.__mro__:
        for name, value in vars(klass).items():
            if name in seen:
                continue
            seen.add(name)
            specs.extend(getattr(value, SPEC_ATTRIBUTE, ()))
    return tuple(specs)


def _moves(
    specs: tuple[HandlerSpec, ...], states: list[str], triggers: dict[str, set[str]]
) -> list[list[Any]]:
    """The transitions a ``then`` naming a state (not a trigger) makes: a trigger of the
    state's own name, from the states of the handlers that name it (any, for a handler of
    every state). Added to ``triggers``."""
    sources: dict[str, set[str] | None] = {}
    for spec in specs:
        target = spec.then
        if target is None or target in triggers or target not in states:
            continue
        if spec.states is None or sources.get(target, set()) is None:
            sources[target] = None
        else:
            sources[target] = (sources.get(target) or set()) | spec.states
    moves: list[list[Any]] = []
    for target, froms in sources.items():
        moves.append([target, "*" if froms is None else sorted(froms), target])
        triggers[target] = set(states) if froms is None else froms
    return moves


def _unclear(cls: Any, states: list[str], where: _Where) -> None:
    name = cls.__name__
    unclear = cls.unclear_replies
    site = f"{name}.unclear_replies ({where.setting('unclear_replies')})"
    if not isinstance(unclear, Mapping):
        raise BotDefinitionError(f"{site}: must be a dict of state -> text, got {unclear!r}")
    for state, text in unclear.items():
        if state != "*":
            _check_state(cls, state, f"{site} key {state!r} (or '*' for every other)", states)
        if not isinstance(text, str) or not text.strip():
            raise BotDefinitionError(f"{site}: {state!r} must map to the text to say: {text!r}")


def _method_site(cls: type, name: str) -> str:
    for klass in cls.__mro__:
        if name in vars(klass):
            code = getattr(vars(klass)[name], "__code__", None)
            if code is not None:
                return f"{code.co_filename}:{code.co_firstlineno}"
    return cls.__qualname__


def _handlers(
    cls: type,
    specs: tuple[HandlerSpec, ...],
    states: list[str],
    triggers: dict[str, set[str]],
    data_model: type[BaseModel] | None,
) -> tuple[dict[str, list[Callback]], dict[str, list[Callback]]]:
    """Check each handler's states and ``then``; the enter and exit callbacks per state."""
    name = cls.__name__
    enter: dict[str, list[Callback]] = {}
    exit: dict[str, list[Callback]] = {}
    for spec in specs:
        site = f"{name}.{spec.name} ({spec.where})"
        for state in spec.states or ():
            _check_state(cls, state, site, states)
        if spec.then is not None:
            if spec.then not in triggers:
                raise BotDefinitionError(
                    f"{site}: then={spec.then!r} is neither a trigger nor a state of {name}; "
                    f"triggers: {', '.join(sorted(triggers)) or 'none'}; states: "
                    f"{', '.join(states)}"
                )
            unreachable = (spec.states or set(states)) - triggers[spec.then]
            if spec.states is not None and unreachable:
                raise BotDefinitionError(
                    f"{site}: then={spec.then!r} is not valid from state(s) "
                    f"{', '.join(sorted(unreachable))}"
                )
        if spec.ask is not None:
            _check_fields(spec.ask.text, data_model, site)
        if spec.role in ("enter", "exit"):
            target = enter if spec.role == "enter" else exit
            run = _callback(spec.name) if spec.ask is None else _asking(spec.ask)
            for state in spec.states or ():
                target.setdefault(state, []).append(run)
    for attr in dir(cls):
        for prefix, target in (("on_enter_", enter), ("on_exit_", exit)):
            if attr.startswith(prefix) and callable(getattr(cls, attr)):
                state = attr[len(prefix) :]
                _check_state(cls, state, f"{name}.{attr} ({_method_site(cls, attr)})", states)
                target.setdefault(state, []).append(_callback(attr))
    return enter, exit


def _check_fields(text: str, data_model: type[BaseModel] | None, site: str) -> None:
    """Each ``{name}`` of a question must be a field or property of the data model."""
    try:
        names = [field for _, field, _, _ in string.Formatter().parse(text) if field is not None]
    except ValueError as exc:
        raise BotDefinitionError(
            f"{site}: the question {text!r} cannot be filled in: {exc}"
        ) from None
    for field in names:
        if not field.isidentifier():
            raise BotDefinitionError(
                f"{site}: {{{field}}} in {text!r} must name a field of the data; write literal "
                "braces doubled"
            )
        if data_model is None or field in data_model.model_fields:
            continue
        if not hasattr(data_model, field):
            raise BotDefinitionError(
                f"{site}: {{{field}}} in {text!r} is not a field of {data_model.__name__}: "
                f"{', '.join(data_model.model_fields)}"
            )


def _asking(ask: Ask) -> Callback:
    async def run(event_data: Any) -> None:
        ctx = event_data.model.ctx
        await ctx.reply(ask.render(ctx.data), buttons=ask.choices)

    run.__qualname__ = f"ask {ask.text!r}"
    return run


def _callback(method: str) -> Callback:
    async def run(event_data: Any) -> None:
        model = event_data.model
        await getattr(model.bot, method)(model.ctx)

    run.__qualname__ = method
    return run
