"""The ``transitions`` integration: one state machine per bot class, never one per user.

A bot class's states and transitions become one :class:`AsyncMachine`, built when the class is
created. Per event, a light :class:`TurnModel` (the user's state plus the handler context) is
driven through it with ``machine.events[trigger].trigger(model)``: no ``Machine`` is built and no
model stays attached, so the cost per event does not grow with the number of users.

Two behaviours of the stock ``AsyncMachine`` are changed on purpose:

- callbacks listed together run one after another, in order, not concurrently (the stock
  machine gathers them), so replies leave in the order the code wrote them;
- the per-model event queue (``queued="model"``) is created for a model when it is first
  triggered and dropped when it drains, instead of at ``add_model``.
"""

from __future__ import annotations

import weakref
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from typing import Any

from transitions import MachineError
from transitions.extensions.asyncio import AsyncMachine
from transitions.extensions.diagrams import GraphMachine

from botkit.errors import BotkitError

TransitionSpec = Sequence[Any] | dict[str, Any]


class InvalidTrigger(BotkitError):
    """A trigger that does not exist, or is not valid in the current state."""

    def __init__(self, trigger: str, state: str, reason: str) -> None:
        super().__init__(reason)
        self.trigger = trigger
        self.state = state


class TurnModel:
    """The model ``transitions`` drives for one event: the user's state, and the context the
    bot's callbacks receive. String callbacks and conditions resolve to the bot's methods,
    called with that context."""

    def __init__(self, state: str, bot: Any, ctx: Any) -> None:
        self.state = state
        self.bot = bot
        # The context owns this model; a strong reference back would make a cycle that only
        # the garbage collector frees, for every event.
        self._ctx = weakref.ref(ctx)

    @property
    def ctx(self) -> Any:
        return self._ctx()

    def __getattr__(self, name: str) -> Callable[[Any], Any]:
        method = getattr(self.bot, name)

        def call(_event_data: Any) -> Any:
            return method(self.ctx)

        return call


Callback = Callable[..., Coroutine[Any, Any, bool | None]]
"""A state callback as ``transitions`` calls it: with the event data, awaited."""


class _Machine(AsyncMachine):
    async def callbacks(self, funcs: Iterable[Any], event_data: Any) -> None:  # type: ignore[override]
        for func in funcs:
            await self.callback(func, event_data)

    async def _process_async(self, trigger: Callable[[], Awaitable[None]], model: Any) -> bool:
        queues: dict[int, deque[Any]] = self._transition_queue_dict
        queue = queues.get(id(model))
        if queue is not None:
            # A trigger fired from inside a callback of this model: it runs after the current
            # transition, in order (queued="model").
            queue.append(trigger)
            return True
        queue = queues[id(model)] = deque([trigger])
        try:
            while queue:
                await queue[0]()
                queue.popleft()
        finally:
            del queues[id(model)]
        return True


class BotMachine:
    """The state machine of one bot class."""

    def __init__(
        self,
        states: Sequence[str],
        transitions: Sequence[TransitionSpec],
        initial: str,
        *,
        enter: dict[str, list[Callback]],
        exit: dict[str, list[Callback]],
    ) -> None:
        self.states = tuple(states)
        self.transitions = tuple(transitions)
        self.initial = initial
        self._machine = _Machine(
            model=None,
            states=list(states),
            transitions=[t if isinstance(t, dict) else list(t) for t in transitions],
            initial=initial,
            queued="model",
            auto_transitions=False,
            send_event=True,
        )
        for state, callbacks in enter.items():
            for callback in callbacks:
                self._machine.get_state(state).add_callback("enter", callback)
        for state, callbacks in exit.items():
            for callback in callbacks:
                self._machine.get_state(state).add_callback("exit", callback)

    @property
    def triggers(self) -> frozenset[str]:
        return frozenset(self._machine.events)

    def triggers_from(self, state: str) -> list[str]:
        """Triggers that have a transition out of ``state``."""
        return sorted(self._machine.get_triggers(state))

    async def fire(self, model: TurnModel, trigger: str, **kwargs: Any) -> None:
        """Fire ``trigger`` on ``model``: its transition, exit and enter callbacks run in order
        before this returns. Raises :class:`InvalidTrigger` when ``trigger`` does not exist or
        is not valid in the model's state, or when a condition refused it."""
        event = self._machine.events.get(trigger)
        if event is None:
            raise InvalidTrigger(
                trigger,
                model.state,
                f"there is no trigger {trigger!r}; triggers: {', '.join(sorted(self.triggers))}",
            )
        before = model.state
        try:
            done = await event.trigger(model, **kwargs)
        except MachineError:
            valid = self.triggers_from(before)
            raise InvalidTrigger(
                trigger,
                before,
                f"trigger {trigger!r} is not valid in state {before!r}; "
                f"valid there: {', '.join(valid) or 'none'}",
            ) from None
        if not done:
            raise InvalidTrigger(
                trigger, before, f"trigger {trigger!r} was refused by its conditions in {before!r}"
            )

    def mermaid(self, *, title: str, current: str | None = None) -> str:
        """The machine as a Mermaid ``stateDiagram-v2``, ``current`` highlighted."""

        class _Model:
            state = current or self.initial

        model = _Model()
        graph = GraphMachine(
            model=model,
            states=list(self.states),
            transitions=[t if isinstance(t, dict) else list(t) for t in self.transitions],
            initial=self.initial,
            graph_engine="mermaid",
            auto_transitions=False,
            title=title,
            show_conditions=True,
        )
        del graph  # it attached get_graph to the model
        model.state = current or self.initial
        text: str = model.get_graph(force_new=True).draw(None)  # type: ignore[attr-defined]
        # transitions writes "Class x y"; Mermaid's keyword is lower-case "class".
        lines = [
            "  class " + line[len("  Class ") :] if line.startswith("  Class ") else line
            for line in text.splitlines()
        ]
        if current is None:
            lines = [line for line in lines if not line.startswith("  class ")]
        return "\n".join(lines) + "\n"
