; Regard: Windows installer (NSIS 3). Per-machine install, for hospital IT.
;
; Build (on the Windows runner, after PyInstaller; see build-windows.ps1):
;   makensis /DVERSION=0.1.0 /DPAYLOAD=..\..\build\packaging\dist\regard ^
;            /DOUTFILE=..\..\build\packaging\out\regard-0.1.0-setup.exe regard.nsi
; CI on Linux compiles this same script around a placeholder payload
; (tests/packaging/test_nsis.py): Debian's makensis builds Windows installers.
;
; Install, interactive:   regard-0.1.0-setup.exe
; Install, silent (IT):   regard-0.1.0-setup.exe /S [/CONFIG=\\server\share\regard\config.toml] [/D=C:\Apps\Regard]
;   /CONFIG copies a site configuration to %ProgramData%\Regard\config.toml (kept
;   on upgrade and uninstall; overwritten only when /CONFIG is given again).
;   /D must be last and unquoted (NSIS rule).
; Uninstall, silent:      "%ProgramFiles%\Regard\uninstall.exe" /S
; Exit code 0 on success (2 cancelled, 1 error), as msiexec-based tools expect.

Unicode true
ManifestDPIAware true
SetCompressor /SOLID lzma
RequestExecutionLevel admin

!ifndef VERSION
  !define VERSION "0.0.0"
!endif
!ifndef PAYLOAD
  !error "define PAYLOAD: the PyInstaller one-folder output (dist\regard)"
!endif
!ifndef OUTFILE
  !define OUTFILE "regard-${VERSION}-setup.exe"
!endif
!ifndef ICON
  !define ICON "..\..\resources\icons\regard.ico"
!endif

!define APP "Regard"
!define PUBLISHER "Regard"
!define UNINST_KEY "Software\Microsoft\Windows\CurrentVersion\Uninstall\Regard"
!define PROGID "Regard.DICOM"

!include "MUI2.nsh"
!include "x64.nsh"
!include "FileFunc.nsh"
!include "LogicLib.nsh"

Name "${APP} ${VERSION}"
OutFile "${OUTFILE}"
InstallDir "$PROGRAMFILES64\${APP}"
InstallDirRegKey HKLM "${UNINST_KEY}" "InstallLocation"
BrandingText "${APP} ${VERSION}"
!define MUI_ICON "${ICON}"
!define MUI_UNICON "${ICON}"
!define MUI_ABORTWARNING

VIProductVersion "${VERSION}.0"
VIAddVersionKey "ProductName" "${APP}"
VIAddVersionKey "ProductVersion" "${VERSION}"
VIAddVersionKey "FileVersion" "${VERSION}"
VIAddVersionKey "FileDescription" "${APP} DICOM viewer installer"
VIAddVersionKey "CompanyName" "${PUBLISHER}"
VIAddVersionKey "LegalCopyright" "${PUBLISHER}"

!insertmacro MUI_PAGE_WELCOME
!insertmacro MUI_PAGE_DIRECTORY
!insertmacro MUI_PAGE_INSTFILES
!insertmacro MUI_PAGE_FINISH
!insertmacro MUI_UNPAGE_CONFIRM
!insertmacro MUI_UNPAGE_INSTFILES
!insertmacro MUI_LANGUAGE "French"
!insertmacro MUI_LANGUAGE "English"

Var SiteConfig

Function .onInit
  ${IfNot} ${RunningX64}
    MessageBox MB_ICONSTOP "${APP} needs 64-bit Windows." /SD IDOK
    SetErrorLevel 1
    Quit
  ${EndIf}
  SetRegView 64
  SetShellVarContext all
  ${GetParameters} $R0
  ClearErrors
  ${GetOptions} $R0 "/CONFIG=" $SiteConfig
  ${If} ${Errors}
    StrCpy $SiteConfig ""
  ${EndIf}
FunctionEnd

Function un.onInit
  SetRegView 64
  SetShellVarContext all
FunctionEnd

