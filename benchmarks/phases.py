"""One benchmark phase per process, so each one's peak memory is its own.

    python -m benchmarks.phases PHASE --db FILE [options]   -> one JSON object on stdout

Phases: ``synth`` (write the population's fact files), ``load`` (read them and build the fact
database, which includes the dose index the engine needs), ``floor`` (the floor query), ``evaluate`` (the SQL
engine on every student), ``bounds`` (parts of the evaluation alone, in one thread: what they cost
against the floor), ``interpreter`` (the reference interpreter on a sample), ``reevaluate`` (one
student again after a new dose).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sqlite3
import sys
import time
from datetime import date
from pathlib import Path

FLOOR_SQL = "SELECT student_id, count(*) FROM doses GROUP BY student_id"


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(function):
    wall, cpu = time.perf_counter(), time.process_time()
    value = function()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def synth(args) -> dict:
    from vaxdsl.synth import synthesize

    summary, wall, cpu = _timed(lambda: synthesize(args.facts, args.students, seed=args.seed))
    return {"students": summary.students, "doses": summary.doses, "exemptions": summary.exemptions,
            "seconds": wall, "cpu_seconds": cpu}


def load(args) -> dict:
    from vaxdsl import engine
    from vaxdsl.factdb import build_database
    from vaxdsl.facts import read_fact_dir
    from vaxdsl.loader import load as load_ruleset

    ruleset = load_ruleset(args.ruleset).ruleset
    started, cpu_started = time.perf_counter(), time.process_time()
    # as `vaxdsl load` does: the dose rows' scratch file next to the database
    facts = read_fact_dir(args.facts, products=ruleset.products, vaccines=ruleset.vaccines,
                          today=max(date.today(), args.as_of), grades=[g.code for g in ruleset.grade_decls] or None,
                          spool_dir=args.db.parent)
    read = time.perf_counter() - started
    with facts:
        summary = build_database(args.db, facts)
    built = time.perf_counter() - started - read
    # the loader makes the engine's covering index, so this should find it and add nothing
    conn = sqlite3.connect(args.db)
    _, index_seconds, _ = _timed(lambda: engine.prepare_database(conn))
    conn.close()
    return {"read_seconds": read, "build_seconds": built, "index_seconds": index_seconds,
            "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started,
            "students": summary.students, "doses": summary.doses, "exemptions": summary.exemptions,
            "problems": len(facts.problems), "peak_mb": _peak_mb()}


def floor(args) -> dict:
    conn = sqlite3.connect(args.db)
    runs = []
    for _ in range(args.repeat):
        rows, wall, cpu = _timed(lambda: conn.execute(FLOOR_SQL).fetchall())
        runs.append((wall, cpu, len(rows)))
    conn.close()
    wall, cpu, count = min(runs)
    return {"seconds": wall, "cpu_seconds": cpu, "rows": count, "runs": [r[0] for r in runs], "sql": FLOOR_SQL}


def evaluate(args) -> dict:
    from vaxdsl import engine
    from vaxdsl.compiler import compile_ruleset
    from vaxdsl.loader import load as load_ruleset

    ruleset = load_ruleset(args.ruleset).ruleset
    conn = sqlite3.connect(args.db, check_same_thread=False)
    stages: list[tuple[float, str]] = []
    started = time.perf_counter()
    cpu_started = time.process_time()
    compiled = compile_ruleset(ruleset, args.as_of)
    compile_seconds = time.perf_counter() - started
    prepared = engine.run_all(conn, compiled, workers=args.workers,
                              progress=lambda label: stages.append((time.perf_counter() - started, label)))
    sql_seconds = time.perf_counter() - started
    counts = {"students": 0, "groups": 0, "slow": 0, "statuses": {}}
    statuses = counts["statuses"]
    children_mb = 0.0
    for part in prepared:
        if isinstance(part, engine.ResultSet):
            counts["slow"] += part.stats["slow"]
            children_mb += part.stats["peak_mb"]
        else:
            counts["slow"] += part.conn.execute("SELECT count(*) FROM vx_slow").fetchone()[0]
        for group in part.results():
            counts["groups"] += 1
            statuses[group.status] = statuses.get(group.status, 0) + 1
        counts["students"] += sum(1 for _ in part.rows())
        part.close()
    total = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"compile_seconds": compile_seconds, "sql_seconds": sql_seconds, "seconds": total,
            "read_results_seconds": total - sql_seconds, "cpu_seconds": cpu + children.ru_utime + children.ru_stime,
            "workers": len(prepared), "peak_mb": _peak_mb() + children_mb, "parent_peak_mb": _peak_mb(),
            "stages": stages, **counts}


def bounds(args) -> dict:
    """Two parts of the evaluation run alone over every student in one thread, so the floor target can
    be set against what they cost: Stage A (each dose read, its product resolved, one chunk string per
    group) and Stage A with every series walked (the fast path, no predicates, no rule tables)."""
    from vaxdsl import engine
    from vaxdsl.compiler import compile_ruleset
    from vaxdsl.loader import load as load_ruleset

    compiled = compile_ruleset(load_ruleset(args.ruleset).ruleset, args.as_of)
    conn = sqlite3.connect(args.db)
    prepared = engine.Prepared(conn, compiled)
    prepared.run_steps(compiled.steps("all", static=False))
    figures = {}
    for name, sql in (("stage_a", compiled.stage_a("all", extras=False)), ("walks", compiled.fast_path_sql("all"))):
        _, wall, cpu = _timed(lambda: conn.execute(f"SELECT count(*) FROM ({sql})").fetchone())
        figures[name] = {"seconds": wall, "cpu_seconds": cpu}
    conn.close()
    return figures


def interpreter(args) -> dict:
    from vaxdsl.factdb import read_student
    from vaxdsl.interpreter import evaluate_student
    from vaxdsl.loader import load as load_ruleset

    ruleset = load_ruleset(args.ruleset).ruleset
    conn = sqlite3.connect(args.db)
    ids = [row[0] for row in conn.execute("SELECT student_id FROM students")]
    sample = random.Random(args.seed).sample(ids, min(args.sample, len(ids)))
    facts = [read_student(conn, sid) for sid in sample]
    conn.close()
    evaluate_student(ruleset, *facts[0], args.as_of)  # compile the predicates outside the timing
    _, wall, cpu = _timed(lambda: [evaluate_student(ruleset, *found, args.as_of) for found in facts])
    return {"sample": len(sample), "seconds": wall, "cpu_seconds": cpu, "per_student_ms": 1000 * wall / len(sample),
            "students": len(ids), "extrapolated_seconds": wall / len(sample) * len(ids)}


def reevaluate(args) -> dict:
    from vaxdsl import engine
    from vaxdsl.loader import load as load_ruleset

    ruleset = load_ruleset(args.ruleset).ruleset
    conn = sqlite3.connect(args.db)
    started = time.perf_counter()
    session = engine.Session(ruleset, conn, args.as_of)
    setup_seconds = time.perf_counter() - started
    ids = [row[0] for row in conn.execute("SELECT student_id FROM students ORDER BY random() LIMIT ?",
                                          (args.sample,))]
    next_id = conn.execute("SELECT max(dose_id) FROM doses").fetchone()[0] + 1
    times = []
    conn.execute("BEGIN")
    try:
        for number, sid in enumerate(ids):
            conn.execute("INSERT INTO doses VALUES (?, ?, ?, 3, NULL, NULL, 'benchmark', 0)",
                         (next_id + number, sid, args.as_of.isoformat()))
            _, wall, _ = _timed(lambda: session.evaluate_student(sid))
            times.append(wall)
    finally:
        conn.execute("ROLLBACK")
    times.sort()
    return {"setup_seconds": setup_seconds, "students": len(times), "median_ms": 1000 * times[len(times) // 2],
            "p95_ms": 1000 * times[int(len(times) * 0.95) - 1], "max_ms": 1000 * times[-1]}


PHASES = {f.__name__: f for f in (synth, load, floor, evaluate, bounds, interpreter, reevaluate)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.phases")
    parser.add_argument("phase", choices=sorted(PHASES))
    parser.add_argument("--db", type=Path)
    parser.add_argument("--facts", type=Path)
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--ruleset", default="minnesota")
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 9, 8))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(json.dumps(PHASES[args.phase](args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
