"""flowfix against the parser floor and its peers, on a real corpus, in one run.

    python benchmarks/bench.py                 # fetch dynamiq, pflow-cli, pocketflow (cached)
    python benchmarks/bench.py path/to/code    # or any folder
    python benchmarks/bench.py --runs 5 --skip-libcst

Times (medians over --runs): CPython's `ast.parse` of every file (the floor for a Python tool),
`libcst.parse_module` of every file, the exact floor (`ast.parse` of every file plus libcst's
parse and scope analysis of each file flowfix's prefilters keep, reduced as flowfix reduces
it: what a run whose findings all come from libcst's scope analysis pays before any rule
runs), `flowfix check` cold (no cache) with 1 and 2 workers and warm (cache filled by the
previous run), `ruff check --select ASYNC,PERF` (no cache) and `fixit lint` when installed.
flowfix, ruff and Fixit run as command lines, as users run them; the parsers run in this
process. Peak RSS of `flowfix check -j1` on half and on all of the
corpus shows whether memory stays flat in corpus size.
"""

from __future__ import annotations

import argparse
import ast
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".corpus"
PACKAGES = [
    ("dynamiq", ["--only-binary", ":all:"]),
    ("pflow-cli", ["--only-binary", ":all:"]),
    ("pocketflow", ["--no-binary", ":all:"]),
]


def fetch_corpus(cache: Path) -> Path:
    """Download (once) and unpack the three frameworks; returns the folder holding them."""
    downloads, src = cache / "downloads", cache / "src"
    downloads.mkdir(parents=True, exist_ok=True)
    for name, flags in PACKAGES:
        stem = name.replace("-", "_")
        if not any(p.name.lower().startswith((stem, name)) for p in downloads.iterdir()):
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", *flags, name]
                + ["--dest", str(downloads), "--quiet"],
                check=True,
            )
    for archive in sorted(downloads.iterdir()):
        target = src / archive.name.split("-")[0].lower().replace("-", "_")
        if target.exists():
            continue
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as whl:
                whl.extractall(target)
        elif archive.name.endswith(".tar.gz"):
            with tarfile.open(archive) as tar:
                tar.extractall(target, filter="data")
    return src


def python_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*.py") if p.is_file())


