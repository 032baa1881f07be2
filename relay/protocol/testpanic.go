//go:build ari_testpanic

package protocol

// Built only with the ari_testpanic tag, which the relay's process tests use
// for one binary of their own (relay/shutdown_test.go): a frame type whose
// decoding panics, on both sockets, so that a test can see what a panic while
// a socket's frame is handled does to that socket and to everything else.
// Release builds never have it.
func init() {
	boom := func(*object) Frame { panic("test_panic frame (ari_testpanic build)") }
	clientDecoders["test_panic"] = boom
	agentDecoders["test_panic"] = boom
}
