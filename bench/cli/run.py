"""``meterbench run``: the main job. Runs the shipped suites on a bench and writes a run folder.

It is pytest underneath, with meterbench's plugin: ``pytest --bench BENCH`` runs the same suites
and reaches the same verdicts.
"""

from __future__ import annotations

import _thread
import argparse
import sys
import threading
from importlib.metadata import entry_points
from pathlib import Path

from meterbench.config.bench_file import load_bench
from meterbench.core.errors import EnvironmentFailure, UserError
from meterbench.run.folder import check_run_dir, default_run_dir, probe_run_dir

#: pytest's exit codes to meterbench's (0 completed, 1 a verdict failed, 2 user error). pytest's 2
#: is both Ctrl-C and "errors during collection": only a Ctrl-C is 130 (``_Interruption.seen``),
#: a shipped suite that cannot be imported is an environment failure, 3.
_EXIT = {0: 0, 1: 1, 2: 3, 3: 3, 4: 2, 5: 2}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="run the shipped suites on a bench and write a report",
                       description=__doc__)
    p.add_argument("bench", nargs="?", default="sim",
                   help="bench file or built-in name (default: sim, the simulated household)")
    p.add_argument("--out", metavar="DIR", help="run folder (default runs/<UTC time>-<bench>)")
    p.add_argument("--sim", action="store_true",
                   help="simulate the bench's devices even if it names real ones")
    p.add_argument("-k", metavar="EXPR", help="only tests matching this pytest -k expression")
    p.add_argument("-m", metavar="MARKEXPR",
                   help="only tests with these markers (conformance, field, delivery, lab, ...)")
    p.add_argument("-q", "--quiet", action="store_true", help="less pytest output")
    p.set_defaults(func=run)


def _plugin_registered() -> bool:
    return any(ep.name == "meterbench" for ep in entry_points(group="pytest11"))


def run(args: argparse.Namespace) -> int:
    import pytest

    from meterbench.fixtures import plugin

    for option, expression in (("-k", args.k), ("-m", args.m)):
        if expression is not None:
            _check_expression(option, expression)
    config = load_bench(args.bench, force_simulate=args.sim)  # user errors stop here, exit 2
    from meterbench.run.session import strategy_for

    strategy_for(config).check_reachable()  # a real bench's absent device: before any folder
    out = Path(args.out) if args.out else default_run_dir(config.name)
    check_run_dir(out, "run")  # refused before anything starts; the run creates it when it starts
    probe_run_dir(out)  # a folder the machine will not let it create: one line, exit 3
    suites = plugin.SUITES_DIR
    argv = [str(suites), "-c", str(suites / "pytest.ini"), "--rootdir", str(suites),
            "-W", "ignore::pytest.PytestAssertRewriteWarning",
            "--bench", args.bench, "--run-dir", str(out), "-p", "no:cacheprovider", "-rs"]
    if args.sim:
        argv.append("--bench-sim")
    if args.k:
        argv += ["-k", args.k]
    if args.m:
        argv += ["-m", args.m]
    argv.append("-q" if args.quiet else "-v")
    selection = _Selection(f"meterbench: running bench {config.name!r} ({config.source}) into {out}")
    interruption = _Interruption()
    extra = [selection, interruption]
    if not _plugin_registered():
        extra.insert(0, plugin)
    try:
        code = int(pytest.main(argv, plugins=extra))
    except KeyboardInterrupt:  # while the run folder was written (pytest stops on it before)
        _say_where(out)
        raise
    if code == int(pytest.ExitCode.NO_TESTS_COLLECTED) and not selection.selected:
        raise UserError(f"selects none of the {selection.deselected} tests of the shipped suites",
                        field=_selection_options(args),
                        expected="an expression matching test names or markers "
                        "(pytest --collect-only --bench BENCH lists them); no run folder was made")
    if interruption.seen:
        _say_where(out)
        return 130
    if isinstance(selection.bench_error, (UserError, EnvironmentFailure)):
        raise selection.bench_error  # one line on stderr (exit 2 or 3), as before any folder
    if (code == int(pytest.ExitCode.OK) and selection.selected and selection.ran() == 0
            and not (out / "results.json").exists()):  # skipped before the bench started
        reasons = "; ".join(selection.skip_reasons()) or "no reason given"
        raise UserError(f"every selected test skipped on bench {config.name!r} ({reasons})",
                        field=_selection_options(args),
                        expected="a selection with tests this bench can run; no run folder was "
                        "made")
    verdict = _say_where(out)
    if verdict == "incomplete" and code == int(pytest.ExitCode.OK):
        return 1  # nothing was checked: not a pass
    return _EXIT.get(code, 3)


def _selection_options(args: argparse.Namespace) -> str:
    """The ``-k``/``-m`` options as given, for an error's field (``bench`` without them)."""
    given = [f"{o} {v}" for o, v in (("-k", args.k), ("-m", args.m)) if v is not None]
    return " ".join(given) or "bench"


