"""Recommendations at scale: simulate a shop, import it, train every model, time the lists.

Usage: .venv/bin/python bench/bench_recommend_scale.py [--users 1000000] [--items 100000]
       [--days 365] [--reuse DIR] [--calls 10000] [--personal als]

The target: on a 1M-user × 100k-item simulated shop, the whole train + top-K refresh
(`recommend.service.train_and_store`: read the warehouse, encode, fit every model, rank K items
per user and per item, store the version) takes at most 10 minutes, with its peak memory
recorded. A year of history (--days 365) is the default: the simulated customers sign up over
the period and buy about 1.3 times each, and the models read every order but only the last
30 days of events.

Each stage runs in its own child process; its peak RSS is the child's ru_maxrss (os.wait4):
1. simulate: `simulate_shop` into DIR/sim (kept when DIR/sim already holds this configuration);
2. import: `import_simulation` into a fresh warehouse in DIR/home (kept when already imported);
3. train: `train_and_store`, wall clock in total and per stage (the summary's "seconds"; what
   is left is read_raw + encode + storing the version). A thread samples every SAMPLE_S the
   resident memory and the function of src/tenure/recommend the main thread is in, so time and
   memory can be put on a function and a line (the hot spots table);
4. serve: CALLS `service.for_user` calls (the API's answer) and as many `Recommender.for_user`
   (the picks alone) on the stored version, in one process, for users drawn from users.parquet
   (registered users the model does not know get the cold-start list): p50/p99 per call.

Without --reuse, DIR is a temporary folder deleted at the end (--keep leaves it).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path
from types import FrameType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import run_child, warn_if_busy, write_results

TARGET_S = 600.0
SAMPLE_S = 0.25
RECOMMEND_DIR = f"{os.sep}tenure{os.sep}recommend{os.sep}"
PAGE_MB = os.sysconf("SC_PAGE_SIZE") / 2**20 if hasattr(os, "sysconf") else 4 / 1024
STAGES = ("simulate", "import", "train", "serve")


# --- children ---------------------------------------------------------------------------------


def child_simulate(users: int, items: int, days: int, seed: int, out: Path) -> dict[str, Any]:
    """Simulate into `out` (written aside and renamed, so a broken run is never reused)."""
    from tenure.simulate import SimulationConfig, simulate_shop

    partial = out.with_name(out.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = time.perf_counter()
    simulate_shop(SimulationConfig(users=users, items=items, days=days, seed=seed), partial)
    seconds = time.perf_counter() - started
    partial.rename(out)
    return {"seconds": seconds}


def child_import(sim: Path, home: Path) -> dict[str, Any]:
    """Import every simulated file into a fresh warehouse in `home`."""
    from tenure.cli.simulate import import_simulation
    from tenure.config import Settings
    from tenure.storage.warehouse import Warehouse

    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    settings = Settings(home=home)
    started = time.perf_counter()
    results = import_simulation(sim, settings, Warehouse(settings))
    seconds = time.perf_counter() - started
    (home / ".imported").write_text(json.dumps(results, default=str))
    return {"seconds": seconds}


def _rss_mb() -> float:
    """This process's resident memory now (Linux /proc; 0 where there is none)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE_MB
    except OSError:
        return 0.0


