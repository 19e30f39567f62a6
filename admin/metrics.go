package admin

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/shm/slots"
)

// metrics is the server's Prometheus side: a collector that reads the
// table at each scrape (a status gathered for the purpose), histograms fed
// from the events ring (table runs) and from the path samples (round
// trips), and the transitions counted as they come.
type metrics struct {
	reg         *prometheus.Registry
	rtt         *prometheus.HistogramVec
	tableRun    *prometheus.HistogramVec
	transitions prometheus.Counter
}

func newMetrics(status func() console.Status) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		rtt: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "had_path_rtt_seconds", Help: "Heartbeat round-trip time per path, sampled once a second.",
			// LAN round trips are tenths of a millisecond, a serial line's tens.
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5},
		}, []string{"path"}),
		tableRun: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "had_table_run_seconds", Help: "Duration of whole TAKEOVER/RECOVER table runs.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"op"}),
		transitions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "had_transitions_total", Help: "State transitions of this node seen since the admin server started.",
		}),
	}
	m.reg.MustRegister(m.rtt, m.tableRun, m.transitions, &collector{status: status})
	return m
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// event counts one event of the ring.
func (m *metrics) event(e slots.Event) {
	switch e.Kind {
	case slots.EventTransition:
		m.transitions.Inc()
	case slots.EventTable:
		op := "stop"
		if e.Start {
			op = "start"
		}
		m.tableRun.WithLabelValues(op).Observe(float64(e.Took) / 1e9)
	}
}

// sample feeds the path round trips of one history sample.
func (m *metrics) sample(s console.Sample) {
	for _, p := range s.Paths {
		if p.Up && p.RTTMs > 0 {
			m.rtt.WithLabelValues(p.Name).Observe(p.RTTMs / 1e3)
		}
	}
}

// collector turns a status read at scrape time into metrics.
type collector struct {
	status func() console.Status
}

var (
	descState    = prometheus.NewDesc("had_state", "This node's state: 1 N, 2 T, 3 R, 4 D (0 unknown).", []string{"node"}, nil)
	descPeer     = prometheus.NewDesc("had_peer_alive", "1 while the peer is heard on some path.", nil, nil)
	descPathUp   = prometheus.NewDesc("had_path_up", "1 while the heartbeat path delivers.", []string{"path"}, nil)
	descLate     = prometheus.NewDesc("had_heartbeats_late_total", "Heartbeats later than warntime, per path.", []string{"path"}, nil)
	descLost     = prometheus.NewDesc("had_heartbeats_lost_total", "Frames of the peer a path did not deliver.", []string{"path"}, nil)
	descLoss     = prometheus.NewDesc("had_path_loss_ratio", "Share of the peer's last 100 frames the path did not deliver.", []string{"path"}, nil)
	descDropped  = prometheus.NewDesc("had_frames_dropped_total", "Frames the receiver refused, by reason.", []string{"reason"}, nil)
	descAgent    = prometheus.NewDesc("had_agent_value", "An agent's verdict: 0 OK, 1 INFORMATION, 2 WARNING, 3 ERROR (absent without a fresh one).", []string{"agent"}, nil)
	descRestarts = prometheus.NewDesc("had_process_restarts_total", "Restarts of a process by had1.", []string{"role"}, nil)
)

var stateValue = map[string]float64{"N": 1, "T": 2, "R": 3, "D": 4}

var agentValue = map[string]float64{"OK": 0, "INFORMATION": 1, "WARNING": 2, "ERROR": 3}

func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descState, descPeer, descPathUp, descLate, descLost, descLoss, descDropped, descAgent, descRestarts} {
		ch <- d
	}
}

func (c *collector) Collect(ch chan<- prometheus.Metric) {
	st := c.status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge(descState, stateValue[st.Node.State], st.Node.Name)
	gauge(descPeer, b2f(st.Peer.Alive))
	for _, p := range st.Paths {
		gauge(descPathUp, b2f(p.Up), p.Name)
		counter(descLate, p.Late, p.Name)
		counter(descLost, p.Lost, p.Name)
		gauge(descLoss, p.LossPercent/100, p.Name)
	}
	d := st.Drops
	for _, r := range []struct {
		reason string
		n      uint64
	}{{"other_cluster", d.Cluster}, {"bad_mac", d.MAC}, {"replay", d.Replay}, {"truncated", d.Short},
		{"invalid", d.Invalid}, {"serial_garbage", d.Serial}} {
		counter(descDropped, r.n, r.reason)
	}
	for _, a := range st.Agents {
		if v, ok := agentValue[a.Value]; ok {
			gauge(descAgent, v, a.Name)
		}
	}
	for _, dm := range st.Daemons {
		if dm.Role != "had1" {
			counter(descRestarts, dm.Restarts, dm.Role)
		}
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
