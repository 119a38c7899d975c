package window

import (
	"errors"
	"math"
	"testing"
	"time"
)

func TestPortKey(t *testing.T) {
	for _, c := range []struct {
		in   string
		want uint32
		ok   bool
	}{
		{"tcp/443", 6<<16 | 443, true},
		{" UDP/53 ", 17<<16 | 53, true},
		{"icmp/8", 1<<16 | 8, true},
		{"udp/0", 17 << 16, true},
		{"udp/65535", 17<<16 | 65535, true},
		{"udp/65536", 0, false},
		{"tcp/-1", 0, false},
		{"dns/53", 0, false},
		{"53", 0, false},
		{"tcp/", 0, false},
		{"", 0, false},
	} {
		got, err := PortKey(c.in)
		if (err == nil) != c.ok || got != c.want {
			t.Errorf("PortKey(%q) = %d, %v; want %d, ok %v", c.in, got, err, c.want, c.ok)
		}
	}
}

func TestCheckKeepsTheFirstFailure(t *testing.T) {
	var c Check
	if c.Err() != nil {
		t.Fatal("a fresh Check fails")
	}
	c.Duration("lateness", 0, false)
	c.Positive("z", 2)
	c.Within("ratio", 1, 0, 1)
	c.AtLeast("max_hosts", 1, 1)
	c.Networks("internal", []string{"10.0.0.0/8", "192.168.1.1", "fc00::/7"})
	c.Ports("ignore_ports", []string{"udp/53"})
	if err := c.Err(); err != nil {
		t.Fatalf("good values: %v", err)
	}
	c.Positive("threshold", math.Inf(1))
	c.Duration("window", -time.Second, true)
	var ce *ConfigError
	if err := c.Err(); !errors.As(err, &ce) || ce.Key != "threshold" || err.Error() != "threshold: +Inf must be a number above 0" {
		t.Errorf("got %v, want the first failure, threshold", err)
	}
	for _, bad := range []func(*Check){
		func(c *Check) { c.Positive("k", 0) },
		func(c *Check) { c.Positive("k", math.NaN()) },
		func(c *Check) { c.Within("k", math.NaN(), 0, 1) },
		func(c *Check) { c.Within("k", 1.01, 0, 1) },
		func(c *Check) { c.AtLeast("k", 0, 1) },
		func(c *Check) { c.Duration("k", 0, true) },
		func(c *Check) { c.Duration("k", -1, false) },
		func(c *Check) { c.Networks("k", []string{"10.0.0.0/33"}) },
		func(c *Check) { c.Networks("k", []string{"host.example"}) },
		func(c *Check) { c.Ports("k", []string{"tcp/http"}) },
	} {
		var c Check
		bad(&c)
		if !errors.As(c.Err(), &ce) || ce.Key != "k" {
			t.Errorf("bad value passed: %v", c.Err())
		}
	}
}
