import subprocess
import sys


def test_python_dash_m_defocus_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "defocus", "--help"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: defocus") and done.stderr == ""
    for command in ("score", "sweep"):
        assert command in done.stdout


def test_sigterm_during_a_write_unwinds_and_leaves_no_temporary_file(tmp_path, monkeypatch, capsys):
    import os
    import signal

    import defocus.cli.sweep
    from defocus.cli.main import main
    from defocus.io import atomic_path

    def killed_while_writing(args):
        with atomic_path(tmp_path / "plot.png") as temporary:
            temporary.write_bytes(b"half a plot")
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill PID` or torchrun would
            temporary.write_bytes(b"the rest")
        return 0

    monkeypatch.setattr(defocus.cli.sweep, "run", killed_while_writing)
    previous = signal.getsignal(signal.SIGTERM)
    assert main(["sweep", "--out", str(tmp_path / "o")]) == 143
    assert "terminated" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # neither plot.png nor a hidden .plot.*.png
    assert signal.getsignal(signal.SIGTERM) is previous


def test_library_value_and_type_errors_become_one_line(monkeypatch, capsys):
    import defocus.cli.sweep
    from defocus.cli.main import main

    for error in (ValueError("padding must be one of ...\nsecond line"), TypeError("bad")):

        def fails(args, error=error):
            raise error

        monkeypatch.setattr(defocus.cli.sweep, "run", fails)
        assert main(["sweep", "--out", "unused"]) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("defocus: error: ")