def _check_expression(option: str, expression: str) -> None:
    """A ``-k``/``-m`` expression pytest cannot parse is one line before anything starts (pytest
    would say so after its session header, in its own words)."""
    from _pytest.mark import expression as grammar  # pytest's own parser

    # pytest 9 raises SyntaxError (msg, offset); pytest 8 its ParseError (message, column)
    errors = tuple(e for e in (SyntaxError, getattr(grammar, "ParseError", None)) if e)
    try:
        grammar.Expression.compile(expression)
    except errors as exc:
        why = getattr(exc, "msg", None) or getattr(exc, "message", str(exc))
        column = getattr(exc, "offset", None) or getattr(exc, "column", None)
        raise UserError(f"not a valid expression: {why} (column {column})",
                        field=f"{option} {expression}",
                        expected="names joined by and, or, not and parentheses, e.g. "
                        "'field and not delivery'") from None


def _say_where(out: Path) -> str | None:
    """The verdict line and where the report and results are, when the run wrote them; the
    verdict (None when no results were written)."""
    results = out / "results.json"
    if not results.exists():
        return None
    line, verdict = _verdict_line(results)
    print(line)
    report = out / "report.html"
    if report.exists():
        print(f"report: {report}")
    else:
        print(f"report: not rendered; `meterbench report {out}` renders it from the folder")
    print(f"results: {results}")
    return verdict


class _Selection:
    """Says what runs once pytest has selected the tests, and counts them: a ``-k`` that selects
    nothing is then one error line, and no run folder is made (nothing asked for the bench run)."""

    def __init__(self, line: str) -> None:
        self.line = line
        self.selected = 0
        self.deselected = 0
        self.holder = None  # the plugin's bench run holder, once the session starts

    def pytest_deselected(self, items: list) -> None:  # noqa: ANN001 - pytest hook
        self.deselected += len(items)

    def pytest_sessionstart(self, session) -> None:  # noqa: ANN001 - pytest hook
        self.holder = session.config.pluginmanager.get_plugin("meterbench-run")
        if self.holder is not None:  # the report's path is printed once, with the verdict
            self.holder.summary_by_caller = True

    @property
    def bench_error(self) -> BaseException | None:
        """Why the bench run could not be made (a port in use, a folder it may not create)."""
        return getattr(self.holder, "error", None)

    def _outcomes(self) -> list[tuple[str, str, float, str | None]]:
        """Every test's outcome, as the plugin's holder records them for the run's results."""
        return list(getattr(self.holder, "tests", ()))

    def ran(self) -> int:
        """Selected tests that did not skip."""
        return sum(1 for _, outcome, _, _ in self._outcomes() if outcome != "skipped")

    def skip_reasons(self) -> list[str]:
        return sorted({reason or "" for _, outcome, _, reason in self._outcomes()
                       if outcome == "skipped"})

    def pytest_collection_finish(self, session) -> None:  # noqa: ANN001 - pytest hook
        self.selected = len(session.items)
        if any(not item.get_closest_marker("skip") for item in session.items):
            print(self.line, file=sys.stderr, flush=True)  # not when every test will skip


class _Interruption:
    """Ctrl-C ends the run, always. Python raises the KeyboardInterrupt wherever the main thread
    is; when that is a weakref callback or a ``__del__``, the exception is "ignored" (reported
    through ``sys.unraisablehook``) and the run would go on to its end. Such an interrupt is
    delivered again a moment later, from outside that callback."""

    REDELIVER_S = 0.05

    def __init__(self) -> None:
        self.seen = False

    def pytest_keyboard_interrupt(self, excinfo) -> None:  # noqa: ANN001 - pytest hook
        import pytest

        # also called for pytest.exit() (the plugin's one-line refusals) and for errors during
        # collection (pytest's own KeyboardInterrupt subclass): neither is a Ctrl-C
        self.seen = (issubclass(excinfo.type, KeyboardInterrupt)
                     and not issubclass(excinfo.type, pytest.Session.Interrupted))

    def pytest_sessionstart(self, session) -> None:  # noqa: ANN001 - pytest hook
        """After pytest's own ``unraisablehook`` (set at configure), which this one wraps."""
        previous = sys.unraisablehook

        def hook(unraisable) -> None:  # noqa: ANN001 - sys.unraisablehook's argument
            if isinstance(unraisable.exc_value, KeyboardInterrupt):
                threading.Timer(self.REDELIVER_S, _thread.interrupt_main).start()
                return
            previous(unraisable)

        sys.unraisablehook = hook
        session.config.add_cleanup(lambda: setattr(sys, "unraisablehook", previous))


def _verdict_line(results_path: Path) -> tuple[str, str]:
    """One line for the person at the bench, and the verdict: the counts behind it are read
    from the results' summary (the same counts the report shows)."""
    import json

    doc = json.loads(results_path.read_text(encoding="utf-8"))
    summary = doc.get("summary") or {}
    records = summary.get("records", {}).get("by_verdict", {})
    tests = summary.get("tests", {}).get("by_outcome", {})
    rec = ", ".join(f"{n} {v.replace('_', ' ')}" for v, n in records.items()) or "no records"
    tst = ", ".join(f"{n} {o}" for o, n in tests.items()) or "no tests"
    verdict = doc.get("verdict", "info")
    line = f"verdict: {verdict.upper()} (records: {rec}; tests: {tst})"
    return line + (f": {summary['incomplete']}" if summary.get("incomplete") else ""), verdict
