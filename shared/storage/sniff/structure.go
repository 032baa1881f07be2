package sniff

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
)

// ErrBadStructure means the bytes after a valid signature do not form a file
// of that type: the file is not what its first bytes claim (the upload path
// answers 415).
var ErrBadStructure = errors.New("sniff: file structure does not match its type")

// CheckStructure reads the whole file (size bytes) and checks that it is one
// well-formed file of type t from its first byte to its last, so nothing
// can ride behind a valid header (a PNG signature on an ELF executable, a
// script appended to a JPEG). Per type:
//
//	PNG          every chunk with a valid CRC, IHDR first, IEND last, nothing after
//	JPEG         marker segments up to SOS with a frame header (SOFn) among them;
//	             the file ends with the EOI marker
//	GIF          header, colour tables, extension and image blocks to the
//	             trailer byte, which is the last byte
//	WebP, WAV    the RIFF length field equals the file's length
//	PDF          the last non-whitespace bytes are %%EOF
//	MP3          optional ID3v2 tag, then consecutive MPEG audio Layer III
//	             frames to the end, optionally followed by a 128-byte ID3v1 tag
//	OGG          consecutive Ogg pages to the end
//	MP4, M4A     top-level ISO boxes whose sizes add up to the file's length
//	WebM         EBML header, then top-level elements whose sizes add up to
//	             the file's length; a Segment of unknown size (MediaRecorder,
//	             live encoders) runs to the end and is walked: Matroska's
//	             level-1 elements, inside an unknown-size Cluster its blocks
//	text         every byte valid UTF-8 text without control characters
//
// A format's own metadata fields can still carry arbitrary bytes; what this
// guarantees is that the file parses as its type throughout, which combined
// with the stored Content-Type and nosniff is what a client relies on.
// It returns ErrBadStructure, or an I/O error from r.
func CheckStructure(t Type, r io.Reader, size int64) error {
	s := &scanner{r: bufio.NewReaderSize(r, 32<<10), size: size}
	var err error
	switch t {
	case Text:
		err = checkText(s)
	case PNG:
		err = checkPNG(s)
	case JPEG:
		err = checkJPEG(s)
	case GIF:
		err = checkGIF(s)
	case WebP, WAV:
		err = checkRIFF(s)
	case PDF:
		err = checkPDF(s)
	case MP3:
		err = checkMP3(s)
	case OGG:
		err = checkOgg(s)
	case MP4, M4A:
		err = checkISOBMFF(s)
	case WebM:
		err = checkWebM(s)
	default:
		return fmt.Errorf("%w: no structure check for %s", ErrBadStructure, t.MIME)
	}
	if err != nil {
		return err
	}
	// Every check reads to the end; a source longer than declared is as bad
	// as a trailer.
	if s.off != size {
		return fmt.Errorf("%w: %s ends at %d of %d bytes", ErrBadStructure, t.MIME, s.off, size)
	}
	if _, err := s.r.ReadByte(); err != io.EOF {
		return fmt.Errorf("%w: data beyond the declared size", ErrBadStructure)
	}
	return nil
}

// scanner reads a file front to back, keeping the offset, and turns a short
// file into ErrBadStructure (a truncated file is malformed, not an I/O fault).
type scanner struct {
	r    *bufio.Reader
	off  int64
	size int64
	buf  [16]byte
}

func bad(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrBadStructure}, args...)...)
}

func (s *scanner) left() int64 { return s.size - s.off }

func short(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return bad("file ends early")
	}
	return err
}

// read returns the next n (at most 16) bytes; the slice is reused.
func (s *scanner) read(n int) ([]byte, error) {
	if int64(n) > s.left() {
		return nil, bad("file ends early")
	}
	b := s.buf[:n]
	if _, err := io.ReadFull(s.r, b); err != nil {
		return nil, short(err)
	}
	s.off += int64(n)
	return b, nil
}

