"""The import contracts of pyproject.toml hold, and lint-imports fails when one breaks."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from vp_monitor.config import Settings
from vp_monitor.section import Section

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint_imports(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=project,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(project)},
        capture_output=True,
        text=True,
        timeout=300,
    )


def _copy_project(tmp_path: Path) -> Path:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(
        ROOT / "vp_monitor", tmp_path / "vp_monitor", ignore=shutil.ignore_patterns("__pycache__")
    )
    return tmp_path


def test_the_code_keeps_every_contract() -> None:
    run = _lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert " 0 broken." in run.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("alerts/routing.py", "from vp_monitor.monitor.models import CameraStatus",
         "alerts reads what the evaluator hands it"),
        ("alerts/reports.py", "from vp_monitor.monitor.availability import availability",
         "alerts reads what the evaluator hands it"),
        ("probes/onvif.py", "import vp_monitor.monitor.runner", "probes know nothing"),
        ("vision/motion.py", "import vp_monitor.db", "vision imports nothing"),
        ("config.py", "import vp_monitor.alerts.channels", "config loads every subsystem"),
        ("registry/service.py", "import vp_monitor.alerts.models", "the registry comes first"),
        ("conditions.py", "import vp_monitor.db", "the condition table imports nothing"),
        ("events/record.py", "import vp_monitor.monitor.models", "the change events' table"),
        ("events/feed.py", "import vp_monitor.alerts.models", "the change events' table"),
    ],
)  # fmt: skip
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, line: str, contract: str
) -> None:
    project = _copy_project(tmp_path)
    source = project / "vp_monitor" / module
    source.write_text(source.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", "utf-8")
    run = _lint_imports(project)
    assert run.returncode != 0
    broken = run.stdout.split("Broken contracts")[-1]
    assert contract in broken, run.stdout


def test_config_loads_without_the_channels_libraries() -> None:
    code = (
        "import sys, vp_monitor.config as c; c.load_settings(environ={}); "
        "print(sorted(m for m in ('aiomqtt', 'aiosmtplib', 'aiohttp', "
        "'vp_monitor.alerts.channels') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def _sections(model: type[BaseModel]) -> list[type[BaseModel]]:
    found = [model]
    for info in model.model_fields.values():
        if isinstance(info.annotation, type) and issubclass(info.annotation, BaseModel):
            found += _sections(info.annotation)
    return found


def test_every_settings_section_is_one_strict_frozen_section() -> None:
    sections = _sections(Settings)
    assert len(sections) > 10  # the walk reached the nested sections
    for section in sections:
        assert issubclass(section, Section), section
        assert section.model_config.get("extra") == "forbid", section
        assert section.model_config.get("frozen") is True, section
