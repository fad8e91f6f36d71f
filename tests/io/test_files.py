from pathlib import Path

import pytest

from defocus.errors import DefocusError
from defocus.io import atomic_path, list_images, match_paths


def touch(folder: Path, *names: str) -> list[Path]:
    folder.mkdir(exist_ok=True)
    for name in names:
        (folder / name).write_bytes(b"x")
    return [folder / n for n in names]


def test_list_images_file_folder_and_errors(tmp_path: Path) -> None:
    touch(tmp_path / "d", "b.png", "a.JPG", "notes.txt")
    assert [p.name for p in list_images(tmp_path / "d")] == ["a.JPG", "b.png"]
    assert list_images(tmp_path / "d" / "notes.txt") == [tmp_path / "d" / "notes.txt"]
    touch(tmp_path / "empty")
    with pytest.raises(DefocusError, match="contains no images"):
        list_images(tmp_path / "empty")
    with pytest.raises(DefocusError, match="no such file or folder"):
        list_images(tmp_path / "missing")


def test_match_two_folders_by_stem(tmp_path: Path) -> None:
    touch(tmp_path / "r", "x.png", "y.png")
    touch(tmp_path / "g", "y.jpg", "x.tif")
    pairs = match_paths(tmp_path / "r", tmp_path / "g")
    assert [(a.name, b.name) for a, b in pairs] == [("x.png", "x.tif"), ("y.png", "y.jpg")]


@pytest.mark.parametrize(
    ("restored", "reference", "culprit"),
    [
        (["x.png", "z.png"], ["x.png", "y.png"], "r/z.png"),
        (["x.png"], ["x.png", "y.png"], "g/y.png"),
        (["x.png", "x.jpg"], ["x.png"], "r/x.png"),
    ],
)
def test_unmatched_folders(tmp_path: Path, restored, reference, culprit: str) -> None:
    touch(tmp_path / "r", *restored)
    touch(tmp_path / "g", *reference)
    with pytest.raises(DefocusError) as info:
        match_paths(tmp_path / "r", tmp_path / "g")
    assert str(info.value).startswith(f"{tmp_path / culprit}: ")
    assert "\n" not in str(info.value)


def test_single_folder_image_still_needs_matching_name(tmp_path: Path) -> None:
    touch(tmp_path / "r", "a.png")
    touch(tmp_path / "g", "b.png")
    with pytest.raises(DefocusError, match="no reference image named 'a'"):
        match_paths(tmp_path / "r", tmp_path / "g")


def test_files_and_mixed(tmp_path: Path) -> None:
    (r,) = touch(tmp_path / "r", "a.png")
    g = touch(tmp_path / "g", "b.png", "a.jpg")
    assert match_paths(r, g[0]) == [(r, g[0])]  # two files: names do not matter
    assert match_paths(r, tmp_path / "g") == [(r, g[1])]  # file matched inside folder
    many = touch(tmp_path / "m", "p.png", "q.png")
    assert match_paths(tmp_path / "m", g[0]) == [(many[0], g[0]), (many[1], g[0])]


def test_atomic_path_success_and_failure(tmp_path: Path) -> None:
    target = tmp_path / "t.csv"
    with atomic_path(target) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".csv" and tmp != target
        tmp.write_text("new")
    assert target.read_text() == "new"
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("boom")
    assert target.read_text() == "new"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_atomic_path_missing_folder_is_user_error(tmp_path: Path) -> None:
    with (
        pytest.raises(DefocusError, match="cannot write file"),
        atomic_path(tmp_path / "nope" / "x.csv"),
    ):
        pass


def test_hidden_files_are_skipped(tmp_path: Path) -> None:
    touch(tmp_path / "d", "._a.png", ".b.png", "a.png")
    assert [p.name for p in list_images(tmp_path / "d")] == ["a.png"]
