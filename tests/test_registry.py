"""The patch registry: records, switches, idempotence, reversal, and failures that stay contained."""

import json
import logging
import sys
import types
import uuid

import pytest

import fast_langgraph
from fast_langgraph import _patching, _rust
from fast_langgraph.patches import REGISTRY, PatchSkipped, PatchSpec, Target

# The autoload activates on LangGraph's first import; make sure that happened here.
import langgraph.graph  # noqa: E402,F401


def test_registry_rows_are_complete():
    names = [spec.name for spec in REGISTRY]
    assert len(names) == len(set(names))
    for spec in REGISTRY:
        assert spec.summary and spec.supported and spec.targets and spec.implementation
        assert any(t.required for t in spec.targets)
        assert set(_patching.status()[0]) >= {"name", "status", "reason", "targets", "supported"}


class Fake:
    """A throw-away target module (importable, so post-import hooks fire) and implementation."""

    def __init__(self, tmp_path, monkeypatch, behaviour="ok", attribute="factory"):
        self.module = "flg_target_%s" % uuid.uuid4().hex[:8]
        (tmp_path / (self.module + ".py")).write_text("def factory():\n    return 'original'\n")
        monkeypatch.syspath_prepend(str(tmp_path))
        impl = types.ModuleType(self.module + "_impl")

        def replacement(target, original):
            if behaviour == "raise":
                raise RuntimeError("deliberately broken")
            if behaviour == "skip":
                raise PatchSkipped("not for this one")
            return lambda: "replaced"

        impl.replacement = replacement
        monkeypatch.setitem(sys.modules, impl.__name__, impl)
        self.impl = impl.__name__
        self.attribute = attribute

    def spec(self, **overrides):
        fields = dict(
            name=self.module,
            summary="test patch",
            distribution="langgraph",
            supported=">=0",
            targets=(Target(self.module, self.attribute),),
            implementation=self.impl,
        )
        fields.update(overrides)
        return PatchSpec(**fields)

    def load(self):
        __import__(self.module)
        return sys.modules[self.module]


@pytest.fixture
def fake(tmp_path, monkeypatch):
    monkeypatch.delenv("FAST_LANGGRAPH_STRICT", raising=False)  # these failures are on purpose
    made = []

    def make(behaviour="ok", attribute="factory", **spec_overrides):
        f = Fake(tmp_path, monkeypatch, behaviour, attribute)
        f.state = _patching.register(f.spec(**spec_overrides))
        made.append(f)
        fast_langgraph.patch()  # the test process may not have imported LangGraph yet
        return f

    yield make
    for f in made:
        _patching.forget(f.module)
        sys.modules.pop(f.module, None)


def test_hook_applies_on_import_and_reverts(fake):
    f = fake()
    assert f.state.status == "pending"
    module = f.load()
    assert module.factory() == "replaced" and f.state.status == "applied"
    fast_langgraph.unpatch(f.module)
    assert module.factory() == "original" and f.state.status == "disabled"
    fast_langgraph.patch(**{f.module: True})
    assert module.factory() == "replaced"
    fast_langgraph.patch(**{f.module: True})  # idempotent: the original is still what we keep
    fast_langgraph.unpatch(f.module)
    assert module.factory() == "original"


def test_module_imported_before_registration_is_patched_at_once(tmp_path, monkeypatch):
    f = Fake(tmp_path, monkeypatch)
    module = f.load()
    state = _patching.register(f.spec())
    try:
        fast_langgraph.patch()
        assert module.factory() == "replaced" and state.status == "applied"
    finally:
        _patching.forget(f.module)
    assert module.factory() == "original"


def test_broken_patch_is_contained_and_warns_once(fake, caplog):
    with caplog.at_level(logging.WARNING, logger="fast_langgraph"):
        f = fake("raise")
        module = f.load()
        fast_langgraph.patch()
        fast_langgraph.patch()
    assert module.factory() == "original"
    assert f.state.status == "failed" and "deliberately broken" in f.state.reason
    assert len([r for r in caplog.records if f.module in r.getMessage()]) == 1


