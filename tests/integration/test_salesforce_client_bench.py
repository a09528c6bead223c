"""The collections upsert bench runs end to end at a tiny size (the full run is in bench/)."""

from __future__ import annotations

from bench import bench_collections_upsert


def test_bench_runs_at_tiny_size(capsys):
    results = bench_collections_upsert.main(["--records", "450", "--in-process", "--json"])
    create, update = results["passes"]
    assert create["kind"] == "create" and create["created"] == 450 and create["ok"] == 450
    assert update["kind"] == "update" and update["created"] == 0 and update["ok"] == 450
    assert create["api_calls"] == update["api_calls"] == 3  # 200 + 200 + 50
    assert 0 < create["emulator_share"] <= 1.0 and create["records_per_second"] > 0
    assert results["stored"]["Lead"] == 450
    out = capsys.readouterr().out
    assert "BENCH_JSON" in out and "emulator's share of the time" in out
