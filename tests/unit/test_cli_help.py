"""Every `syncer` command's help, as a user reads it: -h and --help alike, every word of every
help text shown (none swallowed as rich markup), defaults and exit codes included."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from syncer import __version__
from syncer.cli.main import app

runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # no wrapping to split what is compared


def commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    yield path
    for name, sub in getattr(command, "commands", {}).items():
        yield from commands(sub, (*path, name))


ROOT = typer.main.get_command(app)
PATHS = list(commands(ROOT))


def command_at(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return command


def words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z0-9_]+", text))


def test_every_command_is_walked() -> None:
    assert {p for p in PATHS if len(p) == 1} >= {("sync",), ("status",), ("check",), ("db",)}
    assert ("db", "upgrade") in PATHS and ("api", "list") in PATHS


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "syncer")
def test_every_word_of_every_help_text_is_shown(path: tuple[str, ...]) -> None:
    command = command_at(path)
    texts = [command.help or "", command.epilog or ""]
    for param in command.params:
        texts.append(getattr(param, "help", None) or "")
        if isinstance(getattr(param, "show_default", None), str):
            texts.append(param.show_default)

    shown = runner.invoke(app, [*path, "--help"], env=WIDE)

    assert shown.exit_code == 0, shown.output
    missing = set().union(*(words(t) for t in texts)) - words(shown.output)
    assert not missing, f"not shown in `syncer {' '.join(path)} --help`: {sorted(missing)}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "syncer")
def test_h_is_help_everywhere(path: tuple[str, ...]) -> None:
    short = runner.invoke(app, [*path, "-h"], env=WIDE)
    long = runner.invoke(app, [*path, "--help"], env=WIDE)

    assert short.exit_code == long.exit_code == 0
    assert short.output == long.output


def test_demo_help_shows_where_its_data_goes_by_default() -> None:
    shown = runner.invoke(app, ["demo", "--help"], env=WIDE).output
    line = next(x for x in shown.splitlines() if "--data-dir" in x)
    assert "keeps its data. [default: (the embedded_db_dir setting)]" in line


LEAVES = [p for p in PATHS if not hasattr(command_at(p), "commands") and p != ("version",)]


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
def test_every_command_ends_its_help_with_its_exit_codes(path: tuple[str, ...]) -> None:
    epilog = command_at(path).epilog or ""
    assert epilog.startswith("Exit codes: ")
    assert "2 a configuration or usage error" in epilog  # every command that reads settings


@pytest.mark.parametrize(
    ("path", "codes"),
    [
        (("sync",), "0 1 2 3"),
        (("backfill",), "0 1 2 3"),
        (("status",), "0 1 2 4"),
        (("check",), "0 1 2"),
    ],
)
def test_commands_for_scripts_list_their_exit_codes_in_help(
    path: tuple[str, ...], codes: str
) -> None:
    shown = " ".join(runner.invoke(app, [*path, "--help"], env=WIDE).output.split())
    listed = re.findall(r"(?:Exit codes: |; )(\d+) ", shown)
    assert " ".join(listed) == codes


def test_version_as_an_option_and_as_a_command() -> None:
    for args in (["--version"], ["version"]):
        done = runner.invoke(app, args)
        assert done.exit_code == 0
        assert done.output == f"{__version__}\n"


def test_no_arguments_show_the_commands() -> None:
    done = runner.invoke(app, [], env=WIDE, prog_name="syncer")
    assert done.exit_code == 2  # a usage error, as click makes it
    assert "Usage: syncer [OPTIONS] COMMAND" in done.output
    assert all(f" {name} " in done.output for name in ("sync", "status", "check", "db"))
    assert "--install-completion" in done.output and "--show-completion" in done.output


def test_shell_completion_completes_commands_and_subcommands() -> None:
    script = runner.invoke(app, ["--show-completion", "bash"], prog_name="syncer")
    assert script.exit_code == 0, (script.output, script.exception)
    assert "_SYNCER_COMPLETE=complete_bash" in script.output
    assert "complete -o default -F _syncer_completion syncer" in script.output

    def complete(words: str) -> list[str]:
        env = {"_SYNCER_COMPLETE": "complete_bash", "COMP_WORDS": words,
               "COMP_CWORD": str(len(words.split(" ")) - 1)}  # fmt: skip
        done = runner.invoke(app, [], env=env, prog_name="syncer")
        assert done.exit_code == 0
        return done.output.split()

    assert complete("syncer st") == ["status"]
    assert complete("syncer db ") == ["upgrade", "downgrade", "grant-readonly", "current"]
    assert "--once" in complete("syncer sync --")