def test_strict_mode_raises(fake, monkeypatch):
    monkeypatch.setenv("FAST_LANGGRAPH_STRICT", "1")
    f = fake("raise")
    with pytest.raises(RuntimeError, match="deliberately broken"):
        f.load()


def test_missing_symbol_is_skipped(fake):
    f = fake(attribute="no_such_function")
    f.load()
    assert f.state.status == "skipped" and "does not exist" in f.state.reason


def test_missing_optional_symbol_is_noted(fake):
    f = fake()
    _patching.forget(f.module)
    f.state = _patching.register(
        f.spec(targets=(Target(f.module, "factory"), Target(f.module, "absent", required=False)))
    )
    fast_langgraph.patch()
    f.load()
    assert f.state.status == "applied"
    states = {t["target"]: t["state"] for t in f.state.as_dict()["targets"]}
    assert states[f.module + ".absent"] == "absent (optional)"


def test_patch_skipped_by_implementation(fake):
    f = fake("skip")
    f.load()
    assert f.state.status == "skipped" and f.state.reason == "not for this one"


def test_unsupported_version_is_skipped(fake):
    f = fake(supported=">=99")
    module = f.load()
    assert module.factory() == "original"
    assert f.state.status == "skipped" and "outside the supported range >=99" in f.state.reason


def test_unsupported_version_is_skipped_without_a_warning(fake, caplog):
    # Expected (the doctor exits 0 for it): no warning at every start-up on older lines.
    with caplog.at_level(logging.WARNING, logger="fast_langgraph"):
        f = fake(supported=">=99")
        f.load()
    assert f.state.status == "skipped"
    assert not [r for r in caplog.records if f.module in r.getMessage()]


def test_unsupported_version_whose_module_never_loads_is_reported_skipped(fake):
    # e.g. the channels patch on LangGraph 0.2: pregel._algo does not exist there.
    f = fake(supported=">=99")
    # Decided at activation, before anything is imported: no hook is even registered.
    assert f.state.status == "skipped" and f.module not in _patching._hooked
    row = next(p for p in _patching.status() if p["name"] == f.module)
    assert row["status"] == "skipped" and "outside the supported range >=99" in row["reason"]


def test_target_for_other_versions_is_ignored(fake):
    f = fake()
    _patching.forget(f.module)
    f.state = _patching.register(
        f.spec(targets=(Target(f.module, "factory"), Target(f.module + "_old", "factory", versions="<0.0.1")))
    )
    fast_langgraph.patch()
    f.load()
    assert f.state.status == "applied"


def test_missing_rust_core_skips_patches_that_need_it(fake, monkeypatch):
    monkeypatch.setattr(_rust, "_tried", True)
    monkeypatch.setattr(_rust, "_core", None)
    monkeypatch.setattr(_rust, "_error", "Rust core not loadable: ImportError: simulated")
    f = fake(needs_core=True)
    f.load()
    assert f.state.status == "skipped" and "simulated" in f.state.reason


@pytest.mark.parametrize("variable, value", [("FAST_LANGGRAPH_DISABLE", "*"), ("FAST_LANGGRAPH", "off")])
def test_environment_switches(fake, monkeypatch, variable, value):
    monkeypatch.setenv(variable, value)
    f = fake()
    assert f.load().factory() == "original"
    assert f.state.status == "disabled" and variable in f.state.reason


def test_named_disable(fake, monkeypatch):
    f = fake()
    monkeypatch.setenv("FAST_LANGGRAPH_DISABLE", "executor, " + f.module.upper())
    fast_langgraph.patch()
    assert f.load().factory() == "original"


def test_explicit_switch_beats_environment(fake, monkeypatch):
    monkeypatch.setenv("FAST_LANGGRAPH", "0")
    f = fake()
    fast_langgraph.patch(**{f.module: True})
    assert f.load().factory() == "replaced"


def test_revert_leaves_someone_elses_wrapper(fake):
    f = fake()
    module = f.load()
    module.factory = theirs = lambda: "theirs"
    fast_langgraph.unpatch(f.module)
    assert module.factory is theirs
    assert f.state.status == "disabled"


