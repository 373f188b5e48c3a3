"""The ``ivkgen`` command line (``ivkgen.cli.main:main``).

``main`` holds the parser and the list of commands; each command is one module here with its
parser and its body (``add_parser``); ``options`` defines the options several commands share.
A command module imports the runtime, the generator and rich inside its body, so that ``ivkgen
--help`` and each command's usage load none of them.
"""
