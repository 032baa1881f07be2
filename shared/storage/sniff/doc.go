// Package sniff decides what a file is from its first bytes, never from the
// name or the Content-Type a client declared, and accepts only the short list
// of types Ari stores and serves back.
//
// Allowed (MIME type → extension), the complete list:
//
//	image/png        .png   89 50 4E 47 0D 0A 1A 0A
//	image/jpeg       .jpg   FF D8 FF
//	image/gif        .gif   "GIF87a" or "GIF89a"
//	image/webp       .webp  "RIFF" <size> "WEBP"
//	application/pdf  .pdf   "%PDF-"
//	audio/mpeg       .mp3   "ID3" tag, or an MPEG-1/2/2.5 Layer III frame header
//	audio/ogg        .ogg   "OggS" (Vorbis, Opus, FLAC-in-Ogg)
//	audio/wav        .wav   "RIFF" <size> "WAVE"
//	audio/mp4        .m4a   ISO base media "ftyp" box with major brand M4A or M4B
//	video/mp4        .mp4   "ftyp" box with brand isom, iso2..iso6, mp41, mp42, avc1, dash or M4V
//	video/webm       .webm  EBML header whose DocType is "webm"
//	text/plain       .txt   valid UTF-8, no NUL and no control characters other
//	                        than tab, CR and LF, and not starting like markup
//
// Everything else is refused with ErrUnsupported: executables (ELF, PE, Mach-O
// all contain NULs or control bytes), archives, SVG, QuickTime, Matroska, HEIC,
// and HTML or XML. Text that starts, after whitespace and an optional UTF-8
// byte order mark, with "<" followed by a letter, "!", "?" or "/" is treated
// as markup and refused, so an HTML file can never pass as text/plain.
// A leading "#!" line is ordinary text: served as text/plain with nosniff it
// cannot run anywhere.
//
// Detect looks at a prefix only (HeadSize bytes is enough). A PNG signature
// followed by an ELF body is reported as image/png here; checking the whole
// file (for text: that every byte is valid) is the upload path's job, and
// TextChecker exists for that.
package sniff
