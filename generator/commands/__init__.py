"""The logic of the ``ivkgen`` subcommands that work on one workflow: one module per command."""
