"""The scale-out files in deploy/, checked without a container engine or systemd.

No container engine runs on the build machines, so nothing here starts a container. What can
still break silently is checked instead: the files parse; every command, module, console
script, flow and file they name exists in this checkout; every serving service has a health
check; the API workers share their signing key and attachment store; the Prefect deployment
file schedules exactly what ``flows/serve.py`` serves; and every environment variable, in
deploy/ or read by the code, is documented for the operator.
"""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import re
import shlex
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from fnmatch import fnmatch
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import click
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
PREFECT_YAML = DEPLOY / "prefect.yaml"
NGINX = DEPLOY / "nginx.conf"
ENV_EXAMPLE = DEPLOY / "renshi.env.example"
DEPLOY_README = DEPLOY / "README.md"
UNITS = DEPLOY / "systemd"
REQUIRED_UNITS = ("renshi-api.service", "renshi-prefect-server.service", "renshi-flows.service")
ENV_FILE_IN_UNITS = "/etc/renshi/renshi.env"
VENV_BIN = Path(sys.executable).parent
UPLOAD_LIMIT_MB = 64


def rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@cache
def pyproject() -> dict[str, Any]:
    with (ROOT / "pyproject.toml").open("rb") as f:
        return tomllib.load(f)


# --- compose -------------------------------------------------------------------------------
@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{rel(COMPOSE)}: not a YAML mapping"
    services = data.get("services")
    assert isinstance(services, dict) and services, f"{rel(COMPOSE)}: no services"
    return data


def services() -> dict[str, dict[str, Any]]:
    result: dict[str, dict[str, Any]] = compose()["services"]
    return result


def ours() -> dict[str, dict[str, Any]]:
    """Services built from deploy/Dockerfile: their commands must exist in this project."""
    return {name: svc for name, svc in services().items() if "build" in svc}


_INTERPOLATION = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(text: str) -> str:
    """What compose would substitute, with a stand-in for variables the operator must set."""

    def value(m: re.Match[str]) -> str:
        return m.group(3) if m.group(2) in (":-", "-") else f"<{m.group(1)}>"

    return _INTERPOLATION.sub(value, text)


def argv(command: str | list[str], where: str) -> list[str]:
    words = shlex.split(command) if isinstance(command, str) else [str(w) for w in command]
    assert words, f"{where}: empty command"
    return [interpolate(w) for w in words]


