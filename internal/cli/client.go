package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/dbfleet/dbfleet/internal/platform/httpx"
)

// client calls the dbfleet API.
type client struct {
	server string
	token  string
	http   *http.Client
}

// apiError is an error answer from the server.
type apiError struct {
	Status  int
	Kind    string
	Message string
	// Rule names the check that refused the request (the query console).
	Rule string
}

func (e *apiError) Error() string {
	if e.Rule != "" {
		return "refused (" + e.Rule + "): " + e.Message
	}
	return e.Message
}

func (c *client) do(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(c.server, "/")+path, body)
	if err != nil {
		return fmt.Errorf("bad server address %q: %w", c.server, err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach dbfleet server at %s: %w", c.server, unwrapURLError(err))
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("read response from %s: %w", c.server, err)
	}
	if resp.StatusCode >= 400 {
		var eb httpx.ErrorBody
		if json.Unmarshal(data, &eb) == nil && eb.Error.Message != "" {
			return &apiError{Status: resp.StatusCode, Kind: eb.Error.Kind, Message: eb.Error.Message, Rule: eb.Error.Rule}
		}
		return &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("server answered %s: %s", resp.Status, strings.TrimSpace(string(data)))}
	}
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("unexpected response from %s: %w", c.server, err)
		}
	}
	return nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// credentials are what `dbfleet login` saves.
type credentials struct {
	Server string    `json:"server"`
	Token  string    `json:"token"`
	User   string    `json:"user"`
	Saved  time.Time `json:"saved"`
}

func credentialsPath() (string, error) {
	if p := os.Getenv("DBFLEET_CREDENTIALS"); p != "" {
		return p, nil
	}
	dir, err := os.UserConfigDir()
	if err != nil {
		return "", fmt.Errorf("find config directory: %w", err)
	}
	return filepath.Join(dir, "dbfleet", "credentials.json"), nil
}

func loadCredentials() (credentials, error) {
	var c credentials
	p, err := credentialsPath()
	if err != nil {
		return c, err
	}
	data, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, fmt.Errorf("read %s: %w", p, err)
	}
	if err := json.Unmarshal(data, &c); err != nil {
		return c, fmt.Errorf("read %s: %w", p, err)
	}
	return c, nil
}

func saveCredentials(c credentials) (string, error) {
	p, err := credentialsPath()
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	data, _ := json.MarshalIndent(c, "", "  ")
	tmp := p + ".tmp"
	if err := os.WriteFile(tmp, append(data, '\n'), 0o600); err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	if err := os.Rename(tmp, p); err != nil {
		return "", fmt.Errorf("save credentials: %w", err)
	}
	return p, nil
}
