package elasticsearch

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"
)

// Every value the sink would misuse or Elasticsearch would reject is an
// error naming its key; before, -1 and [] silently became the defaults and
// a bad index name failed only at the first write.
func TestConfigValidate(t *testing.T) {
	ok := func(c *Config) {}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want string // "" = valid
	}{
		{"zero value (every default)", ok, ""},
		{"full", func(c *Config) {
			c.URLs = []string{"https://es1:9200", "http://[::1]:9200/proxy"}
			c.Index = "logs-zeekanom.notice-site_a"
			c.MinRisk, c.SpoolMaxBytes, c.FlushBytes, c.Workers, c.MaxRetries = 100, 1, 1, 8, 1
			c.FlushInterval, c.WriteTimeout = MinFlushInterval, time.Nanosecond
			c.CertFile, c.KeyFile = "c.pem", "k.pem"
		}, ""},
		{"urls empty list", func(c *Config) { c.URLs = []string{} }, "output.elasticsearch.urls: empty list"},
		{"url empty", func(c *Config) { c.URLs = []string{"http://a:9200", ""} }, `output.elasticsearch.urls: "" is not an http:// or https:// URL`},
		{"url scheme", func(c *Config) { c.URLs = []string{"ftp://es:9200"} }, `output.elasticsearch.urls: "ftp://es:9200" is not an http:// or https:// URL`},
		{"url without scheme", func(c *Config) { c.URLs = []string{"es1:9200"} }, `"es1:9200" is not an http:// or https:// URL`},
		{"url without host", func(c *Config) { c.URLs = []string{"http://:9200"} }, `output.elasticsearch.urls: "http://:9200" names no host`},
		{"url unparsable", func(c *Config) { c.URLs = []string{"http://es 1:9200"} }, `output.elasticsearch.urls: "http://es 1:9200" is not a URL`},
		{"index upper case", func(c *Config) { c.Index = "logs-Zeekanom" }, `output.elasticsearch.index: "logs-Zeekanom" has upper-case letters`},
		{"index space", func(c *Config) { c.Index = "logs zeekanom" }, `output.elasticsearch.index: "logs zeekanom" has a character`},
		{"index colon", func(c *Config) { c.Index = "remote:logs" }, `output.elasticsearch.index: "remote:logs" has a character`},
		{"index underscore", func(c *Config) { c.Index = "_logs" }, `output.elasticsearch.index: "_logs" starts with`},
		{"index .ds-", func(c *Config) { c.Index = ".ds-logs" }, `output.elasticsearch.index: ".ds-logs" starts with`},
		{"index dot", func(c *Config) { c.Index = ".." }, `output.elasticsearch.index: ".." is not a data stream name`},
		{"index long", func(c *Config) { c.Index = strings.Repeat("a", 256) }, "output.elasticsearch.index: 256 bytes is longer than 255"},
		{"min_risk negative", func(c *Config) { c.MinRisk = -1 }, "output.elasticsearch.min_risk: -1 is outside 0..100"},
		{"min_risk above 100", func(c *Config) { c.MinRisk = 101 }, "output.elasticsearch.min_risk: 101 is outside 0..100"},
		{"min_risk NaN", func(c *Config) { c.MinRisk = math.NaN() }, "output.elasticsearch.min_risk: NaN is outside 0..100"},
		{"spool_max_bytes", func(c *Config) { c.SpoolMaxBytes = -1 }, "output.elasticsearch.spool_max_bytes: -1 is negative"},
		{"flush_bytes", func(c *Config) { c.FlushBytes = -1 }, "output.elasticsearch.flush_bytes: -1 is negative"},
		{"flush_bytes at the limit", func(c *Config) { c.FlushBytes = MaxFlushBytes }, ""},
		{"flush_bytes above the limit", func(c *Config) { c.FlushBytes = MaxFlushBytes + 1 }, "output.elasticsearch.flush_bytes: 104857601 is above 104857600 (Elasticsearch's default http.max_content_length"},
		{"workers", func(c *Config) { c.Workers = -1 }, "output.elasticsearch.workers: -1 is negative"},
		{"max_retries", func(c *Config) { c.MaxRetries = -2 }, "output.elasticsearch.max_retries: -2 is negative"},
		{"flush_interval negative", func(c *Config) { c.FlushInterval = -time.Second }, "output.elasticsearch.flush_interval: -1s is below 10ms"},
		{"flush_interval tiny", func(c *Config) { c.FlushInterval = 2 }, "output.elasticsearch.flush_interval: 2ns is below 10ms"},
		{"write_timeout", func(c *Config) { c.WriteTimeout = -time.Second }, "output.elasticsearch.write_timeout: -1s is negative"},
		{"cert without key", func(c *Config) { c.CertFile = "c.pem" }, "output.elasticsearch.cert_file: set without key_file"},
		{"key without cert", func(c *Config) { c.KeyFile = "k.pem" }, "output.elasticsearch.key_file: set without cert_file"},
	} {
		var c Config
		tc.edit(&c)
		err := c.Validate()
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// New and NewClient refuse a bad config instead of replacing the value by
// its default.
func TestNewValidates(t *testing.T) {
	bad := Config{URLs: []string{"http://127.0.0.1:1"}, Workers: -1}
	if _, err := New(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "workers: -1") {
		t.Errorf("New: %v", err)
	}
	if _, err := NewClient(bad, nil); err == nil || !strings.Contains(err.Error(), "workers: -1") {
		t.Errorf("NewClient: %v", err)
	}
}