def environment(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {str(k): str(v) for k, v in env.items()}


def env_files(svc: dict[str, Any]) -> list[str]:
    files = svc.get("env_file") or []
    files = [files] if isinstance(files, str | dict) else files
    return [f["path"] if isinstance(f, dict) else str(f) for f in files]


def is_one_shot(svc: dict[str, Any]) -> bool:
    return str(svc.get("restart", "no")) == "no"


def uvicorn_services() -> dict[str, list[str]]:
    result = {}
    for name, svc in ours().items():
        words = argv(svc.get("command") or dockerfile_cmd(), f"{rel(COMPOSE)} service {name}")
        if words[0] == "uvicorn":
            result[name] = words
    return result


def option(words: list[str], name: str) -> str | None:
    for i, word in enumerate(words):
        if word == name and i + 1 < len(words):
            return words[i + 1]
        if word.startswith(name + "="):
            return word.split("=", 1)[1]
    return None


# --- commands: do the programs, modules and subcommands they name exist? -------------------
@cache
def prefect_help(words: tuple[str, ...]) -> str | None:
    """The help text of a Prefect subcommand, None if there is no such subcommand."""
    done = subprocess.run(
        [str(VENV_BIN / "prefect"), *words, "--help"], capture_output=True, text=True, timeout=60
    )
    return done.stdout if done.returncode == 0 else None


def click_problem(command: click.Command, name: str, args: list[str]) -> str | None:
    """Why click would refuse these arguments, or None."""
    try:
        command.make_context(name, list(args))
    except click.ClickException as exc:
        return exc.format_message()
    return None


def check_command(words: list[str], where: str) -> None:
    """Fail, naming ``where``, unless the command would find what it runs in this project."""
    program = PurePosixPath(words[0]).name
    args = words[1:]
    scripts = pyproject()["project"].get("scripts", {})
    if program in scripts:
        module, _, func = scripts[program].partition(":")
        group = getattr(importlib.import_module(module), func)
        path = [program]
        ctx = click.Context(group)
        while isinstance(group, click.Group) and args and not args[0].startswith("-"):
            sub = group.get_command(ctx, args[0])
            assert sub is not None, f"{where}: `{' '.join(path)}` has no subcommand {args[0]!r}"
            path.append(args[0])
            group, args = sub, args[1:]
        assert not isinstance(group, click.Group), f"{where}: `{' '.join(path)}` needs more"
        problem = click_problem(group, " ".join(path), args)
        assert problem is None, f"{where}: `{' '.join(path)}`: {problem}"
    elif program == "uvicorn":
        from uvicorn.main import main as uvicorn_main

        problem = click_problem(uvicorn_main, "uvicorn", args)
        assert problem is None, f"{where}: uvicorn: {problem}"
        ctx = uvicorn_main.make_context("uvicorn", list(args))
        spec = str(ctx.params["app"])
        module, _, attr = spec.partition(":")
        assert attr, f"{where}: uvicorn app {spec!r} is not module:attribute"
        app = getattr(importlib.import_module(module), attr, None)
        assert app is not None, f"{where}: {module} has no {attr!r}"
        if ctx.params["factory"]:
            assert callable(app), f"{where}: app factory {spec!r} is not callable"
    elif program in ("python", "python3"):
        assert args[:1] == ["-m"] and len(args) >= 2, f"{where}: python without -m module"
        assert importlib.util.find_spec(args[1]) is not None, (
            f"{where}: module {args[1]!r} is not importable"
        )
    elif program == "prefect":
        sub = tuple(itertools.takewhile(lambda w: not w.startswith("-"), args))
        text = prefect_help(sub) if sub else None
        assert text is not None, f"{where}: `prefect {' '.join(sub)}` is not a Prefect command"
        for word in args:
            name = word.split("=", 1)[0]
            assert not name.startswith("--") or re.search(rf"{re.escape(name)}\b", text), (
                f"{where}: `prefect {' '.join(sub)}` has no option {name}"
            )
    else:
        pytest.fail(f"{where}: {words[0]!r} is neither this project's nor a known program")
    if program != "python" and program != "python3":
        assert (VENV_BIN / program).exists(), (
            f"{where}: {program!r} is not installed by the project's dependencies"
        )


# --- the Dockerfile --------------------------------------------------------------------------
def dockerfile_instructions() -> Iterator[tuple[str, str]]:
    text = DOCKERFILE.read_text(encoding="utf-8").replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            yield keyword.upper(), rest.strip()


def dockerfile_cmd() -> list[str]:
    cmds = [rest for kw, rest in dockerfile_instructions() if kw == "CMD"]
    assert cmds, f"{rel(DOCKERFILE)}: no CMD"
    parsed = yaml.safe_load(cmds[-1])
    assert isinstance(parsed, list), f"{rel(DOCKERFILE)}: CMD should be in exec (JSON) form"
    return [str(w) for w in parsed]


def dockerfile_env() -> dict[str, str]:
    env = {}
    for kw, rest in dockerfile_instructions():
        if kw == "ENV":
            for word in shlex.split(rest):
                name, _, value = word.partition("=")
                env[name] = value
    return env


def workdir() -> str:
    dirs = [rest for kw, rest in dockerfile_instructions() if kw == "WORKDIR"]
    assert dirs, f"{rel(DOCKERFILE)}: no WORKDIR"
    return dirs[-1]


# --- systemd units -------------------------------------------------------------------------
def unit(name: str) -> dict[str, dict[str, list[str]]]:
    """A unit file as section -> key -> every value (keys like Environment= repeat)."""
    path = UNITS / name
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, eq, value = line.partition("=")
        assert current is not None and eq, f"{rel(path)}:{number}: not 'Key=value': {raw!r}"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


def expand(word: str, env: dict[str, str]) -> str:
    """systemd's ${NAME} in a command line, from the unit's Environment= defaults."""
    return re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), "<unset>"), word)


