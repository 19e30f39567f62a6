// had-sender sends this node's heartbeats and control messages to the
// peer on every path (SPEC §1, §3). had1 starts and supervises it.
package main

import "github.com/hadcluster/had/comm"

func main() { comm.Main("sender", comm.RunSender) }
