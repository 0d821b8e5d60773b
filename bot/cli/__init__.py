"""The command line adapter: `carecheck` subcommands and the console dialog."""
