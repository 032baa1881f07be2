// Package interop holds end-to-end tests that run the real relay as a process
// (on loopback ports, against the test Postgres and Redis) and talk to it from
// outside Go's relay packages: a client and an agent written with Node's `ws`
// package, and the Go agent SDK (relay/agentsdk) with the example echo agent.
package interop
