"""``-c NAME``: a shipped config by name from any folder (``lightning fit -c demo``)."""

from pathlib import Path

import pytest

from waveunet_lit.cli import SHIPPED_CONFIGS, main, resolve_config_names


@pytest.fixture(autouse=True)
def elsewhere(tmp_path, monkeypatch):
    """Every test runs in an empty folder, away from the repository's configs/."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("words", [["fit", "-c", "demo"], ["fit", "-c", "demo.yaml"], ["fit", "--config", "demo"]])
def test_a_bare_name_becomes_the_shipped_file(words):
    assert resolve_config_names(words) == [*words[:2], str(SHIPPED_CONFIGS / "demo.yaml")]


def test_the_equals_form_too():
    assert resolve_config_names(["info", "--config=m4"]) == ["info", f"--config={SHIPPED_CONFIGS / 'm4.yaml'}"]


def test_an_existing_file_of_that_name_wins(elsewhere):
    (elsewhere / "demo.yaml").write_text("trainer: {max_epochs: 1}\n")
    assert resolve_config_names(["fit", "-c", "demo.yaml"]) == ["fit", "-c", "demo.yaml"]


@pytest.mark.parametrize("value", ["configs/demo.yaml", "{trainer: {max_epochs: 1}}", "trainer: {max_epochs: 1}"])
def test_paths_and_inline_yaml_are_left_alone(value):
    """Not a bare name: the command itself reports a missing path (or parses the YAML)."""
    assert resolve_config_names(["fit", "-c", value]) == ["fit", "-c", value]


def test_other_arguments_are_untouched():
    words = ["separate", "demo", "--checkpoint", "m4", "--out", "m4.yaml"]
    assert resolve_config_names(words) == words


def test_other_commands_keep_their_own_c():
    """Django's ``shell -c CODE``, reached through ``waveunet web-manage``, is code, not a config."""
    words = ["web-manage", "shell", "-c", "demo"]
    assert resolve_config_names(words) == words


def test_an_unknown_name_is_an_error_listing_the_shipped_ones():
    with pytest.raises(FileNotFoundError, match=r"nope is no file here and not a shipped config \(.*demo.*m4"):
        resolve_config_names(["info", "-c", "nope"])


def test_info_by_name(capsys):
    assert main(["info", "-c", "m4"]) == 0
    out = capsys.readouterr().out
    assert str(SHIPPED_CONFIGS / "m4.yaml") in out and "10,263,390" in out


def test_fit_by_name_reads_the_shipped_config(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["fit", "-c", "demo", "--print_config"])
    assert exit_.value.code in (0, None)
    out = capsys.readouterr().out
    assert "default_root_dir: runs/demo" in out and "class_path: waveunet_lit.models.WaveUNet" in out


def test_an_unknown_name_exits_2_with_one_line(capsys):
    assert main(["fit", "-c", "m44"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: config not found: m44 is no file here") and "m4" in err
    assert not list(Path.cwd().iterdir())  # nothing written
