//go:build race

package main

// raceEnabled makes TestMain build the relay with the race detector too, so
// data races inside the relay processes fail the tests that provoke them.
func init() { raceEnabled = true }
