"""The check in conftest.py that fails the suite when a test writes inside the repository."""

from conftest import tree_changes, tree_digest


def test_tree_digest_sees_added_changed_and_removed_files(tmp_path):
    (tmp_path / "a.txt").write_text("one")
    (tmp_path / "keep.txt").write_text("same")
    before = tree_digest(tmp_path)
    (tmp_path / "a.txt").write_text("two")
    (tmp_path / "runs" / "demo").mkdir(parents=True)
    (tmp_path / "runs" / "demo" / "best.ckpt").write_bytes(b"\0")
    after = tree_digest(tmp_path)
    assert tree_changes(before, after) == ["added: runs/demo/best.ckpt", "changed: a.txt"]
    (tmp_path / "keep.txt").unlink()
    assert "removed: keep.txt" in tree_changes(before, tree_digest(tmp_path))


def test_python_bytecode_and_the_venv_are_ignored(tmp_path):
    before = tree_digest(tmp_path)
    for folder in ("__pycache__", ".venv/lib"):
        (tmp_path / folder).mkdir(parents=True)
        (tmp_path / folder / "x.pyc").write_bytes(b"\0")
    assert tree_changes(before, tree_digest(tmp_path)) == []