Section "Regard" SecMain
  SectionIn RO
  ; an upgrade replaces the whole application folder
  RMDir /r "$INSTDIR\_internal"
  SetOutPath "$INSTDIR"
  File /r "${PAYLOAD}\*.*"
  WriteUninstaller "$INSTDIR\uninstall.exe"

  ; site configuration for every user of the machine (IT), kept across upgrades;
  ; $APPDATA is %ProgramData% under SetShellVarContext all
  CreateDirectory "$APPDATA\${APP}"
  ${If} $SiteConfig != ""
    ClearErrors
    CopyFiles /SILENT "$SiteConfig" "$APPDATA\${APP}\config.toml"
    ${If} ${Errors}
      MessageBox MB_ICONSTOP "Cannot copy the site configuration $SiteConfig" /SD IDOK
      SetErrorLevel 1
      Abort
    ${EndIf}
  ${EndIf}
  SetOutPath "$APPDATA\${APP}"
  File "/oname=site-config.example.toml" "..\..\resources\site-config.example.toml"
  SetOutPath "$INSTDIR"

  ; Start menu (all users); the windowed twin regardw.exe opens no console
  CreateShortcut "$SMPROGRAMS\${APP}.lnk" "$INSTDIR\regardw.exe" "" "$INSTDIR\regardw.exe" 0
  ; command line: "%ProgramFiles%\Regard\regard.exe" doctor; App Paths lets Win+R find it
  WriteRegStr HKLM "Software\Microsoft\Windows\CurrentVersion\App Paths\regard.exe" "" "$INSTDIR\regard.exe"

  ; file associations: .dcm and .dicom, and "Open with Regard" on folders (DICOMDIR media)
  WriteRegStr HKLM "Software\Classes\${PROGID}" "" "DICOM image"
  WriteRegStr HKLM "Software\Classes\${PROGID}\DefaultIcon" "" "$INSTDIR\regardw.exe,0"
  WriteRegStr HKLM "Software\Classes\${PROGID}\shell\open\command" "" '"$INSTDIR\regardw.exe" view "%1"'
  WriteRegStr HKLM "Software\Classes\.dcm\OpenWithProgids" "${PROGID}" ""
  WriteRegStr HKLM "Software\Classes\.dicom\OpenWithProgids" "${PROGID}" ""
  WriteRegStr HKLM "Software\Classes\.dcm" "Content Type" "application/dicom"
  WriteRegStr HKLM "Software\Classes\.dicom" "Content Type" "application/dicom"
  WriteRegStr HKLM "Software\Classes\Directory\shell\Regard" "" "Open with Regard"
  WriteRegStr HKLM "Software\Classes\Directory\shell\Regard" "Icon" "$INSTDIR\regardw.exe,0"
  WriteRegStr HKLM "Software\Classes\Directory\shell\Regard\command" "" '"$INSTDIR\regardw.exe" view "%1"'
  WriteRegStr HKLM "Software\Classes\Applications\regardw.exe\SupportedTypes" ".dcm" ""
  WriteRegStr HKLM "Software\Classes\Applications\regardw.exe\SupportedTypes" ".dicom" ""
  WriteRegStr HKLM "Software\Classes\Applications\regardw.exe" "FriendlyAppName" "${APP}"
  ; tell Explorer the associations changed (SHCNE_ASSOCCHANGED)
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'

  ; Add/Remove Programs
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayName" "${APP}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayVersion" "${VERSION}"
  WriteRegStr HKLM "${UNINST_KEY}" "Publisher" "${PUBLISHER}"
  WriteRegStr HKLM "${UNINST_KEY}" "DisplayIcon" "$INSTDIR\regardw.exe,0"
  WriteRegStr HKLM "${UNINST_KEY}" "InstallLocation" "$INSTDIR"
  WriteRegStr HKLM "${UNINST_KEY}" "UninstallString" '"$INSTDIR\uninstall.exe"'
  WriteRegStr HKLM "${UNINST_KEY}" "QuietUninstallString" '"$INSTDIR\uninstall.exe" /S'
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoModify" 1
  WriteRegDWORD HKLM "${UNINST_KEY}" "NoRepair" 1
  ${GetSize} "$INSTDIR" "/S=0K" $0 $1 $2
  WriteRegDWORD HKLM "${UNINST_KEY}" "EstimatedSize" $0
SectionEnd

Section "Uninstall"
  Delete "$SMPROGRAMS\${APP}.lnk"
  DeleteRegKey HKLM "Software\Microsoft\Windows\CurrentVersion\App Paths\regard.exe"
  DeleteRegKey HKLM "Software\Classes\${PROGID}"
  DeleteRegValue HKLM "Software\Classes\.dcm\OpenWithProgids" "${PROGID}"
  DeleteRegValue HKLM "Software\Classes\.dicom\OpenWithProgids" "${PROGID}"
  DeleteRegKey HKLM "Software\Classes\Directory\shell\Regard"
  DeleteRegKey HKLM "Software\Classes\Applications\regardw.exe"
  DeleteRegKey HKLM "${UNINST_KEY}"
  System::Call 'shell32::SHChangeNotify(i 0x08000000, i 0, p 0, p 0)'
  ; the site configuration (ProgramData) and users' data stay: IT and users own them
  RMDir /r "$INSTDIR\_internal"
  Delete "$INSTDIR\regard.exe"
  Delete "$INSTDIR\regardw.exe"
  Delete "$INSTDIR\uninstall.exe"
  RMDir "$INSTDIR"
SectionEnd
