// Package tables reads and runs a node's TAKEOVER and RECOVER tables
// (SPEC §5).
//
// A node's RECOVER table lists its own resources: started when it comes
// back, stopped when it hands over. Its TAKEOVER table lists the peer's
// resources as this node runs them: started on takeover, stopped when the
// peer recovers. Entries start in table order and stop in reverse order,
// each within its timeout; starting what runs and stopping what is stopped
// succeed. A stop that fails is tried again (Policy), then reported, and
// the caller fails safe. Every step is logged as one line with a fixed
// vocabulary: message "table step done" or "table step failed", fields
// table, entry, kind, line, op, took, and attempt and error when relevant.
//
// # File format
//
// Line oriented, like Heartbeat's haresources: one entry per line, the
// kind first, then positional arguments and key=value options in any
// order. Words are split and quoted as in the shell:
//
//   - '#' at the start of a word comments out the rest of the line;
//   - '…' is literal; in "…" only \" and \\ are escapes (other backslashes
//     stay, since commands go on to /bin/sh); outside quotes a backslash
//     takes the next character literally;
//   - a backslash at the end of a line joins the next line; a quote may not
//     span lines.
//
// Options every kind has: name= (unique in the table; used in logs, the
// console and the fakes' logs) and timeout= (one step, default 10s; Go
// durations with a unit: 500ms, 5s, 1m).
//
//	# kind arguments          options
//	vip    10.213.0.100/32    dev=eth0 garp_count=3 garp_interval=500ms label=eth0:ha
//	cmd    name=web start="/usr/sbin/websvc start" stop="/usr/sbin/websvc stop" \
//	       status="/usr/sbin/websvc status" timeout=5s
//
// vip ADDRESS/LEN: a virtual IPv4 address. dev= is required; label=
// defaults to "<dev>:ha" (at most 15 characters, and it must start with
// "<dev>:", as ip(8) requires); garp_count= (0–100, default 3) gratuitous
// ARP bursts, each in both the request and the reply form, garp_interval=
// (10ms–1m, default 500ms) apart. Use /32: a VIP inside a subnet the
// interface already has becomes a secondary address, and the kernel
// deletes secondaries with their primary unless promote_secondaries=1.
//
// cmd: name=, start= and stop= are required, status= is optional; see
// cmd.go for how status is used. Commands run with /bin/sh -c in their own
// process group; a timed-out command's whole group is killed.
//
// Parse reports every problem of a file at once, as Errors
// ("file:line: field: message"); it is pure. The executor reaches the OS
// only through Addrs, Announcer and Runner, whose Linux implementations are
// NetlinkAddrs, RawAnnouncer and ShellRunner; package tablestest has
// recording fakes.
package tables
