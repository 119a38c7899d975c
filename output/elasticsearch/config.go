// Package elasticsearch indexes notices into Elasticsearch: a composable
// index template and data stream (logs-zeekanom.notice-default), a bulk sink
// with idempotent ids, per-item error accounting, retries with backoff and a
// bounded on-disk spool for outages, and Kibana saved objects.
package elasticsearch

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Defaults.
const (
	DefaultIndex         = "logs-zeekanom.notice-default"
	DefaultSpoolMaxBytes = 256 << 20
	DefaultFlushInterval = 2 * time.Second
	DefaultWorkers       = 2
	DefaultMaxRetries    = 5
	DefaultWriteTimeout  = 5 * time.Second
	DefaultFlushBytes    = 2 << 20

	TemplateName = "zeekanom-notice"
	// IndexPattern is what the template and the Kibana data view match.
	IndexPattern = "logs-zeekanom.notice-*"

	// Environment variables that may carry the secrets.
	EnvPassword = "ZEEKANOM_ES_PASSWORD"
	EnvAPIKey   = "ZEEKANOM_ES_API_KEY"
)

// Config is the [output.elasticsearch] section of the config file. Secrets
// come from the file, from *_file keys, or from ZEEKANOM_ES_PASSWORD /
// ZEEKANOM_ES_API_KEY; never from the command line.
type Config struct {
	URLs         []string `toml:"urls"`
	Username     string   `toml:"username"`
	Password     string   `toml:"password"`
	PasswordFile string   `toml:"password_file"`
	// APIKey is the base64 "id:key" form Elasticsearch returns as "encoded".
	APIKey          string `toml:"api_key"`
	APIKeyFile      string `toml:"api_key_file"`
	BearerToken     string `toml:"bearer_token"`
	BearerTokenFile string `toml:"bearer_token_file"`

	CAFile             string `toml:"ca_file"`
	CertFile           string `toml:"cert_file"`
	KeyFile            string `toml:"key_file"`
	InsecureSkipVerify bool   `toml:"insecure_skip_verify"`

	// Index is the data stream (or, on nodes without data streams, the alias)
	// notices are written to.
	Index string `toml:"index"`

	// ManageTemplate (default true): score and run install the index
	// template when they start (Setup). false leaves it to an
	// administrator's 'zeekanom setup elasticsearch', for a sensor role
	// that may only write documents.
	ManageTemplate *bool `toml:"manage_template"`

	// MinRisk drops notices whose event.risk_score is lower (0 keeps all).
	MinRisk float64 `toml:"min_risk"`

	// Observer is the sensor's name in each notice's observer.name ("":
	// its host name, which observer.hostname always carries), for the
	// analyst to tell sensors apart that share a cluster.
	Observer string `toml:"observer"`

	// SpoolDir holds notices while the cluster is unreachable; "" disables
	// the spool (notices that cannot be indexed are then dropped, counted
	// in Dropped).
	SpoolDir      string `toml:"spool_dir"`
	SpoolMaxBytes int64  `toml:"spool_max_bytes"`

	FlushInterval time.Duration `toml:"flush_interval"`
	FlushBytes    int           `toml:"flush_bytes"`
	Workers       int           `toml:"workers"`
	// MaxRetries is how often a request is sent again (429, 5xx, network
	// errors), and the notices refused on their own with 429 or 5xx
	// inside a bulk answer that went through (retryItems).
	MaxRetries int `toml:"max_retries"`
	// WriteTimeout bounds how long Write waits for room in the bulk queue
	// before it spools the notice instead (drops it without a spool). With
	// WithBackpressure (score), 0 (the default) means: wait while the
	// cluster answers, write_timeout's default in an outage.
	WriteTimeout time.Duration `toml:"write_timeout"`
}

// MaxFlushBytes is the largest flush_bytes accepted: Elasticsearch's
// default http.max_content_length (100mb). A bulk request holds at most
// flush_bytes (a single larger notice goes alone); a larger one would be
// refused with 413 every time.
const MaxFlushBytes = 100 << 20

// MinFlushInterval is the shortest flush_interval accepted: below it the
// bulk indexer would flush nearly empty requests in a busy loop.
const MinFlushInterval = 10 * time.Millisecond

