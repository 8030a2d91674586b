"""The benchmark summary checks each headline figure against its target (benchmarks/summary.py).

What `make bench` reports as met or missed comes from these rows, so they are tested on
results shaped like the benchmarks' JSON.
"""

from pathlib import Path

from benchmarks import summary  # the repository root is on sys.path (pyproject's pythonpath)


def turns(seed_at_100k, raw_worst, growth):
    ratios = {
        "ours_over_seed": {"1000": {"ratio": 5.0}, "100000": {"ratio": seed_at_100k}},
        "ours_over_raw": {"1000": {"ratio": raw_worst}, "1000000": {"ratio": 0.4}},
        "cost_growth": {"from": 1000, "to": 1000000, "ours": growth, "raw": 1.7},
    }
    return {"ratios": {"sqlite": ratios}, "sizes": []}


def webhook(inline_eps, queued, handwritten_eps=500.0):
    results = [
        {"scenario": "bare", "throughput_eps": 1000.0, "cpu_ms_per_event": {"gunicorn": 0.8}},
        {
            "scenario": "handwritten-sqlite",
            "throughput_eps": handwritten_eps,
            "ok": True,
            "setup": {"mode": "handwritten", "database": "sqlite"},
            "cpu_ms_per_event": {"gunicorn": 1.5},
        },
        {
            "scenario": "inline-sqlite",
            "throughput_eps": inline_eps,
            "ok": True,
            "setup": {"mode": "inline", "database": "sqlite"},
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


def rate_pass(queued_p50, inline_p50, queued_eps=40.0, offered=40.0):
    def result(name, p50, eps):
        return {"scenario": name, "throughput_eps": eps, "ok": True, "reply_ms": {"p50": p50}}

    return {
        "load": {"rate": offered},
        "results": [
            result("inline-pg", inline_p50, 40.2),
            result("queued-2", queued_p50, queued_eps),
        ],
    }


def test_turn_targets_met_and_missed():
    met = {row["what"]: row["met"] for row in summary.summarise({"turns": turns(12, 0.34, 1.4)})}
    assert list(met.values()) == [True, True, True]
    missed = summary.summarise({"turns": turns(9.9, 0.32, 1.6)})
    assert [row["met"] for row in missed] == [False, False, False]
    assert missed[1]["target"] == "≥ 0.33"


def test_webhook_ratio_and_queued_curve_until_the_cpu_saturates():
    rows = summary.summarise({"webhook": webhook(300.0, [(50, 1.5), (80, 1.95), (70, 2.0)])})
    by_name = {row["what"]: row for row in rows}
    versus_hand = by_name["webhook inline-sqlite / hand-written (events/s)"]
    assert (versus_hand["value"], versus_hand["target"]) == ("0.60 (300 / 500)", "≥ 0.6")
    assert versus_hand["met"] is True
    queued = by_name["queued: events/s with 1, 2, 4 workers"]
    assert queued["met"] is True  # grew until the CPU saturated at 2 workers
    assert "CPU saturated at 2 workers" in queued["note"]


def test_bare_flask_ratio_is_reported_without_a_verdict():
    rows = summary.summarise({"webhook": webhook(100.0, [(50, 1.5), (80, 1.95), (70, 2.0)])})
    bare = {row["what"]: row for row in rows}["webhook inline-sqlite / bare Flask (events/s)"]
    assert (bare["value"], bare["met"]) == ("0.10 (100 / 1000)", None)
    assert (
        "| webhook inline-sqlite / bare Flask (events/s) | 0.10 (100 / 1000) | reported | – |"
        in (summary.markdown(rows))
    )


def test_queued_curve_that_falls_before_saturation_is_missed():
    rows = summary.summarise({"webhook": webhook(299.0, [(80, 1.2), (70, 1.3), (90, 1.4)])})
    by_name = {row["what"]: row for row in rows}
    assert by_name["webhook inline-sqlite / hand-written (events/s)"]["met"] is False
    queued = by_name["queued: events/s with 1, 2, 4 workers"]
    assert queued["met"] is False
    assert (
        queued["note"]
        == "neither CPU nor PostgreSQL saturated (at most 1.40 of 2 cores busy, PostgreSQL 0.30)"
    )


def test_without_a_hand_written_run_there_is_no_framework_ratio():
    data = webhook(300.0, [(50, 1.5), (80, 1.95), (70, 2.0)])
    data["results"] = [r for r in data["results"] if r["scenario"] != "handwritten-sqlite"]
    names = [row["what"] for row in summary.summarise({"webhook": data})]
    assert not any("hand-written" in name for name in names)


def test_reply_latency_at_a_steady_rate_within_twice_inline():
    (row,) = summary.summarise({"webhook_rate": rate_pass(110.0, 55.0)})
    assert row["what"] == "reply p50 at a steady 40 events/s: queued-2 / inline-pg"
    assert (row["value"], row["target"], row["met"]) == ("2.00x (110 / 55.0 ms)", "≤ 2x", True)
    assert row["note"] == "queued-2 served 40.0 ev/s, inline-pg served 40.2 ev/s"


def test_reply_latency_at_a_steady_rate_past_twice_inline_is_missed():
    (row,) = summary.summarise({"webhook_rate": rate_pass(150.0, 55.0, queued_eps=30.0)})
    assert (row["value"], row["met"]) == ("2.73x (150 / 55.0 ms)", False)
    assert row["note"].endswith("; queued-2 fell behind the offered rate")
    assert "| reply p50 at a steady 40 events/s: queued-2 / inline-pg |" in summary.markdown([row])


def test_rate_pass_with_a_failed_check_is_missed():
    data = rate_pass(60.0, 55.0)
    data["results"][1]["ok"] = False
    (row,) = summary.summarise({"webhook_rate": data})
    assert row["met"] is False and row["note"].endswith("; checks failed in queued-2")


def test_markdown_marks_missed_targets():
    text = summary.markdown(summary.summarise({"turns": turns(9.9, 0.4, 1.0)}))
    assert "| **missed** |" in text and "| met |" in text


def test_with_rounds_a_ratio_is_the_median_of_the_rounds_ratios():
    data = webhook(300.0, [(50, 1.5), (80, 1.95), (70, 2.0)])  # 300 / 500: 0.60 of one round
    data["rounds"] = 3
    data["ratios"] = {"inline-sqlite/handwritten-sqlite": 0.55}
    rows = {row["what"]: row for row in summary.summarise({"webhook": data})}
    versus_hand = rows["webhook inline-sqlite / hand-written (events/s)"]
    assert versus_hand["value"] == "0.55 (300 / 500)"
    assert versus_hand["met"] is False
    assert versus_hand["note"].endswith("median of 3 rounds' ratios")


def test_the_load_test_pairs_rounds_and_reports_the_median_round(monkeypatch):
    monkeypatch.syspath_prepend(str(Path(__file__).resolve().parent.parent / "benchmarks"))
    from benchmarks import webhook_load  # imports load_bot, as the script does

    def run(name, eps, round_, ok=True):
        return {"scenario": name, "throughput_eps": eps, "ok": ok, "round": round_,
                "problems": [] if ok else ["lost one"]}  # fmt: skip

    runs = {
        "handwritten-pg": [run("handwritten-pg", e, i + 1) for i, e in enumerate((1000, 800, 900))],
        "inline-pg": [run("inline-pg", e, i + 1) for i, e in enumerate((700, 500, 400))],
    }
    # rounds 0.70, 0.625, 0.444: the median ratio, not that of the median throughputs (0.556)
    assert webhook_load._ratios(runs)["inline-pg/handwritten-pg"] == 0.625
    runs["inline-pg"][0] = run("inline-pg", 700, 1, ok=False)  # a failed round is not paired
    assert webhook_load._ratios(runs)["inline-pg/handwritten-pg"] == 0.535
    chosen = webhook_load._median_round(runs["inline-pg"])
    assert (chosen["throughput_eps"], chosen["rounds_eps"]) == (500, [700, 500, 400])
    assert chosen["ok"] is False and chosen["problems"] == ["round 1: lost one"]
