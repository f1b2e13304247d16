#!/usr/bin/env bash
# Installs what Orchestrion needs beyond Rust itself: a General MIDI SoundFont for audio, Chromium
# for the console's browser tests, Python packages for the agreement tests against independent
# implementations, and the console tests' npm packages. Safe to run again; skips what is present.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

apt_packages=(fluid-soundfont-gm timgm6mb-soundfont fluidsynth chromium curl postgresql)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python3 -m pip install --quiet --disable-pip-version-check -r scripts/requirements.txt

if [ -f web/tests/package.json ]; then
  (cd web/tests && npm ci --silent --no-audit --no-fund)
fi
echo "setup: done"
