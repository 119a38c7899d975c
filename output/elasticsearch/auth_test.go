package elasticsearch

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Every way the README gives to authenticate reaches the cluster as the
// Authorization header of each request (the template's GET and PUT, the
// bulk): username with password, password_file or $ZEEKANOM_ES_PASSWORD;
// api_key, api_key_file or $ZEEKANOM_ES_API_KEY ("APIKey <encoded>": the
// client's spelling, and the scheme is case-insensitive);
// bearer_token or bearer_token_file; and a value in the file wins over
// its *_file, which wins over the environment.
func TestAuthHeaderOfEachDocumentedOption(t *testing.T) {
	dir := t.TempDir()
	secret := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	for _, c := range []struct {
		name string
		cfg  Config
		env  map[string]string
		want string
	}{
		{"password", Config{Username: "zeekanom", Password: "pw"}, nil, basic("zeekanom", "pw")},
		{"password_file", Config{Username: "zeekanom", PasswordFile: secret("pw", "from-file")}, nil, basic("zeekanom", "from-file")},
		{"password env", Config{Username: "zeekanom"}, map[string]string{EnvPassword: "from-env"}, basic("zeekanom", "from-env")},
		{"password over its file", Config{Username: "zeekanom", Password: "pw", PasswordFile: secret("pw2", "x")}, nil, basic("zeekanom", "pw")},
		{"password_file over env", Config{Username: "zeekanom", PasswordFile: secret("pw3", "f")}, map[string]string{EnvPassword: "e"}, basic("zeekanom", "f")},
		{"api_key", Config{APIKey: "aWQ6a2V5"}, nil, "APIKey aWQ6a2V5"},
		{"api_key_file", Config{APIKeyFile: secret("key", "aWQ6ZmlsZQ==")}, nil, "APIKey aWQ6ZmlsZQ=="},
		{"api_key env", Config{}, map[string]string{EnvAPIKey: "aWQ6ZW52"}, "APIKey aWQ6ZW52"},
		{"bearer_token", Config{BearerToken: "tok"}, nil, "Bearer tok"},
		{"bearer_token_file", Config{BearerTokenFile: secret("tok", "tok-file")}, nil, "Bearer tok-file"},
		{"none", Config{}, nil, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range c.env {
				t.Setenv(k, v)
			}
			var mu sync.Mutex
			seen := map[string]string{} // "METHOD path" -> Authorization
			url := frontProxy(t, newMock(t, &mockES{}), func(r *http.Request, _ []byte) (int, string) {
				mu.Lock()
				seen[r.Method+" "+r.URL.Path] = r.Header.Get("Authorization")
				mu.Unlock()
				return 0, "" // forwarded
			})
			cfg := c.cfg
			cfg.URLs, cfg.Index, cfg.FlushInterval = []string{url}, "logs-zeekanom.notice-auth", time.Hour
			s, _ := newLoggedSink(t, cfg, WithTemplate())
			writeAll(t, s, makeNotices(2, 5))
			if st := s.Stats(); st.Indexed != 2 {
				t.Fatalf("stats %+v", st)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, req := range []string{"GET /_index_template/" + TemplateName, "PUT /_index_template/" + TemplateName, "POST /_bulk"} {
				got, ok := seen[req]
				if !ok {
					t.Errorf("no %s among %v", req, seen)
				} else if got != c.want {
					t.Errorf("%s: Authorization %q, want %q", req, got, c.want)
				}
			}
		})
	}
}