// Validate reports the first bad setting as "output.elasticsearch.<key>:
// message". A number or duration left at 0 takes its default (see
// withDefaults); a negative one is an error rather than silently the
// default.
func (c Config) Validate() error {
	const p = "output.elasticsearch."
	if c.URLs != nil && len(c.URLs) == 0 {
		// urls = [] in the file (an absent key is nil: the default node)
		return errors.New(p + "urls: empty list (leave the key out for http://127.0.0.1:9200)")
	}
	for _, u := range c.URLs {
		if err := CheckURL(u); err != nil {
			return fmt.Errorf(p+"urls: %w", err)
		}
	}
	if c.Index != "" {
		if err := CheckIndex(c.Index); err != nil {
			return fmt.Errorf(p+"index: %w", err)
		}
	}
	if !(c.MinRisk >= 0 && c.MinRisk <= 100) {
		return fmt.Errorf(p+"min_risk: %g is outside 0..100", c.MinRisk)
	}
	for _, n := range []struct {
		key string
		v   int64
	}{
		{"spool_max_bytes", c.SpoolMaxBytes},
		{"flush_bytes", int64(c.FlushBytes)},
		{"workers", int64(c.Workers)},
		{"max_retries", int64(c.MaxRetries)},
	} {
		if n.v < 0 {
			return fmt.Errorf(p+"%s: %d is negative", n.key, n.v)
		}
	}
	if c.FlushBytes > MaxFlushBytes {
		return fmt.Errorf(p+"flush_bytes: %d is above %d (Elasticsearch's default http.max_content_length, 100mb: it refuses larger bulk requests)", c.FlushBytes, MaxFlushBytes)
	}
	if c.FlushInterval < 0 || (c.FlushInterval > 0 && c.FlushInterval < MinFlushInterval) {
		return fmt.Errorf(p+"flush_interval: %s is below %s", c.FlushInterval, MinFlushInterval)
	}
	if c.WriteTimeout < 0 {
		return fmt.Errorf(p+"write_timeout: %s is negative", c.WriteTimeout)
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		if c.CertFile == "" {
			return errors.New(p + "key_file: set without cert_file (a client certificate needs both)")
		}
		return errors.New(p + "cert_file: set without key_file (a client certificate needs both)")
	}
	return nil
}

// CheckURL accepts an http or https URL naming a host: what the client
// can send requests to.
func CheckURL(s string) error {
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Errorf("%q is not a URL", s)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	if u.Host == "" || u.Hostname() == "" {
		return fmt.Errorf("%q names no host", s)
	}
	return nil
}

// CheckIndex accepts a name Elasticsearch takes for a data stream:
// lowercase, at most 255 bytes, none of \ / * ? " < > | , # : or a
// space, not starting with - _ + or .ds-, not "." or "..".
func CheckIndex(s string) error {
	switch {
	case s == "":
		return errors.New("empty")
	case s == "." || s == "..":
		return fmt.Errorf("%q is not a data stream name", s)
	case len(s) > 255:
		return fmt.Errorf("%d bytes is longer than 255", len(s))
	case s != strings.ToLower(s):
		return fmt.Errorf("%q has upper-case letters (Elasticsearch takes lower case only)", s)
	case strings.ContainsAny(s, `\/*?"<>|,#: `):
		return fmt.Errorf("%q has a character Elasticsearch rejects (\\ / * ? \" < > | , # : or a space)", s)
	case strings.HasPrefix(s, "-") || strings.HasPrefix(s, "_") || strings.HasPrefix(s, "+") || strings.HasPrefix(s, ".ds-"):
		return fmt.Errorf("%q starts with - _ + or .ds- (Elasticsearch rejects it)", s)
	}
	return nil
}

func (c *Config) withDefaults() Config {
	d := *c
	if len(d.URLs) == 0 {
		d.URLs = []string{"http://127.0.0.1:9200"}
	}
	if d.Index == "" {
		d.Index = DefaultIndex
	}
	if d.SpoolMaxBytes <= 0 {
		d.SpoolMaxBytes = DefaultSpoolMaxBytes
	}
	if d.FlushInterval <= 0 {
		d.FlushInterval = DefaultFlushInterval
	}
	if d.FlushBytes <= 0 {
		d.FlushBytes = DefaultFlushBytes
	}
	if d.Workers <= 0 {
		d.Workers = DefaultWorkers
	}
	if d.MaxRetries <= 0 {
		d.MaxRetries = DefaultMaxRetries
	}
	if d.WriteTimeout <= 0 {
		d.WriteTimeout = DefaultWriteTimeout
	}
	return d
}

// ResolveSecrets fills Password, APIKey and BearerToken from their *_file
// keys and from the environment, in that order of precedence: an explicit
// value in the config, then the file, then the environment. A file that
// cannot be read is reported as Validate reports a bad setting
// ("output.elasticsearch.password_file: ..."), so that config check names
// the key and its line.
func (c *Config) ResolveSecrets() error {
	read := func(dst *string, file, key, env string) error {
		if *dst != "" {
			return nil
		}
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("output.elasticsearch.%s: reading secret: %w", key, err)
			}
			*dst = strings.TrimSpace(string(b))
			return nil
		}
		if env != "" {
			*dst = os.Getenv(env)
		}
		return nil
	}
	return errors.Join(
		read(&c.Password, c.PasswordFile, "password_file", EnvPassword),
		read(&c.APIKey, c.APIKeyFile, "api_key_file", EnvAPIKey),
		read(&c.BearerToken, c.BearerTokenFile, "bearer_token_file", ""),
	)
}

// ManagesTemplate is ManageTemplate with its default (true).
func (c Config) ManagesTemplate() bool { return c.ManageTemplate == nil || *c.ManageTemplate }
