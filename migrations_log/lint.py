"""squawk, run with its JSON reporter, mapped onto the strategy's severity (§6 "Backward compatible")."""

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from migrations_log import conf, strategy
from migrations_log.choices import Severity
from migrations_log.sql import char_column


class LintUnavailable(RuntimeError):
    pass


@dataclass
class Finding:
    file: str
    line: int  # 1-based
    column: int  # 0-based, in characters (squawk's are in bytes)
    rule: str
    severity: str
    message: str
    help: str
    drops: str = ""


def run_squawk(files: dict[str, str]) -> list[dict]:
    """squawk's raw JSON findings for {filename: sql}, all files in one run."""
    if not files:
        return []
    with tempfile.TemporaryDirectory(prefix="squawk-") as tmp:
        for name, sql in files.items():
            Path(tmp, name).write_text(sql)
        argv = [conf.squawk_binary(), "--reporter", "json"]
        if conf.squawk_exclude():
            argv += ["--exclude", ",".join(conf.squawk_exclude())]
        if conf.squawk_pg_version():
            argv += ["--pg-version", conf.squawk_pg_version()]
        argv += sorted(files)
        try:
            done = subprocess.run(  # noqa: S603
                argv, cwd=tmp, capture_output=True, text=True, timeout=conf.squawk_timeout()
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise LintUnavailable(f"squawk could not run ({argv[0]}): {exc}") from None
    try:
        findings = json.loads(done.stdout or "[]")
    except ValueError:
        raise LintUnavailable(
            f"squawk exited {done.returncode} without JSON: {(done.stderr or done.stdout)[:500]}"
        ) from None
    if not isinstance(findings, list):
        raise LintUnavailable(f"squawk's JSON is not a list of findings: {done.stdout[:200]}")
    return findings


def severity_of(rule: str) -> str:
    return Severity.ERROR if rule in strategy.ERROR_RULES else Severity.WARNING


def lint(files: dict[str, str], analyses: dict) -> dict[str, list[Finding]]:
    """{filename: findings}; drop findings carry what pglast says the statement drops."""
    out: dict[str, list[Finding]] = {name: [] for name in files}
    for raw in run_squawk(files):
        name = raw.get("file", "")
        if name not in out:
            continue
        line = int(raw.get("line", 0)) + 1  # squawk counts lines from 0
        rule = raw.get("rule_name", "unknown")
        drops = ""
        if rule in strategy.DROP_RULES and name in analyses:
            statement = analyses[name].statement_at(line)
            drops = ",".join(statement.drops) if statement else ""
        out[name].append(
            Finding(
                file=name,
                line=line,
                column=char_column(files[name], line, int(raw.get("column", 0))),
                rule=rule,
                severity=severity_of(rule),
                message=raw.get("message", ""),
                help=raw.get("help") or "",
                drops=drops,
            )
        )
    return out
