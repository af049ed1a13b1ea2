"""docker-compose.yml, checked without Docker: runnable commands, health, dependencies, secrets."""

from __future__ import annotations

import re

import pytest

from config.settings import load_settings
from config.web import new_key, stored_form
from tests.deployfiles import (
    COMPOSE,
    ROOT,
    SERVICES,
    builds_ordercmd,
    check_ordercmd_argv,
    environment,
    image_executables,
    reaches_the_build,
    service_argv,
)

CORE = {"redis", "worker", "web", "intake"}  # what `docker compose up` runs
PROFILES = {"rabbitmq": {"rabbitmq"}, "flower": {"flower"}}  # profile -> its services
APP_SERVICES = sorted(name for name, s in SERVICES.items() if builds_ordercmd(s))
ENV_FILE = "ordercmd.env"
SECRET_NAME = re.compile(r"PASSWORD|PASS$|SECRET|TOKEN|_KEY$|CREDENTIAL|AUTH", re.IGNORECASE)
INTERPOLATED = re.compile(r"^\$\{[^}]+\}$")


def healthcheck_argv(name: str) -> list[str]:
    test = SERVICES[name]["healthcheck"]["test"]
    assert test[0] == "CMD", f"{name}: the healthcheck runs a program (CMD), not a shell line"
    return [str(a) for a in test[1:]]


def depends_on(name: str) -> dict[str, dict[str, object]]:
    value = SERVICES[name].get("depends_on", {})
    if isinstance(value, list):
        return {target: {"condition": "service_started"} for target in value}
    return dict(value)


def test_the_stack_has_the_core_services_and_the_optional_profiles():
    assert set(SERVICES) == CORE | set().union(*PROFILES.values())
    for name in CORE:
        assert "profiles" not in SERVICES[name], f"{name} must run on a plain `up`"
    for profile, names in PROFILES.items():
        assert {n for n, s in SERVICES.items() if profile in s.get("profiles", [])} == names


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_command_names_an_executable_in_its_image(name):
    service = SERVICES[name]
    runs_its_own = builds_ordercmd(service) or "command" in service or "entrypoint" in service
    for argv in [service_argv(service)] * runs_its_own + [healthcheck_argv(name)]:
        assert argv, f"{name} runs nothing"
        assert argv[0] in image_executables(SERVICES[name]), (
            f"service {name!r} runs {argv[0]!r}, not on PATH in its image"
        )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_ordercmd_subcommands_exist_and_accept_their_options(name):
    for argv in (service_argv(SERVICES[name]), healthcheck_argv(name)):
        if argv[0] == "ordercmd":
            check_ordercmd_argv(argv)


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_nothing_is_installed_when_a_container_starts(name):
    assert not any("pip" in arg for arg in service_argv(SERVICES[name]))


def test_the_services_run_what_they_are_for():
    assert service_argv(SERVICES["worker"])[:2] == ["ordercmd", "worker"]
    assert service_argv(SERVICES["web"])[:2] == ["ordercmd", "serve"]
    assert service_argv(SERVICES["intake"])[:3] == ["ordercmd", "intake", "stream"]
    assert service_argv(SERVICES["flower"])[:4] == ["celery", "-A", "worker.app", "flower"]


def test_the_image_is_built_from_this_repository():
    for name in APP_SERVICES:
        build = SERVICES[name]["build"]
        build = {"context": build} if isinstance(build, str) else build
        context = ROOT / build.get("context", ".")
        dockerfile = build.get("dockerfile", "Dockerfile")
        assert (context / dockerfile).is_file(), f"{name}: no {context / dockerfile}"
    assert {SERVICES[n]["image"] for n in APP_SERVICES} == {"ordercmd:latest"}


def test_redis_persists_with_aof_and_never_evicts():
    argv = service_argv(SERVICES["redis"])
    options = dict(zip(argv[1::2], argv[2::2], strict=True))

    assert argv[0] == "redis-server"
    assert options["--appendonly"] == "yes"
    assert options["--appendfsync"] == "everysec"
    assert options["--maxmemory-policy"] == "noeviction"
    assert any(volume.endswith(":/data") for volume in SERVICES["redis"]["volumes"])


def test_named_volumes_are_declared():
    for name, service in SERVICES.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if not source.startswith((".", "/")):
                assert source in COMPOSE["volumes"], f"{name}: volume {source} is not declared"


