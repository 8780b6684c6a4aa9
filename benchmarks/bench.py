"""flowfix against the parser floor and its peers, on a real corpus, in one run.

    python benchmarks/bench.py                 # the pinned dynamiq, pflow-cli, pocketflow
    python benchmarks/bench.py path/to/code    # or any folder
    python benchmarks/bench.py --runs 5 --skip-libcst

Times (medians over --runs): CPython's `ast.parse` of every file (the floor for a Python
tool), `flowfix check` cold (no cache) with 1 and 2 workers, `flowfix diff --unsafe-fixes`
with 1 worker, `libcst.parse_module` of every file, `flowfix check` warm (cache filled by the
previous run), `ruff check --select ASYNC,PERF` (no cache) and `fixit lint` when installed.
flowfix, ruff and Fixit run as command lines, as users run them; the parsers run in this
process. The rows a ratio compares are timed in turn within each round.

Then the language server's rows, in a process of their own as the server runs: its analysis
of a change to the corpus file nearest 2,300 lines against `ast.parse` of it (both with the
collector paused), and a quick fix (the code action's work, on an analysis already made)
against libcst's parse of that file. Then a generated 5 MB module with one finding: `check`
against its `ast.parse`, `fix` against its libcst parse. Peak RSS of `flowfix check -j1` on
half and on all of the corpus shows whether memory stays flat in corpus size. Last, in this
process, where a cold check's time goes: the parser floor, what every run pays before any rule
runs (reading, trigger scans, the semantic model), and the whole analysis (`--only-split`).

    python benchmarks/bench.py --rust path/to/dashflow [--only-rust]

adds the Rust row: `flowfix check` (no cache, 1 and 2 workers) on every `*.rs` file of the
folder (cargo's target/ skipped, as flowfix skips it) against tree-sitter's parse of the same
files in this process (the floor for a tree-sitter tool; goal: check within 2x).
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
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from corpus import pinned  # noqa: E402 (tests/corpus.py: the pinned packages)


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


def flowfix(*args: str, command: str = "check") -> list[str]:
    """A flowfix command line over the whole catalog (`--select ALL`: the goals are set for
    every rule, not only the default set)."""
    if command == "check":
        args = ("--format", "json", *args)
    return [sys.executable, "-m", "flowfix", command, "--select", "ALL", *args]


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
    parser.add_argument(
        "--skip-large-fix", action="store_true", help="time only the check of the 5 MB module"
    )
    parser.add_argument("--rust", type=Path, help="folder of Rust code (DashFlow's crates)")
    parser.add_argument("--only-rust", action="store_true", help="time only the Rust row")
    parser.add_argument(
        "--only-editor", action="store_true", help="time only the language server's rows"
    )
    parser.add_argument(
        "--only-split", action="store_true", help="time only where a cold check's time goes"
    )
    options = parser.parse_args()
    if options.rust is not None and options.only_rust:
        rust_row(options.rust.resolve(), options.runs)
        return
    corpus = (options.corpus or pinned(Path(tempfile.mkdtemp(prefix="flowfix-corpus-")))).resolve()
    files = python_files(corpus)
    if options.only_editor:
        editor(files, corpus, options.runs)
        return
    if options.only_split:
        split(files, options.runs)
        return
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    print(f"corpus: {corpus} ({len(files)} files, {lines:,} lines)")
    print(f"machine: {machine()}; {options.runs} runs each, medians\n")
    rss_half, rss_all = peak_rss(files, corpus)

    # The rows a ratio compares are timed in turn within each round, so that a machine whose
    # speed drifts over minutes slows both sides of a ratio alike.
    rounds: dict[str, list[float]] = {}
    for _ in range(options.runs):
        for row, action in (
            ("ast.parse (floor)", lambda: parse_all(files, ast.parse)),
            ("flowfix cold, 1 worker", flowfix("-j1", "--no-cache", str(corpus))),
            ("flowfix cold, 2 workers", flowfix("-j2", "--no-cache", str(corpus))),
            (
                "flowfix diff --unsafe-fixes, 1 worker",
                flowfix("--unsafe-fixes", "-j1", "--no-cache", str(corpus), command="diff"),
            ),
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
    cold = rows["flowfix cold, 1 worker"]
    print("\nratios (goal):")
    print(f"  cold 1 worker / ast floor   {cold / floor:5.2f}  (<= 2)")
    print(f"  1 worker / 2 workers        {cold / rows['flowfix cold, 2 workers']:5.2f}  (>= 1.7)")
    diff = rows["flowfix diff --unsafe-fixes, 1 worker"]
    print(f"  diff --unsafe-fixes / cold  {diff / cold:5.2f}  (<= 1.5)")
    if ruff:
        warm = rows["flowfix warm"] / rows["ruff --select ASYNC,PERF"]
        print(f"  warm / ruff cold            {warm:5.2f}  (<= 3)")
    print(
        f"\npeak RSS, flowfix -j1: {rss_half} MiB on {len(files) // 2} files, {rss_all} MiB on all"
    )
    split(files, options.runs)
    # The language server's rows run in a process of their own, as the server does: in this
    # one, whose heap the rows above grew, the quick fix took twice as long.
    args = [sys.executable, __file__, str(corpus), "--runs", str(options.runs), "--only-editor"]
    print(subprocess.run(args, capture_output=True, text=True, check=True).stdout, end="")
    large_file(options.runs, fix=not options.skip_large_fix)
    if options.rust is not None:
        rust_row(options.rust.resolve(), options.runs)


def split(files: Sequence[Path], runs: int) -> None:
    """Where a cold check's time goes, in this process (no interpreter start, no output): the
    parser floor with the collector paused (as flowfix parses), the same plus what every run
    pays before any rule runs (reading and decoding, the trigger scans, the semantic model),
    and the whole analysis with every rule."""
    from flowfix.analysis import Model
    from flowfix.detector import wanted
    from flowfix.engine import Options, check_syntax, gc_paused
    from flowfix.rules import expand_codes, registry
    from flowfix.runner import run
    from flowfix.sources import ParseFailure, SourceError, read_source

    codes = tuple(sorted(expand_codes(["ALL"])))
    detectors = [registry()[code].detector for code in codes]

    def floor() -> None:
        with gc_paused():
            parse_all(files, ast.parse)

    def without_rules() -> None:
        for path in files:
            try:
                source = read_source(path)
                with gc_paused():
                    tree = check_syntax(source.raw)
                    found = wanted(detectors, source.text)
                    if found:
                        Model(tree, source.text, {k for d in found for k in d.VISITS}).release()
            except (SourceError, ParseFailure):
                pass

    def with_rules() -> None:
        for _ in run(files, Options(codes=codes)):
            pass

    rounds: dict[str, list[float]] = {}
    for _ in range(runs):
        for row, action in (
            ("ast.parse, collector paused", floor),
            ("read, parse, triggers, model: no rule", without_rules),
            ("the whole analysis, every rule", with_rules),
        ):
            rounds.setdefault(row, []).append(median_time(action, 1))
    print("\nwhere a cold check's time goes (in this process, whole catalog):")
    base = statistics.median(rounds["ast.parse, collector paused"])
    for row, times in rounds.items():
        seconds = statistics.median(times)
        print(f"  {row:<38} {seconds:6.2f} s  {seconds / base:5.2f}x")


def rust_row(folder: Path, runs: int) -> None:
    """`flowfix check` on a Rust corpus against tree-sitter's parse of the same files."""
    from flowfix.discovery import discover
    from flowfix.rust.syntax import parse

    found, _ = discover([folder])
    files = [path for path in found if path.suffix == ".rs"]
    size = sum(path.stat().st_size for path in files)
    print(f"\nRust: {folder} ({len(files)} files, {size / 1e6:.1f} MB)")
    rounds: dict[str, list[float]] = {"parse": [], "check -j1": [], "check -j2": []}
    for _ in range(runs):
        rounds["parse"].append(median_time(lambda: parse_all(files, parse), 1))
        for jobs in (1, 2):
            args = flowfix("--no-cache", "-q", "-j", str(jobs), str(folder))
            rounds[f"check -j{jobs}"].append(run_command(args)[0])
    parsed, one, two = (statistics.median(rounds[row]) for row in rounds)
    print(f"  tree-sitter parse {parsed:6.2f} s")
    print(f"  check, 1 worker   {one:6.2f} s  ratio {one / parsed:5.2f}  (<= 2)")
    print(f"  check, 2 workers  {two:6.2f} s  ratio {two / parsed:5.2f}  (<= 2)")


