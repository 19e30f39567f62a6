// Package webui is had's web console: one page, its script and its style,
// embedded in the binary. The page asks for the admin token once, then reads
// the console API (docs/console-api.md) every second and shows both nodes,
// the pair state, heartbeat paths, agents, resources, transitions and plots
// of latency and performance, with takeover, standby and recover buttons.
//
// Everything is served from here: the nodes have no internet, so the page
// uses no CDN, web font or library. The admin server mounts Handler on its
// TCP listener; the page loads without the token, and only the API needs it.
package webui

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed static
var static embed.FS

// asset is one embedded file, ready to serve.
type asset struct {
	body  []byte
	ctype string
	etag  string
}

// assets maps a URL path to its file; "/" is the page.
var assets = load()

var types = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".svg":  "image/svg+xml",
}

func load() map[string]asset {
	m := map[string]asset{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		name := "/" + strings.TrimPrefix(p, "static/")
		if name == "/index.html" {
			name = "/"
		}
		m[name] = asset{body: b, ctype: types[path.Ext(p)], etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		panic("webui: read embedded files: " + err.Error()) // the build embeds them; cannot happen
	}
	return m
}

// csp allows only this origin: the page's own script and style, and fetches
// to the API. frame-ancestors keeps the takeover button out of other sites'
// frames (clickjacking).
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
	"form-action 'none'; frame-ancestors 'none'; base-uri 'none'"

// Handler serves the page at "/" and its assets (app.js, plot.js, style.css,
// favicon.svg) next to it; any other path is 404. It needs no token. The
// page's links are relative, so it also works behind http.StripPrefix; it
// calls the API at the absolute path /v1/.
func Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := assets[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.ctype)
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		// Revalidate every time: an upgraded node must not run a stale
		// script against a newer API. The ETag makes that a 304.
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", a.etag)
		if r.Header.Get("If-None-Match") == a.etag {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		if r.Method == http.MethodHead {
			return
		}
		_, _ = w.Write(a.body)
	})
}