class Sampler(threading.Thread):
    """Every SAMPLE_S: resident memory and where in src/tenure/recommend the main thread is.

    The wall and process CPU time (every thread: OpenMP, BLAS, DuckDB) since the previous
    sample go to the current place, so a long call that holds the GIL is still counted (on the
    place the main thread is in when it lets go). CPU seconds change less than wall seconds when
    other work shares the machine, so sizes are compared on them.
    """

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.main = threading.main_thread().ident or 0
        self.done = threading.Event()
        self.seconds: dict[str, float] = defaultdict(float)
        self.cpu: dict[str, float] = defaultdict(float)
        self.peak: dict[str, float] = defaultdict(float)
        self.stage_seconds: dict[str, float] = defaultdict(float)
        self.stage_cpu: dict[str, float] = defaultdict(float)
        self.stage_peak: dict[str, float] = defaultdict(float)

    @staticmethod
    def place(frame: FrameType | None) -> tuple[str, str]:
        """(stage, place): the function train()/train_and_store called, and the innermost
        function of src/tenure/recommend with its line and its caller's."""
        chain: list[str] = []
        while frame is not None:
            code = frame.f_code
            if RECOMMEND_DIR in code.co_filename:
                name = getattr(code, "co_qualname", code.co_name)
                chain.append(f"{Path(code.co_filename).stem}.{name}:{frame.f_lineno}")
            frame = frame.f_back
        chain.reverse()  # outermost first: service.train_and_store, train.train, ...
        if not chain:
            return "(outside)", "(outside src/tenure/recommend)"
        names = [c.split(":")[0] for c in chain]
        depth = 2 if len(names) > 2 and names[1] == "train.train" else 1
        stage = names[min(depth, len(names) - 1)]
        return stage, " > ".join(chain[-2:])

    def run(self) -> None:
        last, last_cpu = time.perf_counter(), time.process_time()
        while not self.done.wait(SAMPLE_S):
            rss = _rss_mb()
            frame = sys._current_frames().get(self.main)
            stage, place = self.place(frame)
            del frame
            now, cpu = time.perf_counter(), time.process_time()
            for seconds, used, peak, key in (
                (self.seconds, self.cpu, self.peak, place),
                (self.stage_seconds, self.stage_cpu, self.stage_peak, stage),
            ):
                seconds[key] += now - last
                used[key] += cpu - last_cpu
                peak[key] = max(peak[key], rss)
            last, last_cpu = now, cpu


def child_train(home: Path, personal: Any) -> dict[str, Any]:
    """train_and_store on the warehouse in `home`, sampled."""
    from tenure.config import Settings
    from tenure.recommend.service import train_and_store
    from tenure.recommend.train import TrainConfig
    from tenure.storage.warehouse import Warehouse

    settings = Settings(home=home)
    warehouse = Warehouse(settings)
    sampler = Sampler()
    sampler.start()
    started = time.perf_counter()
    summary = train_and_store(settings, warehouse, TrainConfig(personal=personal))
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    hot = sorted(sampler.seconds.items(), key=lambda kv: -kv[1])
    return {
        "seconds": seconds,
        "summary": summary,
        "hot_spots": [
            [place, round(s, 2), round(sampler.cpu[place], 2), round(sampler.peak[place])]
            for place, s in hot[:15]
        ],
        "sampled_stages": {
            stage: [
                round(s, 2),
                round(sampler.stage_cpu[stage], 2),
                round(sampler.stage_peak[stage]),
            ]
            for stage, s in sorted(sampler.stage_seconds.items(), key=lambda kv: -kv[1])
        },
    }


def child_serve(home: Path, users_file: Path, calls: int) -> dict[str, Any]:
    """`calls` for_user calls through the service and on the Recommender, per-call times."""
    import numpy as np
    import pyarrow.parquet as pq

    from tenure.config import Settings
    from tenure.recommend import service

    settings = Settings(home=home)
    started = time.perf_counter()
    rec = service.recommender(settings)
    load_s = time.perf_counter() - started
    ids = pq.read_table(users_file, columns=["user_id"]).column(0).to_numpy(zero_copy_only=False)
    rng = np.random.default_rng(1)
    picked = [str(u) for u in ids[rng.integers(ids.size, size=calls)]]
    known = np.array([rec.user_row(u) is not None for u in picked])

    def timed(call: Any) -> list[float]:
        out = []
        for user_id in picked:
            t0 = time.perf_counter_ns()
            call(user_id)
            out.append((time.perf_counter_ns() - t0) / 1e6)
        return out

    max_per_category = settings.recommend_max_per_category
    api = timed(lambda u: service.for_user(settings, u, n=10))
    picks = timed(lambda u: rec.for_user(u, 10, (), None, max_per_category))

    def stats(ms: list[float], mask: Any = None) -> dict[str, float]:
        values = np.asarray(ms)[mask] if mask is not None else np.asarray(ms)
        if values.size == 0:
            return {}
        return {
            "calls": int(values.size),
            "p50_ms": float(np.percentile(values, 50)),
            "p99_ms": float(np.percentile(values, 99)),
            "max_ms": float(values.max()),
            "mean_ms": float(values.mean()),
        }

    return {
        "seconds": load_s,
        "load_s": load_s,
        "known_share": float(known.mean()),
        "service.for_user": stats(api),
        "service.for_user (known)": stats(api, known),
        "service.for_user (unknown)": stats(api, ~known),
        "Recommender.for_user": stats(picks),
    }


