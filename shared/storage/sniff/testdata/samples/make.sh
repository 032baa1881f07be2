#!/usr/bin/env bash
# Regenerates the encoder samples in this folder (see README.md). Needs
# Debian's ffmpeg, lame and id3v2 packages; run it here. Not run by tests:
# the outputs are committed, so the tests need none of these tools.
set -euo pipefail
cd "$(dirname "$0")"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ff() { ffmpeg -hide_banner -loglevel error -y -bitexact "$@"; }

# A 0.3 s 440 Hz tone, 22.05 kHz mono, as the input of the audio encoders.
ff -f lavfi -i sine=frequency=440:sample_rate=22050:duration=0.3 -ac 1 "$tmp/tone.wav"

# MP3 with only an ID3v1 trailer (128 bytes, "TAG", at the very end).
lame --quiet -b 32 --id3v1-only --tt "Ari tone" --ta "Ari" "$tmp/tone.wav" lame-id3v1.mp3
# MP3 with an ID3v2 tag padded with zeros inside its declared size.
lame --quiet -b 32 --id3v2-only --pad-id3v2-size 512 --tt "Ari tone" "$tmp/tone.wav" lame-id3v2-padded.mp3
# MP3 whose tags id3lib wrote afterwards: ID3v2.3 (with id3lib's padding) and ID3v1.
lame --quiet -b 32 --nohist "$tmp/tone.wav" id3v2-tool-both.mp3
id3v2 --artist Ari --song "Ari tone" id3v2-tool-both.mp3
# ffmpeg's own MP3 muxer: ID3v2.4 header and an ID3v1 trailer.
ff -i "$tmp/tone.wav" -c:a libmp3lame -b:a 32k -write_id3v1 1 -metadata title="Ari tone" ffmpeg-id3v1.mp3

# WebM written to a pipe, so ffmpeg cannot seek back: the Segment and its
# Clusters have unknown size, as from MediaRecorder or a live stream.
ff -f lavfi -i testsrc=size=32x24:rate=5:duration=0.4 -f lavfi -i sine=sample_rate=48000:duration=0.4 \
  -c:v libvpx -b:v 50k -c:a libopus -b:a 16k -f webm -live 1 pipe:1 > ffmpeg-live-unknown-size.webm
# The same to a file: sizes known, with Cues.
ff -f lavfi -i testsrc=size=32x24:rate=5:duration=0.4 -c:v libvpx -b:v 50k ffmpeg-vp8.webm

# Other audio and video containers from real encoders.
ff -i "$tmp/tone.wav" -c:a libopus -b:a 16k ffmpeg-opus.ogg
ff -i "$tmp/tone.wav" -c:a libvorbis -q:a 0 ffmpeg-vorbis.ogg
ff -i "$tmp/tone.wav" -c:a aac -b:a 24k ffmpeg-aac.m4a
ff -f lavfi -i testsrc=size=32x24:rate=5:duration=0.4 -c:v libx264 -pix_fmt yuv420p ffmpeg-h264.mp4 2>/dev/null \
  || ff -f lavfi -i testsrc=size=32x24:rate=5:duration=0.4 -c:v mpeg4 ffmpeg-mpeg4.mp4
cp "$tmp/tone.wav" ffmpeg-pcm.wav
ff -f lavfi -i testsrc=size=16x12:duration=0.04 -frames:v 1 -c:v libwebp -lossless 1 ffmpeg-lossless.webp