def unit_environment(service: dict[str, list[str]]) -> dict[str, str]:
    env = {}
    for assignment in service.get("Environment", []):
        for word in shlex.split(assignment):
            name, _, value = word.partition("=")
            env[name] = value
    return env


# --- the tests -----------------------------------------------------------------------------
def test_compose_services_are_complete_and_serving_ones_have_health_checks() -> None:
    names = set(services())
    for name, svc in services().items():
        where = f"{rel(COMPOSE)} service {name}"
        assert "image" in svc or "build" in svc, f"{where}: neither image nor build"
        for dep in svc.get("depends_on") or []:
            assert dep in names, f"{where}: depends on unknown service {dep!r}"
        if is_one_shot(svc):
            continue
        check = (svc.get("healthcheck") or {}).get("test")
        assert check and check != ["NONE"] and not svc["healthcheck"].get("disable"), (
            f"{where}: serves something but has no health check"
        )
    images = [str(svc.get("image", "")) for svc in services().values()]
    roles = {
        "PostgreSQL": any(image.startswith("postgres:") for image in images),
        "Prefect server": any(w[:3] == ["prefect", "server", "start"] for w in commands_of_all()),
        "Prefect worker": any(w[:3] == ["prefect", "worker", "start"] for w in commands_of_all()),
        "nginx": any(image.startswith("nginx:") for image in images),
    }
    missing = [role for role, present in roles.items() if not present]
    assert not missing, f"{rel(COMPOSE)}: no service for {', '.join(missing)}"
    assert len(uvicorn_services()) >= 2, f"{rel(COMPOSE)}: fewer than two API services"


def commands_of_all() -> list[list[str]]:
    return [argv(svc["command"], name) for name, svc in services().items() if svc.get("command")]


def test_compose_commands_of_our_image_exist_in_the_project() -> None:
    assert ours(), f"{rel(COMPOSE)}: no service is built from deploy/Dockerfile"
    for name, svc in ours().items():
        build = svc["build"]
        context = (DEPLOY / (build if isinstance(build, str) else build["context"])).resolve()
        dockerfile = context / (
            build.get("dockerfile", "Dockerfile") if isinstance(build, dict) else "Dockerfile"
        )
        where = f"{rel(COMPOSE)} service {name}"
        assert context == ROOT, f"{where}: build context should be the project root"
        assert dockerfile == DOCKERFILE, f"{where}: builds {dockerfile}, not deploy/Dockerfile"
        words = argv(svc["command"], where) if svc.get("command") else dockerfile_cmd()
        check_command(words, where)
        assert "entrypoint" not in svc, f"{where}: an entrypoint would bypass the command"
    check_command(dockerfile_cmd(), f"{rel(DOCKERFILE)} CMD")


def test_compose_files_it_mounts_and_reads_exist() -> None:
    for name, svc in services().items():
        where = f"{rel(COMPOSE)} service {name}"
        for volume in svc.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            assert not source.startswith("/"), f"{where}: mounts a path of one host: {source}"
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{where}: mounts missing file {source}"
            else:
                assert source in (compose().get("volumes") or {}), (
                    f"{where}: named volume {source!r} is not declared under volumes:"
                )
        for env_file in env_files(svc):
            example = DEPLOY / f"{env_file}.example"
            assert (DEPLOY / env_file).exists() or example.exists(), (
                f"{where}: env_file {env_file} has no {env_file}.example to copy from"
            )


def test_third_party_images_are_pinned_and_prefect_matches_the_project() -> None:
    prefect_pin = next(
        d.split("==")[1]
        for d in pyproject()["project"]["dependencies"]
        if d.startswith("prefect==")
    )
    for name, svc in services().items():
        if "build" in svc:
            continue
        image = str(svc["image"])
        _, _, tag = image.rpartition(":")
        where = f"{rel(COMPOSE)} service {name}"
        assert tag and tag != "latest" and "/" not in tag, f"{where}: image {image} not pinned"
        if image.startswith("prefecthq/prefect:"):
            assert tag.startswith(prefect_pin + "-"), (
                f"{where}: Prefect server {tag} differs from the project's prefect=={prefect_pin}"
            )