def test_redis_and_the_broker_are_not_published():
    assert SERVICES["redis"]["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]
    assert "ports" not in SERVICES["redis"]
    assert "ports" not in SERVICES["rabbitmq"]


def test_workers_scale_no_fixed_name_or_host_port():
    for name in ("worker", "intake"):
        assert "container_name" not in SERVICES[name]
        assert "ports" not in SERVICES[name]
    assert all("container_name" not in s for s in SERVICES.values())


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_every_service_has_a_healthcheck(name):
    check = SERVICES[name].get("healthcheck")
    assert check, f"{name} has no healthcheck"
    assert not check.get("disable", False)
    assert {"interval", "timeout", "retries"} <= set(check), name


def test_the_healthchecks_probe_what_the_services_serve():
    assert healthcheck_argv("worker") == ["ordercmd", "health", "--worker"]
    web = service_argv(SERVICES["web"])
    port = web[web.index("--port") + 1]
    assert healthcheck_argv("web")[-1] == f"http://127.0.0.1:{port}/health"
    assert any(p.endswith(f":{port}") for p in SERVICES["web"]["ports"])
    flower_port = re.search(r"--port=(\d+)", " ".join(service_argv(SERVICES["flower"])))
    assert flower_port
    assert healthcheck_argv("flower")[-1] == f"http://127.0.0.1:{flower_port.group(1)}/healthcheck"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_dependencies_exist_and_their_conditions_can_be_met(name):
    profiles = set(SERVICES[name].get("profiles", []))
    for target, spec in depends_on(name).items():
        assert target in SERVICES, f"{name} depends on {target!r}, which is not a service"
        if spec.get("condition") == "service_healthy":
            assert "healthcheck" in SERVICES[target], f"{target} has no healthcheck to wait for"
        target_profiles = set(SERVICES[target].get("profiles", []))
        if target_profiles and not target_profiles <= profiles:
            assert spec.get("required") is False, (
                f"{name} needs {target}, which runs only with --profile "
                f"{', '.join(sorted(target_profiles))}: mark the dependency `required: false`"
            )


@pytest.mark.parametrize("name", APP_SERVICES)
def test_app_services_wait_for_a_healthy_redis_and_use_it(name):
    service = SERVICES[name]

    assert service["depends_on"]["redis"]["condition"] == "service_healthy"
    assert service["depends_on"]["rabbitmq"]["condition"] == "service_healthy"
    assert environment(service)["ORDERCMD_REDIS_URL"] == "redis://redis:6379/0"


@pytest.mark.parametrize("name", sorted(SERVICES))
def test_no_secret_is_written_inline(name):
    for variable, value in environment(SERVICES[name]).items():
        if SECRET_NAME.search(variable):
            assert INTERPOLATED.match(value), f"{name}: {variable} is set inline"
        password = re.search(r"://[^/@:]*:([^@/]+)@", value)
        assert password is None or INTERPOLATED.match(password.group(1)), (
            f"{name}: {variable} has a password inline"
        )


def test_no_credentials_anywhere_in_the_file():
    text = (ROOT / "docker-compose.yml").read_text()
    assert not re.search(r"://[^/@:\s]+:[^@/\s$]+@", text), "a URL with a password"
    assert "argon2" not in text
    assert not re.search(r"(?m)^\s*-?\s*\w*(PASS|SECRET|TOKEN)\w*\s*[:=]\s*\S", text)


def test_secrets_come_from_the_env_file_that_git_and_the_image_leave_out():
    for name, service in SERVICES.items():
        if builds_ordercmd(service) or name == "rabbitmq":
            assert service["env_file"] == [ENV_FILE], name
    assert ENV_FILE in (ROOT / ".gitignore").read_text().split()
    assert (ROOT / f"{ENV_FILE}.example").is_file()
    assert not reaches_the_build(ENV_FILE)


def test_the_stale_comment_is_gone():
    assert "comes later" not in (ROOT / "docker-compose.yml").read_text()


def test_the_readme_says_how_to_deploy():
    deploy = (ROOT / "README.md").read_text().split("## Deploy", 1)[1].split("\n## ", 1)[0]
    for profile in PROFILES:
        assert f"--profile {profile}" in deploy
    for words in ("docker compose up -d", "--scale worker=", ENV_FILE, "deploy/grafana/",
                  "deploy/prometheus/"):  # fmt: skip
        assert words in deploy, words


def example_env(*, commented_too: bool) -> dict[str, str]:
    """``ordercmd.env.example``'s variables (quotes removed); also ``# NAME=value`` examples."""
    found = {}
    for line in (ROOT / f"{ENV_FILE}.example").read_text().splitlines():
        line = line.removeprefix("# ") if commented_too else line
        assignment = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if assignment:
            found[assignment.group(1)] = assignment.group(2).strip("'")
    return found


def test_the_env_example_holds_placeholders_not_secrets():
    for variable, value in example_env(commented_too=True).items():
        if SECRET_NAME.search(variable):
            assert re.fullmatch(r"(<[^>]+>:?)+", value), f"{variable}: not a <placeholder>"
        password = re.search(r"://[^/@:]*:([^@/]+)@", value)
        assert password is None or password.group(1).startswith("<"), variable


def test_the_env_example_is_a_valid_configuration(monkeypatch):
    for variable, value in example_env(commented_too=True).items():
        if variable.endswith(("__TOKEN_HASH", "__KEY_HASH")):  # the settings check their shape
            value = stored_form(new_key(), "$argon2id$v=19$m=65536,t=3,p=4$placeholder")
        monkeypatch.setenv(variable, value)
    settings = load_settings()  # a misspelt setting or a bad value fails here
    assert set(settings.accounts) == {"acme", "my_store", "pod"}
    assert set(settings.web.operators) == {"alice"}
    assert settings.broker_url == "amqp://ordercmd:<rabbitmq password>@rabbitmq:5672//"
