package agents

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/fileerr"
)

// List returns the node's agents in slot order: the configured [[agent]]
// entries in file order, then the programs of the agents directory sorted
// by file name, at most config.MaxAgents in all. configPath (absolute) and
// binDir (where had-agent is) go into the Argv of the agents had-agent
// runs.
//
// The agents directory is read the way node_exporter reads its textfile
// directory: a bad file is skipped and reported in errs, never fatal.
// Every executable regular file is an agent named after the file: kind
// exec (a Nagios plugin run every interval), or kind daemon when the name
// ends in ".daemon" (the name is the part before). Hidden files (".x") are
// ignored silently; a directory or other non-regular entry too. A
// configured agent whose command names a file of the directory, or whose
// name is that file's agent name, configures that file: the file is not
// added a second time.
func List(cfg *config.Config, configPath, binDir string) (specs []Spec, errs []error) {
	configured := map[string]bool{} // agent names and program paths of [[agent]]
	for _, a := range cfg.Agents {
		specs = append(specs, spec(len(specs), a, fileIn(cfg.AgentsDir, a), cfg, configPath, binDir))
		configured[a.Name] = true
		if len(a.Command) > 0 {
			configured[filepath.Clean(a.Command[0])] = true
		}
	}
	if cfg.AgentsDir == "" {
		return specs, nil
	}
	found, errs := scanDir(cfg.AgentsDir)
	names := map[string]string{}
	for _, f := range found {
		switch {
		case configured[f.path] || configured[f.agent.Name]:
			continue
		case names[f.agent.Name] != "":
			errs = append(errs, skipped(f.path, "agent name %q is already taken by %s", f.agent.Name, names[f.agent.Name]))
			continue
		case len(specs) >= config.MaxAgents:
			errs = append(errs, skipped(f.path, "the node has %d agents already, the most the table holds", config.MaxAgents))
			continue
		}
		names[f.agent.Name] = f.path
		specs = append(specs, spec(len(specs), f.agent, f.path, cfg, configPath, binDir))
	}
	return specs, errs
}

// fileIn returns the agents-directory file a configured agent runs, if any.
func fileIn(dir string, a config.Agent) string {
	if dir == "" || len(a.Command) == 0 {
		return ""
	}
	if p := filepath.Clean(a.Command[0]); filepath.Dir(p) == filepath.Clean(dir) {
		return p
	}
	return ""
}

// dirAgent is one usable program of the agents directory.
type dirAgent struct {
	path  string
	agent config.Agent
}

// backupSuffixes mark files that package managers and editors leave
// behind; run-parts skips them too.
var backupSuffixes = []string{"~", ".bak", ".orig", ".swp", ".dpkg-old", ".dpkg-new", ".dpkg-dist", ".dpkg-tmp", ".rpmsave", ".rpmnew", ".ucf-old", ".ucf-new", ".ucf-dist"}

// scanDir reads the agents directory, in file name order.
func scanDir(dir string) ([]dirAgent, []error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, []error{fileerr.Error{File: dir, Msg: fmt.Sprintf("agents directory skipped: %v", err)}}
	}
	var out []dirAgent
	var errs []error
	for _, e := range entries {
		name := e.Name()
		path := filepath.Join(dir, name)
		if strings.HasPrefix(name, ".") {
			continue
		}
		fi, err := os.Stat(path) // follows a symbolic link to the program
		switch {
		case err != nil:
			errs = append(errs, skipped(path, "%v", err))
			continue
		case !fi.Mode().IsRegular():
			continue
		}
		if suf := backupSuffix(name); suf != "" {
			errs = append(errs, skipped(path, "a %q file is a backup, not an agent", suf))
			continue
		}
		if fi.Mode().Perm()&0o111 == 0 {
			errs = append(errs, skipped(path, "not executable (chmod +x to make it an agent)"))
			continue
		}
		kind, agentName := config.KindExec, name
		if n, ok := strings.CutSuffix(name, config.DaemonSuffix); ok {
			kind, agentName = config.KindDaemon, n
		}
		if msg := config.AgentNameProblem(agentName); msg != "" {
			errs = append(errs, skipped(path, "agent name %q: %s", agentName, msg))
			continue
		}
		a := config.DefaultAgent(kind, agentName)
		a.Command = []string{path}
		out = append(out, dirAgent{path: path, agent: a})
	}
	return out, errs
}

func backupSuffix(name string) string {
	for _, s := range backupSuffixes {
		if strings.HasSuffix(name, s) {
			return s
		}
	}
	return ""
}

func skipped(path, format string, args ...any) error {
	return fileerr.Error{File: path, Msg: "skipped: " + fmt.Sprintf(format, args...)}
}
