package admin

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/hadcluster/had/config"
	"github.com/hadcluster/had/console"
	"github.com/hadcluster/had/daemon"
	"github.com/hadcluster/had/node"
	"github.com/hadcluster/had/shm"
	"github.com/hadcluster/had/shm/slots"
)

// Options is what a Server needs.
type Options struct {
	Node  *node.Node // the configuration and the tables (listed as resources)
	Table *shm.Table
	Log   zerolog.Logger
	// Alerter gets the events at or above [alerts] min_level; nil: events
	// are only logged.
	Alerter Alerter
	// Web is the web console, mounted at "/" on the TCP listener when
	// [admin] web is set; nil: none.
	Web http.Handler
}

// Server is one admin server.
type Server struct {
	o       Options
	cfg     *config.Config
	t       *shm.Table
	log     zerolog.Logger
	token   Token
	hist    *history
	peer    peerStatus
	peerAPI statuser // nil: no peer configured
	metrics *metrics

	cmdTurn    chan struct{} // one admin request at a time
	reloadTurn chan struct{} // one reload at a time

	mu          sync.Mutex
	transitions []console.Transition // the newest, kept longer than the events ring keeps them
	unixAddr    string
	tcpAddr     net.Addr
	ready       chan struct{} // closed once the listeners are open
}

// New checks the options and reads the token file when the server listens
// on TCP or asks the peer (an error wrapping ErrToken when it is unfit).
func New(o Options) (*Server, error) {
	if o.Node == nil || o.Node.Config == nil || o.Table == nil {
		return nil, errors.New("new admin server: node and table are required")
	}
	cfg := o.Node.Config
	s := &Server{o: o, cfg: cfg, t: o.Table, log: o.Log, hist: newHistory(cfg.Admin.History),
		cmdTurn: make(chan struct{}, 1), reloadTurn: make(chan struct{}, 1), ready: make(chan struct{})}
	if cfg.Admin.Listen != "" || cfg.Admin.Peer != "" {
		tok, err := LoadToken(cfg.Admin.TokenFile)
		if err != nil {
			return nil, fmt.Errorf("new admin server: %w", err)
		}
		s.token = tok
	}
	if cfg.Admin.Peer != "" {
		s.peerAPI = console.NewTCPClient(cfg.Admin.Peer, s.token.String())
		s.peer.set(nil, "not asked yet")
	}
	s.metrics = newMetrics(s.localStatus)
	return s, nil
}

// Status is what GET /v1/status answers: this node's status, read now,
// and the peer's as its admin server last gave it.
func (s *Server) Status() console.StatusResponse {
	resp := console.StatusResponse{Local: s.localStatus()}
	if s.peerAPI != nil {
		resp.Peer, resp.PeerError = s.peer.get()
	}
	return resp
}

func (s *Server) localStatus() console.Status {
	st := console.GatherNode(s.t, s.o.Node, shm.Now(), time.Now())
	s.mu.Lock()
	if len(s.transitions) >= len(st.Transitions) {
		// The server saw every event since it started, the ring holds only the last few.
		st.Transitions = append([]console.Transition{}, s.transitions...)
	}
	s.mu.Unlock()
	return st
}

// Ready is closed once the server listens; Addrs then says where.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addrs are the socket's path and the TCP address (nil without Listen).
func (s *Server) Addrs() (socket string, tcp net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unixAddr, s.tcpAddr
}

