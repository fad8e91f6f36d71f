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
