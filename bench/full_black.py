"""``ivkgen gen`` with black run over each whole module, as generation did before the attributes
were laid out without it: the comparison of the big-workflow row (``python -m bench.full_black
gen ...`` takes the arguments of ``ivkgen``)."""

from __future__ import annotations

import sys
from typing import Any

from ivkgen.cli.main import main
from ivkgen.generator import module
from ivkgen.generator.layout import Attribute, unformatted
from ivkgen.generator.render import format_python


def whole_module_black(
    template: str, label: str, context: dict[str, Any], bodies: dict[str, list[Attribute]]
) -> str:
    """The module rendered with its attributes as written, then black over all of it."""
    return format_python(unformatted(template, context, bodies), label)


if __name__ == "__main__":
    module.render_classes = whole_module_black
    sys.exit(main(sys.argv[1:]))
