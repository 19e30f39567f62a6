// Package admin is the node's admin server (SPEC §7), run as had-admin and
// kept by had1: the only way the console reaches a node. It serves the API
// of docs/console-api.md on a unix socket (root and the admin group) and,
// opt-in, on TCP with a bearer token, where it also serves Prometheus
// /metrics and the web console. It is the only writer of the operator's
// request slot (shm.SlotAdmin): takeover, standby and recover requests go
// to had2 through it one at a time, and a reload goes to had1 as SIGHUP. It
// tails had2's events ring for the alerts and keeps a short history of the
// pair for the plots. It asks the peer's admin server for its status, so
// one console shows both nodes.
package admin
