"""bench/ stands on its own: the benchmarks import nothing from tests/ (the helpers they
share with the tests live in bench/, and the tests import them from there)."""

from __future__ import annotations

from tests import importgraph


def test_bench_imports_nothing_from_tests() -> None:
    found = importgraph.imports("bench")
    assert "bench.gateway_process" in found["bench.bridge_bytes"]  # the reader sees bench
    for module, names in found.items():
        from_tests = sorted(n for n in names if n.split(".")[0] == "tests")
        assert not from_tests, f"{module} imports {from_tests}"
