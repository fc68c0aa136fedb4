#!/usr/bin/env bash
# Installs the Debian packages the project needs when they are missing: a CJK TrueType font
# (reportlab embeds it in the licence PDFs) and the fallback fonts for the characters it lacks
# (fonts-hanazono: CJK Extensions B-F; fonts-babelstone-han: Extension G and more;
# fonts-dejavu-core: Latin, Greek, Cyrillic, combining marks), poppler-utils (pdfsig/pdffonts, used by the tests
# as an independent validator), PostgreSQL (the tests run the database tests on it too, in a
# throwaway cluster of their own), chromium (the browser tests drive Debian's build through the
# Python playwright package; no browser is ever downloaded) and ffmpeg (the browser tests turn
# a licence's QR code image into the fake camera's Y4M video) and the openssl command line (the
# sm-suite tests check SM2 signatures and certificates with it). Idempotent; needs root only when
# something is missing.
set -euo pipefail
missing=()
have_font=""
for f in /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc /usr/share/fonts/truetype/wqy/wqy-microhei.ttc \
  /usr/share/fonts/truetype/arphic/uming.ttc /usr/share/fonts/truetype/arphic/ukai.ttc \
  "${LICLEDGER_CJK_FONT:-/nonexistent}"; do
  [ -f "$f" ] && have_font=1
done
[ -n "$have_font" ] || missing+=(fonts-wqy-zenhei)
[ -f /usr/share/fonts/truetype/hanazono/HanaMinB.ttf ] || missing+=(fonts-hanazono)
[ -f /usr/share/fonts/truetype/babelstone/BabelStoneHan.ttf ] || missing+=(fonts-babelstone-han)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
command -v pdfsig >/dev/null 2>&1 || missing+=(poppler-utils)
command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 \
  || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v ffmpeg >/dev/null 2>&1 || missing+=(ffmpeg)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" != "0" ]; then
  echo "missing system packages: ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "installing ${missing[*]} with apt-get"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
