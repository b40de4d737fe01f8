"""Sinks: stream kinds, write-through vs deferred files, threads, fork, settings wiring."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path

from onexgen.observability.logging import configure_logging_from_settings, flush_logging, get_logger
from onexgen.observability.sinks import FileSink, StreamSink
from onexgen.settings import Settings


def test_stream_sink_when_binary_stream_writes_bytes() -> None:
    out = io.BytesIO()
    StreamSink(out).write(b'{"a":1}\n')
    assert out.getvalue() == b'{"a":1}\n'


def test_stream_sink_when_text_stream_without_buffer_writes_text() -> None:
    out = io.StringIO()
    StreamSink(out).write(b'{"a":"\xc3\xa9"}\n')
    assert out.getvalue() == '{"a":"\u00e9"}\n'


def test_file_sink_when_write_through_is_on_disk_before_return(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=0, backup_count=0, flush_interval_s=0)
    try:
        sink.write(b"one\n")
        assert (tmp_path / "a.log").read_bytes() == b"one\n"
    finally:
        sink.close()


def test_file_sink_when_deferred_writes_within_interval(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=0, backup_count=0, flush_interval_s=0.05)
    try:
        sink.write(b"one\n")
        for _ in range(100):
            if (tmp_path / "a.log").read_bytes():
                break
            threading.Event().wait(0.01)
        assert (tmp_path / "a.log").read_bytes() == b"one\n"
    finally:
        sink.close()


def test_file_sink_when_backup_count_zero_never_rotates(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=100, backup_count=0, flush_interval_s=0)
    try:
        for _ in range(50):
            sink.write(b"x" * 20 + b"\n")
    finally:
        sink.close()
    assert [p.name for p in tmp_path.iterdir()] == ["a.log"]


def test_file_sink_when_threads_write_during_rotation_keeps_every_line_whole(
    tmp_path: Path,
) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=4096, backup_count=1000, flush_interval_s=0.01)

    def writer(n: int) -> None:
        for i in range(500):
            sink.write(json.dumps({"thread": n, "i": i}).encode() + b"\n")

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    sink.close()

    lines = [json.loads(x) for p in tmp_path.iterdir() for x in p.read_text().splitlines()]
    assert len(lines) == 2000
    assert len(list(tmp_path.iterdir())) > 5


def test_file_sink_after_fork_drops_parents_pending_lines_and_writes_through(
    tmp_path: Path,
) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=0, backup_count=0, flush_interval_s=60)
    try:
        sink.write(b"parent's\n")
        sink.reinit_after_fork()  # what os.register_at_fork runs in the child
        sink.write(b"child's\n")
        assert (tmp_path / "a.log").read_bytes() == b"child's\n"
    finally:
        sink.close()


def test_configure_from_settings_when_log_file_set_writes_there(tmp_path: Path) -> None:
    settings = Settings(log_level="DEBUG", log_file=tmp_path / "w.log", log_max_bytes=4096,
                        log_backup_count=2)
    configure_logging_from_settings(settings)
    get_logger("t").debug("from settings")
    flush_logging()
    assert json.loads((tmp_path / "w.log").read_text())["event"] == "from settings"


def test_file_sink_when_written_after_close_falls_back_instead_of_raising(
    tmp_path: Path,
) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=0, backup_count=0, flush_interval_s=0)
    sink.close()
    sink.write(b'{"event":"late line"}\n')  # goes to the real stderr, never raises
    sink.close()
    assert (tmp_path / "a.log").read_bytes() == b""


def test_file_sink_when_finished_writes_pending_and_later_lines_at_once(tmp_path: Path) -> None:
    sink = FileSink(tmp_path / "a.log", max_bytes=0, backup_count=0, flush_interval_s=60)
    try:
        sink.write(b"pending\n")
        sink.finish()
        sink.write(b"after exit\n")
        assert (tmp_path / "a.log").read_bytes() == b"pending\nafter exit\n"
    finally:
        sink.close()
