"""The one atomic writer: never replaces what is not a regular file; a failure leaves no trace."""

import os
import socket
import stat

import pytest

from inspector.cli import main
from models.atomic import OutputPathError, atomic_write, check_output, write_with


def test_replaces_a_regular_file_only_when_the_write_completes(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as f:
        f.write("half")
        raise RuntimeError("interrupted")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["out.json"]  # no temporary file left behind
    with atomic_write(target) as f:
        f.write("new")
    assert target.read_text() == "new"


def test_keyboard_interrupt_leaves_the_old_file_and_removes_made_folders(tmp_path):
    target = tmp_path / "a" / "b" / "out.bin"
    with pytest.raises(KeyboardInterrupt):
        write_with(target, lambda tmp: (tmp.write_bytes(b"x"), (_ for _ in ()).throw(
            KeyboardInterrupt()))[0])
    assert not (tmp_path / "a").exists()
    write_with(target, lambda tmp: tmp.write_bytes(b"done"))
    assert target.read_bytes() == b"done"
    assert stat.S_IMODE(target.stat().st_mode) & 0o044  # readable by others, not mkstemp's 0600


@pytest.mark.parametrize("kind", ["device", "fifo", "socket", "folder"])
def test_refuses_targets_that_are_not_regular_files(tmp_path, kind):
    if kind == "device":
        target = "/dev/null"
    elif kind == "fifo":
        target = tmp_path / "pipe"
        os.mkfifo(target)
    elif kind == "socket":
        target = tmp_path / "sock"
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(target))
    else:
        target = tmp_path
    with pytest.raises(OutputPathError, match="not a regular file"):
        check_output(target)
    with pytest.raises(OutputPathError):
        write_with(target, lambda tmp: tmp.write_text("x"))
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_train_out_a_device_is_refused_before_training(capsys):
    status = main(["train", "shift", "--cell", "mlp", "--steps", "1", "--quiet",
                   "--out", "/dev/null"])
    assert status == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "/dev/null is a device" in err
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_npz_trace_keeps_the_name_it_was_given(tmp_path):
    out = tmp_path / "x.bin"
    assert main(["trace", "doubled-rnn", "--input", "aab", "--format", "npz",
                 "--out", str(out)]) == 0
    assert out.is_file() and not (tmp_path / "x.bin.npz").exists()