def test_api_workers_share_signing_key_and_attachments_behind_the_proxy() -> None:
    apis = uvicorn_services()
    files_dir = dockerfile_env().get("RENSHI_FILES")
    assert files_dir, f"{rel(DOCKERFILE)}: RENSHI_FILES is not set"
    keys, stores, sources = set(), set(), set()
    for name, words in apis.items():
        svc = services()[name]
        where = f"{rel(COMPOSE)} service {name}"
        port = option(words, "--port")
        assert "--proxy-headers" in words and option(words, "--forwarded-allow-ips"), (
            f"{where}: uvicorn must trust the proxy's X-Forwarded-* headers"
        )
        check = " ".join(svc["healthcheck"]["test"])
        assert f":{port}/readyz" in check, f"{where}: health check should ask /readyz on {port}"
        keys.add(environment(svc).get("RENSHI_SECRET_KEY", ""))
        sources.add(tuple(env_files(svc)))
        stores.update(
            v.split(":")[0] for v in svc.get("volumes") or [] if v.split(":")[1] == files_dir
        )
        mounted = [
            v.split(":")[0] for v in svc.get("volumes") or [] if v.split(":")[1] == files_dir
        ]
        assert mounted and mounted[0] in (compose().get("volumes") or {}), (
            f"{where}: attachments ({files_dir}) are not on a named volume the API services share"
        )
    assert len(keys) == 1 and "" not in keys and len(sources) == 1, (
        f"{rel(COMPOSE)}: API services {sorted(apis)} must get one RENSHI_SECRET_KEY, or a "
        "sign-in on one worker is refused by another"
    )
    assert len(stores) == 1, f"{rel(COMPOSE)}: API services store attachments apart: {stores}"


def nginx_text() -> str:
    """nginx.conf without comments and quoted strings (which may hold braces)."""
    text = NGINX.read_text(encoding="utf-8")
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', text)
    return re.sub(r"#[^\n]*", "", text)


def test_nginx_conf_balances_and_sends_to_the_api_services() -> None:
    text = nginx_text()
    depth = 0
    for number, line in enumerate(text.splitlines(), 1):
        depth += line.count("{") - line.count("}")
        assert depth >= 0, f"{rel(NGINX)}:{number}: '}}' without its '{{'"
    assert depth == 0, f"{rel(NGINX)}: {depth} block(s) left open"
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped and not stripped.endswith((";", "{", "}")):
            pytest.fail(f"{rel(NGINX)}:{number}: directive not ended by ';': {stripped!r}")

    upstreams = re.findall(r"upstream\s+(\w+)\s*\{([^}]*)\}", text)
    assert upstreams, f"{rel(NGINX)}: no upstream block"
    apis = uvicorn_services()
    targets = set()
    for upstream, body in upstreams:
        for host, port, params in re.findall(r"^\s*server\s+([\w.-]+):(\d+)([^;]*);", body, re.M):
            where = f"{rel(NGINX)} upstream {upstream}"
            assert host in apis, f"{where}: server {host} is not an API service of compose.yaml"
            assert option(apis[host], "--port") == port, f"{where}: {host} listens elsewhere"
            targets.add(host)
            if "resolve" in params.split():
                proxy = next(
                    s for s in services().values() if str(s.get("image", "")).startswith("nginx:")
                )
                version = tuple(int(x) for x in re.findall(r"\d+", proxy["image"].split(":")[1]))
                assert version >= (1, 27, 3), f"{where}: 'resolve' needs nginx >= 1.27.3"
    assert targets == set(apis), f"{rel(NGINX)}: API services {set(apis) - targets} get no traffic"

    size = re.search(r"client_max_body_size\s+(\d+)([kKmMgG]?)\s*;", text)
    assert size, f"{rel(NGINX)}: no client_max_body_size (nginx's default refuses 1 MB uploads)"
    scale = {"": 1 / 2**20, "k": 1 / 1024, "m": 1, "g": 1024}[size.group(2).lower()]
    assert int(size.group(1)) * scale >= UPLOAD_LIMIT_MB, (
        f"{rel(NGINX)}: client_max_body_size below {UPLOAD_LIMIT_MB} MB spreadsheet uploads"
    )
    for header in ("X-Forwarded-For", "X-Forwarded-Proto", "Host"):
        assert re.search(rf"proxy_set_header\s+{header}\s", text), (
            f"{rel(NGINX)}: {header} is not passed to the API"
        )


