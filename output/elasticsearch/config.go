// Package elasticsearch indexes notices into Elasticsearch: a composable
// index template and data stream (logs-zeekanom.notice-default), a bulk sink
// with idempotent ids, per-item error accounting, retries with backoff and a
// bounded on-disk spool for outages, and Kibana saved objects.
package elasticsearch

import (
	"errors"
	"fmt"
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

	// MinRisk drops notices whose event.risk_score is lower (0 keeps all).
	MinRisk float64 `toml:"min_risk"`

	// SpoolDir holds notices while the cluster is unreachable; "" disables
	// the spool (notices that cannot be indexed are then counted as failed).
	SpoolDir      string `toml:"spool_dir"`
	SpoolMaxBytes int64  `toml:"spool_max_bytes"`

	FlushInterval time.Duration `toml:"flush_interval"`
	FlushBytes    int           `toml:"flush_bytes"`
	Workers       int           `toml:"workers"`
	MaxRetries    int           `toml:"max_retries"`
	// WriteTimeout bounds how long Write waits for room in the bulk queue
	// before it spools the notice instead.
	WriteTimeout time.Duration `toml:"write_timeout"`
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
// value in the config, then the file, then the environment.
func (c *Config) ResolveSecrets() error {
	read := func(dst *string, file, env string) error {
		if *dst != "" {
			return nil
		}
		if file != "" {
			b, err := os.ReadFile(file)
			if err != nil {
				return fmt.Errorf("elasticsearch: reading secret: %w", err)
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
		read(&c.Password, c.PasswordFile, EnvPassword),
		read(&c.APIKey, c.APIKeyFile, EnvAPIKey),
		read(&c.BearerToken, c.BearerTokenFile, ""),
	)
}
