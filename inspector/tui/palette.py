"""The colour scales' old home: they live in `inspector.tui.colours` (a "palette" is the command
palette). Kept so modules importing from here keep working while the TUI moves over."""

from inspector.tui.colours import (  # noqa: F401
    EMPTY,
    LEVELS,
    NAN,
    NEG_INF,
    POS_INF,
    SIGNED,
    UNIT,
    Scale,
    adaptive_signed,
    cell_style,
    level_rgb,
)
