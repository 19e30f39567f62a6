package agents

import (
	"testing"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/config"
)

// testLog writes the agents' log lines to the test's log.
func testLog(t *testing.T) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.DebugLevel)
}

// defaultOf is the default agent of a kind, named "test".
func defaultOf(kind string) config.Agent { return config.DefaultAgent(config.AgentKind(kind), "test") }

// configWith is a configuration with these agents and table.
func configWith(shmPath string, agents ...config.Agent) *config.Config {
	return &config.Config{ShmPath: shmPath, NodeName: "test", LogLevel: "debug", Agents: agents}
}
