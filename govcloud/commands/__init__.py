"""One module per ``govcloud`` subcommand; each exposes ``add_parser(subparsers)``."""
