"""ivkgen serve: workflows as a typed HTTP API (the ``ivkgen[serve]`` extra)."""
