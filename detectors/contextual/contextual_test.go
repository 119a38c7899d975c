package contextual

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/zeekanom/zeekanom/detectors"
	"github.com/zeekanom/zeekanom/detectors/window"
	"github.com/zeekanom/zeekanom/output/notice"
)

var monday = time.Date(2024, 3, 4, 0, 0, 0, 0, time.UTC)

// workdays: hosts active 9:00–17:00 on weekdays, 30 connections an hour.
func workdays(hosts []string, days int) []window.Conn {
	var rows []window.Conn
	for d := 0; d < days; d++ {
		day := monday.AddDate(0, 0, d)
		if wd := day.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		for h := 9; h < 17; h++ {
			for _, host := range hosts {
				for i := 0; i < 30; i++ {
					rows = append(rows, window.Conn{TS: day.Add(time.Duration(h)*time.Hour + time.Duration(i)*2*time.Minute),
						Src: host, Dst: fmt.Sprintf("93.184.216.%d", i+1), DPort: 443, OrigBytes: 1000})
				}
			}
		}
	}
	return rows
}

func burst(host string, at time.Time, n int) []window.Conn {
	var rows []window.Conn
	for i := 0; i < n; i++ {
		rows = append(rows, window.Conn{TS: at.Add(time.Duration(i) * 10 * time.Second), Src: host,
			Dst: fmt.Sprintf("198.51.100.%d", i%50+1), DPort: 445, OrigBytes: 5000})
	}
	return rows
}

func run(rows []window.Conn) []*notice.Notice {
	return window.Run(New(DefaultConfig()), window.Shuffle(rows, time.Nanosecond, 1))
}

func TestOffHours(t *testing.T) {
	hosts := []string{"10.0.0.5", "10.0.0.6", "10.0.0.7"}
	base := workdays(hosts, 21)
	wed3am := monday.AddDate(0, 0, 23).Add(3 * time.Hour) // week 4, Wednesday 03:00
	cases := []struct {
		name  string
		extra []window.Conn
		want  string
	}{
		{"only office hours", nil, ""},
		{"3am burst after three weeks", burst("10.0.0.5", wed3am, 200), "10.0.0.5"},
		{"small 3am blip", burst("10.0.0.5", wed3am, 5), ""},
		{"3am on day one: no history", burst("10.0.0.5", monday.Add(3*time.Hour), 300), ""},
		{"new host at 3am, population prior", burst("10.0.0.50", wed3am, 200), "10.0.0.50"},
		{"external host is not profiled", burst("203.0.113.7", wed3am, 200), ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ns := run(append(append([]window.Conn{}, base...), tc.extra...))
			got := ""
			for _, n := range ns {
				got += n.Source.String()
				if n.Rule != notice.RuleOffHours || n.RiskScore < 50 || len(n.UIDs) == 0 {
					t.Errorf("%+v", n)
				}
				t.Log(n.Message, n.RiskScore)
			}
			if got != tc.want {
				t.Fatalf("got %q want %q", got, tc.want)
			}
		})
	}
}

func TestOffHoursDeterminismSnapshot(t *testing.T) {
	rows := window.Shuffle(append(workdays([]string{"10.0.0.5", "10.0.0.6"}, 21), burst("10.0.0.5", monday.AddDate(0, 0, 23).Add(3*time.Hour), 100)...), time.Nanosecond, 1)
	a := window.Canon(window.Run(New(DefaultConfig()), rows))
	if len(a) != 1 || !reflect.DeepEqual(a, window.Canon(window.Run(New(DefaultConfig()), rows))) {
		t.Fatalf("%v", a)
	}
	if sh := window.Canon(window.Run(New(DefaultConfig()), window.Shuffle(rows, 4*time.Minute, 9))); !reflect.DeepEqual(a, sh) {
		t.Errorf("shuffle differs\n%v\n%v", a, sh)
	}
	s, err := window.RunSnapshot(New(DefaultConfig()), New(DefaultConfig()), rows, len(rows)/2)
	if err != nil || !reflect.DeepEqual(a, window.Canon(s)) {
		t.Fatalf("snapshot differs %v", err)
	}
	if sz := reflect.TypeOf(Entry{}).Size(); sz > 2048 {
		t.Fatalf("entry %d bytes", sz)
	}
}

func BenchmarkContextual(b *testing.B) {
	window.Bench(b, func() detectors.Detector { return New(DefaultConfig()) })
}
