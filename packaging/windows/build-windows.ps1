# Build Regard's Windows installer (run on Windows 10/11 x64 or a windows-2022 runner).
#
#   powershell -ExecutionPolicy Bypass -File packaging\windows\build-windows.ps1
#   -> build\packaging\out\regard-<version>-setup.exe
#
# Needs: Python 3.11 x64 on PATH (python.org or actions/setup-python), NSIS 3
# (makensis on PATH or in its default folder; `choco install nsis` on runners).
# Steps: build venv with Regard + PyInstaller, PyInstaller with packaging\regard.spec
# (regard.exe console + regardw.exe windowed, one folder), smoke test of the frozen
# program, then makensis around it. Code signing: set REGARD_SIGN_CERT (a .pfx path)
# and REGARD_SIGN_PASSWORD to sign both executables and the installer with signtool.
$ErrorActionPreference = "Stop"
$Root = Resolve-Path (Join-Path $PSScriptRoot "..\..")
Set-Location $Root
$B = Join-Path $Root "build\packaging"
New-Item -ItemType Directory -Force -Path (Join-Path $B "out") | Out-Null
$Version = (Select-String -Path viewer\__init__.py -Pattern '__version__ = "(.*)"').Matches[0].Groups[1].Value
$sw = [Diagnostics.Stopwatch]::StartNew()

function Step($msg) { Write-Host ("[build-windows] {0} ({1:n0} s)" -f $msg, $sw.Elapsed.TotalSeconds) }
function Run($exe) {
  & $exe @args
  if ($LASTEXITCODE -ne 0) { throw "$exe failed with exit code $LASTEXITCODE" }
}

Step "build venv"
$Py = Join-Path $B "venv\Scripts\python.exe"
if (-not (Test-Path $Py)) { Run python -m venv (Join-Path $B "venv") }
Run $Py -m pip install -q --upgrade pip
Run $Py -m pip install -q . -r packaging\build-requirements.txt

Step "PyInstaller"
Run (Join-Path $B "venv\Scripts\pyinstaller.exe") --noconfirm --clean --log-level WARN `
    --distpath (Join-Path $B "dist") --workpath (Join-Path $B "work") packaging\regard.spec
$App = Join-Path $B "dist\regard"
Run (Join-Path $App "regard.exe") --version
# Hosted runners have no OpenGL 3.2 driver: check the codecs and the install here,
# the whole doctor on a real workstation.
Run (Join-Path $App "regard.exe") doctor --only regard --only codecs --only config

if ($env:REGARD_SIGN_CERT) {
  Step "signing executables"
  foreach ($exe in "regard.exe", "regardw.exe") {
    Run signtool sign /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 `
        /f $env:REGARD_SIGN_CERT /p $env:REGARD_SIGN_PASSWORD (Join-Path $App $exe)
  }
}

Step "NSIS"
$Makensis = (Get-Command makensis -ErrorAction SilentlyContinue).Source
if (-not $Makensis) { $Makensis = "${env:ProgramFiles(x86)}\NSIS\makensis.exe" }
$Out = Join-Path $B "out\regard-$Version-setup.exe"
Run $Makensis -V2 -WX "-DVERSION=$Version" "-DPAYLOAD=$App" "-DOUTFILE=$Out" packaging\windows\regard.nsi
if ($env:REGARD_SIGN_CERT) {
  Run signtool sign /fd SHA256 /tr http://timestamp.digicert.com /td SHA256 `
      /f $env:REGARD_SIGN_CERT /p $env:REGARD_SIGN_PASSWORD $Out
}
Step ("done: {0} ({1:n0} MiB)" -f $Out, ((Get-Item $Out).Length / 1MB))
Write-Output $Out
