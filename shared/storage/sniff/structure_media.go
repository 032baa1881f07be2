package sniff

import (
	"bytes"
	"encoding/binary"
	"math/bits"
)

// Layer III bitrates in kbit/s by index, for MPEG-1 and for MPEG-2/2.5.
var (
	mp3Rates1 = [15]int64{0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320}
	mp3Rates2 = [15]int64{0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160}
	// sample rates by version bits (0 = 2.5, 2 = 2, 3 = 1) and index
	mp3Samples = map[byte][3]int64{0: {11025, 12000, 8000}, 2: {22050, 24000, 16000}, 3: {44100, 48000, 32000}}
)

// mp3FrameLen returns the length of the Layer III frame whose header is h,
// or 0 when h is not one.
func mp3FrameLen(h []byte) int64 {
	if h[0] != 0xFF || h[1]&0xE0 != 0xE0 {
		return 0
	}
	version, layer := (h[1]>>3)&3, (h[1]>>1)&3
	rateIdx, srIdx, pad := h[2]>>4, (h[2]>>2)&3, int64(h[2]>>1&1)
	if version == 1 || layer != 1 || rateIdx == 0 || rateIdx == 15 || srIdx == 3 {
		return 0
	}
	sr := mp3Samples[version][srIdx]
	if version == 3 {
		return 144*mp3Rates1[rateIdx]*1000/sr + pad
	}
	return 72*mp3Rates2[rateIdx]*1000/sr + pad
}

func checkMP3(s *scanner) error {
	if h, _ := s.peek(10); bytes.HasPrefix(h, []byte("ID3")) {
		b, err := s.read(10)
		if err != nil {
			return err
		}
		n := int64(b[6]&0x7F)<<21 | int64(b[7]&0x7F)<<14 | int64(b[8]&0x7F)<<7 | int64(b[9]&0x7F)
		if b[5]&0x10 != 0 { // footer present
			n += 10
		}
		if err := s.skip(n, nil); err != nil {
			return err
		}
	}
	// Some encoders pad the tag with zeros beyond its declared size.
	for {
		b, err := s.peek(1)
		if err != nil || len(b) == 0 || b[0] != 0 {
			break
		}
		s.skip(1, nil)
	}
	frames := 0
	for s.left() > 0 {
		if s.left() == 128 {
			if h, _ := s.peek(3); string(h) == "TAG" { // ID3v1 at the very end
				return s.skip(128, nil)
			}
		}
		h, err := s.peek(4)
		if err != nil || len(h) < 4 {
			return bad("MP3 ends inside a frame header")
		}
		n := mp3FrameLen(h)
		if n < 4 {
			return bad("no MP3 frame at %d", s.off)
		}
		if err := s.skip(n, nil); err != nil {
			return err
		}
		frames++
	}
	if frames == 0 {
		return bad("MP3 has no frames")
	}
	return nil
}

// peek returns the next n bytes (n ≤ bufio size) without consuming them;
// fewer at the end of the file.
func (s *scanner) peek(n int) ([]byte, error) {
	if int64(n) > s.left() {
		n = int(s.left())
	}
	b, err := s.r.Peek(n)
	if err != nil {
		return b, short(err)
	}
	return b, nil
}

// sumWriter adds up the bytes written to it (an Ogg lacing table).
type sumWriter struct{ total int64 }

func (w *sumWriter) Write(p []byte) (int, error) {
	for _, b := range p {
		w.total += int64(b)
	}
	return len(p), nil
}

func checkOgg(s *scanner) error {
	for s.left() > 0 {
		h, err := s.read(16)
		if err != nil {
			return err
		}
		if string(h[:4]) != "OggS" || h[4] != 0 {
			return bad("no Ogg page at %d", s.off-16)
		}
		rest, err := s.read(11) // serial, sequence, CRC, segment count
		if err != nil {
			return err
		}
		var body sumWriter
		if err := s.skip(int64(rest[10]), &body); err != nil {
			return err
		}
		if err := s.skip(body.total, nil); err != nil {
			return err
		}
	}
	return nil
}

