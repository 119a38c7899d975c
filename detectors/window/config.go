package window

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// ConfigError is a bad value in a detector's config section. Key is the key
// within the section ("window"), so that the command can name
// detectors.<name>.<key> and its line.
type ConfigError struct {
	Key string
	Msg string
}

func (e *ConfigError) Error() string { return e.Key + ": " + e.Msg }

// Check keeps the first bad value of a config section; each detector's
// Config.Validate runs its keys through one. Err returns a *ConfigError.
type Check struct{ err *ConfigError }

// Err is the first failed check, or nil.
func (c *Check) Err() error {
	if c.err == nil {
		return nil
	}
	return c.err
}

// Fail records a bad value of key (the first one is kept).
func (c *Check) Fail(key, format string, args ...any) {
	if c.err == nil {
		c.err = &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)}
	}
}

// Within requires lo <= v <= hi (and v a number: not NaN).
func (c *Check) Within(key string, v, lo, hi float64) {
	if !(v >= lo && v <= hi) {
		c.Fail(key, "%g is outside %g..%g", v, lo, hi)
	}
}

// Positive requires a finite v > 0 (a threshold something is divided by).
func (c *Check) Positive(key string, v float64) {
	if !(v > 0) || math.IsInf(v, 0) {
		c.Fail(key, "%g must be a number above 0", v)
	}
}

// AtLeast requires v >= min (counts and table sizes).
func (c *Check) AtLeast(key string, v, min int) {
	if v < min {
		c.Fail(key, "%d is below %d", v, min)
	}
}

// Duration requires d > 0 (positive) or d >= 0.
func (c *Check) Duration(key string, d time.Duration, positive bool) {
	switch {
	case positive && d <= 0:
		c.Fail(key, "%s must be above 0", d)
	case d < 0:
		c.Fail(key, "%s is negative", d)
	}
}

// Networks requires every entry to be a CIDR or an address.
func (c *Check) Networks(key string, list []string) {
	for _, s := range list {
		if _, err := ParseNetworks([]string{s}); err != nil {
			c.Fail(key, "%q is not a CIDR or an address", s)
		}
	}
}

// Ports requires every entry to be "proto/port" (see PortKey).
func (c *Check) Ports(key string, list []string) {
	for _, s := range list {
		if _, err := PortKey(s); err != nil {
			c.Fail(key, "%v", err)
		}
	}
}

// PortKey parses "proto/port" (tcp/443, udp/53, icmp/8) into the key of
// the detectors' ignore_ports sets: the protocol number << 16 | the port.
func PortKey(s string) (uint32, error) {
	pr, po, ok := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "/")
	n, err := strconv.Atoi(po)
	p := ProtoNum([]byte(pr))
	if !ok || err != nil || n < 0 || n > 65535 || p == 0 {
		return 0, fmt.Errorf("%q is not tcp/, udp/ or icmp/ and a port (0-65535)", s)
	}
	return uint32(p)<<16 | uint32(n), nil
}
