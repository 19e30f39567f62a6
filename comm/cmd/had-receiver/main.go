// had-receiver receives the peer's heartbeats and control messages on
// every path and writes them to the node's table for had2 (SPEC §1, §3).
// had1 starts and supervises it.
package main

import "github.com/hadcluster/had/comm"

func main() { comm.Main("receiver", comm.RunReceiver) }
