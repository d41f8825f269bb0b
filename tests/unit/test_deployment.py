"""The deployment examples in config/ stay in step with the Makefile (no Docker daemon runs
here: what can be checked without building the image is)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]


def install_inputs() -> set[str]:
    """The files `make install` reads: the prerequisites of its two stamps."""
    makefile = (ROOT / "Makefile").read_text()
    variables = dict(re.findall(r"^(\w+) :?= (\S+)$", makefile, re.M))
    inputs = {"Makefile"}
    for stamp in ("STAMP", "NPM_STAMP"):
        rule = re.search(rf"^\$\({stamp}\):(.*)$", makefile, re.M)
        assert rule, f"no rule for $({stamp}) in the Makefile"
        inputs |= {re.sub(r"\$\((\w+)\)", lambda m: variables[m[1]], name)
                   for name in rule[1].split()}  # fmt: skip
    return inputs


def test_the_image_copies_every_file_make_install_reads():
    """config/Dockerfile runs `make install`: every file that reads is copied before it."""
    dockerfile = (ROOT / "config" / "Dockerfile").read_text()
    before_install = dockerfile.split("RUN make install", 1)[0]
    copied = {name for line in before_install.splitlines() if line.startswith("COPY ")
              for name in line.split()[1:-1]}  # fmt: skip
    missing = install_inputs() - copied
    assert not missing, f"config/Dockerfile does not copy {sorted(missing)} before make install"


def test_the_image_context_leaves_out_what_the_build_makes():
    """What `make install` builds (the virtualenv, node_modules) is not sent from the host."""
    ignored = (ROOT / "config" / "Dockerfile.dockerignore").read_text().split()
    assert {".venv", "node_modules", ".git"} <= set(ignored), ignored
