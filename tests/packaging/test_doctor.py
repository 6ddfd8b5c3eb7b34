"""regard doctor: one line per check, OK/FAIL/SKIP with the fix; never crashes.

Oracles: real sockets on 127.0.0.1 (a listening audit collector, a closed
port), a real pynetdicom Verification SCP for the archive echo, keyring's own
"fail" backend, VTK rendering in a child process, Qt's offscreen screens.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from viewer import doctor
from viewer.cli import main
from viewer.doctor import Check, Line, run_checks

LINE_RE = r"^(OK  |FAIL|SKIP) [a-z]+: .+"


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def listener() -> Iterator[int]:
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    try:
        yield srv.getsockname()[1]
    finally:
        srv.close()


def _wait_listening(port: int, timeout: float = 5.0) -> None:
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _site(regard_home: Path, text: str) -> None:
    (regard_home / "site-config.toml").write_text(text, encoding="utf-8")


def test_line_format() -> None:
    ok = Line("codecs", Check(True, "9 syntaxes", "ignored when OK")).format()
    fail = Line("audit", Check(False, "x unreachable", "start it")).format()
    skip = Line("archive", Check(None, "none configured", "add one")).format()
    assert ok == "OK   codecs: 9 syntaxes"
    assert fail == "FAIL audit: x unreachable -- fix: start it"
    assert skip == "SKIP archive: none configured -- fix: add one"


def test_every_line_has_the_format_and_a_fix_when_not_ok(capsys: pytest.CaptureFixture) -> None:
    import re

    code = main(["doctor", "--only", "regard", "--only", "config", "--only", "codecs",
                 "--only", "keyring", "--only", "archive", "--only", "audit", "--only", "cache"])
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 7  # regard config codecs keyring archive audit cache
    for text in out:
        assert re.match(LINE_RE, text), text
        if not text.startswith("OK"):
            assert " -- fix: " in text, text
    assert code == (1 if any(t.startswith("FAIL") for t in out) else 0)


def test_codecs_ok_in_this_environment() -> None:
    (line,) = run_checks(["codecs"])
    assert line.check.ok is True, line.format()
    assert line.check.what.startswith("9/9 compressed syntaxes")
    for plugin in ("gdcm", "pyjpegls", "pylibjpeg"):
        assert plugin in line.check.what


def test_codecs_fail_names_the_missing_syntax(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "_plugins_for",
                        lambda uid: () if uid == "1.2.840.10008.1.2.4.80" else ("x",))
    (line,) = run_checks(["codecs"])
    assert line.check.ok is False
    assert "JPEG-LS lossless" in line.check.what and "pyjpegls" in line.check.fix


def test_audit_repository_reachable_then_not(regard_home: Path, listener: int) -> None:
    _site(regard_home, f'[audit]\nrepository = "tcp://127.0.0.1:{listener}"\n')
    (line,) = run_checks(["audit"])
    assert line.check.ok is True, line.format()
    port = _closed_port()
    _site(regard_home, f'[audit]\nrepository = "tcp://127.0.0.1:{port}"\n')
    (line,) = run_checks(["audit"])
    assert line.check.ok is False and f"127.0.0.1:{port}" in line.check.what
    assert "syslog collector" in line.check.fix


def test_audit_user_cannot_redirect_site_repository(regard_home: Path, listener: int) -> None:
    """Managed deployment: the site's repository wins over the user's file."""
    _site(regard_home, f'[audit]\nrepository = "tcp://127.0.0.1:{listener}"\n')
    closed = _closed_port()
    (regard_home / "config.toml").write_text(
        f'[audit]\nrepository = "tcp://127.0.0.1:{closed}"\n', encoding="utf-8")
    (line,) = run_checks(["audit"])
    assert f":{listener}" in line.check.what and line.check.ok is True


def test_audit_bad_address_and_none(regard_home: Path) -> None:
    _site(regard_home, '[audit]\nrepository = "http://x:1"\n')
    assert run_checks(["audit"])[0].check.ok is False
    _site(regard_home, "")
    (line,) = run_checks(["audit"])
    assert line.check.ok is None and "repository" in line.check.fix


def test_config_syntax_error_names_the_file(regard_home: Path) -> None:
    _site(regard_home, "[archive\n")
    lines = run_checks(["config", "audit", "cache"])  # the others must not crash either
    assert lines[0].check.ok is False
    assert str(regard_home / "site-config.toml") in lines[0].check.what
    assert all(line.check.ok is False for line in lines[1:])  # each says why, none raises


def test_keyring_fail_backend_is_a_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    import keyring
    from keyring.backends import fail

    monkeypatch.setattr(keyring, "get_keyring", lambda: fail.Keyring())
    (line,) = run_checks(["keyring"])
    assert line.check.ok is False and "Secret Service" in line.check.fix


def test_archive_none_configured_is_skip() -> None:
    (line,) = run_checks(["archive"])
    assert line.check.ok is None and "[archives." in line.check.fix


def test_archive_echo_real_scp_and_closed_port(regard_home: Path) -> None:
    from pynetdicom import AE, evt
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    scp = AE(ae_title="ECHOSCP")
    scp.add_supported_context(Verification)
    port = _closed_port()
    server = scp.start_server(("127.0.0.1", port), block=False,
                              evt_handlers=[(evt.EVT_C_ECHO, lambda event: 0x0000)])
    closed = _closed_port()
    try:
        _site(regard_home, (
            f'[archives.good]\naddress = "dicom://ECHOSCP@127.0.0.1:{port}"\n'
            f'[archives.down]\naddress = "dicom://NOBODY@127.0.0.1:{closed}"\ntimeout = 2\n'
        ))
        lines = {line.check.what.split()[0]: line.check for line in run_checks(["archive"])}
    finally:
        server.shutdown()
    assert lines["good"].ok is True, lines["good"]
    assert lines["down"].ok is False and f"127.0.0.1:{closed}" in lines["down"].fix


def test_cache_reports_size(regard_home: Path) -> None:
    cache = regard_home / "cache" / "studies"
    cache.mkdir(parents=True)
    (cache / "a.dcm").write_bytes(b"x" * 3000)
    (line,) = run_checks(["cache"])
    assert line.check.ok is True and "2.9 KiB in 1 files" in line.check.what


def test_vtk_renders_in_a_child() -> None:
    (line,) = run_checks(["vtk"])
    assert line.check.ok is True, line.format()
    assert "rendered a test frame" in line.check.what


def test_vtk_crash_in_child_is_a_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    """A segfaulting child (what VTK does without its GL libraries) becomes a FAIL line."""
    monkeypatch.setattr(doctor, "self_command", lambda *a: [
        "python3", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"])
    (line,) = run_checks(["vtk"])
    assert line.check.ok is False and "crashed (signal 11)" in line.check.what
    assert "libegl-mesa0" in line.check.fix


def test_screens_offscreen_with_class(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    pytest.importorskip("viewer.display.screens")
    conf = tmp_path / "screens.json"
    conf.write_text(json.dumps({"screens": [
        {"name": "LEFT", "x": 0, "y": 0, "width": 2048, "height": 2560, "logicalDpi": 96},
        {"name": "RIGHT", "x": 2048, "y": 0, "width": 1280, "height": 1024, "logicalDpi": 96},
    ]}))
    monkeypatch.setenv("QT_QPA_PLATFORM", f"offscreen:configfile={conf}")
    lines = run_checks(["screen"])
    assert [line.check.ok for line in lines] == [True, False], [x.format() for x in lines]
    assert "LEFT 2048x2560" in lines[0].check.what and "class 5MP" in lines[0].check.what
    assert "RIGHT 1280x1024" in lines[1].check.what


def test_screens_headless_is_skip(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(var, raising=False)
    (line,) = run_checks(["screen"])
    assert line.check.ok is None


def test_json_output(capsys: pytest.CaptureFixture) -> None:
    code = main(["doctor", "--json", "--only", "codecs", "--only", "cache"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 0 and doc["ok"] is True
    assert [c["name"] for c in doc["checks"]] == ["codecs", "cache"]
    assert {c["status"] for c in doc["checks"]} == {"OK"}


def test_a_check_that_raises_becomes_a_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> Check:
        raise RuntimeError("kaput")

    monkeypatch.setattr(doctor, "CHECKS", (("cache", boom),))
    (line,) = run_checks()
    assert line.check.ok is False and "kaput" in line.check.what


def test_decoding_in_worker_processes() -> None:
    """JPEG-LS files written, then decoded in the forkserver pool by a child `regard`."""
    (line,) = run_checks(["decoding"])
    assert line.check.ok is True, line.format()
    assert "4 JPEG-LS files decoded exactly by 2 worker processes" in line.check.what


def test_decoding_wrong_values_is_a_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(doctor, "run_probe", lambda name: (
        {"ok": False, "error": "decoded values differ from those written"}, ""))
    (line,) = run_checks(["decoding"])
    assert line.check.ok is False and "differ" in line.check.what


def test_audit_tls_handshake_with_site_ca(regard_home: Path, tmp_path: Path) -> None:
    """tls:// is checked with a real handshake, using the forwarder's own TLS settings."""
    receiver_mod = pytest.importorskip("tests.access.syslog_receiver")
    pki = receiver_mod.make_pki(tmp_path)
    receiver = receiver_mod.Receiver("tls", receiver_mod.server_context(pki)).start()
    _wait_listening(receiver.port)  # the helper calls listen() in its thread
    try:
        base = f'[audit]\nrepository = "tls://127.0.0.1:{receiver.port}"\n'
        _site(regard_home, base + f'ca_file = "{pki.ca}"\ncert_file = "{pki.client_cert}"\n'
              f'key_file = "{pki.client_key}"\n')
        (good,) = run_checks(["audit"])
        _site(regard_home, base)  # no site CA: the test CA's certificate is not trusted
        (bad,) = run_checks(["audit"])
    finally:
        receiver.stop()
    assert good.check.ok is True, good.format()
    assert bad.check.ok is False and "certificate" in bad.check.what.lower(), bad.format()
