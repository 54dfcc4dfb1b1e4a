"""deploy/Containerfile read, not built: two targets from an official Python base, a
non-root user, no torch where serving is installed, a health check, and a compose file
that builds both images. Building them takes minutes and podman: deploy/container-check.sh."""
from __future__ import annotations

import re

import yaml
from servers import PROJECT

RECIPE = PROJECT / "deploy" / "Containerfile"


def _stages() -> dict[str, list[str]]:
    """Each stage's instructions (continuation lines joined, comments dropped), by name."""
    stages: dict[str, list[str]] = {"": []}
    current = ""
    text = re.sub(r"\\\n", " ", RECIPE.read_text())
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        named = re.match(r"FROM\s+\S+\s+AS\s+(\S+)$", line, re.IGNORECASE)
        if named:
            current = named.group(1)
            stages[current] = []
        stages[current].append(line)
    return stages


def test_a_serving_and_a_building_target_from_the_official_python_slim_base():
    stages = _stages()
    assert {"serve", "build"} <= set(stages)
    assert "ARG PYTHON_IMAGE=docker.io/library/python:3.11-slim" in stages[""]
    assert all(lines[0].split()[1] in ("${PYTHON_IMAGE}", *stages) for lines in list(stages.values())[1:])
    assert list(stages)[-1] == "serve", "a build without --target gives the serving image"


def test_both_images_run_as_an_unprivileged_user_in_the_home_folder():
    stages = _stages()
    runtime = " ".join(stages["runtime"])
    assert "useradd" in runtime and "--uid 10001" in runtime
    assert "WORKDIR /srv/assistant" in stages["runtime"] and "ASSISTANT_HOME=/srv/assistant" in runtime
    for target in ("serve", "build"):
        users = [line.split()[1] for line in stages[target] if line.startswith("USER ")]
        assert users and users[-1] == "assistant", f"{target} ends as root"


def test_serving_installs_the_base_package_without_torch_and_the_builder_adds_the_build_extra():
    stages = _stages()
    serve_installs = [line for line in stages["serve"] if "pip install" in line]
    build_installs = [line for line in stages["build"] if "pip install" in line]
    assert serve_installs and build_installs
    for line in serve_installs:
        assert "torch" not in line and "[build]" not in line and "--no-cache-dir" in line
    assert any("[build]" in line and "--no-cache-dir" in line for line in build_installs)
    assert "ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu" in stages["build"]


def test_the_serving_image_checks_its_health_without_curl_and_serves_on_7860():
    serve = _stages()["serve"]
    health = next(line for line in serve if line.startswith("HEALTHCHECK"))
    assert "urllib.request" in health and "/healthz" in health and "curl" not in health
    assert "EXPOSE 7860" in serve
    assert 'CMD ["assistant", "serve", "--host", "0.0.0.0"]' in serve


def test_the_build_context_holds_only_what_the_wheel_needs():
    ignored = [line.strip() for line in (PROJECT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert ignored[0] == "*", "everything is out unless named"
    kept = {line[1:].rstrip("/") for line in ignored if line.startswith("!")}
    assert kept == {"pyproject.toml", "README.md", "assistant"}  # no .venv, index, data, .git, .cluster


def test_compose_builds_the_builder_and_the_replicas_from_the_recipe():
    services = yaml.safe_load((PROJECT / "deploy" / "compose.yaml").read_text())["services"]
    replicas = [name for name in services if name.startswith("replica-")]
    assert replicas
    for name, target in [("builder", "build"), *((replica, "serve") for replica in replicas)]:
        build = services[name]["build"]
        assert build["target"] == target
        assert (PROJECT / "deploy" / build["context"] / build["dockerfile"]).resolve() == RECIPE
        assert "${" not in services[name]["image"], "an image name, not a variable naming one that nothing builds"
