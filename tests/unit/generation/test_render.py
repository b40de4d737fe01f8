"""Rendered packages compile, lint clean, and really work; bad requests are rejected."""

from __future__ import annotations

import hashlib
import random
import shutil
import time
from pathlib import Path

import pytest
import yaml
from onex_runtime import check_composition

from onexgen.generation import (
    CompositionRejected,
    InvalidOperationError,
    Renderer,
    UnknownMixinError,
    render_package,
)
from onexgen.generation.render import TEMPLATE_DIR
from onexgen.generation.validate import check_composition_for_real, validate_syntax, write_package
from onexgen.models.wire import GeneratedFile
from tests.unit.generation.conftest import make_request, ruff_check

MIXIN_SETS: dict[str, list[list[str]]] = {
    "effect": [[], ["Retry", "CircuitBreaker", "Timeout", "Metrics"],
               ["Repository", "Transaction", "Audit", "Caching", "RateLimiter", "Validation"],
               ["EventDrivenNode", "EventHandler", "NodeLifecycle", "EventBus", "HealthCheck"]],
    "compute": [[], ["Stateless", "Synchronous", "Validation", "HashComputation"],
                ["LogData", "SensitiveFieldRedaction", "Metrics", "Retry", "Timeout"]],
    "reducer": [[], ["Caching", "Audit", "Transaction", "Metrics"],
                ["Synchronous", "HealthCheck", "LogData", "Validation"]],
    "orchestrator": [[], ["Retry", "Timeout", "EventBus", "Stateless"],
                     ["CircuitBreaker", "Connection", "HealthCheck", "NodeLifecycle"]],
}
CASES = [(t, ms) for t, sets in MIXIN_SETS.items() for ms in sets]


@pytest.mark.parametrize(("node_type", "mixins"), CASES)
def test_render_valid_composition_compiles_lints_and_passes_its_test(
    node_type: str, mixins: list[str], tmp_path: Path
) -> None:
    package = render_package(make_request(node_type, mixins))
    assert {f.path for f in package.files} == {
        "__init__.py", "node.py", "models.py", "contract.yaml", "test_node.py", "README.md"}
    assert package.package == f"node_identity_user_store_{node_type}/v1_0_0"
    assert package.class_name == f"NodeUserStore{node_type.title()}"
    syntax = validate_syntax(package.files)
    assert syntax.passed, syntax.detail
    lint = ruff_check(write_package(tmp_path, package.package, package.files))
    assert lint.returncode == 0, lint.stdout
    real = check_composition_for_real(package.files, 30, package=package.package)
    assert real.passed, real.detail


def test_render_every_file_carries_template_version() -> None:
    package = render_package(make_request("effect", ["Retry"]))
    assert all(package.template_version in f.content for f in package.files)
    contract = yaml.safe_load(next(f.content for f in package.files if f.path == "contract.yaml"))
    assert contract["template_version"] == package.template_version
    assert [op["name"] for op in contract["io_operations"]] == ["create_user", "get_user"]
    assert contract["mixins"][0]["class"] == "RetryMixin" and contract["node_type"] == "EFFECT"


def test_render_same_request_twice_identical_bytes_and_hashes() -> None:
    request = make_request("reducer", ["Audit", "Metrics"])
    first, second = render_package(request), render_package(request)
    assert first == second
    assert all(len(f.sha256) == 64 for f in first.files)


def test_render_edited_template_changes_template_version(tmp_path: Path) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATE_DIR, copy)
    before = Renderer(copy).version
    with (copy / "README.md.j2").open("a") as handle:
        handle.write("\nEdited.\n")
    after = Renderer(copy)
    assert after.version != before
    readme = next(f for f in after.render(make_request("effect", [])).files
                  if f.path == "README.md")
    assert readme.content.endswith("Edited.\n")


def test_render_unknown_mixin_raises_unknown_mixin_error_with_suggestion() -> None:
    with pytest.raises(UnknownMixinError, match="did you mean Retry"):
        render_package(make_request("effect", ["Retyr"]))


