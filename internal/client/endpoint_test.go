package client

import (
	"strings"
	"testing"
)

func TestParseEndpoint(t *testing.T) {
	t.Parallel()
	ok := map[string]string{
		"http://127.0.0.1:8080":            "http://127.0.0.1:8080",
		"http://127.9.8.7":                 "http://127.9.8.7",
		"http://[::1]:9":                   "http://[::1]:9",
		"http://localhost":                 "http://localhost",
		"http://LocalHost:1/":              "http://LocalHost:1",
		"https://acme.moleculesai.app/":    "https://acme.moleculesai.app",
		"https://proxy.example/molecule//": "https://proxy.example/molecule",
		"  https://acme.moleculesai.app\n": "https://acme.moleculesai.app",
	}
	for raw, want := range ok {
		u, err := ParseEndpoint(raw)
		if err != nil {
			t.Errorf("ParseEndpoint(%q): %v", raw, err)
			continue
		}
		if u.String() != want {
			t.Errorf("ParseEndpoint(%q) = %q, want %q", raw, u, want)
		}
	}

	bad := map[string]string{
		"":                            "empty",
		"ftp://x":                     "https://",
		"acme.moleculesai.app":        "https://",
		"localhost:8080":              "https://",
		"https://":                    "host",
		"https://x?y=1":               "query",
		"https://x?":                  "query",
		"https://x#f":                 "fragment",
		"https://x#":                  "fragment",
		"https://user:pw@x":           "user name or password",
		"http://acme.example.invalid": "clear text",
		"http://10.0.0.1":             "clear text",
		"http://[::1":                 "not a valid URL",
	}
	for raw, want := range bad {
		_, err := ParseEndpoint(raw)
		if err == nil {
			t.Errorf("ParseEndpoint(%q) succeeded, want an error mentioning %q", raw, want)
			continue
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("ParseEndpoint(%q) = %q, want it to mention %q", raw, err, want)
		}
	}

	_, err := ParseEndpoint("https://user:s3cret-pw@x y")
	if err == nil || strings.Contains(err.Error(), "s3cret-pw") {
		t.Errorf("an unparseable endpoint's error must not echo its password: %v", err)
	}
	_, err = ParseEndpoint("https://mola_abcdefghij0123456789abcdef/?q")
	if err == nil || strings.Contains(err.Error(), "mola_abcdefghij") {
		t.Errorf("an endpoint's error must not echo a key: %v", err)
	}
}

func TestOrgEndpoint(t *testing.T) {
	t.Parallel()
	for slug, want := range map[string]string{
		"acme":                  "https://acme.moleculesai.app",
		"a":                     "https://a.moleculesai.app",
		"acme-2":                "https://acme-2.moleculesai.app",
		strings.Repeat("a", 63): "https://" + strings.Repeat("a", 63) + ".moleculesai.app",
	} {
		got, err := OrgEndpoint(slug)
		if err != nil || got != want {
			t.Errorf("OrgEndpoint(%q) = %q, %v; want %q", slug, got, err, want)
		}
	}
	for slug, want := range map[string]string{
		"":                                "empty",
		"Acme":                            "lower case",
		"-acme":                           "DNS label",
		"acme-":                           "DNS label",
		"ac_me":                           "DNS label",
		"acme.evil":                       "DNS label",
		strings.Repeat("a", 64):           "DNS label",
		"mola_abcdefghij0123456789abcdef": "DNS label",
	} {
		_, err := OrgEndpoint(slug)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("OrgEndpoint(%q) = %v, want an error mentioning %q", slug, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "mola_abcdefghij") {
			t.Errorf("OrgEndpoint error echoes a key: %v", err)
		}
	}
}

func TestValidateName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"ci", "claude-agent-prod", " padded ", "名前",
		strings.Repeat("x", MaxNameBytes), strings.Repeat("é", MaxNameBytes/2), strings.Repeat("名", MaxNameBytes/3)} {
		if err := ValidateName(name); err != nil {
			t.Errorf("ValidateName(%q): %v", name, err)
		}
	}
	for name, want := range map[string]string{
		"":                                    "empty",
		"   ":                                 "empty",
		"\t\n":                                "empty",
		strings.Repeat("x", MaxNameBytes+1):   "at most 100 bytes",
		strings.Repeat("é", MaxNameBytes/2+1): "at most 100 bytes",
		strings.Repeat("名", MaxNameBytes/3+1): "at most 100 bytes",
		"line\nbreak":                         "control character",
		"nul\x00":                             "control character",
		"bad\xffutf8":                         "UTF-8",
	} {
		err := ValidateName(name)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateName(%q) = %v, want an error mentioning %q", name, err, want)
		}
		if len(name) > 20 && err != nil && strings.Contains(err.Error(), name[:20]) {
			t.Errorf("the error echoes the name: %v", err)
		}
	}
}
