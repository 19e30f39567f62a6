// Package wire is the byte format of the messages between the two nodes
// (SPEC §3): the fixed-length heartbeat/control frame authenticated with
// HMAC-SHA256, the replay filter that also removes the copies of one frame
// arriving over several paths, and the framing that carries frames over a
// serial line and finds them again after line noise.
//
// The package is pure: no sockets, files, clocks, goroutines or logging, so
// that every decoder can be fuzzed and the sender and receiver can be tested
// without a network. A Codec and a Deframer are not safe for concurrent use;
// give each goroutine its own.
package wire