@pytest.mark.parametrize(("node_type", "mixins", "reason"), [
    ("effect", ["Retry", "Synchronous"], "Retry suspends"),
    ("effect", ["Caching", "Stateless"], "Stateless forbids state"),
    ("compute", ["Caching"], "COMPUTE nodes are pure"),
    ("effect", ["Timeout", "Synchronous"], "both drive the whole process call"),
    ("effect", ["Synchronous", "EventDrivenNode", "EventHandler", "NodeLifecycle"],
     "disables lifecycle hooks"),
])
def test_render_incompatible_set_rejected_statically_and_fails_for_real(
    node_type: str, mixins: list[str], reason: str
) -> None:
    request = make_request(node_type, mixins)
    with pytest.raises(CompositionRejected) as info:
        render_package(request)
    assert set(info.value.mixins) & set(mixins)
    forced = Renderer().render(request, check_mixins=False)
    real = check_composition_for_real(forced.files, 30, package=forced.package)
    assert not real.passed and reason in real.detail, real.detail
    named = {m for c in check_composition(node_type, mixins) for m in c.mixins}
    assert any(m in real.detail for m in named)


def test_render_base_listed_before_subclass_reordered_and_passes_for_real() -> None:
    request = make_request("effect", ["Connection", "Transaction"])
    package = render_package(request)
    node = next(f.content for f in package.files if f.path == "node.py")
    bases = node[node.index("\nclass "):]
    assert bases.index("TransactionMixin,") < bases.index("ConnectionMixin,")
    real = check_composition_for_real(package.files, 30, package=package.package)
    assert real.passed, real.detail


def test_render_request_order_kept_base_before_subclass_fails_for_real_with_reason() -> None:
    forced = Renderer().render(make_request("effect", ["Connection", "Transaction"]),
                               check_mixins=False, order="request")
    real = check_composition_for_real(forced.files, 30, package=forced.package)
    assert not real.passed and "list Transaction before Connection" in real.detail, real.detail


@pytest.mark.parametrize(("operations", "message"), [
    ([{"name": "process"}], "would shadow"),
    ([{"name": "health"}], "would shadow"),
    ([{"name": "dup"}, {"name": "dup"}], "listed twice"),
])
def test_render_bad_operation_names_raise_invalid_operation_error(
    operations: list[dict[str, str]], message: str
) -> None:
    with pytest.raises(InvalidOperationError, match=message):
        render_package(make_request("effect", ["HealthCheck"], operations=operations))


def test_render_no_operations_generates_default_run_operation() -> None:
    package = render_package(make_request("compute", [], operations=[]))
    node = next(f.content for f in package.files if f.path == "node.py")
    assert "async def run(" in node


def _file(path: str, content: str) -> GeneratedFile:
    return GeneratedFile(path=path, content=content,
                         sha256=hashlib.sha256(content.encode()).hexdigest())


def test_validate_syntax_broken_python_reports_file_and_line() -> None:
    outcome = validate_syntax([_file("node.py", "x = 1\ndef broken(:\n"),
                               _file("contract.yaml", "name: [unclosed")])
    assert not outcome.passed
    assert "node.py:2" in outcome.detail and "contract.yaml" in outcome.detail


def test_check_for_real_hanging_test_killed_and_reports_timeout() -> None:
    package = render_package(make_request("effect", []))
    files = [f if f.path != "test_node.py" else
             _file("test_node.py", "import time\n\ndef test_hang():\n    time.sleep(60)\n")
             for f in package.files]
    started = time.perf_counter()
    outcome = check_composition_for_real(files, 1.0, package=package.package)
    assert not outcome.passed and outcome.detail == "timed out after 1s"
    assert time.perf_counter() - started < 5


def test_check_for_real_failing_operation_reports_last_traceback_line() -> None:
    package = render_package(make_request("effect", []))
    anchor = "context.record_effect(\n"
    files = [f if f.path != "node.py" else
             _file("node.py", f.content.replace(anchor, "1 / 0\n        " + anchor))
             for f in package.files]
    outcome = check_composition_for_real(files, 30, package=package.package)
    assert not outcome.passed and "ZeroDivisionError: division by zero" in outcome.detail


@pytest.mark.parametrize(("contract", "expected"), [
    ("name: x\n!!python/object:os.system {}: 1\n", "only YAML's core tags"),
    ("- just\n- a list\n", "not a mapping"),
    ("name: [unclosed\n", "not valid YAML"),
    ("name: x\nversion: 1\n", "lacks node_type"),
    ("name: x\nother: [1, !local 2]\n", "uses the tag '!local'"),
    ("", "not a mapping"),
    ("just a string\n", "not a mapping"),
    ("name: *nowhere\n", "undefined alias"),
    ("name: x\n---\nname: y\n", "more than one document"),
    ("? [name, version]\n: x\nnode_type: y\n", "lacks name, version"),
    ("name: !!str [a]\nversion: 1\nnode_type: e\ndescription: d\noperations: []\nmixins: []\n",
     "does not load"),
    ("name: !!int abc\nversion: 1\nnode_type: e\ndescription: d\noperations: []\nmixins: []\n",
     "does not load"),
])
def test_validate_syntax_bad_contract_fails_with_reason(contract: str, expected: str) -> None:
    package = render_package(make_request("effect", []))
    files = [f if not f.path.endswith("contract.yaml") else _file(f.path, contract)
             for f in package.files]
    outcome = validate_syntax(files)
    assert not outcome.passed and expected in outcome.detail