# --- driver -----------------------------------------------------------------------------------


def _md(headers: list[str], rows: list[list[Any]]) -> str:
    """A markdown table."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.3f}" if abs(v) < 10 else f"{v:,.1f}"
        if isinstance(v, int) and not isinstance(v, bool):
            return f"{v:,}"
        return str(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def _generated(sim: Path) -> dict[str, int]:
    """What the simulation wrote: users, items, orders, order lines, events."""
    import pyarrow.parquet as pq

    params = json.loads((sim / "truth" / "params.json").read_text())
    return {
        "users": params["users"],
        "items": params["items"],
        "days": params["days"],
        "orders": params["generated"]["orders"],
        "refunds": params["generated"]["refunds"],
        "order_lines": pq.ParquetFile(sim / "order_lines.parquet").metadata.num_rows,
        "events": params["generated"]["events"],
    }


def _same_shop(sim: Path, args: argparse.Namespace) -> bool:
    """Whether `sim` holds a finished simulation of this configuration."""
    path = sim / "truth" / "params.json"
    if not path.is_file():
        return False
    params = json.loads(path.read_text())
    wanted = {"users": args.users, "items": args.items, "days": args.days, "seed": args.seed}
    found = {key: params.get(key) for key in wanted}
    if found != wanted:
        raise SystemExit(f"{sim} holds another shop {found}; wanted {wanted}")
    return True


def _child(args: argparse.Namespace, stage: str, *extra: str) -> dict[str, Any]:
    """Run one stage in a child; its output with wall time and peak RSS."""
    run = run_child([sys.executable, __file__, "--stage", stage, *extra, *_config_args(args)])
    if run.returncode != 0:
        raise SystemExit(f"{stage} failed ({run.returncode}):\n{run.stderr}")
    return {**run.output, "wall_s": run.wall_s, "max_rss_mb": run.max_rss_mb, "cpu_s": run.cpu_s}


def _config_args(args: argparse.Namespace) -> list[str]:
    return [
        f"--users={args.users}",
        f"--items={args.items}",
        f"--days={args.days}",
        f"--seed={args.seed}",
        f"--calls={args.calls}",
        f"--personal={args.personal}",
        f"--dir={args.dir}",
    ]


def run_stage(args: argparse.Namespace) -> None:
    """In a child: one stage, its result as JSON on the last line of stdout."""
    root = Path(args.dir)
    sim, home = root / "sim", root / "home"
    if args.stage == "simulate":
        result = child_simulate(args.users, args.items, args.days, args.seed, sim)
    elif args.stage == "import":
        result = child_import(sim, home)
    elif args.stage == "train":
        result = child_train(home, args.personal)
    else:
        result = child_serve(home, sim / "users.parquet", args.calls)
    print(json.dumps(result, default=str))


def main() -> None:
    """Simulate (or reuse), import (or reuse), train, serve; print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--calls", type=int, default=10_000, help="for_user calls to time")
    parser.add_argument("--personal", default="als", choices=("als", "bpr", "covisit"))
    parser.add_argument("--reuse", type=Path, help="keep the shop and warehouse in this folder")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.stage:
        run_stage(args)
        return

    load = warn_if_busy()
    root = args.reuse or Path(tempfile.mkdtemp(prefix="tenure-recommend-scale-"))
    root.mkdir(parents=True, exist_ok=True)
    args.dir = str(root.resolve())
    sim, home = root / "sim", root / "home"
    stages: dict[str, dict[str, Any]] = {}
    try:
        if _same_shop(sim, args):
            print(f"reusing the simulated shop in {sim}")
        else:
            print(f"simulating {args.users:,} users × {args.items:,} items, {args.days} days ...")
            stages["simulate"] = _child(args, "simulate")
            shutil.rmtree(home, ignore_errors=True)  # a new shop needs a new warehouse
        generated = _generated(sim)
        print(
            "generated: "
            + ", ".join(f"{k} {v:,}" for k, v in generated.items() if k not in ("days",)),
            flush=True,
        )
        if (home / ".imported").is_file():
            print(f"reusing the warehouse in {home}")
        else:
            print("importing into a fresh DuckDB warehouse ...", flush=True)
            stages["import"] = _child(args, "import")
        print("training (train_and_store) ...", flush=True)
        stages["train"] = train = _child(args, "train")
        print(f"serving: {args.calls:,} for_user calls ...", flush=True)
        stages["serve"] = serve = _child(args, "serve")
    finally:
        if args.reuse is None and not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        elif args.reuse is None:
            print(f"kept {root}")

    summary = train["summary"]
    print(f"\n## {args.users:,} users × {args.items:,} items, {args.days} days\n")
    data = {
        **{k.replace("_", " "): v for k, v in generated.items() if k not in ("days", "refunds")},
        "model users": summary["users"],
        "model items": summary["items"],
        "baskets": summary["baskets"],
        "interactions": summary["interactions"],
    }
    print(_md(list(data), [list(data.values())]))
    rows: list[list[Any]] = []
    for name in ("simulate", "import"):
        if name in stages:
            s = stages[name]
            rows.append([name, s["seconds"], s["cpu_s"], s["max_rss_mb"]])
    in_train = sum(summary["seconds"].values())
    rows.append(["**train_and_store**", train["seconds"], train["cpu_s"], train["max_rss_mb"]])
    rows.append(["  read_raw + encode + store", train["seconds"] - in_train, "", ""])
    rows += [[f"  {k}", v, "", ""] for k, v in summary["seconds"].items()]
    rows.append(["serve: load the version", serve["load_s"], "", serve["max_rss_mb"]])
    print()
    print(_md(["stage", "wall s", "CPU s (child)", "peak RSS MB (child)"], rows))
    met = "met" if train["seconds"] <= TARGET_S else "MISSED"
    print(f"\ntarget train + top-K refresh ≤ {TARGET_S:.0f} s: {met} ({train['seconds']:.1f} s)")

    print(f"\nSampled time and memory by stage (every {SAMPLE_S:.2f} s):\n")
    print(
        _md(
            ["stage (function)", "wall s", "CPU s", "peak RSS MB seen"],
            [[k, *v] for k, v in train["sampled_stages"].items()],
        )
    )
    print("\nHot spots (innermost src/tenure/recommend frames, caller > callee:line):\n")
    print(_md(["where", "wall s", "CPU s", "peak RSS MB seen"], train["hot_spots"][:12]))

    print(f"\nServing ({serve['known_share']:.0%} of the drawn users are known to the model):\n")
    calls = ("service.for_user", "service.for_user (known)", "service.for_user (unknown)",
             "Recommender.for_user")  # fmt: skip
    timed = [(c, serve[c]) for c in calls if serve.get(c)]
    print(
        _md(
            ["call", "calls", "p50 ms", "p99 ms", "max ms", "mean ms"],
            [
                [c, s["calls"], s["p50_ms"], s["p99_ms"], s["max_ms"], s["mean_ms"]]
                for c, s in timed
            ],
        )
    )
    path = write_results(
        "recommend_scale",
        {
            "config": {k: v for k, v in vars(args).items() if k not in ("stage", "dir")},
            "load_at_start": load,
            "generated": generated,
            "stages": stages,
        },
    )
    print(f"\nresults: {path}")


if __name__ == "__main__":
    main()
