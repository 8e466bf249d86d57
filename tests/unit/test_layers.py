"""The layer rule, checked with import-linter (contracts in pyproject.toml, [tool.importlinter]).

foundation (errors, redact, logs, collector, resources, states) < config < api < warehouse < sync
< service < cli: a lower layer never imports a higher one, not even inside a function. The
simulator (syncer.sim) imports the foundation only, and only the CLI imports it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` on the `syncer` package under root, with root's pyproject.toml."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=root, env=env, capture_output=True, text=True
    )


def broken_part(output: str) -> str:
    return output[output.find("Broken contracts") :] if "Broken contracts" in output else output


def test_every_module_keeps_to_its_layer() -> None:
    done = lint_imports(ROOT)
    assert done.returncode == 0, broken_part(done.stdout) + done.stderr
    assert "Contracts: 3 kept, 0 broken." in done.stdout


def test_an_import_against_the_layers_fails_and_names_the_import(tmp_path: Path) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    shutil.copytree(
        ROOT / "syncer",
        tmp_path / "syncer",
        symlinks=True,
        ignore=shutil.ignore_patterns("__pycache__", "migrations", "defaults"),
    )
    for module, line in (
        ("api/ratelimit.py", "from syncer.cli import exit_codes"),  # api importing cli
        ("sim/clock.py", "import syncer.warehouse.schema"),  # the simulator importing a layer
        ("service/health.py", "import syncer.sim"),  # a layer other than cli importing it
    ):
        with (tmp_path / "syncer" / module).open("a") as f:
            f.write(f"\n{line}  # noqa\n")

    done = lint_imports(tmp_path)

    assert done.returncode != 0
    report = broken_part(done.stdout)
    assert "Contracts: 0 kept, 3 broken." in done.stdout, report
    assert "syncer.api is not allowed to import syncer.cli" in report
    assert "syncer.api.ratelimit -> syncer.cli.exit_codes" in report
    assert "syncer.sim.clock -> syncer.warehouse.schema" in report
    assert "syncer.service.health -> syncer.sim" in report
