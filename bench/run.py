"""Run every `bench/bench_*.py`, print one table of figures, write `bench/results.json`."""

import datetime as dt
import importlib
import json
import os
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _setup_django() -> None:
    from bench import stack

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "oncall.settings")
    # BENCH_DATABASE_URL runs the in-process benchmarks on another database (SQLite, say).
    os.environ.update(
        DATABASE_URL=os.environ.get("BENCH_DATABASE_URL") or stack.bench_database_url(),
        CELERY_BROKER_URL=stack.BENCH_REDIS_URL,
        SECRET_KEY="bench-secret-key",
        LOG_LEVEL="WARNING",
    )
    import django

    django.setup()


def _previous(path: Path) -> list[dict]:
    try:
        return json.loads(path.read_text())["results"]
    except (OSError, ValueError, KeyError):
        return []


def main(selected: list[str]) -> None:
    from bench import stack  # noqa: F401 - fail early if psycopg or the layout is missing

    every = sorted(p.stem.removeprefix("bench_") for p in (ROOT / "bench").glob("bench_*.py"))
    names = [f"bench_{n}" for n in every if not selected or any(s in n for s in selected)]
    if not names:
        sys.exit(f"usage: bench/run.py [NAME ...]; no benchmark matches; names: {' '.join(every)}")
    _setup_django()
    results = []
    for name in names:
        print(f"running {name} ...", flush=True)
        for figure in importlib.import_module(f"bench.{name}").run():
            results.append({"benchmark": name.removeprefix("bench_"), **figure})
    width = max(len(r["name"]) for r in results)
    print(f"\n{'benchmark':<16} {'figure':<{width}} {'value':>10}  unit")
    for r in results:
        print(f"{r['benchmark']:<16} {r['name']:<{width}} {r['value']:>10.1f}  {r['unit']}")
    path = ROOT / "bench" / "results.json"
    ran = {r["benchmark"] for r in results}
    # A selective run keeps the other benchmarks' last figures.
    kept = [r for r in _previous(path) if r["benchmark"] not in ran] if selected else []
    out = {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count()},
        "results": sorted(kept + results, key=lambda r: r["benchmark"]),
    }
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("\nwritten to bench/results.json")


if __name__ == "__main__":
    main(sys.argv[1:])