def test_unknown_patch_name_is_a_type_error():
    with pytest.raises(TypeError, match="known patches: .*executor"):
        fast_langgraph.patch(no_such_patch=True)


def test_unparseable_version_is_skipped_with_the_reason(fake, monkeypatch):
    f = fake()
    monkeypatch.setitem(_patching._versions, "flg-odd-dist", "not-a-version")
    _patching.forget(f.module)
    f.state = _patching.register(f.spec(distribution="flg-odd-dist"))
    fast_langgraph.patch()
    assert f.load().factory() == "original"
    assert f.state.status == "skipped" and "'not-a-version' cannot be parsed" in f.state.reason
    row = next(p for p in _patching.status() if p["name"] == f.module)
    assert row["status"] == "skipped" and row["in_range"]  # so the doctor lists it


def test_unparseable_dependency_version_inside_a_patch_is_a_skip():
    from fast_langgraph.patches._spec import require_version

    with pytest.raises(PatchSkipped, match=r"ormsgpack's version 'dev' cannot be parsed"):
        require_version("ormsgpack", "dev", ">=1.13")
    with pytest.raises(PatchSkipped, match=r"ormsgpack 1.12.0: verified against >=1.13 only"):
        require_version("ormsgpack", "1.12.0", ">=1.13")
    require_version("ormsgpack", "1.13.1", ">=1.13,<1.14")


def test_unparseable_ormsgpack_version_leaves_serde_encoding_applied(py):
    pytest.importorskip("langgraph.checkpoint.serde.jsonplus")
    out = py(
        """
        import json, ormsgpack
        ormsgpack.__version__ = "unknown"
        import langgraph.checkpoint.serde.jsonplus
        import fast_langgraph
        serde = {p["name"]: p for p in fast_langgraph.patch_status()}["serde"]
        print(json.dumps(serde))
        """
    ).stdout
    serde = json.loads(out)
    if not serde["in_range"]:
        pytest.skip("serde patch not for this langgraph-checkpoint")
    assert serde["status"] == "applied", serde
    notes = {t["target"].rsplit(".", 1)[-1]: t["state"] for t in serde["targets"]}
    assert "skipped: ormsgpack's version 'unknown' cannot be parsed" in notes["loads_typed"]


def test_missing_rust_core_is_one_warning_in_total(py):
    proc = py(
        """
        import sys
        sys.modules["fast_langgraph._core"] = None  # as if the compiled core were missing
        import langgraph.graph, langgraph.graph.message
        import langgraph.checkpoint.serde.jsonplus
        try:
            import langgraph.pregel._algo, langgraph.pregel._loop, langgraph.pregel.main
        except ImportError:  # LangGraph < 0.6
            pass
        import fast_langgraph
        for p in fast_langgraph.patch_status():
            if p["needs_core"] and p["in_range"]:
                print(p["name"], p["status"])
        """
    )
    rows = dict(line.split() for line in proc.stdout.splitlines())
    assert rows and set(rows.values()) == {"skipped"}, rows
    warnings = [line for line in proc.stderr.splitlines() if "Rust core not loadable" in line]
    assert len(warnings) == 1, proc.stderr
    for name in rows:
        assert name in warnings[0]


@pytest.mark.parametrize("distribution", ["langgraph", "langchain-core", "langgraph_checkpoint", "LangGraph.Prebuilt"])
def test_versions_from_dist_info_are_importlib_metadata_s(distribution):
    from importlib.metadata import PackageNotFoundError, version

    try:
        expected = version(distribution)
    except PackageNotFoundError:
        expected = None
    cheap = _patching._version_from_dist_info(distribution)
    assert cheap == expected or (cheap is None and distribution != "langgraph")  # None: the full lookup
    assert _patching.installed_version(distribution) == expected


def test_activation_loads_no_wrapt(py):
    out = py(
        "import sys, langgraph.graph, fast_langgraph; print('wrapt' in sys.modules)\n"
        "print({p['name']: p['status'] for p in fast_langgraph.patch_status()}['executor'])"
    ).stdout.split()
    assert out == ["False", "applied"]