def median_time(action: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def parse_all(files: Sequence[Path], parser: Callable[[bytes], object]) -> None:
    for path in files:
        try:
            parser(path.read_bytes())
        except Exception:  # noqa: BLE001 (a file the parser rejects still costs its time)
            pass


def candidate_texts(files: Sequence[Path]) -> list[str]:
    """The text flowfix's analysis parses for each candidate file: the file reduced to what
    its candidate rules need (found by flowfix's own first phase, not timed)."""
    from flowfix import reduction, runner
    from flowfix.engine import Options
    from flowfix.rules import registry
    from flowfix.sources import read_source

    options = Options(codes=tuple(sorted(registry())), project=runner._call_graph(files))
    texts = []
    for path in files:
        found = runner.scan(path, options)
        if found.candidates:
            texts.append(reduction.apply(read_source(path).text, found.stubs))
    return texts


def exact_floor(files: Sequence[Path], texts: Sequence[str]) -> None:
    """What exact findings cannot do without: CPython's parse of every file, then libcst's
    parse and scope analysis of each candidate file as reduced (with flowfix's GC settings)."""
    import gc

    import libcst

    from flowfix.runner import tune_gc
    from flowfix.scope import ScopeProvider

    thresholds = gc.get_threshold()
    tune_gc()  # the garbage collector settings flowfix runs with
    try:
        parse_all(files, ast.parse)
        for text in texts:
            ScopeProvider()._gen_impl(libcst.parse_module(text))
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def run_command(args: Sequence[str], cwd: Path | None = None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one command line."""
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    stderr = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(args)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return elapsed, usage.ru_maxrss


def median_command(
    args: Sequence[str], runs: int, before: Callable[[], None] = lambda: None
) -> float:
    times = []
    for _ in range(runs):
        before()
        times.append(run_command(args)[0])
    return statistics.median(times)


def _tool(name: str) -> str | None:
    """A peer's executable: on PATH, or installed beside this interpreter."""
    return shutil.which(name) or shutil.which(name, path=str(Path(sys.executable).parent))


def flowfix(*args: str) -> list[str]:
    return [sys.executable, "-m", "flowfix", "check", "--format", "json", *args]


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus", nargs="?", type=Path, help="folder of Python code")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--skip-libcst", action="store_true", help="skip libcst's parse")
    options = parser.parse_args()
    corpus = (options.corpus or fetch_corpus(CACHE)).resolve()
    files = python_files(corpus)
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"corpus: {corpus} ({len(files)} files, {lines:,} lines)")
    print(f"machine: {machine()}; {options.runs} runs each, medians\n")

    texts = candidate_texts(files)
    exact_row = f"exact floor ({len(texts)} candidates)"
    # The rows a ratio compares are timed in turn within each round, so that a machine whose
    # speed drifts over minutes slows both sides of a ratio alike.
    rounds: dict[str, list[float]] = {}
    for _ in range(options.runs):
        for row, action in (
            ("ast.parse (floor)", lambda: parse_all(files, ast.parse)),
            (exact_row, lambda: exact_floor(files, texts)),
            ("flowfix cold, 1 worker", flowfix("-j1", "--no-cache", str(corpus))),
            ("flowfix cold, 2 workers", flowfix("-j2", "--no-cache", str(corpus))),
        ):
            rounds.setdefault(row, []).append(
                median_time(action, 1) if callable(action) else run_command(action)[0]
            )
    rows: dict[str, float] = {row: statistics.median(times) for row, times in rounds.items()}
    if not options.skip_libcst:
        import libcst

        rows["libcst.parse_module"] = median_time(lambda: parse_all(files, libcst.parse_module), 1)
    cache_dir = Path(tempfile.mkdtemp(prefix="flowfix-bench-"))
    try:

        def clear_cache() -> None:
            shutil.rmtree(cache_dir, ignore_errors=True)

        cached = ["--cache-dir", str(cache_dir)]
        rows["flowfix cold, cache on"] = median_command(
            flowfix(*cached, str(corpus)), options.runs, clear_cache
        )
        ruff = _tool("ruff")
        ruff_args = [ruff or "", "check", "--isolated", "--no-cache", "--exit-zero"]
        ruff_args += ["--select", "ASYNC,PERF", str(corpus)]
        # Sub-second commands: many runs, flowfix and ruff alternating, so that both meet the
        # same background load.
        warm_times: list[float] = []
        ruff_times: list[float] = []
        for _ in range(max(options.runs, 9)):
            warm_times.append(run_command(flowfix(*cached, str(corpus)))[0])
            if ruff:
                ruff_times.append(run_command(ruff_args)[0])
        rows["flowfix warm"] = statistics.median(warm_times)
        if ruff:
            rows["ruff --select ASYNC,PERF"] = statistics.median(ruff_times)
    finally:
        clear_cache()
    fixit = _tool("fixit")
    if fixit:
        rows["fixit lint"] = median_command([fixit, "lint", str(corpus)], 1)

    width = max(map(len, rows))
    print(f"| {'what':<{width}} | wall (s) |")
    print(f"|{'-' * (width + 2)}|---------:|")
    for what, seconds in rows.items():
        print(f"| {what:<{width}} | {seconds:8.2f} |")

    floor = rows["ast.parse (floor)"]
    print("\nratios (goal):")
    exact = rows[exact_row]
    print(f"  cold 1 worker / ast floor   {rows['flowfix cold, 1 worker'] / floor:5.2f}  (<= 2)")
    print(f"  exact floor / ast floor     {exact / floor:5.2f}  (what libcst analysis starts at)")
    speedup = rows["flowfix cold, 1 worker"] / rows["flowfix cold, 2 workers"]
    print(f"  1 worker / 2 workers        {speedup:5.2f}  (>= 1.7)")
    if ruff:
        warm = rows["flowfix warm"] / rows["ruff --select ASYNC,PERF"]
        print(f"  warm / ruff cold            {warm:5.2f}  (<= 3)")

    half = files[: len(files) // 2]
    with tempfile.TemporaryDirectory() as tmp:
        for path in half:
            target = Path(tmp) / path.relative_to(corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        _, rss_half = run_command(flowfix("-j1", "--no-cache", tmp))
    _, rss_all = run_command(flowfix("-j1", "--no-cache", str(corpus)))
    print(
        f"\npeak RSS, flowfix -j1: {rss_half / 1024:.0f} MiB on {len(half)} files, "
        f"{rss_all / 1024:.0f} MiB on {len(files)} files"
    )


if __name__ == "__main__":
    main()
