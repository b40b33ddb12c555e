"""The `rnn-inspect` command (placeholder until the CLI lands)."""


def main() -> None:
    raise SystemExit("rnn-inspect: not yet implemented")