func (s *scanner) byte1() (byte, error) {
	b, err := s.read(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// skip passes over n bytes, feeding them to w when it is not nil.
func (s *scanner) skip(n int64, w io.Writer) error {
	if n < 0 || n > s.left() {
		return bad("length %d runs past the end", n)
	}
	if w == nil {
		w = io.Discard
	}
	if _, err := io.CopyN(w, s.r, n); err != nil {
		return short(err)
	}
	s.off += n
	return nil
}

func checkText(s *scanner) error {
	var c TextChecker
	if err := s.skip(s.size, &c); err != nil {
		if errors.Is(err, ErrNotText) {
			return bad("not plain text")
		}
		return err
	}
	if c.Close() != nil {
		return bad("text ends inside a character")
	}
	return nil
}

func checkPNG(s *scanner) error {
	if err := s.skip(8, nil); err != nil {
		return err
	}
	for first := true; ; first = false {
		b, err := s.read(8)
		if err != nil {
			return err
		}
		length := binary.BigEndian.Uint32(b[:4])
		typ := string(b[4:8])
		if length > 1<<31-1 {
			return bad("PNG chunk length %d", length)
		}
		for _, c := range []byte(typ) {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return bad("PNG chunk type %q", typ)
			}
		}
		if first != (typ == "IHDR") {
			return bad("PNG chunk %q out of place", typ)
		}
		crc := crc32.NewIEEE()
		crc.Write(b[4:8])
		if err := s.skip(int64(length), crc); err != nil {
			return err
		}
		sum, err := s.read(4)
		if err != nil {
			return err
		}
		if binary.BigEndian.Uint32(sum) != crc.Sum32() {
			return bad("PNG chunk %q has a bad CRC", typ)
		}
		if typ == "IEND" {
			if s.left() != 0 {
				return bad("%d bytes after PNG IEND", s.left())
			}
			return nil
		}
	}
}

func checkJPEG(s *scanner) error {
	if err := s.skip(2, nil); err != nil { // SOI
		return err
	}
	frame := false
	for {
		m, err := s.byte1()
		if err != nil {
			return err
		}
		if m != 0xFF {
			return bad("JPEG marker expected at %d", s.off-1)
		}
		for m == 0xFF { // fill bytes
			if m, err = s.byte1(); err != nil {
				return err
			}
		}
		switch {
		case m == 0x01 || m >= 0xD0 && m <= 0xD7:
			continue // markers without a length
		case m == 0xD8 || m == 0xD9 || m == 0x00:
			return bad("JPEG marker %#x before the scan", m)
		}
		b, err := s.read(2)
		if err != nil {
			return err
		}
		n := int64(binary.BigEndian.Uint16(b))
		if n < 2 {
			return bad("JPEG segment length %d", n)
		}
		if err := s.skip(n-2, nil); err != nil {
			return err
		}
		if m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC {
			frame = true
		}
		if m == 0xDA {
			break
		}
	}
	if !frame {
		return bad("JPEG has no frame header")
	}
	// Entropy-coded data and later scans are not walked; the file must end
	// with EOI, so nothing can follow the image.
	if s.left() < 2 {
		return bad("JPEG ends early")
	}
	if err := s.skip(s.left()-2, nil); err != nil {
		return err
	}
	eoi, err := s.read(2)
	if err != nil {
		return err
	}
	if eoi[0] != 0xFF || eoi[1] != 0xD9 {
		return bad("JPEG does not end with EOI")
	}
	return nil
}

func checkGIF(s *scanner) error {
	b, err := s.read(13) // signature, version, logical screen descriptor
	if err != nil {
		return err
	}
	if b[10]&0x80 != 0 {
		if err := s.skip(3<<(int(b[10]&7)+1), nil); err != nil {
			return err
		}
	}
	for {
		kind, err := s.byte1()
		if err != nil {
			return err
		}
		switch kind {
		case 0x3B: // trailer
			if s.left() != 0 {
				return bad("%d bytes after the GIF trailer", s.left())
			}
			return nil
		case 0x21: // extension: label, then data sub-blocks
			if _, err := s.byte1(); err != nil {
				return err
			}
		case 0x2C: // image descriptor, optional local colour table, LZW code size
			d, err := s.read(9)
			if err != nil {
				return err
			}
			if d[8]&0x80 != 0 {
				if err := s.skip(3<<(int(d[8]&7)+1), nil); err != nil {
					return err
				}
			}
			if _, err := s.byte1(); err != nil {
				return err
			}
		default:
			return bad("GIF block %#x", kind)
		}
		if err := skipSubBlocks(s); err != nil {
			return err
		}
	}
}

func skipSubBlocks(s *scanner) error {
	for {
		n, err := s.byte1()
		if err != nil {
			return err
		}
		if n == 0 {
			return nil
		}
		if err := s.skip(int64(n), nil); err != nil {
			return err
		}
	}
}

func checkRIFF(s *scanner) error {
	b, err := s.read(12)
	if err != nil {
		return err
	}
	if n := int64(binary.LittleEndian.Uint32(b[4:8])); n+8 != s.size {
		return bad("RIFF length %d for a %d-byte file", n, s.size)
	}
	return s.skip(s.left(), nil)
}

func checkPDF(s *scanner) error {
	// Only the tail matters; keep the last 1 KiB while reading through.
	const tailLen = 1024
	tail := &tailBuffer{max: tailLen}
	if err := s.skip(s.size, tail); err != nil {
		return err
	}
	end := bytes.TrimRight(tail.b, " \t\r\n\x00\x0c")
	if !bytes.HasSuffix(end, []byte("%%EOF")) {
		return bad("PDF does not end with %%EOF")
	}
	return nil
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	b   []byte
	max int
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	n := len(p)
	if len(p) >= t.max {
		t.b = append(t.b[:0], p[len(p)-t.max:]...)
		return n, nil
	}
	if over := len(t.b) + len(p) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	t.b = append(t.b, p...)
	return n, nil
}
