"""``python -m benchmarks``: the SQL engine on a synthetic population, with every figure it prints.

    python -m benchmarks                      # 1,000,000 students (about 19 million doses)
    python -m benchmarks --students 20000     # a quick run
    python -m benchmarks --json results.json  # also write the figures as JSON

Steps (each phase in its own process, so each one's peak memory is its own):

1. the population: ``vaxdsl.synth`` fact files, cached in ``--cache`` by size and seed;
2. load: the fact files read and checked, the fact database written (``vaxdsl.factdb``, with the
   covering dose index the engine reads), and the engine's check for that index
   (``vaxdsl.engine.prepare_database``, which finds it and adds nothing);
3. the floor: ``SELECT student_id, count(*) FROM doses GROUP BY student_id`` on the same database
   (best of three);
4. full evaluation: every student and vaccine group with its deciding rule, by the SQL engine
   (compile, run, and read every result back as records);
5. bounds: Stage A alone, and Stage A with every series walked, over every student in one thread,
   against the floor (the least of the evaluation's work; docs/performance.md, "The missed target");
6. the reference interpreter on a random sample of students, extrapolated to the population;
7. re-evaluation of one student after a new dose (a prepared session; median of a sample).

Targets (docs/performance.md): full evaluation <= 60 s and <= 2 GB peak memory; >= 20x faster than the
interpreter; <= 5x the floor; re-evaluation < 10 ms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sqlite3
import subprocess
import sys
from pathlib import Path

TARGETS = {"seconds": 60.0, "peak_mb": 2048.0, "interpreter_ratio": 20.0, "floor_ratio": 5.0, "reevaluate_ms": 10.0}


def machine() -> dict:
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "sqlite": sqlite3.sqlite_version, "platform": platform.platform()}


def phase(name: str, **options) -> dict:
    argv = [sys.executable, "-m", "benchmarks.phases", name]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    done = subprocess.run(argv, capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1])
    if done.returncode != 0:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"benchmark phase {name} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


def say(text: str = "") -> None:
    print(text, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=1_000_000, help="population size (default: 1,000,000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ruleset", default="minnesota")
    parser.add_argument("--as-of", default="2026-09-08", help="effective date (default: the synth default)")
    parser.add_argument("--workers", type=int, default=min(2, os.cpu_count() or 1))
    parser.add_argument("--sample", type=int, default=2000, help="students for the interpreter (default: 2000)")
    parser.add_argument("--cache", type=Path, default=Path(os.environ.get("VAXDSL_BENCH_DIR", "/tmp/vaxdsl-bench")))
    parser.add_argument("--json", type=Path, help="also write every figure here")
    args = parser.parse_args(argv)

    home = args.cache / f"{args.students}-{args.seed}"
    facts, db = home / "facts", home / "facts.db"
    home.mkdir(parents=True, exist_ok=True)
    figures: dict = {"machine": machine(), "students": args.students, "seed": args.seed, "ruleset": args.ruleset,
                     "as_of": args.as_of, "workers": args.workers}
    m = figures["machine"]
    say(f"vaxdsl benchmark: {args.students:,} students, ruleset {args.ruleset}, as of {args.as_of}")
    say(f"machine: {m['cores']} cores ({m['cpu']}), {m['memory']} RAM, Python {m['python']}, "
        f"SQLite {m['sqlite']}, {m['platform']}")
    say()

    if not (facts / "doses.csv").is_file():
        say("generating the population (vaxdsl.synth) ...")
        figures["synth"] = phase("synth", facts=facts, students=args.students, seed=args.seed)
        say(f"  {figures['synth']['doses']:,} doses in {figures['synth']['seconds']:.1f} s")
    if not db.is_file():
        say("loading (vaxdsl.facts + vaxdsl.factdb) ...")
        figures["load"] = phase("load", facts=facts, db=db, ruleset=args.ruleset, as_of=args.as_of)
        load = figures["load"]
        say(f"  load: {load['seconds']:.1f} s, {load['cpu_seconds']:.1f} s of CPU (read and check "
            f"{load['read_seconds']:.1f} s, write and index the database {load['build_seconds']:.1f} s, the engine's "
            f"index check {load['index_seconds']:.1f} s); {load['students']:,} students, {load['doses']:,} doses, "
            f"peak {load['peak_mb']:,.0f} MB")
    else:
        say(f"using the cached database {db} (delete it to measure loading)")
    conn = sqlite3.connect(db)
    doses = conn.execute("SELECT count(*) FROM doses").fetchone()[0]
    conn.close()
    figures["doses"] = doses

    floor = figures["floor"] = phase("floor", db=db)
    ev = figures["evaluate"] = phase("evaluate", db=db, ruleset=args.ruleset, as_of=args.as_of, workers=args.workers)
    parts = figures["bounds"] = phase("bounds", db=db, ruleset=args.ruleset, as_of=args.as_of)
    interp = figures["interpreter"] = phase("interpreter", db=db, ruleset=args.ruleset, as_of=args.as_of,
                                            sample=args.sample, seed=args.seed)
    again = figures["reevaluate"] = phase("reevaluate", db=db, ruleset=args.ruleset, as_of=args.as_of, sample=200)

    engine_seconds = ev["sql_seconds"]
    per_student_engine = engine_seconds / max(1, ev["students"])
    ratio_interp = interp["per_student_ms"] / 1000 / per_student_engine
    ratio_floor = engine_seconds / floor["seconds"]
    figures["ratios"] = {"interpreter": ratio_interp, "floor": ratio_floor,
                         "floor_with_reading": ev["seconds"] / floor["seconds"]}

    def verdict(ok: bool) -> str:
        return "ok" if ok else "MISSED"

    say()
    say(f"floor query              {floor['seconds']:8.2f} s   ({floor['rows']:,} rows; {FLOOR_SQL_TEXT})")
    say(f"full evaluation          {engine_seconds:8.2f} s   {args.students:,} students x {len(_groups(args))} groups, "
        f"{doses:,} doses, {ev['workers']} worker(s), compile {ev['compile_seconds'] * 1000:.0f} ms   "
        f"[target <= {TARGETS['seconds']:.0f} s: {verdict(engine_seconds <= TARGETS['seconds'])}]")
    say("    first worker's steps (each the time until the next began; predicates and reject checks grouped):")
    merged: list[list] = []
    for at, label in ev["stages"]:
        if merged and merged[-1][1] == label:
            continue
        merged.append([at, label])
    ends = [at for at, _ in merged[1:]] + [engine_seconds]
    for (at, label), end in zip(merged, ends):
        say(f"    {end - at:7.2f} s  {label}")
    say(f"  + reading every result {ev['read_results_seconds']:8.2f} s   ({ev['groups']:,} GroupEvaluation records; "
        f"total {ev['seconds']:.2f} s)")
    say(f"  exact walk for          {ev['slow']:,} students; statuses {json.dumps(ev['statuses'])}")
    say(f"peak memory (evaluation) {ev['peak_mb']:8.0f} MB  [target <= {TARGETS['peak_mb']:.0f} MB: "
        f"{verdict(ev['peak_mb'] <= TARGETS['peak_mb'])}]")
    say(f"vs floor                 {ratio_floor:8.1f} x   [target <= {TARGETS['floor_ratio']:.0f}x: "
        f"{verdict(ratio_floor <= TARGETS['floor_ratio'])}]  (with reading the results: "
        f"{figures['ratios']['floor_with_reading']:.1f}x)")
    say(f"  parts alone, one thread (÷ {ev['workers']} workers at best, against the floor):")
    for name, label in (("stage_a", "Stage A: read each dose, resolve its product, build each group's string"),
                        ("walks", "Stage A and every series walked (the fast path; no predicates, no rules)")):
        seconds = parts[name]["seconds"]
        say(f"    {seconds:7.2f} s  = {seconds / ev['workers'] / floor['seconds']:5.1f}x  {label}")
    say(f"reference interpreter    {interp['per_student_ms']:8.3f} ms per student on a sample of {interp['sample']:,} "
        f"(extrapolated {interp['extrapolated_seconds']:,.0f} s for everyone)")
    say(f"vs interpreter           {ratio_interp:8.0f} x faster   [target >= {TARGETS['interpreter_ratio']:.0f}x: "
        f"{verdict(ratio_interp >= TARGETS['interpreter_ratio'])}]")
    say(f"re-evaluate one student  {again['median_ms']:8.2f} ms median, {again['p95_ms']:.2f} ms p95, "
        f"{again['max_ms']:.2f} ms max over {again['students']} students after a new dose "
        f"(session setup {again['setup_seconds'] * 1000:.0f} ms once)   [target < {TARGETS['reevaluate_ms']:.0f} ms: "
        f"{verdict(again['median_ms'] < TARGETS['reevaluate_ms'])}]")
    if "load" in figures:
        say(f"load                     {figures['load']['seconds']:8.1f} s   peak {figures['load']['peak_mb']:,.0f} MB")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


FLOOR_SQL_TEXT = "SELECT student_id, count(*) FROM doses GROUP BY student_id"


def _groups(args) -> list:
    from vaxdsl.loader import load

    return load(args.ruleset).ruleset.vaccines
