"""The README documents every option, and CI runs the README's test command."""

import dataclasses
import re

from click.testing import CliRunner

from thresher import EngineConfig, ExtractConfig, InputConfig, OutputConfig
from thresher.cli import main
from thresher.registry import CANONICAL_ORDER, STEPS

from conftest import ROOT

README = (ROOT / "README.md").read_text()


def config_block() -> str:
    return README.split("## Configuration reference", 1)[1].split("```toml", 1)[1].split("```", 1)[0]


def test_every_config_key_is_in_the_readme_reference_with_its_default():
    block = config_block()
    sections = {"input": InputConfig, "extract": ExtractConfig, "output": OutputConfig, "engine": EngineConfig,
                **{name: cls.Config for name, cls in STEPS.items()}}
    for section, cls in sections.items():
        body = block.split(f"[{section}]", 1)[1].split("\n[", 1)[0]
        for f in dataclasses.fields(cls):
            m = re.search(rf"^{f.name} = (.+?)\s+#", body, re.M)
            assert m, f"[{section}] {f.name} is missing from the README's configuration reference"
            default = f.default
            shown = m.group(1).strip()
            if isinstance(default, bool):
                expected = {True: "true", False: "false"}[default]
            elif isinstance(default, str):
                expected = f'"{default}"'
            elif isinstance(default, tuple):
                expected = "[" + ", ".join(f'"{v}"' for v in default) + "]"
            else:
                expected = str(default)
            assert shown.replace("_", "") == str(expected).replace("_", ""), (section, f.name, shown)


def test_every_step_name_is_documented():
    for name in CANONICAL_ORDER:
        assert f"`{name}" in README or name in README
    for name in STEPS:
        assert f"- **{name}**" in README


def test_every_cli_option_has_help_and_is_in_the_readme():
    runner = CliRunner()
    for command in main.commands.values():
        for param in command.params:
            if param.param_type_name == "option":
                assert param.help, f"{command.name} {param.opts} has no help text"
                assert any(opt in README for opt in param.opts), f"{param.opts} not in README"
    result = runner.invoke(main, ["run", "--help"])
    assert result.exit_code == 0 and "--workers" in result.output


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    test_cmd = re.search(r"Run the tests.*?```sh\n(.+?)\n```", README, re.S).group(1)
    assert test_cmd in ci
