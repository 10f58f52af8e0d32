package client

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest key name the service accepts, in bytes of UTF-8 (its message says
// "max 100 chars"; it counts bytes). A refused name still uses up one of the hour's mints.
const MaxNameBytes = 100

var (
	dnsLabel = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$`)
	orgUUID  = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
)

// ValidateOrgID checks an organization's UUID, as a hosted organization's routing guard compares
// it: exactly, in the canonical lower-case form. The value is not echoed: a credential pasted into
// the wrong variable has no telltale format.
func ValidateOrgID(id string) error {
	switch {
	case orgUUID.MatchString(id):
		return nil
	case orgUUID.MatchString(strings.ToLower(id)):
		return errors.New("the organization id must be lower case; write the UUID as the service shows it, " +
			"such as ea3cfcf1-cb9c-53b4-90fd-c53123569c4a (the hosted service compares it exactly)")
	}
	return errors.New("the organization id is not a UUID; set it to the organization's UUID, 36 characters such as " +
		"ea3cfcf1-cb9c-53b4-90fd-c53123569c4a, not its slug or a credential")
}

// ParseEndpoint validates a base URL for the org API. It must be an absolute http(s) URL with a
// host and without query, fragment or user information; plain http is only accepted for a
// loopback host, because the bearer credential travels in every request. A trailing slash is
// dropped so paths can be appended. Errors are sentences meant for the person configuring it.
func ParseEndpoint(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("the endpoint is empty; set it to your organization's base URL, such as https://acme.moleculesai.app")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse errors quote the input, which may hold a password in its user information.
		return nil, errors.New("the endpoint is not a valid URL; set it to your organization's base URL, such as https://acme.moleculesai.app")
	}
	if u.Scheme != "https" && u.Scheme != "http" || u.Opaque != "" {
		return nil, errors.New("the endpoint must be an absolute URL starting with https://, such as https://acme.moleculesai.app " +
			"(http:// is accepted only for a local emulator on 127.0.0.1, ::1 or localhost)")
	}
	if u.User != nil {
		return nil, errors.New("the endpoint must not contain a user name or password; the provider authenticates with its token, so remove the part before \"@\"")
	}
	if u.Hostname() == "" {
		return nil, errors.New("the endpoint has no host name; set it to your organization's base URL, such as https://acme.moleculesai.app")
	}
	if u.RawQuery != "" || u.ForceQuery {
		return nil, fmt.Errorf("the endpoint %s must not contain a query string; remove the part from \"?\"", display(u.Host))
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return nil, fmt.Errorf("the endpoint %s must not contain a fragment; remove the part from \"#\"", display(u.Host))
	}
	if u.Scheme == "http" && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("the endpoint http://%s uses plain http to a host that is not this machine, so the bearer credential would "+
			"cross the network in clear text; use https:// (plain http is accepted only for 127.0.0.1, ::1 or localhost)", display(u.Host))
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = strings.TrimRight(u.RawPath, "/")
	return u, nil
}

// OrgEndpoint returns the base URL of the organization with the given slug. Upper case is
// rejected rather than lowered so that the configuration spells the host it reaches.
func OrgEndpoint(slug string) (string, error) {
	switch {
	case slug == "":
		return "", errors.New("the organization is empty; set it to your organization's slug, the <org> in https://<org>.moleculesai.app")
	case strings.ToLower(slug) != slug && dnsLabel.MatchString(strings.ToLower(slug)):
		// The value is not echoed: a credential pasted into the wrong variable has no telltale format.
		return "", errors.New("the organization must be lower case; write the slug as it appears in https://<org>.moleculesai.app")
	case !dnsLabel.MatchString(slug):
		return "", errors.New("the organization is not a valid DNS label; use 1 to 63 lower-case letters, digits or hyphens, " +
			"starting and ending with a letter or digit (the <org> in https://<org>.moleculesai.app)")
	}
	return "https://" + slug + ".moleculesai.app", nil
}

// ValidateName applies the service's name rules, so a bad name fails at plan time rather than
// with a 400 at apply. The name itself is not echoed: it is free text of any length.
func ValidateName(name string) error {
	if !utf8.ValidString(name) {
		return errors.New("the name is not valid UTF-8 text; retype it")
	}
	if strings.TrimSpace(name) == "" {
		return errors.New("the name must not be empty or only whitespace; give the key a name that says who or what uses it")
	}
	if n := len(name); n > MaxNameBytes {
		return fmt.Errorf("the name is %d bytes long in UTF-8; the service accepts at most %d bytes, so shorten it "+
			"(letters outside ASCII take 2 to 4 bytes each)", n, MaxNameBytes)
	}
	for i, r := range []rune(name) {
		if unicode.IsControl(r) {
			return fmt.Errorf("the name contains a control character (such as a newline or tab) at character %d; remove it", i+1)
		}
	}
	return nil
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// display makes user input safe to echo: someone may paste a key where a URL or slug belongs.
func display(s string) string {
	s = RedactSecrets(s)
	if r := []rune(s); len(r) > 100 {
		s = string(r[:100]) + "…"
	}
	return s
}
