"""The image's lock files hold every package the image installs, pinned with hashes, and
nothing that only the demo or development needs."""

from __future__ import annotations

import re
import tomllib

from tests.deploy.support import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def name(requirement: str) -> str:
    found = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert found is not None, requirement
    return re.sub(r"[-_.]+", "-", found[0]).lower()


def pinned(lock: str) -> dict[str, list[str]]:
    """Each pinned package of a lock file, with the hashes listed for it."""
    text = (ROOT / "requirements" / lock).read_text().replace("\\\n", " ")
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith((" ", "#")):
            requirement, *options = line.split()
            assert "==" in requirement, f"{lock}: {requirement} is not pinned"
            out[name(requirement)] = [o for o in options if o.startswith("--hash=sha256:")]
    return out


def test_the_image_lock_pins_every_runtime_dependency_with_hashes() -> None:
    lock = pinned("image.lock")
    runtime = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    assert runtime <= set(lock), f"not locked: {runtime - set(lock)}; regenerate the lock"
    assert all(lock.values()), "every pinned package needs its hashes (--generate-hashes)"


def test_the_image_lock_leaves_out_the_demo_and_development_tools() -> None:
    lock = set(pinned("image.lock"))
    extras = PYPROJECT["project"]["optional-dependencies"]
    for extra in ("demo", "dev"):
        assert not {name(r) for r in extras[extra]} & lock, f"the {extra} extra is in the lock"


def test_the_build_lock_pins_the_build_backend_with_hashes() -> None:
    lock = pinned("build.lock")
    assert {name(r) for r in PYPROJECT["build-system"]["requires"]} <= set(lock)
    assert all(lock.values())
