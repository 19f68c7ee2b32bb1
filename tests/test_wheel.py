"""The wheel carries grammar/, stdlib/ and the Markdown templates: install it into a fresh
venv and build from outside the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import venv
import zipfile

from conftest import EXAMPLES, OUTPUTS, REPO


def _body(data: bytes) -> bytes:
    """A generated file without its header line, which names the source path."""
    return data.split(b"\n", 1)[1]


def test_installed_wheel_builds_an_example(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels),
                    str(REPO)], check=True, capture_output=True)
    wheel = next(wheels.glob("pspc-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
    for template in ("report.md.j2", "migration.md.j2"):
        assert f"pspc/output/templates/{template}" in names
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", str(wheel)], check=True,
                   capture_output=True)
    elsewhere = tmp_path / "elsewhere"
    example = EXAMPLES / "seed-002-ack"
    # the same relative source path as the goldens', which cite it beyond the header line
    shutil.copytree(example, elsewhere / "examples" / example.name)
    subprocess.run([str(env_dir / "bin" / "pspc"), "build", f"examples/{example.name}", "-o",
                    "out"], cwd=elsewhere, check=True, capture_output=True)
    golden = OUTPUTS / example.name
    for path in sorted([*golden.rglob("*.yaml"), golden / "migration.md"]):
        built = elsewhere / "out" / path.relative_to(golden)
        assert _body(built.read_bytes()) == _body(path.read_bytes()), path.name
    stdlib = subprocess.run([str(python), "-c", "from pspc.resources import resource_dir; "
                             "print(resource_dir('stdlib'))"], check=True, capture_output=True,
                            text=True, cwd=elsewhere)
    assert "site-packages" in stdlib.stdout
