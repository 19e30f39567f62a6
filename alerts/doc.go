// Package alerts tells operators what happened (SPEC §7): every event is
// logged, and those at or above the configured level also go out by
// email, sms, the console bell and a user command.
//
// Each alert names the node, the event and the time. Each channel has a
// bounded queue and a goroutine of its own, and each delivery runs under
// the configured timeout, so a slow or failing channel delays neither the
// caller (Send never blocks: it is called on the way to a takeover) nor
// any other channel. User code (the sms and alert commands) runs in a
// process group of its own, killed with the group at the timeout: notify
// scripts that cannot be timed out or killed are a known complaint about
// keepalived (anchors.md §3, items 5 and 6).
//
// A flapping path must not send a mail per flap: on every channel but the
// log, one (node, kind, text) goes out at most once per RateLimit; what
// is held back is counted, and the next message for that key says how
// many were held ("(3 more since …)"). When the window ends with events
// held, the last of them goes out then, so the final state of a flapping
// path is never the one that is hidden.
package alerts
