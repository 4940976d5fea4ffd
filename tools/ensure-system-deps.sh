#!/usr/bin/env bash
# Install the Debian packages jimaku's demo and tests use, but only those that are missing.
# Each entry is "command-or-file:package".
set -euo pipefail

needs=(
  "espeak-ng:espeak-ng"
  "sox:sox"
  "ffmpeg:ffmpeg"
  "nginx:nginx"
  "pulseaudio:pulseaudio"
  "pactl:pulseaudio-utils"
  "chromium:chromium"
  "node:nodejs"
  "npm:npm"
  "wrk:wrk"
  "/usr/lib/x86_64-linux-gnu/libportaudio.so.2:libportaudio2"
  "/usr/lib/x86_64-linux-gnu/libsndfile.so.1:libsndfile1"
  "/usr/lib/x86_64-linux-gnu/alsa-lib/libasound_module_pcm_pulse.so:libasound2-plugins"
  "/usr/share/fonts/truetype/nanum/NanumGothic.ttf:fonts-nanum"
)

# PostgreSQL's server binaries live under /usr/lib/postgresql/<major>/bin.
if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  needs+=("initdb-missing:postgresql")
fi

missing=()
for entry in "${needs[@]}"; do
  what=${entry%%:*}
  pkg=${entry##*:}
  if [[ $what == /* ]]; then
    [[ -e $what ]] || missing+=("$pkg")
  elif [[ $what == initdb-missing ]]; then
    missing+=("$pkg")
  else
    command -v "$what" >/dev/null 2>&1 || missing+=("$pkg")
  fi
done

if ((${#missing[@]} == 0)); then
  exit 0
fi

echo "installing Debian packages: ${missing[*]}"
sudo=""
if [[ $(id -u) -ne 0 ]]; then
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
