"""``defocus blurmap`` turns on PyTorch's huge-page CPU allocations; other commands do not."""

import os
import subprocess
import sys

PROBE = (
    "import sys; from defocus.cli.main import choose_page_size; "
    "choose_page_size(sys.argv[1:]); import torch; "
    "print(torch.empty(2**22).data_ptr() % 4096)"
)


def page_offset(*argv: str, **env: str) -> int:
    """Offset within a page of a 16 MiB tensor allocated after ``choose_page_size(argv)``."""
    clean = {k: v for k, v in os.environ.items() if k != "THP_MEM_ALLOC_ENABLE"}
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *argv], env={**clean, **env}, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


def test_blurmap_page_aligns_large_tensors():
    assert page_offset("blurmap", "photo.jpg") == 0  # torch page-aligns only with THP on


def test_other_commands_and_a_users_setting_keep_small_pages():
    assert page_offset("deblur", "photo.jpg") != 0
    assert page_offset("blurmap", "photo.jpg", THP_MEM_ALLOC_ENABLE="0") != 0