// Run takes the admin server's role lock (an error wrapping shm.ErrLocked
// when another server holds it), listens, and serves until ctx ends; then
// it closes the listeners (removing the socket) and returns nil.
func (s *Server) Run(ctx context.Context) error {
	release, err := s.t.Lock(shm.SlotAdminSrv)
	if err != nil {
		return fmt.Errorf("run admin server: %w", err)
	}
	defer release()
	sl, err := s.t.BellSleeper(shm.BellAdmin)
	if err != nil {
		return fmt.Errorf("run admin server: %w", err)
	}
	defer sl.Close()
	stopWake := context.AfterFunc(ctx, sl.Wake)
	defer stopWake()
	sv := s.cfg.Supervise
	own, whole := daemon.NewSlot(s.t, shm.SlotAdminSrv, sv.Liveness, sv.HangTimeout)
	tl := &tailer{alertSeen: own.Rec.Extra[slots.ExtraAlertSeen]}
	if !whole {
		// Which alerts went out is lost with the slot: skipping the few
		// in the ring is better than sending them all again.
		_, tl.alertSeen = slots.ReadEvents(s.t, ^uint64(0))
		s.log.Error().Uint64("seen", tl.alertSeen).Msg("own slot torn by a killed admin server; alerts resume after the newest event")
	}
	now := shm.Now()
	own.Write(now)
	s.tail(tl, own, now) // the memory first: the status lists transitions from the start

	var servers []*http.Server
	stopAll := func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, srv := range servers {
			if err := srv.Shutdown(sctx); err != nil {
				srv.Close()
			}
		}
	}
	errLog := log.New(s.log, "", 0)
	ul, mode, gid, err := listenUnix(s.cfg.Admin.Socket, s.cfg.Admin.Group)
	if err != nil {
		return fmt.Errorf("run admin server: %w", err)
	}
	usrv := &http.Server{Handler: s.api(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errLog}
	servers = append(servers, usrv)
	go usrv.Serve(ul)
	s.log.Info().Str("socket", s.cfg.Admin.Socket).Str("mode", fmt.Sprintf("%04o", mode)).Int("gid", gid).Msg("console socket open")
	var tcpAddr net.Addr
	if s.cfg.Admin.Listen != "" {
		tcpL, err := net.Listen("tcp", s.cfg.Admin.Listen)
		if err != nil {
			stopAll()
			return fmt.Errorf("run admin server: %w", err)
		}
		tcpAddr = tcpL.Addr()
		tsrv := &http.Server{Handler: s.remote(), ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute, ErrorLog: errLog}
		servers = append(servers, tsrv)
		go tsrv.Serve(tcpL)
		s.log.Info().Str("listen", tcpAddr.String()).Bool("web", s.cfg.Admin.Web && s.o.Web != nil).
			Bool("metrics", s.cfg.Admin.Metrics).Msg("remote console open")
	}
	s.mu.Lock()
	s.unixAddr, s.tcpAddr = s.cfg.Admin.Socket, tcpAddr
	s.mu.Unlock()
	close(s.ready)

	pctx, stopPeer := context.WithCancel(ctx)
	var wg sync.WaitGroup
	if s.peerAPI != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pollPeer(pctx, s.peerAPI, &s.peer)
		}()
	}

	// The main loop: liveness, the events (woken by had2's bell), and the
	// history sample once a second, all from one goroutine so that a hang
	// anywhere shows as a stopped counter. A Ring while the loop works
	// leaves a byte in the bell's pipe, so the next Sleep returns at once.
	nextSample := shm.Now()
	for ctx.Err() == nil {
		now := shm.Now()
		s.tail(tl, own, now)
		if now >= nextSample {
			s.sample()
			nextSample = daemon.NextOnGrid(now, SampleEvery) // with the bumps: one wake-up
		}
		own.Bump(now)
		sl.Sleep(min(own.Next(), nextSample))
	}
	stopPeer()
	wg.Wait()
	stopAll()
	own.Rec.Phase = slots.PhaseStopping
	own.Write(shm.Now())
	s.log.Info().Msg("admin server stopped")
	return nil
}

// sample adds one history sample and feeds the round-trip histogram.
func (s *Server) sample() {
	var peer *console.Status
	if s.peerAPI != nil {
		peer, _ = s.peer.get()
	}
	smp := sampleOf(console.Gather(s.t, s.cfg, shm.Now(), time.Now()), peer)
	s.hist.add(smp)
	s.metrics.sample(smp)
}

// remote is the TCP side: the API and /metrics behind the token, and the
// web console's page and assets, which hold no data, without it (a
// browser cannot send the header when it loads the page; the page asks
// for the token and sends it with every API call).
func (s *Server) remote() http.Handler {
	mux := http.NewServeMux()
	api := s.auth(s.api())
	mux.Handle("/v1/", api)
	if s.cfg.Admin.Metrics {
		mux.Handle("/metrics", s.auth(s.metrics.handler()))
	}
	if s.cfg.Admin.Web && s.o.Web != nil {
		mux.Handle("/", s.o.Web)
	} else {
		mux.Handle("/", api)
	}
	return mux
}

// auth lets through requests with the bearer token, and answers 401 to
// the rest.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := r.Header.Get("Authorization")
		tok, ok := strings.CutPrefix(h, "Bearer ")
		if !ok || !s.token.Match(strings.TrimSpace(tok)) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="had"`)
			msg := "missing bearer token"
			if h != "" {
				msg = "wrong bearer token"
			}
			writeError(w, http.StatusUnauthorized, msg)
			return
		}
		next.ServeHTTP(w, r)
	})
}
