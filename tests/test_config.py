import pytest

import thresher
from thresher import ConfigError, RunConfig, load_config


def test_defaults_run_every_implemented_step_in_canonical_order():
    cfg = load_config()
    assert cfg.steps == ("boilerplate", "repeats", "quality", "language", "near_dup", "exact", "paragraphs",
                         "substrings", "pii")
    assert cfg.output.format == "parquet"


def test_unknown_key_names_the_key_and_the_closest_valid_one():
    with pytest.raises(ConfigError, match=r"unknown key 'exact.normalisation'; did you mean 'exact.normalization'"):
        load_config({"exact": {"normalisation": "NFC"}})


def test_unknown_section_suggests_a_step():
    with pytest.raises(ConfigError, match=r"unknown section \[exactt\]; did you mean 'exact'"):
        load_config({"exactt": {}})


def test_bad_value_names_key_value_and_allowed():
    with pytest.raises(ConfigError, match=r"exact.normalization = 'NFD' is not allowed; choose one of 'NFC', 'NFKC', 'none'"):
        load_config({"exact": {"normalization": "NFD"}})
    with pytest.raises(ConfigError, match=r"engine.shard_mb = -1 must be >= 0.001"):
        load_config({"engine": {"shard_mb": -1}})
    with pytest.raises(ConfigError, match=r"output.keep_work = 'yes' must be true or false"):
        load_config({"output": {"keep_work": "yes"}})
    with pytest.raises(ConfigError, match=r"engine.workers = 1.5 must be an integer"):
        load_config({"engine": {"workers": 1.5}})


def test_steps_are_validated():
    assert load_config(steps=["pii", "exact", "quality"]).steps == ("quality", "exact", "pii")
    with pytest.raises(ConfigError, match="unknown step 'exakt'; did you mean 'exact'"):
        load_config(steps=["exakt"])
    with pytest.raises(ConfigError, match="no steps given"):
        load_config(steps=[])


def test_toml_file_and_overrides(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('steps = ["exact"]\n[exact]\nlowercase = true\n[engine]\nworkers = 3\n')
    cfg = load_config(p, engine={"workers": 1})
    assert cfg.engine.workers == 1
    assert cfg.step_options["exact"].lowercase is True
    bad = tmp_path / "bad.toml"
    bad.write_text("[exact\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


def test_config_hash_ignores_workers_but_not_output_affecting_options():
    a = load_config(engine={"workers": 1})
    b = load_config(engine={"workers": 8})
    c = load_config(exact={"lowercase": True})
    assert a.hash() == b.hash() != c.hash()


def test_public_api_is_curated():
    for name in thresher.__all__:
        assert hasattr(thresher, name), name
    public = {n for n in dir(thresher) if not n.startswith("_")}
    modules = {"api", "cache", "cli", "config", "configure", "documents", "engine", "errors", "io", "plugins",
               "registry", "report", "steps", "text", "verify"}
    assert public - modules == set(thresher.__all__) - {"__version__"}


def test_step_option_relations_are_checked_before_work():
    with pytest.raises(ConfigError, match="bands and near_dup.rows go together"):
        load_config({"near_dup": {"bands": 4}})
    with pytest.raises(ConfigError, match="exceeds near_dup.num_perm"):
        load_config({"near_dup": {"bands": 20, "rows": 10}})


def test_load_config_keeps_every_section_of_a_run_config():
    from thresher.config import ReportConfig

    cfg = load_config(RunConfig(report=ReportConfig(enabled=False, samples=7)))
    assert cfg.report.enabled is False and cfg.report.samples == 7
