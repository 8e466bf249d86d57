"""The documentation tells the truth about the repository and the CLI: every relative link and
every repository path it names exists, every `syncer` command it shows exists with the options
shown, the README's commands table covers every command, and the configuration reference lists
every setting with its default."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from pydantic import SecretStr
from typer.testing import CliRunner

from syncer.cli.main import app
from syncer.config.settings import Settings
from syncer.config.sources import DEFAULT_CONFIG

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
CLI = typer.main.get_command(app)
runner = CliRunner()
WIDE = {"COLUMNS": "250"}  # no wrapping to split an option's name

# Where a path named in the docs must start to be taken for a file of this repository.
REPO_DIRS = ("syncer/", "tests/", "bench/", "deploy/", "config/", "docs/", "alembic/",
             "requirements/", ".ci/")  # fmt: skip
REPO_FILES = frozenset(
    {"Dockerfile", "docker-compose.yml", "pyproject.toml", "alembic.ini", "README.md"}
)
PLACEHOLDER = re.compile(r"[*<>{}…]|NNNN|\.\.\.")

FENCE = re.compile(r"^```.*?^```", re.S | re.M)
INLINE = re.compile(r"`([^`\n]+)`")
LINK = re.compile(r"\[[^\]\n]*\]\(([^)\s]+)\)")


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def prose(text: str) -> str:
    """The text without its fenced code blocks."""
    return FENCE.sub("", text)


def code_lines(text: str) -> Iterator[str]:
    """Every line of every fenced code block."""
    for block in FENCE.findall(text):
        yield from block.splitlines()[1:-1]


def code_spans(text: str) -> Iterator[str]:
    """Inline code spans (outside fenced blocks) and fenced code lines."""
    yield from INLINE.findall(prose(text))
    yield from code_lines(text)


def exists(target: str) -> bool:
    return (ROOT / target).exists()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(doc: Path) -> set[str]:
    return {slug(h) for h in re.findall(r"^#+ (.+)$", prose(doc.read_text()), re.M)}


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_relative_links_exist(doc: Path) -> None:
    broken = []
    for target in LINK.findall(prose(doc.read_text())):
        if re.match(r"[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):
            continue  # http(s), mailto; anchors of the document itself are checked below
        path, _, anchor = target.partition("#")
        resolved = (doc.parent / path).resolve()
        where = resolved.relative_to(ROOT).as_posix() if resolved.is_relative_to(ROOT) else path
        if not exists(where):
            broken.append(target)
        elif (
            anchor
            and resolved.suffix == ".md"
            and resolved.exists()
            and anchor not in anchors(resolved)
        ):
            broken.append(f"{target} (no such heading)")
    for anchor in re.findall(r"\]\(#([^)\s]+)\)", prose(doc.read_text())):
        if anchor not in anchors(doc):
            broken.append(f"#{anchor} (no such heading)")
    assert not broken, f"{rel(doc)}: broken links: {broken}"


def repository_paths(text: str) -> Iterator[str]:
    for span in code_spans(text):
        for token in span.split():
            token = token.strip("'\"()[],;:").rstrip(".")
            if PLACEHOLDER.search(token) or token.startswith(("http", "/")):
                continue
            if token.startswith(REPO_DIRS) or token in REPO_FILES:
                yield token


@pytest.mark.parametrize("doc", DOCS, ids=rel)
def test_repository_paths_exist(doc: Path) -> None:
    named = sorted(set(repository_paths(doc.read_text())))
    assert named or doc.name != "README.md"  # the README names several: the scan works
    missing = [p for p in named if not exists(p.rstrip("/"))]
    assert not missing, f"{rel(doc)} names files that do not exist: {missing}"


# -- commands --------------------------------------------------------------------------------


def options_of(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts)}


def walk(invocation: str) -> tuple[tuple[str, ...], list[tuple[tuple[str, ...], str]]]:
    """The command path of `syncer …` and each option shown, with the command it belongs to
    (an option given before a subcommand is its group's). Values and placeholders are skipped."""
    command: Any = CLI
    path: tuple[str, ...] = ()
    options: list[tuple[tuple[str, ...], str]] = []
    for raw in invocation.split("#")[0].split()[1:]:
        token = raw.strip("[]|")
        if token.startswith("-"):
            options.append((path, token.split("=")[0]))
        elif token in getattr(command, "commands", {}):
            command = command.commands[token]
            path = (*path, token)
    return path, options


def command_at(path: tuple[str, ...]) -> Any:
    command: Any = CLI
    for name in path:
        command = command.commands[name]
    return command


def commands_table() -> list[str]:
    """Each `syncer …` shown in the first column of the README's commands table."""
    text = prose(README.read_text())
    table = re.search(r"^\| command \| what it does \|\n(?:^\|.*\n)+", text, re.M)
    assert table, "README.md has no commands table (| command | what it does |)"
    rows = table.group(0).splitlines()[2:]
    return [
        s for row in rows for s in INLINE.findall(row.split(" | ")[0]) if s.startswith("syncer")
    ]


def test_commands_table_lists_every_command() -> None:
    shown = {walk(invocation)[0] for invocation in commands_table()}
    every: set[tuple[str, ...]] = {(name,) for name in command_at(()).commands}
    for group in ("db", "config"):
        every |= {(group, name) for name in command_at((group,)).commands}
    every -= {("db",), ("config",)}  # groups, shown through their commands
    missing = sorted(" ".join(p) for p in every - shown)
    assert not missing, f"the README's commands table leaves out: {missing}"


def shown_invocations() -> Iterator[tuple[str, str]]:
    """Every `syncer …` the docs show: the commands table, inline code, code blocks."""
    for doc in DOCS:
        for span in code_spans(doc.read_text()):
            if re.match(r"syncer(\s|$)", span.strip()):
                yield rel(doc), span.strip()


INVOCATIONS = sorted(set(shown_invocations()))


def test_the_docs_show_commands() -> None:
    assert len(commands_table()) >= 15
    assert any(doc == "docs/operations.md" for doc, _ in INVOCATIONS)


@pytest.mark.parametrize(("doc", "invocation"), INVOCATIONS, ids=lambda v: v)
def test_shown_commands_exist_with_their_options(doc: str, invocation: str) -> None:
    path, options = walk(invocation)
    help_page = runner.invoke(app, [*path, "--help"], env=WIDE)
    assert help_page.exit_code == 0, f"{doc}: `{invocation}`: {help_page.output}"
    for owner, option in options:
        assert option in options_of(command_at(owner)), (
            f"{doc}: `{invocation}`: `syncer {' '.join(owner)}` has no option {option}"
        )
        if owner == path:
            assert option in help_page.output, f"{doc}: `{invocation}`: {option} not in its help"
    if path:
        parent = runner.invoke(app, [*path[:-1], "--help"], env=WIDE)
        assert re.search(rf"│ {re.escape(path[-1])}\s", parent.output), (
            f"{doc}: `{invocation}`: {path[-1]} not listed by `syncer {' '.join(path[:-1])} --help`"
        )


# -- configuration reference -----------------------------------------------------------------


def reference_rows() -> dict[str, str]:
    """SYNCER_* variable → its default as written (a TOML value), from the reference table."""
    for name in ("configuration.md", "operations.md"):
        doc = ROOT / "docs" / name
        if not doc.exists():
            continue
        rows = re.findall(r"^\| `(SYNCER_[A-Z0-9_]+)` \| `([^`]*)` \|", doc.read_text(), re.M)
        if rows:
            return dict(rows)
    raise AssertionError("no configuration reference (| `SYNCER_…` | `default` | …) in docs/")


def model_default(field: Any) -> Any:
    value = field.get_default(call_default_factory=True)
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path):
        return str(value)
    return value


def test_configuration_reference_lists_every_setting_with_its_default() -> None:
    rows = reference_rows()
    fields = {f"SYNCER_{name.upper()}": f for name, f in Settings.model_fields.items()}
    assert sorted(rows) == sorted(fields), "the reference and the settings differ"
    shipped = tomllib.loads(Path(DEFAULT_CONFIG).read_text())
    wrong = []
    for variable, written in rows.items():
        documented = tomllib.loads(f"v = {written}")["v"]
        expected = model_default(fields[variable])
        if documented != expected or isinstance(documented, float) != isinstance(expected, float):
            wrong.append(f"{variable}: documented {written}, default {expected!r}")
        key = variable.removeprefix("SYNCER_").lower()
        if key in shipped and shipped[key] != documented:
            wrong.append(f"{variable}: documented {written}, config/default.toml {shipped[key]!r}")
    assert not wrong, wrong
