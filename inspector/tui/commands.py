"""The command palette's commands: every binding (so the palette, footer and help agree) plus one
"switch model" command per bundled zoo model."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from inspector.tui.bindings import APP_BINDINGS


class InspectorCommands(Provider):
    """Open checkpoint, switch zoo model, export trace, screenshot, and every key's action."""

    def commands(self) -> Iterator[tuple[str, str, Callable[[], object]]]:
        from inspector.tui.screens.main import MainScreen
        from inspector.tui.screens.seq2seq import Seq2SeqScreen
        from models.zoo import zoo_names

        app = self.app
        for binding in APP_BINDINGS:
            yield (binding.tooltip or binding.description, app.get_key_display(binding),
                   partial(app.run_action, binding.action))
        screen = self.screen
        if isinstance(screen, MainScreen | Seq2SeqScreen):
            for binding in screen.BINDINGS:
                if binding in APP_BINDINGS:  # help and quit lead the footer: listed above
                    continue
                yield (binding.tooltip or binding.description, app.get_key_display(binding),
                       partial(screen.run_action, binding.action))
        if isinstance(screen, MainScreen):
            for spec in screen.dock.specs:
                yield (f"Analysis: {spec.title}", spec.description or "analysis panel",
                       partial(screen.run_action, f"show_panel('{spec.id}')"))
        yield ("Open a saved session even if its model's weights differ", "",
               partial(app.run_action, "open_session(True)"))
        for name in zoo_names():
            yield (f"Switch model: {name}", "zoo", partial(app.open_model, name))

    async def discover(self) -> Hits:
        for title, help_text, callback in self.commands():
            yield DiscoveryHit(title, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for title, help_text, callback in self.commands():
            score = matcher.match(title)
            if score > 0:
                yield Hit(score, matcher.highlight(title), callback, help=help_text)
