"""Write the golden modules of the shared workflows again."""

from ivkgen.generator.render import write_files

from tests.conftest import SHARED
from tests.golden import render_goldens

if __name__ == "__main__":
    written = write_files({m.path: m.source for m in render_goldens(SHARED / "data" / "workflows")})
    print(f"tests.golden: wrote {len(written)} golden modules")
