package console

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"
)

var (
	// ErrNoAnswer: had2 (or had1, for a reload) did not answer in time
	// (HTTP 504).
	ErrNoAnswer = errors.New("console: no answer")
	// ErrUnauthorized: the admin server refused the token (HTTP 401).
	ErrUnauthorized = errors.New("console: unauthorized")
)

// Client speaks the admin server's API.
type Client struct {
	http  *http.Client
	base  string // "http://unix" or "http://host:port"
	token string
}

// NewUnixClient is a client of the admin server's unix socket.
func NewUnixClient(socket string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", socket)
		},
		MaxIdleConns: 2,
	}
	return &Client{http: &http.Client{Transport: tr}, base: "http://unix"}
}

// NewTCPClient is a client of an admin server's TCP address (host:port)
// with its bearer token.
func NewTCPClient(addr, token string) *Client {
	tr := &http.Transport{MaxIdleConns: 2, IdleConnTimeout: time.Minute}
	return &Client{http: &http.Client{Transport: tr}, base: "http://" + addr, token: token}
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// Status is GET /v1/status.
func (c *Client) Status(ctx context.Context) (StatusResponse, error) {
	var out StatusResponse
	return out, c.do(ctx, http.MethodGet, "/v1/status", nil, &out)
}

// Command is POST /v1/takeover, /v1/standby or /v1/recover; timeout 0
// leaves the server's default. A refusal is a Reply with OK false, not an
// error.
func (c *Client) Command(ctx context.Context, cmd string, timeout time.Duration) (Reply, error) {
	if _, ok := Commands[cmd]; !ok {
		return Reply{}, fmt.Errorf("console: unknown command %q", cmd)
	}
	var out Reply
	return out, c.do(ctx, http.MethodPost, "/v1/"+cmd+timeoutQuery(timeout), nil, &out)
}

// Reload is POST /v1/reload.
func (c *Client) Reload(ctx context.Context, timeout time.Duration) (ReloadReply, error) {
	var out ReloadReply
	return out, c.do(ctx, http.MethodPost, "/v1/reload"+timeoutQuery(timeout), nil, &out)
}

// Events is GET /v1/events?after=N.
func (c *Client) Events(ctx context.Context, after uint64) (Events, error) {
	var out Events
	return out, c.do(ctx, http.MethodGet, fmt.Sprintf("/v1/events?after=%d", after), nil, &out)
}

// History is GET /v1/history, the samples after since (all when zero).
func (c *Client) History(ctx context.Context, since time.Time) (History, error) {
	path := "/v1/history"
	if !since.IsZero() {
		path += "?since=" + url.QueryEscape(since.Format(time.RFC3339Nano))
	}
	var out History
	return out, c.do(ctx, http.MethodGet, path, nil, &out)
}

func timeoutQuery(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return "?timeout=" + url.QueryEscape(d.String())
}

// do sends one request and decodes the JSON answer into out; a non-2xx
// answer is an error carrying the server's {"error": …} text.
func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL again says nothing the path does not
		}
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		var e ErrorBody
		text := string(bytes.TrimSpace(b))
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			text = e.Error
		}
		switch resp.StatusCode {
		case http.StatusGatewayTimeout:
			return fmt.Errorf("%s %s: %w: %s", method, path, ErrNoAnswer, text)
		case http.StatusUnauthorized:
			return fmt.Errorf("%s %s: %w: %s", method, path, ErrUnauthorized, text)
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, text)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
	}
	return nil
}