func checkISOBMFF(s *scanner) error {
	for s.left() > 0 {
		b, err := s.read(8)
		if err != nil {
			return err
		}
		size, header := int64(binary.BigEndian.Uint32(b[:4])), int64(8)
		for _, c := range b[4:8] {
			if c < 0x20 || c > 0x7E {
				return bad("ISO box type %q at %d", b[4:8], s.off-8)
			}
		}
		switch size {
		case 0: // the box runs to the end of the file
			size = s.left() + header
		case 1:
			large, err := s.read(8)
			if err != nil {
				return err
			}
			size, header = int64(binary.BigEndian.Uint64(large)), 16
		}
		if size < header {
			return bad("ISO box size %d", size)
		}
		if err := s.skip(size-header, nil); err != nil {
			return err
		}
	}
	return nil
}

// ebmlVint reads an EBML variable-length integer. As an element id the
// length marker stays in the value; as a size it is removed, and a size of
// all ones means "unknown".
func (s *scanner) ebmlVint(keepMarker bool) (v uint64, width int, unknown bool, err error) {
	first, err := s.byte1()
	if err != nil {
		return 0, 0, false, err
	}
	width = bits.LeadingZeros8(first) + 1
	if width > 8 || keepMarker && width > 4 {
		return 0, 0, false, bad("EBML number at %d", s.off-1)
	}
	v = uint64(first)
	if !keepMarker {
		v &= 0xFF >> width
	}
	ones := v == 0xFF>>width
	if width > 1 {
		rest, err := s.read(width - 1)
		if err != nil {
			return 0, 0, false, err
		}
		for _, b := range rest {
			v = v<<8 | uint64(b)
			ones = ones && b == 0xFF
		}
	}
	return v, width, !keepMarker && ones, nil
}

func checkWebM(s *scanner) error {
	const ebmlHeader, segment = 0x1A45DFA3, 0x18538067
	for first := true; s.left() > 0; first = false {
		id, _, _, err := s.ebmlVint(true)
		if err != nil {
			return err
		}
		if first && id != ebmlHeader {
			return bad("WebM does not start with an EBML header")
		}
		size, _, unknown, err := s.ebmlVint(false)
		if err != nil {
			return err
		}
		if unknown {
			if id != segment {
				return bad("EBML element %#x of unknown size", id)
			}
			return checkOpenSegment(s)
		}
		if size > uint64(s.left()) {
			return bad("EBML element %#x runs past the end", id)
		}
		if err := s.skip(int64(size), nil); err != nil {
			return err
		}
	}
	return nil
}

// Matroska element ids met inside a Segment whose size is unknown (what
// MediaRecorder and live encoders write, having no way to seek back).
const (
	ebmlVoid    = 0xEC
	ebmlCRC32   = 0xBF
	ebmlCluster = 0x1F43B675
)

var (
	// SeekHead, Info, Tracks, Cluster, Cues, Chapters, Tags, Attachments.
	segmentChildren = map[uint64]bool{
		0x114D9B74: true, 0x1549A966: true, 0x1654AE6B: true, ebmlCluster: true,
		0x1C53BB6B: true, 0x1043A770: true, 0x1254C367: true, 0x1941A469: true,
		ebmlVoid: true, ebmlCRC32: true,
	}
	// Timestamp, SimpleBlock, BlockGroup, Position, PrevSize, SilentTracks,
	// EncryptedBlock.
	clusterChildren = map[uint64]bool{
		0xE7: true, 0xA3: true, 0xA0: true, 0xA7: true, 0xAB: true, 0x5854: true, 0xAF: true,
		ebmlVoid: true, ebmlCRC32: true,
	}
)

// checkOpenSegment walks a Segment of unknown size to the end of the file:
// its children (Matroska's level-1 elements, Void, CRC-32) each
// with a size that fits, and inside a Cluster of unknown size the Cluster's
// own children, until the next level-1 element ends it. Anything else, such
// as bytes appended to a recording, is refused.
func checkOpenSegment(s *scanner) error {
	inCluster := false
	for s.left() > 0 {
		at := s.off
		id, _, _, err := s.ebmlVint(true)
		if err != nil {
			return err
		}
		size, _, unknown, err := s.ebmlVint(false)
		if err != nil {
			return err
		}
		switch {
		case inCluster && clusterChildren[id]:
		case segmentChildren[id]:
			inCluster = false
			if id == ebmlCluster && unknown {
				inCluster = true
				continue
			}
		default:
			return bad("EBML element %#x at %d does not belong in a WebM Segment", id, at)
		}
		if unknown {
			return bad("EBML element %#x at %d has unknown size", id, at)
		}
		if size > uint64(s.left()) {
			return bad("EBML element %#x runs past the end", id)
		}
		if err := s.skip(int64(size), nil); err != nil {
			return err
		}
	}
	return nil
}
