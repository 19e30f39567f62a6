package console

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hadcluster/had/comm/wire"
	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

type memTable map[int]shm.Record

func (m memTable) Read(slot int) (shm.Record, error) { return m[slot], nil }

func TestGather(t *testing.T) {
	cfg := &config.Config{NodeID: 2, PeerID: 1, NodeName: "beta", PeerName: "alpha",
		UDP: []config.UDPPath{{Name: "lan"}}, Serial: []config.SerialPath{{Name: "rs232"}}}
	const now = int64(100e9)
	m := memTable{}
	send := slots.Send{State: wire.StateTakeover, Held: wire.GroupOf(1)}
	m[shm.SlotSend] = send.Record()
	peer := slots.Peer{Overtime: true, Accepted: 9, Last: slots.Frame{State: wire.StateNormal, Held: wire.GroupOf(1), Epoch: 3, Heard: now - 2e9}}
	m[shm.SlotPeer] = peer.Record()
	lan := slots.Path{Name: "lan", Up: false, LastHeard: now - 2e9, Heard: 5, Downs: 1, RTT: 250e3, LossPermille: 125, Lost: 9}.Record()
	m[shm.SlotPath0] = lan
	had2 := slots.Daemon{PID: 77, Interval: 1e9, Phase: slots.PhaseRunning, Text: "holding every group"}
	had2.Extra[slots.ExtraReplyID], had2.Extra[slots.ExtraReplyOK] = 4, 1
	had2.Extra[slots.ExtraEvents] = 2
	m[slots.EventSlot(1)] = slots.Event{N: 1, Kind: slots.EventTransition, From: wire.StateNormal, To: wire.StateTakeover, Time: 5e9, Text: "peer silent"}.Record()
	m[slots.EventSlot(2)] = slots.Event{N: 2, Kind: slots.EventAlert, Level: shm.Warning, Text: "fenced"}.Record()
	had1 := slots.Daemon{Interval: 1e9}
	had1.Extra[slots.ExtraRestartsAdmin] = 2
	m[shm.SlotHad1] = had1.Record()
	r := had2.Record()
	r.Stamp = now - 0.5e9
	m[shm.SlotHad2] = r
	recv := slots.Daemon{PID: 78, Interval: 1e9}
	recv.Extra[slots.ExtraDropMAC] = 12
	r = recv.Record()
	r.Stamp = now - 3e9 // older than its interval: not alive
	m[shm.SlotReceiver] = r

	aid, ares := slots.AgentSlots(2)
	m[aid] = slots.AgentID{PID: 90, Name: "web", Restarts: 3, Flags: slots.AgentCritical | slots.AgentService}.Record()
	r = slots.AgentResult{Value: shm.Error, Interval: 3e9, Text: "HTTP 503"}.Record()
	r.Stamp = now - 1e9
	m[ares] = r

	st := Gather(m, cfg, now, time.Unix(0, 0))
	if len(st.Agents) != 1 || st.Agents[0] != (Agent{Name: "web", Value: "ERROR", Message: "HTTP 503", AgeS: 1, Critical: true, Service: true, PID: 90, Restarts: 3}) {
		t.Errorf("agents: got %+v", st.Agents)
	}
	if st.Pair != "(D,T)" {
		t.Errorf("pair %s, want (D,T): the peer is silent", st.Pair)
	}
	if st.Node.State != "T" || st.Node.Held != "g1" || st.Peer.Alive || st.Peer.LastHeardS != 2 {
		t.Errorf("node %+v peer %+v", st.Node, st.Peer)
	}
	if len(st.Paths) != 2 || st.Paths[0].Up || st.Paths[0].RTTMs != 0.25 || st.Paths[0].LossPercent != 12.5 || st.Paths[0].Lost != 9 || st.Paths[1].Name != "rs232" {
		t.Errorf("paths %+v", st.Paths)
	}
	d := map[string]Daemon{}
	for _, x := range st.Daemons {
		d[x.Role] = x
	}
	if len(st.Transitions) != 1 || st.Transitions[0] != (Transition{Time: time.Unix(5, 0).UTC(), From: "N", To: "T", Text: "peer silent"}) {
		t.Errorf("transitions: got %+v, want N → T at 5s", st.Transitions)
	}
	if d["admin"].Restarts != 2 || d["admin"].Alive {
		t.Errorf("admin daemon: got %+v, want 2 restarts, not alive (no record)", d["admin"])
	}
	if !d["had2"].Alive || d["receiver"].Alive || d["had2"].Phase != "running" {
		t.Errorf("daemons %+v", st.Daemons)
	}
	if st.Drops.MAC != 12 || st.Admin == nil || st.Admin.ID != 4 || !st.Admin.OK {
		t.Errorf("drops %+v admin %+v", st.Drops, st.Admin)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{`"pair":"(D,T)"`, `"last_heard_s":2`, `"bad_mac":12`, `"rtt_ms":0.25`, `"loss_percent":12.5`,
		`"resources":[]`, `"transitions":[{"time":"1970-01-01T00:00:05Z","from":"N","to":"T","text":"peer silent"}]`} {
		if !strings.Contains(string(b), key) {
			t.Errorf("JSON lacks %s: %s", key, b)
		}
	}
	if txt := st.Text(); !strings.Contains(txt, "pair (D,T)") || !strings.Contains(txt, "HUNG/DEAD") ||
		!strings.Contains(txt, "loss 12%") || !strings.Contains(txt, "N → T  peer silent") {
		t.Errorf("text:\n%s", txt)
	}
}
