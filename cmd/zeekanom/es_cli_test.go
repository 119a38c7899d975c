package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// esURL is the test node started by scripts/test (ZEEKANOM_ES_URL). Missing
// in CI is a failure, not a skip; developers may run -short.
func esURL(t *testing.T) string {
	u := os.Getenv("ZEEKANOM_ES_URL")
	switch {
	case u != "":
		return strings.TrimRight(u, "/")
	case testing.Short():
		t.Skip("-short: no Elasticsearch node")
	case os.Getenv("CI") != "":
		t.Fatal("ZEEKANOM_ES_URL is not set: scripts/test starts the node")
	default:
		t.Skip("ZEEKANOM_ES_URL not set (scripts/test starts a node)")
	}
	return ""
}

func esGet(t *testing.T, method, url string) string {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}

// `score` with an [output.elasticsearch] section indexes the demo's
// notices into the real node; scoring again adds no duplicates.
func TestScoreIntoElasticsearch(t *testing.T) {
	base := esURL(t)
	index := "logs-zeekanom.notice-clitest"
	esGet(t, "DELETE", base+"/_data_stream/"+index)
	cfg := filepath.Join(t.TempDir(), "zeekanom.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[output.elasticsearch]\nurls = [%q]\nindex = %q\n", base, index)), 0o644)
	demo := filepath.Join("..", "..", "testdata", "demo")
	for run := 0; run < 2; run++ {
		if code, _, errs := runCLI(t, "score", "-q", "-c", cfg, demo); code != 0 {
			t.Fatalf("run %d: exit %d: %s", run, code, errs)
		}
	}
	esGet(t, "POST", base+"/"+index+"/_refresh")
	count := esGet(t, "GET", base+"/"+index+"/_count?q=rule.name:scan.horizontal%20AND%20source.ip:%2210.12.15.0/24%22")
	if !strings.Contains(count, `"count":1,`) {
		t.Errorf("want exactly one scan.horizontal notice for 10.12.15.0/24 after two runs, got %s", count)
	}
}
