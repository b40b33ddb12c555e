"""Regenerate docs/screenshot.svg: the demo model after typing `aabbcc`, at 120x40.

    .venv/bin/python docs/screenshot.py
"""

import asyncio
from pathlib import Path

from inspector.tui.app import InspectorApp


async def main() -> None:
    app = InspectorApp("doubled-lstm")
    async with app.run_test(size=(120, 40)) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.press(*"aabbcc")
        await app.workers.wait_for_complete()
        await pilot.pause()
        svg = app.export_screenshot(title="rnn-inspect doubled-lstm")
    Path(__file__).with_name("screenshot.svg").write_text(svg, encoding="utf-8")


if __name__ == "__main__":
    asyncio.run(main())
