package agents

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/hadcluster/had/config"
)

// maxBody bounds how much of a response the http agent reads looking for
// expect_body; a health page is small, and a string past this is not found.
const maxBody = 1 << 20

// doer sends one HTTP request (an *http.Client).
type doer interface {
	Do(*http.Request) (*http.Response, error)
}

// httpCheck: a GET or HEAD of a URL answers with the expected status and,
// optionally, a body holding the expected string (ldirectord's "request"
// and "receive"). Every check opens a new connection, as a new client
// would: a server that stopped accepting must fail even if an old
// connection still works. Redirects are not followed (expect the 3xx
// status if that is the answer) and proxy variables are ignored.
type httpCheck struct {
	method, url string
	status      int
	body        []byte
	client      doer
}

func newHTTP(a config.Agent) *httpCheck {
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            (&net.Dialer{}).DialContext,
		DisableKeepAlives:      true,
		TLSClientConfig:        &tls.Config{InsecureSkipVerify: a.TLSSkipVerify}, // the operator's choice, off by default
		MaxResponseHeaderBytes: 64 << 10,
	}
	client := &http.Client{
		Transport:     tr,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return &httpCheck{method: a.Method, url: a.URL, status: a.ExpectStatus, body: []byte(a.ExpectBody), client: client}
}

func (c *httpCheck) Check(ctx context.Context) Result {
	req, err := http.NewRequestWithContext(ctx, c.method, c.url, nil)
	if err != nil {
		return errorf("%s %s: %v", c.method, c.url, err)
	}
	req.Header.Set("User-Agent", "had-agent")
	start := time.Now()
	resp, err := c.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // it repeats the method and URL
		}
		return errorf("%s %s: %v", c.method, c.url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != c.status {
		return errorf("%s %s: status %d, want %d", c.method, c.url, resp.StatusCode, c.status)
	}
	if len(c.body) > 0 {
		b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		if err != nil {
			return errorf("%s %s: read body: %v", c.method, c.url, err)
		}
		if !bytes.Contains(b, c.body) {
			return errorf("%s %s: body lacks %q", c.method, c.url, c.body)
		}
	}
	return okf("%s %s: %d in %s", c.method, c.url, resp.StatusCode, time.Since(start).Round(10*time.Microsecond))
}
