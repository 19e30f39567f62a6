// Package comm carries the messages between the two nodes (SPEC §1, §3):
// the heartbeat paths (UDP and RS-232 links), the sender, which sends this
// node's state and control messages on every path, and the receiver, which
// authenticates and de-duplicates the peer's frames, watches each path and
// the peer as a whole, and writes what it heard to the shared table for
// had2.
//
// IO is kept apart from logic: the sender and the receiver see their paths
// only through the small Link interface, so that they run unchanged over
// the in-memory network of package commtest; the byte format itself is
// package wire.
package comm
