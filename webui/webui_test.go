package webui

import (
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestHandler(t *testing.T) {
	h := Handler()
	for _, tc := range []struct {
		method, path string
		code         int
		ctype        string
		has          string
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", `id="pair"`},
		{"GET", "/app.js", 200, "text/javascript; charset=utf-8", "'/v1/'"},
		{"GET", "/plot.js", 200, "text/javascript; charset=utf-8", "export function chart"},
		{"GET", "/style.css", 200, "text/css; charset=utf-8", ":root"},
		{"GET", "/favicon.svg", 200, "image/svg+xml", "<svg"},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/index.html", 404, "", ""},
		{"GET", "/static/app.js", 404, "", ""},
		{"GET", "/v1/status", 404, "", ""},
		{"POST", "/", 405, "", ""},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.code {
			t.Errorf("%s %s: got %d, want %d", tc.method, tc.path, rec.Code, tc.code)
			continue
		}
		if tc.code != 200 {
			continue
		}
		if got := rec.Header().Get("Content-Type"); got != tc.ctype {
			t.Errorf("%s %s: got Content-Type %q, want %q", tc.method, tc.path, got, tc.ctype)
		}
		if got := rec.Header().Get("Content-Security-Policy"); !strings.Contains(got, "default-src 'none'") || !strings.Contains(got, "frame-ancestors 'none'") {
			t.Errorf("%s %s: got CSP %q, want default-src and frame-ancestors 'none'", tc.method, tc.path, got)
		}
		if !strings.Contains(rec.Body.String(), tc.has) {
			t.Errorf("%s %s: got a body without %q", tc.method, tc.path, tc.has)
		}
		if tc.method == "HEAD" && rec.Body.Len() != 0 {
			t.Errorf("HEAD %s: got %d body bytes, want 0", tc.path, rec.Body.Len())
		}
	}
}

func TestETag(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/app.js", nil))
	etag := rec.Header().Get("ETag")
	if etag == "" {
		t.Fatal("got no ETag")
	}
	req := httptest.NewRequest("GET", "/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
		t.Errorf("got %d with %d bytes, want 304 and no body", rec.Code, rec.Body.Len())
	}
}

// TestSelfContained checks that the page pulls nothing from elsewhere: the
// nodes have no internet.
func TestSelfContained(t *testing.T) {
	external := regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+\.[a-z]{2,}|@import|\bimportScripts\b`)
	for name, a := range assets {
		// An XML namespace is a name, not a fetch.
		body := strings.ReplaceAll(string(a.body), `xmlns="http://www.w3.org/2000/svg"`, "")
		for _, m := range external.FindAllString(body, -1) {
			t.Errorf("%s: got a reference to %q, want none outside this server", name, m)
		}
	}
	total := 0
	for _, a := range assets {
		total += len(a.body)
	}
	t.Logf("page weight: %d bytes in %d files", total, len(assets))
	if total > 64<<10 {
		t.Errorf("got %d bytes, want the page under 64 KiB", total)
	}
}
