"""Fast checks of the installer recipes (the slow end-to-end one is packaging/check).

Oracles: Python's own parser for the spec, importlib for the modules it names,
Debian's makensis for the Windows script, desktop-file-validate for the desktop
entry, update-mime-database for the MIME package, dpkg-deb's control parser.
"""

from __future__ import annotations

import ast
import importlib.util
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGING = REPO / "packaging"


def _spec_lists() -> dict[str, list[str]]:
    """String literals of the spec's top-level list assignments (hiddenimports, excludes)."""
    tree = ast.parse((PACKAGING / "regard.spec").read_text(encoding="utf-8"))
    out: dict[str, list[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.List):
            name = getattr(node.targets[0], "id", "")
            out[name] = [e.value for e in node.value.elts
                         if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return out


def test_spec_parses_and_ships_what_must_be_explicit() -> None:
    text = (PACKAGING / "regard.spec").read_text(encoding="utf-8")
    lists = _spec_lists()
    hidden = lists["hiddenimports"]
    for module in ("libjpeg", "openjpeg", "rle", "jpeg_ls", "gdcm",
                   "vtkmodules.vtkRenderingOpenGL2", "PySide6.QtWidgets"):
        assert module in hidden, module
    for needle in ('_submodules("viewer")', '_submodules("pydicom.pixels")',
                   '"pylibjpeg-libjpeg"', '"pylibjpeg-openjpeg"', '"pylibjpeg-rle"',
                   '(str(ROOT / "resources"), "resources")', "exclude_binaries=True",
                   "COLLECT(", 'name="regardw"', "BUNDLE("):
        assert needle in text, needle
    assert (PACKAGING / "regard_entry.py").is_file()


def test_spec_names_only_modules_that_exist() -> None:
    """A typo in a hidden import is silently ignored by PyInstaller: catch it here."""
    missing = [m for m in _spec_lists()["hiddenimports"] if importlib.util.find_spec(m) is None]
    assert not missing


def test_resources_the_frozen_app_needs_are_in_the_tree() -> None:
    from viewer.resources import resource_path

    for rel in ("icons/regard.svg", "icons/regard.png", "icons/regard.ico", "regard.desktop",
                "mime/regard-dicom.xml", "site-config.example.toml"):
        assert resource_path(rel).is_file(), rel
    assert resource_path("icons/regard.ico").read_bytes()[:4] == b"\x00\x00\x01\x00"


@pytest.mark.skipif(shutil.which("makensis") is None, reason="Debian package nsis not installed")
def test_nsis_script_compiles_around_a_placeholder(tmp_path: Path) -> None:
    payload = tmp_path / "payload"
    (payload / "_internal" / "resources").mkdir(parents=True)
    for exe in ("regard.exe", "regardw.exe"):
        (payload / exe).write_bytes(b"MZ placeholder")
    out = tmp_path / "regard-9.8.7-setup.exe"
    done = subprocess.run(
        ["makensis", "-V2", "-WX", "-DVERSION=9.8.7", f"-DPAYLOAD={payload}", f"-DOUTFILE={out}",
         "regard.nsi"],
        cwd=PACKAGING / "windows", capture_output=True, text=True, timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    data = out.read_bytes()
    assert data[:2] == b"MZ" and len(data) > 50_000
    assert "9.8.7".encode("utf-16-le") in data  # version resource


@pytest.mark.skipif(shutil.which("makensis") is None, reason="Debian package nsis not installed")
def test_nsis_refuses_without_payload(tmp_path: Path) -> None:
    done = subprocess.run(["makensis", "-V1", f"-DOUTFILE={tmp_path / 'x.exe'}", "regard.nsi"],
                          cwd=PACKAGING / "windows", capture_output=True, text=True, timeout=60)
    assert done.returncode != 0 and "PAYLOAD" in done.stdout + done.stderr


@pytest.mark.skipif(shutil.which("desktop-file-validate") is None,
                    reason="Debian package desktop-file-utils not installed")
def test_desktop_entry_validates() -> None:
    path = REPO / "resources" / "regard.desktop"
    done = subprocess.run(["desktop-file-validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 0 and "error" not in done.stdout, done.stdout
    text = path.read_text(encoding="utf-8")
    assert "\nExec=regard view %f\n" in text and "\nIcon=regard\n" in text
    assert "MimeType=application/dicom;" in text


@pytest.mark.skipif(shutil.which("update-mime-database") is None, reason="no shared-mime-info")
def test_mime_package_compiles_and_claims_dicomdir(tmp_path: Path) -> None:
    (tmp_path / "packages").mkdir()
    shutil.copy(REPO / "resources" / "mime" / "regard-dicom.xml", tmp_path / "packages")
    done = subprocess.run(["update-mime-database", "-V", str(tmp_path)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    globs = (tmp_path / "globs2").read_text(encoding="utf-8")
    assert "application/dicom:DICOMDIR:cs" in globs
    assert "application/dicom:*.dicom" in globs
    assert "DICM" in (tmp_path / "magic").read_bytes().decode("latin-1")


def test_deb_control_template_is_complete() -> None:
    text = (PACKAGING / "linux" / "control.in").read_text(encoding="utf-8")
    fields = {line.split(":", 1)[0] for line in text.splitlines() if line and line[0] != " "}
    assert {"Package", "Version", "Architecture", "Maintainer", "Depends", "Description",
            "Installed-Size"} <= fields
    script = (PACKAGING / "build-linux").read_text(encoding="utf-8")
    for path in ("/usr/bin/regard", "usr/share/applications/regard.desktop",
                 "usr/share/mime/packages/regard.xml", "hicolor/256x256/apps/regard.png",
                 "etc/regard/config.toml", "DEBIAN/conffiles"):
        assert path.lstrip("/") in script or path in script, path


def test_commented_site_config_is_valid_and_empty() -> None:
    """What build-linux installs as /etc/regard/config.toml parses and presets nothing."""
    import re

    example = (REPO / "resources" / "site-config.example.toml").read_text(encoding="utf-8")
    commented = re.sub(r"(?m)^([^#\n])", r"# \1", example)
    assert tomllib.loads(commented) == {}


def test_release_workflow_builds_three_platforms() -> None:
    text = (REPO / ".github" / "workflows" / "release.yml").read_text(encoding="utf-8")
    for needle in ("ubuntu-", "windows-", "macos-", "packaging/build-linux",
                   "packaging/windows/build-windows.ps1", "packaging/macos/build-macos"):
        assert needle in text, needle


@pytest.mark.skipif(shutil.which("dpkg") is None or shutil.which("ldd") is None,
                    reason="not a Debian system")
def test_deb_depends_maps_system_libraries_to_packages(tmp_path: Path) -> None:
    """An ELF file linked to libselinux (ls) makes libselinux1 a dependency; libc6 is versioned."""
    bundle = tmp_path / "bundle"
    (bundle / "_internal").mkdir(parents=True)
    shutil.copy("/usr/bin/ls", bundle / "tool")
    done = subprocess.run(["python3", str(PACKAGING / "linux" / "deb-depends"), str(bundle)],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    deps = [d.strip() for d in done.stdout.strip().split(",")]
    assert deps[0].startswith("libc6 (>= 2.")
    assert "libselinux1" in deps and "libegl-mesa0" in deps  # linked, and dlopen()ed
    assert not any(d == "libc6" for d in deps)
