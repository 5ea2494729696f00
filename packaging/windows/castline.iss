; Inno Setup script for Castline on Windows (built by .github/workflows/installers.yml).
; Run from the repository root after PyInstaller:  iscc /DMyAppVersion=0.1.0 packaging\windows\castline.iss
#ifndef MyAppVersion
  #define MyAppVersion "0.0.0"
#endif

[Setup]
AppId={{6B1C5E2A-3F4D-4C8B-9A77-0E2D5C1F9A31}
AppName=Castline
AppVersion={#MyAppVersion}
AppPublisher=Castline
DefaultDirName={autopf}\Castline
DefaultGroupName=Castline
DisableProgramGroupPage=yes
OutputDir=..\..\build
OutputBaseFilename=castline-{#MyAppVersion}-windows-setup
SetupIconFile=..\..\build\icons\castline.ico
UninstallDisplayIcon={app}\castline.exe
ChangesAssociations=yes
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
PrivilegesRequiredOverridesAllowed=dialog
Compression=lzma2
SolidCompression=yes
WizardStyle=modern

[Files]
Source: "..\..\build\dist\castline\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{group}\Castline"; Filename: "{app}\castline.exe"
Name: "{group}\Uninstall Castline"; Filename: "{uninstallexe}"

[Registry]
; .castline files open in Castline (per user or per machine, as the installer runs).
Root: HKA; Subkey: "Software\Classes\.castline"; ValueType: string; ValueName: ""; ValueData: "Castline.Scene"; Flags: uninsdeletevalue
Root: HKA; Subkey: "Software\Classes\Castline.Scene"; ValueType: string; ValueName: ""; ValueData: "Castline scene"; Flags: uninsdeletekey
Root: HKA; Subkey: "Software\Classes\Castline.Scene\DefaultIcon"; ValueType: string; ValueName: ""; ValueData: "{app}\castline.exe,0"
Root: HKA; Subkey: "Software\Classes\Castline.Scene\shell\open\command"; ValueType: string; ValueName: ""; ValueData: """{app}\castline.exe"" ""%1"""

[Run]
Filename: "{app}\castline.exe"; Description: "Start Castline"; Flags: nowait postinstall skipifsilent
