#!/usr/bin/env bash
# Make build/castline-<version>-macos.dmg from build/dist/Castline.app (PyInstaller's BUNDLE,
# whose Info.plist declares the .castline document type). Runs on macOS only (hdiutil).
set -euo pipefail
cd "$(dirname "$0")/../.."
VERSION=$(python -c 'import editor; print(editor.__version__)')
APP=build/dist/Castline.app
[ -d "$APP" ] || { echo "$APP is missing: run PyInstaller with packaging/castline.spec first" >&2; exit 1; }
STAGE=$(mktemp -d)
cp -R "$APP" "$STAGE/"
ln -s /Applications "$STAGE/Applications"
hdiutil create -volname "Castline" -srcfolder "$STAGE" -ov -format UDZO \
  "build/castline-$VERSION-macos.dmg"
rm -rf "$STAGE"
echo "Built build/castline-$VERSION-macos.dmg"
