// Package agents is had's health detection (SPEC §6): independent
// processes, one per agent, each writing its findings to its own result
// slot of the node's table, which had2 reads to decide whether the node
// and its services are fit.
//
// An agent is one long-running process. The built-in kinds (process, http,
// tcp, gateway, link, cpu, memory, disk, stats) and Nagios plugins (exec)
// are run by had-agent, one process per agent: Run checks every interval
// with a timeout, applies fall/rise, writes the result slot and rings
// had2's bell when the value changes. A daemon agent is the operator's own
// program, started by had1 with HAD_* variables in its environment, that
// writes its slot through Reporter, `hactl report`, or the layout in
// shm/LAYOUT.md from any language.
//
// List is the one place that says which agents a node has and in which
// slot each one lives: the configured [[agent]] entries, then the
// programs of the agents directory.
//
// A result slot holds (slots.AgentResult): Value OK, INFORMATION, WARNING
// or ERROR; Interval, the writer's promise to rewrite the slot within that
// many ns (Hang); Counter, bumped at every check; Text, the message; and
// Metrics, whose meaning depends on the kind (the stats agent's are
// decoded by ParseStats).
package agents