def test_the_deployment_serves_https_and_secure_cookies_by_default() -> None:
    """Sign-in sessions never travel in the clear: nginx answers plain HTTP with a redirect
    (the health probes aside), serves the app over TLS with HSTS, and the example settings
    make every cookie Secure."""
    text = nginx_text()
    servers = re.split(r"\bserver\s*\{", text)[1:]
    plain = [s for s in servers if re.search(r"listen\s+80\s*;", s)]
    tls = [s for s in servers if re.search(r"listen\s+443\s+ssl\s*;", s)]
    assert len(plain) == 1 and len(tls) == 1, f"{rel(NGINX)}: one HTTP and one HTTPS server"
    assert re.search(r"location\s+/\s*\{\s*return\s+301\s+https://", plain[0]), (
        f"{rel(NGINX)}: plain HTTP does not redirect to HTTPS"
    )
    assert plain[0].count("proxy_pass") == 2, (
        f"{rel(NGINX)}: plain HTTP proxies more than the two health probes"
    )
    for directive in ("ssl_certificate ", "ssl_certificate_key ", "Strict-Transport-Security"):
        assert directive in tls[0], f"{rel(NGINX)}: the HTTPS server lacks {directive.strip()}"
    proxy = next(s for s in services().values() if str(s.get("image", "")).startswith("nginx:"))
    assert any(str(p).endswith(":443") for p in proxy["ports"]), "compose publishes no 443"
    settings = ENV_EXAMPLE.read_text(encoding="utf-8")
    assert re.search(r"^RENSHI_SECURE_COOKIES=1$", settings, re.M), (
        f"{rel(ENV_EXAMPLE)}: cookies are not Secure by default"
    )


def test_dockerfile_copies_what_exists_from_the_hash_pinned_lock() -> None:
    ignored = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    copied = set()
    for kw, rest in dockerfile_instructions():
        if kw in ("COPY", "ADD"):
            words = [w for w in shlex.split(rest) if not w.startswith("--")]
            assert kw == "COPY", f"{rel(DOCKERFILE)}: use COPY, not ADD"
            for source in words[:-1]:
                assert (ROOT / source).exists(), f"{rel(DOCKERFILE)}: COPY {source}: no such path"
                hit = [p for p in ignored if fnmatch(source, p)]
                assert not hit, f"{rel(DOCKERFILE)}: COPY {source} is excluded by {hit}"
                copied.add(source.rstrip("/"))
        if kw == "RUN" and "pip install" in rest and "-r" in rest.split():
            assert "--require-hashes" in rest and "requirements.lock" in rest, (
                f"{rel(DOCKERFILE)}: dependencies must come from requirements.lock with hashes"
            )
    packages = pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    needed = {p.rstrip("*") for p in packages} | {"pyproject.toml", "requirements.lock"}
    assert needed <= copied, f"{rel(DOCKERFILE)}: the image lacks {sorted(needed - copied)}"


