// Package reliability holds no code of its own: its tests hold the server to
// the promises listed in docs/guarantees.md under abuse. They drive the real
// server over loopback sockets, in process (to watch the admitter at every
// decision) or as the built binary (for descriptor limits, signals and RSS):
// a catalogue of hostile requests, a fuzz target for request handling,
// connection floods from several addresses, slowloris clients, clients that
// reset mid-request and mid-response, descriptor exhaustion, SIGTERM under
// load, and a soak whose goroutines, descriptors and memory must return to
// their baseline.
//
// The suite runs on Linux: it dials from many 127.0.0.x addresses (macOS
// has only 127.0.0.1 unless more are added by hand) and reads descriptors
// and memory from /proc.
//
// The full 200 000-request soak runs with RELIABILITY_SOAK=200000; longer
// fuzzing with go test -fuzz=FuzzHandler -fuzztime=5m ./server/reliability.
package reliability
