"""One module per `rnn-inspect` subcommand: each has `add_parser(subparsers)` and `run(args)`.

`inspector.cli` lists them in `COMMANDS`; adding a command is writing its module and one line
there. Shared pieces (the model options every command takes, `CommandError`) live in `common`.
"""