def peak_rss(files: Sequence[Path], corpus: Path) -> tuple[int, int]:
    """Peak RSS (MiB) of `flowfix check -j1` on the first half of the corpus and on all of it.
    Measured first, while this process is small: a child's peak counts the pages it shares
    with this process until it starts flowfix."""
    half = files[: len(files) // 2]
    with tempfile.TemporaryDirectory() as tmp:
        for path in half:
            target = Path(tmp) / path.relative_to(corpus)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(path.read_bytes())
        _, rss_half = run_command(flowfix("-j1", "--no-cache", tmp))
    _, rss_all = run_command(flowfix("-j1", "--no-cache", str(corpus)))
    return rss_half // 1024, rss_all // 1024


def editor(files: Sequence[Path], corpus: Path, runs: int) -> None:
    """The language server on the corpus file nearest 2,300 lines: diagnostics after a change;
    and the quick fix of the first fixable finding of the nearest such file that has one."""
    import libcst

    from flowfix import lsp, verify
    from flowfix.engine import gc_paused
    from flowfix.rules import FixSafety

    path = min(files, key=lambda p: abs(p.read_bytes().count(b"\n") - 2300))
    text = path.read_text(encoding="utf-8")
    edited = text + "\n# an edit\n"
    diagnostics = median_time(lambda: lsp.analyse("file:///x", 2, path, edited, [corpus]), runs)
    # (with the garbage collector paused, as flowfix parses: in this process, whose heap the
    # corpus rows grew, a collection during the parse doubled its time)
    with gc_paused():
        parse = median_time(lambda: ast.parse(edited), runs)
    print(f"\nlanguage server, {path.relative_to(corpus)} ({text.count(chr(10))} lines):")
    print(
        f"  change to diagnostics {diagnostics * 1000:6.0f} ms, ast.parse {parse * 1000:4.0f} ms"
        f"  ratio {diagnostics / parse:5.2f}  (<= 2)"
    )
    # The quick fix: on the file nearest 2,300 lines that has a fixable finding.
    for candidate in sorted(files, key=lambda p: abs(p.read_bytes().count(b"\n") - 2300)):
        edited = candidate.read_text(encoding="utf-8") + "\n# an edit\n"
        analysis = lsp.analyse("file:///x", 2, candidate, edited, [corpus])
        # (an editor configured with `unsafe-fixes` offers unsafe fixes too)
        fixable = [f for f in analysis.findings if f.fix.applies(FixSafety.UNSAFE)]
        if fixable:
            break
    else:
        print("  (no fixable finding in the corpus: quick fix not timed)")
        return
    finding = fixable[0]

    def quick_fix() -> float:
        """The code action's work: the fix of one finding of an analysis the diagnostics
        already made (not timed), with libcst's caches of earlier texts emptied, as for the
        first quick fix asked of a new version of the file."""
        fresh = lsp.analyse("file:///x", 2, candidate, edited, [corpus])
        verify.parse.cache_clear()
        verify.unreproducible.cache_clear()
        start = time.perf_counter()
        fresh.fixed(finding)
        return time.perf_counter() - start

    fix = statistics.median(quick_fix() for _ in range(runs))
    cst_parse = median_time(lambda: libcst.parse_module(edited), runs)
    lines = edited.count(chr(10))
    print(
        f"  quick fix ({finding.code}, {candidate.relative_to(corpus)}, {lines} lines) "
        f"{fix * 1000:6.0f} ms, libcst parse {cst_parse * 1000:4.0f} ms  "
        f"ratio {fix / cst_parse:5.2f}  (<= 2)"
    )


def generated_module(size: int) -> str:
    """A module of about `size` bytes of ordinary code, with one ASY001 finding at its end."""
    block = (
        "def handler_{n}(request, store):\n"
        "    items = [item.strip() for item in request.items if item]\n"
        "    total = sum(len(item) for item in items)\n"
        "    if total > {n}:\n"
        "        store['handler_{n}'] = {{'items': items, 'total': total}}\n"
        "    return total\n\n\n"
    )
    parts = ["import time\n\n\n"]
    written, n = 0, 0
    while written < size:
        parts.append(block.format(n=n))
        written += len(parts[-1])
        n += 1
    parts.append("async def poll():\n    time.sleep(1)\n")
    return "".join(parts)


def large_file(runs: int, fix: bool = True) -> None:
    """A generated 5 MB module: check and (unless `fix` is off: it takes minutes) fix against
    the parsers."""
    text = generated_module(5 * 1024 * 1024)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "generated.py"
        path.write_text(text, encoding="utf-8")
        check = median_command(flowfix("-j1", "--no-cache", str(path)), runs)
        parse = median_time(lambda: ast.parse(text), runs)
        print(f"\ngenerated module, {len(text) / 1e6:.1f} MB:")
        print(
            f"  check {check:6.2f} s, ast.parse {parse:5.2f} s  "
            f"ratio {check / parse:5.2f}  (<= 1.5)"
        )
        if not fix:
            return
        import libcst

        def restore() -> None:
            path.write_text(text, encoding="utf-8")

        fixed = median_command(
            [sys.executable, "-m", "flowfix", "fix", "--no-cache", "-q", str(path)], runs, restore
        )
    cst_parse = median_time(lambda: libcst.parse_module(text), 1)
    print(
        f"  fix   {fixed:6.2f} s, libcst parse {cst_parse:5.2f} s  ratio {fixed / cst_parse:5.2f}"
        "  (<= 3)"
    )


if __name__ == "__main__":
    main()