def test_prefect_yaml_schedules_what_flows_serve_serves() -> None:
    from prefect import Flow
    from prefect.cli.deploy._models import PrefectYamlModel
    from prefect.cli.deploy._schedules import _schedule_config_to_deployment_schedule

    from flows.serve import deployments

    raw = yaml.safe_load(PREFECT_YAML.read_text(encoding="utf-8"))
    model = PrefectYamlModel.model_validate(raw)  # what `prefect deploy` would accept
    assert model.deployments, f"{rel(PREFECT_YAML)}: no deployments"

    pull = [step for step in raw.get("pull") or [] if "set_working_directory" in next(iter(step))]
    assert pull, f"{rel(PREFECT_YAML)}: no set_working_directory pull step"
    directory = next(iter(pull[0].values()))["directory"]
    assert directory == "{{ $RENSHI_HOME }}", (
        f"{rel(PREFECT_YAML)}: flow runs start in {directory}, not the project's RENSHI_HOME"
    )
    home = dockerfile_env().get("RENSHI_HOME")
    assert home == workdir(), (
        f"{rel(DOCKERFILE)}: RENSHI_HOME is {home}, the image keeps the project in {workdir()}"
    )

    worker_pools = {
        option(words, "--pool")
        for words in commands_of_all()
        if words[:3] == ["prefect", "worker", "start"]
    }

    def schedule_key(s: Any) -> tuple[object, ...]:
        """What a schedule fires on; the anchor of an interval is the time it was made."""
        return (
            type(s).__name__,
            getattr(s, "cron", None),
            getattr(s, "interval", None),
            s.timezone,
            getattr(s, "day_or", None),
        )

    ours_: dict[str, tuple[object, ...]] = {}
    for d in raw["deployments"]:
        where = f"{rel(PREFECT_YAML)} deployment {d.get('name')!r}"
        path, _, func = str(d["entrypoint"]).partition(":")
        assert (ROOT / path).is_file(), f"{where}: entrypoint file {path} does not exist"
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, func, None)
        assert isinstance(flow, Flow), f"{where}: {d['entrypoint']} is not a Prefect flow"
        pool = (d.get("work_pool") or {}).get("name")
        assert pool in worker_pools, (
            f"{where}: work pool {pool!r} is polled by no worker in compose.yaml ({worker_pools})"
        )
        schedules = [
            schedule_key(_schedule_config_to_deployment_schedule(s)["schedule"])
            for s in d.get("schedules") or []
        ]
        ours_[d["name"]] = (d["entrypoint"], tuple(sorted(d.get("tags") or [])), tuple(schedules))

    served = {
        d.name: (
            d.entrypoint,
            tuple(sorted(d.tags)),
            tuple(schedule_key(s.schedule) for s in d.schedules),
        )
        for d in deployments()
    }
    for name in sorted(set(served) | set(ours_)):
        assert ours_.get(name) == served.get(name), (
            f"{rel(PREFECT_YAML)}: deployment {name!r} differs from flows/serve.py:\n"
            f"  prefect.yaml: {ours_.get(name)}\n  flows.serve:  {served.get(name)}"
        )


def test_systemd_units_run_the_project_from_one_place() -> None:
    present = {p.name for p in UNITS.glob("*.service")}
    missing = set(REQUIRED_UNITS) - present
    assert not missing, f"deploy/systemd: missing {sorted(missing)}"
    for name in sorted(present):
        where = f"deploy/systemd/{name}"
        sections = unit(name)
        assert {"Unit", "Service", "Install"} <= set(sections), f"{where}: missing a section"
        service = sections["Service"]
        assert service.get("EnvironmentFile") == [ENV_FILE_IN_UNITS], (
            f"{where}: settings should come from EnvironmentFile={ENV_FILE_IN_UNITS}"
        )
        assert service.get("User"), f"{where}: runs as root (no User=)"
        assert service.get("WorkingDirectory") == [workdir()], (
            f"{where}: WorkingDirectory is not {workdir()}, where prefect.yaml and the image "
            "keep the project"
        )
        env = unit_environment(service)
        for key in ("ExecStartPre", "ExecStart"):
            for line in service.get(key, []):
                words = [expand(w, env) for w in shlex.split(line.lstrip("-@+!:"))]
                assert "<unset>" not in words, f"{where}: {key} uses a variable with no default"
                assert PurePosixPath(words[0]).parent == PurePosixPath(workdir(), ".venv/bin"), (
                    f"{where}: {key} runs {words[0]}, not a program of the project's virtualenv"
                )
                check_command(words, f"{where} {key}")
    api = unit("renshi-api.service")["Service"]
    assert any("db upgrade" in line for line in api.get("ExecStartPre", [])), (
        "deploy/systemd/renshi-api.service: no migration before the API starts"
    )
    assert "--workers" in api["ExecStart"][0], "deploy/systemd/renshi-api.service: one worker"


