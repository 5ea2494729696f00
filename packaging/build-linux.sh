#!/usr/bin/env bash
# Build Castline for Linux: the frozen app (PyInstaller, one folder), a .deb and a .tar.gz.
# Output in build/: castline_<version>_<arch>.deb and castline-<version>-linux-<arch>.tar.gz.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VENV=${CASTLINE_VENV:-$ROOT/.venv}
PY="$VENV/bin/python"
[ -x "$PY" ] || { echo "Run 'bash packaging/dev test' once first (it makes $VENV)." >&2; exit 1; }
"$PY" -m pip install -q "pyinstaller>=6.10,<7"

VERSION=$("$PY" -c 'import editor; print(editor.__version__)')
ARCH=$(dpkg --print-architecture 2>/dev/null || uname -m)
ID=one.castline.Castline

# What the system must supply (check_deps.py fails the build when a library the binaries need
# is neither in the tree nor here). Qt's xcb and wayland platforms, GL/EGL, fonts, GLib, D-Bus,
# PulseAudio (QtMultimedia's QAudioSink), Kerberos and brotli (QtNetwork, linked by QtMultimedia),
# the C/C++ runtimes, OpenSSL 3 and the compression libraries Python's modules use. (libdrm,
# libXext and libXrandr went with Qt's FFmpeg plugin: no multimedia plugin is shipped.)
DEPENDS="libc6 (>= 2.34), libgcc-s1, libstdc++6, zlib1g, libzstd1, libbz2-1.0, liblzma5, \
libglib2.0-0, libdbus-1-3, libfontconfig1, libfreetype6, libegl1, libgl1, \
libx11-6, libx11-xcb1, libxkbcommon0, libxkbcommon-x11-0, libxcb1, \
libxcb-cursor0, libxcb-glx0, libxcb-icccm4, libxcb-image0, libxcb-keysyms1, libxcb-randr0, \
libxcb-render0, libxcb-render-util0, libxcb-shape0, libxcb-shm0, libxcb-sync1, libxcb-util1, \
libxcb-xfixes0, libxcb-xkb1, libwayland-client0, libwayland-cursor0, libwayland-egl1, \
libgssapi-krb5-2, libbrotli1, libpulse0, libssl3"
# GTK 3: Qt's GTK theme (native file dialogs, colours) loads only when it is installed.
RECOMMENDS="espeak-ng, gnome-keyring | kwalletmanager, libgtk-3-0"

START=$(date +%s)
"$PY" packaging/make_icons.py
# numpy without BLAS/LAPACK (built once from its sdist and cached outside the repository, see
# packaging/linux/numpy-noblas.sh): PyInstaller alone sees it, first on PYTHONPATH.
# CASTLINE_NUMPY_BLAS=1 freezes the venv's numpy (with OpenBLAS) instead.
NUMPY_PATH=""
if [ "${CASTLINE_NUMPY_BLAS:-0}" != 1 ]; then
  NUMPY_PATH=$(bash packaging/linux/numpy-noblas.sh "$PY")
fi
env ${NUMPY_PATH:+PYTHONPATH="$NUMPY_PATH"} \
  "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath build/dist --workpath build/work \
  packaging/castline.spec
TREE=build/dist/castline
if [ -n "$NUMPY_PATH" ] && [ -e "$TREE/_internal/numpy.libs" ]; then
  echo "numpy.libs is in the tree: PyInstaller froze the venv's numpy, not $NUMPY_PATH" >&2; exit 1
fi
mb() { du -sm "$1" | cut -f1; }
echo "frozen: $(mb $TREE) MB"
# Symbols out of what is safe to strip; every LOAD segment checked (packaging/linux/strip_tree.py).
"$PY" packaging/linux/strip_tree.py "$TREE"
echo "stripped: $(mb $TREE) MB"
# ICU data Qt never reads, and zone names / multi-byte code pages only calls Castline never
# makes read, each cut only under its check (packaging/linux/trim_icu.py).
"$PY" packaging/linux/trim_icu.py "$TREE" --python "$PY"
echo "ICU trimmed: $(mb $TREE) MB"
"$PY" packaging/linux/check_deps.py "$TREE" --depends "$DEPENDS" --recommends "$RECOMMENDS"

# .tar.gz: the frozen folder as it is.
tar -C build/dist -czf "build/castline-$VERSION-linux-$ARCH.tar.gz" castline

# .deb: /opt/castline, a launcher on PATH, menu entry, icons, AppStream, the .castline type.
STAGE=build/deb/castline
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
  "$STAGE/usr/share/metainfo" "$STAGE/usr/share/mime/packages" \
  "$STAGE/usr/share/icons/hicolor/scalable/apps"
cp -a build/dist/castline "$STAGE/opt/castline"
ln -s /opt/castline/castline "$STAGE/usr/bin/castline"
cp packaging/linux/$ID.desktop "$STAGE/usr/share/applications/"
cp packaging/linux/$ID.metainfo.xml "$STAGE/usr/share/metainfo/"
cp packaging/linux/castline-mime.xml "$STAGE/usr/share/mime/packages/castline.xml"
cp resources/icons/castline.svg "$STAGE/usr/share/icons/hicolor/scalable/apps/$ID.svg"
for size in 16 24 32 48 64 128 256 512; do
  mkdir -p "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps"
  cp "build/icons/castline-$size.png" "$STAGE/usr/share/icons/hicolor/${size}x${size}/apps/$ID.png"
done
SIZE_KB=$(du -sk "$STAGE" | cut -f1)
cat > "$STAGE/DEBIAN/control" <<CONTROL
Package: castline
Version: $VERSION
Section: sound
Priority: optional
Architecture: $ARCH
Installed-Size: $SIZE_KB
Depends: $DEPENDS
Recommends: $RECOMMENDS
Maintainer: Castline <castline@users.noreply.github.com>
Homepage: https://apiin.one
Description: dialogue editor that speaks scenes with ElevenLabs v3
 Castline is a dialogue editor for writers: a scene is a table of lines;
 each speaker gets a voice, each line a stability and language, and the
 scene is spoken by ElevenLabs v3 through the API in One service.
CONTROL
cat > "$STAGE/DEBIAN/postinst" <<'POSTINST'
#!/bin/sh
set -e
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q /usr/share/applications || true
command -v update-mime-database >/dev/null 2>&1 && update-mime-database /usr/share/mime || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t /usr/share/icons/hicolor || true
exit 0
POSTINST
cp "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
chmod 755 "$STAGE/DEBIAN/postinst" "$STAGE/DEBIAN/postrm"
DEB="build/castline_${VERSION}_${ARCH}.deb"
# xz -6: measured on the 153 MB tree, 44.3 MiB in 58 s against zstd -19's 48.0 MiB (zstd's default
# level: ~100 MiB); every dpkg reads it.
dpkg-deb --root-owner-group -Zxz -z6 -b "$STAGE" "$DEB" >/dev/null
echo "Built $DEB ($(du -h "$DEB" | cut -f1), installed $((SIZE_KB / 1024)) MB) and build/castline-$VERSION-linux-$ARCH.tar.gz in $(( $(date +%s) - START )) s"
