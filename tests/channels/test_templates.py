"""A bot's map from its messages to approved templates."""

from __future__ import annotations

import pytest

from botkit.channels import match_template
from botkit.channels.templates import template_text
from botkit.errors import ConfigError
from botkit.outbound import Template

SHIPPED = Template(name="order_shipped", parameters=("{order}", "{day}"))


def test_an_exact_key_matches_its_text_only() -> None:
    welcome = Template(name="welcome")
    templates = {"Welcome back!": welcome}

    assert match_template("Welcome back!", templates) == welcome
    assert match_template("Welcome back", templates) is None


def test_a_pattern_fills_the_parameters_from_the_text() -> None:
    templates = {"Your order {order} ships {day}.": SHIPPED}

    template = match_template("Your order 1234 ships on Monday.", templates)

    assert template == Template(name="order_shipped", parameters=("1234", "on Monday"))


def test_a_field_used_twice_must_match_the_same_text() -> None:
    templates = {"{a} and {a}": Template(name="twice", parameters=("{a}",))}

    assert match_template("x and x", templates) == Template(name="twice", parameters=("x",))
    assert match_template("x and y", templates) is None


def test_literal_braces_and_regex_characters_are_literal() -> None:
    templates = {
        "Total {{EUR}} (incl. tax): {amount}?": Template(name="t", parameters=("{amount}",))
    }

    assert match_template("Total {EUR} (incl. tax): 9.50?", templates) == Template(
        name="t", parameters=("9.50",)
    )


def test_an_exact_key_wins_over_a_pattern_and_patterns_go_in_order() -> None:
    first, second, exact = Template(name="a"), Template(name="b"), Template(name="c")
    templates = {"Hi {name}": first, "{greeting}": second, "Hi Ann": exact}

    assert match_template("Hi Ann", templates) == exact
    assert match_template("Hi Bob", templates) == first
    assert match_template("Hello", templates) == second


def test_a_key_that_is_not_a_pattern_is_exact_text() -> None:
    odd = Template(name="odd")
    templates = {"Pay {0} now": odd, "unbalanced {": odd}

    assert match_template("Pay {0} now", templates) == odd
    assert match_template("Pay 5 now", templates) is None
    assert match_template("unbalanced {", templates) == odd


def test_a_parameter_naming_an_unknown_field_is_a_config_error() -> None:
    templates = {"Order {order}": Template(name="order", parameters=("{day}",))}

    with pytest.raises(ConfigError, match=r"template 'order': its parameters .* the key"):
        match_template("Order 12", templates)


def test_template_text_fills_the_key_back_from_the_parameters() -> None:
    templates = {
        "Your order {order} ships {day}.": Template(
            name="order_shipped", parameters=("Order {order}", "{day}")
        ),
        "See you soon!": Template(name="goodbye"),
    }
    assert (
        template_text("order_shipped", ["Order 1234", "Monday"], templates)
        == "Your order 1234 ships Monday."
    )
    assert template_text("goodbye", [], templates) == "See you soon!"
    # A parameter not of the declared shape, a count that differs, an unknown name: no text.
    assert template_text("order_shipped", ["1234", "Monday"], templates) is None
    assert template_text("order_shipped", ["Order 1"], templates) is None
    assert template_text("missing", [], templates) is None
