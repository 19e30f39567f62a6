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
//	# kind   arguments and options
//	vip      10.213.0.100/32 dev=eth0 garp_count=3 garp_interval=500ms label=eth0:ha
//	vip      2001:db8::100/128 dev=eth0 garp_refresh=30s
//	cmd      name=web start="/usr/sbin/websvc start" stop="/usr/sbin/websvc stop" \
//	         status="/usr/sbin/websvc status" timeout=5s
//	service  unit=nginx.service timeout=30s
//	service  lsb=/etc/init.d/websvc
//	ocf      agent=heartbeat:Dummy name=dummy1 state=/run/had/dummy1.state
//	tee      listen=10.213.0.100:5000 to=10.213.0.1:5001,10.213.0.2:5001
//
// vip ADDRESS/LEN: a virtual IPv4 or IPv6 address (vip.go). dev= is
// required. IPv4: label= defaults to "<dev>:ha" (at most 15 characters,
// and it must start with "<dev>:", as ip(8) requires); use /32, since a VIP
// inside a subnet the interface already has becomes a secondary address,
// which the kernel deletes with its primary unless promote_secondaries=1.
// IPv6: no label; the address is added with IFA_F_NODAD, so it is usable at
// once rather than "tentative" while duplicate address detection runs; use
// /128. garp_count= (0–100, default 3) announcement bursts garp_interval=
// (10ms–1m, default 500ms) apart: for IPv4 gratuitous ARP in both the
// request and the reply form, for IPv6 an unsolicited neighbour
// advertisement (Override set) to ff02::1, sent from whatever address the
// kernel picks (the link-local one, else the VIP itself: no link-local
// address is needed). garp_refresh= (0 = off, the default, or 1s–24h)
// sends one more burst every period while the address is held, and puts it
// back if it has gone. While held, a deletion of the address by anything
// but had (an operator, NetworkManager) is seen through netlink
// (AddrWatcher) and undone at once, with an Error line "vip deleted behind
// had's back, re-added" and the announcements sent again; at most 5 re-adds
// per 10 s, then one per 2 s (vipguard.go).
//
// cmd: name=, start= and stop= are required, status= is optional; see
// cmd.go for how status is used. Commands run with /bin/sh -c in their own
// process group; a timed-out command's whole group is killed.
//
// service: unit= (systemd: systemctl start/stop/is-active --quiet) or lsb=
// (an init script: start, stop, status with LSB exit codes); start is
// skipped when status says running, and stop is checked with status
// (service.go).
//
// ocf: agent=PROVIDER:TYPE and name= are required; ocf_root= defaults to
// /usr/lib/ocf; every other option is passed as OCF_RESKEY_<key>
// (reskey_<key>= for a parameter called name, timeout, agent or ocf_root).
// Start is monitor, then start and monitor unless running; stop is stop,
// then monitor must say OCF_NOT_RUNNING (ocf.go). The entry is a Monitorer.
//
// tee: listen=ADDR:PORT and to=ADDR:PORT,… are required; run_dir= defaults
// to /run/had, bin= to had-tee next to the running executable. Start spawns
// the relay (tables/cmd/had-tee) detached and returns once it is bound; put
// the entry after the vip of its listen address (Parse checks) (tee.go).
//
// Parse reports every problem of a file at once, as Errors
// ("file:line: field: message"); it is pure. The executor reaches the OS
// only through Addrs, Announcer, AddrWatcher and Runner, whose Linux
// implementations are NetlinkAddrs, RawAnnouncer, NetlinkWatcher and
// ShellRunner (tee starts its own process); package tablestest has
// recording fakes.
package tables