def test_postgres_init_script_is_valid_shell() -> None:
    script = DEPLOY / "postgres-init.sh"
    done = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
    assert done.returncode == 0, f"{rel(script)}: {done.stderr}"


# --- every variable documented -------------------------------------------------------------
_DOLLAR = re.compile(r"(?<!\$)\$\{?([A-Za-z_]\w*)")


def used_variables() -> dict[str, str]:
    """Each environment variable deploy/ sets or reads, or the code reads, and where."""
    used: dict[str, str] = {}

    def add(names: Iterator[str] | list[str] | set[str], where: str) -> None:
        for name in names:
            used.setdefault(name, where)

    add(_DOLLAR.findall(COMPOSE.read_text(encoding="utf-8")), rel(COMPOSE))
    for name, svc in services().items():
        add(list(environment(svc)), f"{rel(COMPOSE)} service {name}")
    add(list(dockerfile_env()), rel(DOCKERFILE))
    add(
        _DOLLAR.findall((DEPLOY / "postgres-init.sh").read_text(encoding="utf-8")),
        "deploy/postgres-init.sh",
    )
    add(
        re.findall(r"\{\{\s*\$(\w+)\s*\}\}", PREFECT_YAML.read_text(encoding="utf-8")),
        rel(PREFECT_YAML),
    )
    for path in UNITS.glob("*.service"):
        service = unit(path.name)["Service"]
        add(list(unit_environment(service)), rel(path))
        for line in service.get("ExecStart", []) + service.get("ExecStartPre", []):
            add(_DOLLAR.findall(line), rel(path))
    packages = [
        p.rstrip("*") for p in pyproject()["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    for package in packages:
        for source in sorted((ROOT / package).rglob("*.py")):
            add(
                set(re.findall(r"\bRENSHI_[A-Z0-9_]+", source.read_text(encoding="utf-8"))),
                rel(source),
            )
    return used


def documented_variables() -> set[str]:
    """Names assigned (or shown commented out) in renshi.env.example, each under a comment,
    and names in backticks in deploy/README.md."""
    documented = set()
    explained = False
    for number, line in enumerate(ENV_EXAMPLE.read_text(encoding="utf-8").splitlines(), 1):
        assignment = re.match(r"#?\s*([A-Z][A-Z0-9_]*)=", line)
        if assignment:
            assert explained, (
                f"{rel(ENV_EXAMPLE)}:{number}: {assignment.group(1)} has no comment above it"
            )
            documented.add(assignment.group(1))
        elif line.startswith("#"):
            explained = True
        elif not line.strip():
            explained = False
    documented |= set(
        re.findall(r"`([A-Z][A-Z0-9_]+)(?:=[^`]*)?`", DEPLOY_README.read_text(encoding="utf-8"))
    )
    return documented


def test_every_environment_variable_is_documented() -> None:
    used = used_variables()
    assert "RENSHI_DATABASE_URL" in used and "RENSHI_SECRET_KEY" in used, "the grep found nothing"
    missing = {name: where for name, where in used.items() if name not in documented_variables()}
    assert not missing, (
        f"documented in neither {rel(ENV_EXAMPLE)} nor {rel(DEPLOY_README)}: "
        + "; ".join(f"{name} (used in {where})" for name, where in sorted(missing.items()))
    )


def test_readmes_point_operators_to_the_scale_out_path() -> None:
    top = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "\n## Scaling out\n" in top, "README.md: no '## Scaling out' section"
    assert "deploy/README.md" in top.split("\n## Scaling out\n", 1)[1], (
        "README.md: '## Scaling out' does not point to deploy/README.md"
    )
    text = DEPLOY_README.read_text(encoding="utf-8")
    named = ["compose.yaml", "prefect.yaml", "renshi.env.example", "/readyz", *REQUIRED_UNITS]
    absent = [n for n in named if n not in text]
    assert not absent, f"{rel(DEPLOY_README)}: says nothing about {absent}"
