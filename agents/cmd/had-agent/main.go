// Command had-agent runs one built-in or Nagios-plugin agent of a had node
// (package agents); had1 starts one per agent:
//
//	had-agent --config /etc/had/had.toml --agent NAME [--once]
package main

import "github.com/hadcluster/had/agents"

func main() { agents.Main() }
