package protocol

import "testing"

// The relay decodes one agent_chunk per chunk an agent streams: its
// allocations are paid per chunk (README, "The relay's tail").
func BenchmarkDecodeAgentChunk(b *testing.B) {
	frame := []byte(`{"type":"agent_chunk","taskId":"m_01JEXAMPLE0000000000000000","content":"Tokyo is the capital of Japan and its largest city; the Greater Tokyo Area is the most populous.","mode":"delta"}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeAgent(frame); err != nil {
			b.Fatal(err)
		}
	}
}
