"""Ctrl-C at any moment of a command: one line, exit 130."""

from __future__ import annotations


def test_ctrl_c_while_the_commands_are_imported_is_one_line(monkeypatch, capsys):
    """Ctrl-C in the first second of any command (while the parser imports the subcommands)
    printed a raw traceback and the process died of SIGINT (-2) instead of exiting 130."""
    import meterbench.cli as cli

    def importing(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli.importlib, "import_module", importing)
    assert cli.main(["run", "sim"]) == 130
    assert capsys.readouterr().err == "meterbench: interrupted\n"
