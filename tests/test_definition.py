"""Bot classes are checked when Python creates them: every mistake names the file and line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import BaseModel

from botkit import (
    Bot,
    BotDefinitionError,
    Channel,
    Context,
    InboundTemplate,
    Template,
    on,
)

HERE = Path(__file__)


def line_of(marker: str) -> str:
    """``file:line`` of the line of this file that carries ``marker`` (in a comment)."""
    lines = HERE.read_text().splitlines()
    found = [n for n, line in enumerate(lines, 1) if marker in line and "line_of(" not in line]
    assert len(found) == 1, f"marker {marker!r} found on lines {found}"
    return f"{HERE}:{found[0]}"


def names(where: str) -> str:
    """A pattern matching ``(file:line)`` in an error message."""
    return re.escape(f"({where})")


# --- handlers ----------------------------------------------------------------------------------


def test_a_handler_bound_to_an_unknown_state_fails_at_class_creation() -> None:
    with pytest.raises(
        BotDefinitionError, match=r"Broken\.greet \(.*test_definition\.py:\d+\): state 'nope'"
    ):

        class Broken(Bot):
            states = ("a", "b")

            @on.text(state="nope")
            async def greet(self, ctx: Context[dict[str, Any]]) -> None: ...


def test_then_naming_a_missing_trigger_fails_at_class_creation() -> None:
    with pytest.raises(
        BotDefinitionError, match="then='go' is neither a trigger nor a state of Broken"
    ):

        class Broken(Bot):
            states = ("a", "b")
            transitions = (["move", "a", "b"],)

            @on.text(state="a", then="go")
            async def greet(self, ctx: Context[dict[str, Any]]) -> None: ...


def test_then_not_valid_from_the_bound_state_fails_at_class_creation() -> None:
    with pytest.raises(BotDefinitionError, match="not valid from state"):

        class Broken(Bot):
            states = ("a", "b")
            transitions = (["move", "a", "b"],)

            @on.text(state="b", then="move")
            async def greet(self, ctx: Context[dict[str, Any]]) -> None: ...


def test_on_enter_for_an_unknown_state_fails_at_class_creation() -> None:
    with pytest.raises(BotDefinitionError, match="on_enter_sise"):

        class Broken(Bot):
            states = ("size",)

            async def on_enter_sise(self, ctx: Context[dict[str, Any]]) -> None: ...


# --- states and transitions --------------------------------------------------------------------


def test_transitions_to_unknown_states_fail_at_class_creation() -> None:
    with pytest.raises(BotDefinitionError, match="state 'c' is not one of") as raised:

        class Broken(Bot):
            states = ("a", "b")
            transitions = (
                ["stay", "a", "a"],
                ["move", "a", "c"],  # marker: unknown destination
            )

    assert f"({line_of('marker: unknown destination')})" in str(raised.value)


def test_states_given_as_one_string_fail_instead_of_becoming_letters() -> None:
    with pytest.raises(BotDefinitionError, match=names(line_of("marker: states as a string"))):

        class Broken(Bot):
            states = "start"  # marker: states as a string


def test_a_state_listed_twice_fails() -> None:
    with pytest.raises(BotDefinitionError, match="lists a state twice"):

        class Broken(Bot):
            states = ("a", "b", "a")


def test_an_initial_state_that_is_not_a_state_fails() -> None:
    with pytest.raises(BotDefinitionError, match=names(line_of("marker: initial"))):

        class Broken(Bot):
            states = ("a", "b")
            initial = "c"  # marker: initial


def test_a_transition_with_an_unknown_key_fails() -> None:
    with pytest.raises(BotDefinitionError, match="unknown key\\(s\\) destination"):

        class Broken(Bot):
            states = ("a", "b")
            transitions = ({"trigger": "go", "source": "a", "destination": "b"},)


def test_a_condition_naming_no_method_of_the_bot_fails() -> None:
    with pytest.raises(
        BotDefinitionError,
        match=names(line_of("marker: condition"))
        + ": conditions names 'is_ready', which is not a method of Broken$",
    ):

        class Broken(Bot):
            states = ("a", "b")
            transitions = (
                ["stay", "a", "a"],
                {"trigger": "go", "source": "a", "conditions": "is_ready"},  # marker: condition
            )

    class Fine(Bot):
        states = ("a", "b")
        transitions = ({"trigger": "go", "source": "a", "dest": "b", "conditions": "is_ready"},)

        def is_ready(self, ctx: Context[dict[str, Any]]) -> bool:
            return True

    assert Fine.machine.triggers == {"go"}


# --- the other class settings ------------------------------------------------------------------


def test_the_inbound_template_type_in_templates_fails_at_class_creation() -> None:
    with pytest.raises(BotDefinitionError) as raised:

        class Broken(Bot):
            templates: ClassVar[dict[str, Any]] = {
                "See you soon!": Template(name="see_you"),
                "Are you there?": InboundTemplate(name="still_there"),  # marker: inbound
            }

    message = str(raised.value)
    assert message.startswith(f"Broken.templates ({line_of('marker: inbound')}): ")
    assert "'Are you there?' must map to a botkit.Template, got InboundTemplate" in message
    assert "import Template from botkit" in message


@pytest.mark.parametrize(
    "value", [{"name": "still_there"}, "still_there", None], ids=["dict", "str", "None"]
)
def test_a_templates_value_that_is_not_a_template_fails(value: Any) -> None:
    with pytest.raises(BotDefinitionError, match=names(line_of("marker: not a template"))):

        class Broken(Bot):
            templates: ClassVar[dict[str, Any]] = {
                "Are you there?": value,  # marker: not a template
            }


def test_template_parameters_using_a_field_the_key_lacks_fail() -> None:
    with pytest.raises(
        BotDefinitionError, match=r"the parameter '\{size\}' of template 'feedback'"
    ) as raised:

        class Broken(Bot):
            templates: ClassVar[dict[str, Template]] = {
                "How was your {kind} pizza?": Template(  # marker: field
                    name="feedback", parameters=("{size}",)
                ),
            }

    assert f"({line_of('marker: field')})" in str(raised.value)


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("version", 0, "must be a whole number from 1 up"),
        ("version", "2", "must be a whole number from 1 up"),
        ("version", True, "must be a whole number from 1 up"),
        ("renamed_states", {"old": "gone"}, "renamed to 'gone', which is not one of"),
        ("renamed_states", {"a": "b"}, "'a' is still one of Broken.states"),
        ("renamed_states", ["old", "a"], "must be a dict"),
        ("apology", "", "must be the text to send, or None"),
        ("apology", 42, "must be the text to send, or None"),
        ("senders", {"telegram": "bot"}, "'telegram' is not a channel"),
        ("senders", {Channel.SMS: 447700900000}, "the address for"),
        ("unsupported", "drop", "must be 'degrade' or 'refuse'"),
        ("read_receipts", "yes", "must be True or False, got 'yes'"),
        ("read_receipts", 1, "must be True or False, got 1"),
        ("templates", [Template(name="x")], "must be a dict of reply text -> Template"),
        ("transitions", "go", "must be a list or tuple of transitions"),
        ("initial", 3, "must be a state name or None"),
    ],
)
def test_each_class_setting_is_checked(setting: str, value: Any, problem: str) -> None:
    with pytest.raises(BotDefinitionError, match=f"^Broken.{setting} ") as raised:
        type("Broken", (Bot,), {"states": ("a", "b"), setting: value})
    assert problem in str(raised.value)


def test_a_class_without_a_source_file_names_the_class() -> None:
    with pytest.raises(BotDefinitionError, match=r"^Broken\.version \(.*\): must be a whole"):
        exec("from botkit import Bot\nclass Broken(Bot):\n    version = 0\n", {})


def test_a_setting_inherited_from_a_base_names_the_base_line() -> None:
    class Base(Bot):
        states = ("a", "b")
        renamed_states: ClassVar[dict[str, str]] = {"old": "b"}  # marker: base rename

    with pytest.raises(BotDefinitionError, match=names(line_of("marker: base rename"))):

        class Child(Base):
            states = ("a", "c")


def test_a_correct_class_with_every_setting_is_accepted() -> None:
    class Order(BaseModel):
        size: str | None = None

    class Full(Bot[Order]):
        states = ("start", "done")
        transitions = (["finish", "start", "done"],)
        initial = "start"
        version = 2
        renamed_states: ClassVar[dict[str, str]] = {"begin": "start"}
        apology = "Sorry!"
        senders: ClassVar[dict[Channel, str]] = {Channel.SMS: "447700900000"}
        templates: ClassVar[dict[str, Template]] = {
            "Your {size} pizza is ready.": Template(name="ready", parameters=("{size}",))
        }
        unsupported = "refuse"

    assert Full.data_model is Order
    assert Full.machine.initial == "start"


# --- the data model ----------------------------------------------------------------------------


def test_a_data_model_that_is_not_a_pydantic_model_fails() -> None:
    @dataclass
    class Order:
        size: str = ""

    with pytest.raises(BotDefinitionError, match="the data model Order must be a pydantic"):

        class Broken(Bot[Order]):
            pass


def test_a_data_model_a_new_conversation_cannot_create_fails() -> None:
    class Order(BaseModel):
        size: str

    with pytest.raises(
        BotDefinitionError, match=names(line_of("marker: model")) + ".*give size a default"
    ):

        class Broken(Bot[Order]):  # marker: model
            pass

    class Fine(Bot[Order]):
        def new_data(self) -> Order:
            return Order(size="small")

    assert Fine.data_model is Order


def test_dict_data_is_accepted_in_every_spelling() -> None:
    class Plain(Bot):
        pass

    class Typed(Bot[dict[str, Any]]):
        pass

    assert Plain.data_model is None
    assert Typed.data_model is None