def _mangled(text: str, rnd: random.Random) -> str:
    """``text`` with one to three random edits: YAML syntax inserted, a span or a line cut."""
    pieces = ["!!python/object:os.system ", "&a ", "*a", "---\n", "[", "]", "{", "}", ": ",
              "\n- ", "!custom ", "!!str ", "? ", "'", '"', "\t", "#", "%YAML 1.1\n---\n"]
    for _ in range(rnd.randint(1, 3)):
        pos = rnd.randrange(len(text) + 1)
        roll = rnd.random()
        if roll < 0.4:
            text = text[:pos] + rnd.choice(pieces) + text[pos:]
        elif roll < 0.7:
            text = text[:pos] + text[pos + rnd.randint(1, 30):]
        else:
            text = text.replace(rnd.choice(text.splitlines() or [""]), "", 1)
    return text


def test_contract_check_agrees_with_pyyaml_composer_on_mangled_contracts() -> None:
    """The event-level check fails every contract PyYAML cannot parse into one document, and
    passes a contract only if it composes to a mapping with the contract's keys. (Values
    are constructed only when explicitly tagged: an untagged merge key, complex key or bad
    date passes; see ``_contract_problem``.)"""
    contract = next(f for f in render_package(make_request("effect", ["Retry"])).files
                    if f.path.endswith("contract.yaml"))
    rnd = random.Random(20261127)
    verdicts = {"passed": 0, "failed": 0}
    for _ in range(1_500):
        text = _mangled(contract.content, rnd)
        passed = validate_syntax([_file("node.py", "x = 1\n"),
                                  _file("contract.yaml", text)]).passed
        verdicts["passed" if passed else "failed"] += 1
        try:
            node = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        except yaml.YAMLError:
            assert not passed, text
            continue
        if passed:
            assert isinstance(node, yaml.MappingNode), text
            keys = {k.value for k, _ in node.value if isinstance(k, yaml.ScalarNode)}
            assert {"name", "version", "node_type", "description", "mixins"} <= keys, text
    assert min(verdicts.values()) > 100, verdicts  # both outcomes well exercised


@pytest.mark.parametrize("node_type", ["effect", "compute", "reducer", "orchestrator"])
def test_templates_read_attributes_without_a_failed_lookup(
        node_type: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ``x.attr`` a template reads exists as an attribute: on a dict, Jinja's
    ``getattr`` fails first and falls back to ``x['attr']`` (about 8% of a render)."""
    renderer = Renderer(TEMPLATE_DIR)
    misses: list[tuple[str, str]] = []
    lookup = renderer.environment.getattr

    def counting(obj: object, attribute: str) -> object:
        if not hasattr(obj, attribute):
            misses.append((type(obj).__name__, attribute))
        return lookup(obj, attribute)

    monkeypatch.setattr(renderer.environment, "getattr", counting)
    mixins = {"effect": ["Retry", "Timeout", "LogData"], "compute": ["Validation", "Metrics"],
              "reducer": ["Caching", "HealthCheck"],
              "orchestrator": ["EventBus", "Retry"]}[node_type]
    renderer.render(make_request(node_type, mixins), patterns=[("crud", 0.9)])
    assert misses == []


def test_rendering_with_a_shared_context_gives_what_template_render_gives() -> None:
    """The renderer hands every file of a package one context parent (no per-file copy);
    each file must be byte for byte what Jinja's own ``Template.render`` makes of it."""
    from onexgen.generation.render import _Pattern, package_templates

    renderer = Renderer(TEMPLATE_DIR)
    for node_type, mixins in CASES:
        request = make_request(node_type, mixins, description='Keeps "users" {{ x }}.')
        package = renderer.render(request, patterns=[("crud", 0.9)])
        context = renderer.context(request, version=package.template_version)
        context["patterns"] = [_Pattern("crud", "0.90")]
        names = package_templates(request.node_type)
        for generated in package.files:
            expected = renderer.cache.get(names[generated.path]).render(context)
            assert generated.content == expected, generated.path
