package alerts

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// smsCommand sends a text message through the user's command
// (alerts.sms.command, /bin/sh -c): the HAD_ALERT_* environment of the
// alert command, and the message, at most 160 characters, on stdin.
type smsCommand struct{ script string }

func newSMSCommand(script string) *smsCommand { return &smsCommand{script: script} }

func (*smsCommand) name() string { return "sms" }

func (c *smsCommand) deliver(ctx context.Context, a alert) error {
	return runShell(ctx, c.script, a.env(), a.short()+"\n")
}

// smsURL POSTs the message as JSON to an SMS gateway (alerts.sms.url):
// {"node","level","kind","time","text","message"}, message being the
// alert cut to 160 characters. Any 2xx is success; a redirect is not
// followed (a POST turned into a GET would "succeed" without sending).
type smsURL struct {
	url    string
	client *http.Client
}

// smsJSON is the body posted to the gateway.
type smsJSON struct {
	Node    string `json:"node"`
	Level   string `json:"level"`
	Kind    string `json:"kind"`
	Time    string `json:"time"`
	Text    string `json:"text"`
	Message string `json:"message"`
}

func newSMSURL(url string) *smsURL {
	return &smsURL{url: url, client: &http.Client{
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (*smsURL) name() string { return "sms" }

func (c *smsURL) deliver(ctx context.Context, a alert) error {
	body, err := json.Marshal(smsJSON{
		Node: a.Node, Level: a.Level, Kind: a.Kind, Time: stamp(a.Time), Text: a.Text, Message: a.short(),
	})
	if err != nil {
		return fmt.Errorf("encode sms: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("make sms request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return fmt.Errorf("post sms: %w", err)
	}
	defer resp.Body.Close()
	reply, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("post sms: %w", &statusError{Code: resp.StatusCode, Body: firstLine(reply)})
	}
	return nil
}

// statusError is a gateway's answer other than 2xx.
type statusError struct {
	Code int
	Body string // its first line
}

func (e *statusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("status %d", e.Code)
	}
	return fmt.Sprintf("status %d: %s", e.Code, e.Body)
}
