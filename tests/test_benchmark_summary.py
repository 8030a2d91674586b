"""The benchmark summary checks each headline figure against its target (benchmarks/summary.py).

What `make bench` reports as met or missed comes from these rows, so they are tested on
results shaped like the benchmarks' JSON.
"""

from benchmarks import summary  # the repository root is on sys.path (pyproject's pythonpath)


def turns(seed_at_100k, raw_worst, growth):
    ratios = {
        "ours_over_seed": {"1000": {"ratio": 5.0}, "100000": {"ratio": seed_at_100k}},
        "ours_over_raw": {"1000": {"ratio": raw_worst}, "1000000": {"ratio": 0.4}},
        "cost_growth": {"from": 1000, "to": 1000000, "ours": growth, "raw": 1.7},
    }
    return {"ratios": {"sqlite": ratios}, "sizes": []}


def webhook(inline_eps, queued):
    results = [
        {"scenario": "bare", "throughput_eps": 1000.0, "cpu_ms_per_event": {"gunicorn": 0.8}},
        {
            "scenario": "inline-sqlite",
            "throughput_eps": inline_eps,
            "ok": True,
            "cpu_ms_per_event": {"gunicorn": 3.0},
        },
    ]
    for workers, (eps, cores) in zip((1, 2, 4), queued, strict=True):
        results.append(
            {
                "scenario": f"queued-{workers}",
                "throughput_eps": eps,
                "ok": True,
                "cpu_cores": {"machine": cores, "postgres": 0.3},
            }
        )
    return {"machine": {"nproc": 2}, "results": results}


def test_turn_targets_met_and_missed():
    met = {row["what"]: row["met"] for row in summary.summarise({"turns": turns(12, 0.21, 1.4)})}
    assert list(met.values()) == [True, True, True]
    missed = summary.summarise({"turns": turns(9.9, 0.19, 1.6)})
    assert [row["met"] for row in missed] == [False, False, False]


def test_webhook_ratio_and_queued_curve_until_the_cpu_saturates():
    rows = summary.summarise({"webhook": webhook(500.0, [(50, 1.5), (80, 1.95), (70, 2.0)])})
    by_name = {row["what"]: row for row in rows}
    assert by_name["webhook inline-sqlite / bare Flask (events/s)"]["met"] is True
    queued = by_name["queued: events/s with 1, 2, 4 workers"]
    assert queued["met"] is True  # grew until the CPU saturated at 2 workers
    assert "CPU saturated at 2 workers" in queued["note"]


def test_queued_curve_that_falls_before_saturation_is_missed():
    rows = summary.summarise({"webhook": webhook(499.0, [(80, 1.2), (70, 1.3), (90, 1.4)])})
    by_name = {row["what"]: row for row in rows}
    assert by_name["webhook inline-sqlite / bare Flask (events/s)"]["met"] is False
    assert by_name["queued: events/s with 1, 2, 4 workers"]["met"] is False


def test_markdown_marks_missed_targets():
    text = summary.markdown(summary.summarise({"turns": turns(9.9, 0.3, 1.0)}))
    assert "| **missed** |" in text and "| met |" in text
