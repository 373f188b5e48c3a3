"""The ivkgen benchmark suite: ``python -m bench`` (``make bench``).

Each row sets ivkgen beside a comparison (invokeai-py-client 1.1.1 in its own venv, a raw
httpx + python-socketio client, a bare dict conversion, or the target itself), with medians and
spreads over repeated runs, and writes ``bench-results/bench.md`` and ``bench.json``.
"""
