package provider

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/terraform-plugin-framework/diag"
	"github.com/hashicorp/terraform-plugin-framework/types"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// These tests exercise the action's selection, order and report as data: no emulator, no HTTP.
// revoke_org_api_keys_action_test.go runs the whole action against an emulator.

var planNow = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)

// listed is a key as the deployed service lists it; minutes orders keys by created_at.
func listedKey(id, name, prefix, createdBy string, minutes int) client.Token {
	return client.Token{ID: id, Name: name, Prefix: prefix, CreatedBy: createdBy, CreatedAt: planNow.Add(time.Duration(minutes) * time.Minute)}
}

func testKeyList(incomplete string, tokens ...client.Token) keyList {
	byID := map[string]client.Token{}
	for _, t := range tokens {
		byID[t.ID] = t
	}
	return keyList{tokens: tokens, incomplete: incomplete, lookup: func(id string) (client.Token, bool) {
		t, ok := byID[id]
		return t, ok
	}}
}

// testNamer names keys as the action does, with nothing to redact.
func testNamer(incomplete bool) keyNamer {
	return keyNamer{incomplete: incomplete, now: func() time.Time { return planNow },
		sanitize: func(s string) string { return s }, echoID: echo}
}

// picked is what a test expects of one selected key: "id: reason".
func picked(sel *selection) []string {
	var out []string
	for _, c := range sel.order {
		out = append(out, c.token.ID+": "+c.reason)
	}
	return out
}

func candidateIDs(cands []*revokeCandidate) []string {
	var out []string
	for _, c := range cands {
		out = append(out, c.token.ID)
	}
	return out
}

func mustFilter(t *testing.T, namePrefix string) *keyFilter {
	t.Helper()
	f, err := newKeyFilter(types.StringValue(namePrefix), types.StringNull(), types.StringNull(), types.BoolNull(), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return &f
}

// The incident tree of the acceptance tests, as a list: a → {b, c}, b → d; x → y is a bystander.
var (
	keyA = listedKey("id-a", "a", "PrefAAAA", "admin-token", 1)
	keyB = listedKey("id-b", "b", "PrefBBBB", "org-token:PrefAAAA", 3)
	keyC = listedKey("id-c", "c", "PrefCCCC", "org-token:PrefAAAA", 2)
	keyD = listedKey("id-d", "d", "PrefDDDD", "org-token:PrefBBBB", 4)
	keyX = listedKey("id-x", "x", "PrefXXXX", "admin-token", 5)
	keyY = listedKey("id-y", "y", "PrefYYYY", "org-token:PrefXXXX", 6)
)

func TestSelectKeys(t *testing.T) {
	t.Parallel()
	tree := testKeyList("", keyA, keyB, keyC, keyD, keyX, keyY)
	guideShape := testKeyList("", client.Token{ID: "id-g", Name: "g", CreatedAt: planNow}, listedKey("id-h", "h", "", "", 1))
	const (
		byID   = "selected by explicit id"
		aName  = `key id-a ("a", prefix PrefAAAA)`
		bName  = `key id-b ("b", prefix PrefBBBB)`
		secret = "PrefXXXX-the-rest-of-a-plaintext"
	)
	for _, tc := range []struct {
		name       string
		list       keyList
		cfg        revokeConfig
		want       []string // "id: reason", in selection order
		unfollowed []string
		ambiguous  []string
	}{
		{
			name: "explicit ids, sorted; an unlisted one is kept as given",
			list: tree,
			cfg:  revokeConfig{ids: []string{"id-x", "zz-unknown", "id-b"}},
			want: []string{"id-b: " + byID, "id-x: " + byID, "zz-unknown: " + byID},
		},
		{
			name: "filter matches follow the ids, by created_at, without repeating a key",
			list: tree,
			cfg:  revokeConfig{ids: []string{"id-d"}, filter: mustFilter(t, ""), filterDesc: `name_prefix = ""`},
			want: []string{"id-d: " + byID, `id-a: selected by filter name_prefix = ""`, `id-c: selected by filter name_prefix = ""`,
				`id-b: selected by filter name_prefix = ""`, `id-x: selected by filter name_prefix = ""`, `id-y: selected by filter name_prefix = ""`},
		},
		{
			name: "no filter selects nothing beyond the ids",
			list: tree,
			cfg:  revokeConfig{ids: []string{"id-a"}},
			want: []string{"id-a: " + byID},
		},
		{
			name: "cascade follows created_by transitively, parents first, siblings by created_at",
			list: tree,
			cfg:  revokeConfig{ids: []string{"id-a"}, cascade: true},
			want: []string{"id-a: " + byID, "id-c: minted by " + aName, "id-b: minted by " + aName, "id-d: minted by " + bName},
		},
		{
			name: "cascade from a filter match",
			list: tree,
			cfg:  revokeConfig{filter: mustFilter(t, "b"), filterDesc: `name_prefix = "b"`, cascade: true},
			want: []string{`id-b: selected by filter name_prefix = "b"`, "id-d: minted by " + bName},
		},
		{
			name:       "cascade cannot follow keys without a prefix, and says which",
			list:       guideShape,
			cfg:        revokeConfig{ids: []string{"id-g", "id-h", "zz-unknown"}, cascade: true},
			want:       []string{"id-g: " + byID, "id-h: " + byID, "zz-unknown: " + byID},
			unfollowed: []string{"id-g", "id-h", "zz-unknown"},
		},
		{
			name: "a prefix two live keys share is followed, and reported",
			list: testKeyList("", keyA, listedKey("id-a2", "a2", "PrefAAAA", "admin-token", 2), keyC),
			cfg:  revokeConfig{ids: []string{"id-a"}, cascade: true},
			want: []string{"id-a: " + byID, "id-c: minted by " + aName},
			// The shared prefix is reported once, however many selected keys have it.
			ambiguous: []string{"PrefAAAA"},
		},
		{
			name: "a value no longer than a prefix is an id, whatever it starts with",
			list: tree,
			cfg:  revokeConfig{ids: []string{"PrefXXXX"}},
			want: []string{"PrefXXXX: " + byID},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sel, invalid, lookalikes := selectKeys(tc.list, tc.cfg, testNamer(false), func(string) bool { return false })
			if len(invalid) > 0 || len(lookalikes) > 0 {
				t.Fatalf("unexpected refusal: %q, %q", invalid, lookalikes)
			}
			if got := picked(sel); !slices.Equal(got, tc.want) {
				t.Errorf("selected:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(tc.want, "\n  "))
			}
			if got := candidateIDs(sel.unfollowed); !slices.Equal(got, tc.unfollowed) {
				t.Errorf("unfollowed %q, want %q", got, tc.unfollowed)
			}
			if got := slices.Sorted(maps.Keys(sel.ambiguous)); !slices.Equal(got, tc.ambiguous) {
				t.Errorf("ambiguous prefixes %q, want %q", got, tc.ambiguous)
			}
		})
	}

	t.Run("secrets in ids", func(t *testing.T) {
		t.Parallel()
		known := "a-credential-the-client-knows"
		isSecret := func(s string) bool { return s == known }
		sel, invalid, lookalikes := selectKeys(tree, revokeConfig{ids: []string{"id-a", known, secret}, filter: mustFilter(t, "")},
			testNamer(false), isSecret)
		// Sorted, the pasted plaintext comes first.
		want := []string{
			`one value is not an id but starts with the prefix of key id-x ("x"), so it is probably that key's plaintext; ` +
				`to revoke that key, put its id in "ids" and treat the plaintext as leaked`,
			"one value is a secret this provider knows (its own credential, or a key's plaintext), not an id",
		}
		if !slices.Equal(invalid, want) {
			t.Errorf("invalid:\n  %s\nwant:\n  %s", strings.Join(invalid, "\n  "), strings.Join(want, "\n  "))
		}
		if !slices.Equal(lookalikes, []string{secret}) {
			t.Errorf("the pasted plaintext is not handed back to be hidden: %d values", len(lookalikes))
		}
		// The selection stops at the ids: the filter adds nothing to a refused invocation.
		if got := picked(sel); !slices.Equal(got, []string{"id-a: " + byID}) {
			t.Errorf("selected %q", got)
		}
	})
}

func TestClassifyAndOrder(t *testing.T) {
	t.Parallel()
	unlistedKey := client.Token{ID: "zz-unknown"}
	guideKey := listedKey("id-g", "g", "", "", 7)
	for _, tc := range []struct {
		name                   string
		list                   keyList
		ownPrefix              string
		selected               []client.Token
		wantOwn, wantUnverfied []string
		wantOrder              []string
	}{
		{
			name:      "the ADMIN_TOKEN, or a credential shorter than a prefix, is no listed key",
			list:      testKeyList("", keyA, guideKey),
			ownPrefix: "",
			selected:  []client.Token{guideKey, keyA, unlistedKey},
			wantOrder: []string{"id-g", "id-a", "zz-unknown"},
		},
		{
			name:      "the credential's key goes last; with it identified nothing else is suspect",
			list:      testKeyList("", keyA, keyB, keyC, guideKey),
			ownPrefix: "PrefBBBB",
			selected:  []client.Token{keyB, keyA, guideKey, unlistedKey, keyC},
			wantOwn:   []string{"id-b"},
			wantOrder: []string{"id-a", "id-g", "zz-unknown", "id-c", "id-b"},
		},
		{
			name:      "every key with the credential's prefix counts",
			list:      testKeyList("", keyA, listedKey("id-a2", "a2", "PrefAAAA", "", 2), keyC),
			ownPrefix: "PrefAAAA",
			selected:  []client.Token{keyA, listedKey("id-a2", "a2", "PrefAAAA", "", 2), keyC},
			wantOwn:   []string{"id-a", "id-a2"},
			wantOrder: []string{"id-c", "id-a", "id-a2"},
		},
		{
			name:      "the comparison is case-sensitive",
			list:      testKeyList("", keyA, keyC),
			ownPrefix: "prefaaaa",
			selected:  []client.Token{keyA, keyC},
			wantOrder: []string{"id-a", "id-c"},
		},
		{
			name:          "unidentified: keys without a prefix may be it and go after the others",
			list:          testKeyList("", keyA, guideKey),
			ownPrefix:     "OtherKey",
			selected:      []client.Token{guideKey, keyA, unlistedKey},
			wantUnverfied: []string{"id-g"},
			wantOrder:     []string{"id-a", "zz-unknown", "id-g"},
		},
		{
			name:          "unidentified, incomplete list: an unlisted id may be an older key, the credential's",
			list:          testKeyList("the list holds 500 keys", keyA, guideKey),
			ownPrefix:     "OtherKey",
			selected:      []client.Token{unlistedKey, guideKey, keyA},
			wantUnverfied: []string{"zz-unknown", "id-g"},
			wantOrder:     []string{"id-a", "zz-unknown", "id-g"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sel := &selection{byID: map[string]*revokeCandidate{}}
			for _, k := range tc.selected {
				_, ok := tc.list.lookup(k.ID)
				sel.add(k, ok, "selected by explicit id")
			}
			own, unverified := classify(sel.order, tc.list, tc.ownPrefix)
			if !slices.Equal(candidateIDs(own), tc.wantOwn) || !slices.Equal(candidateIDs(unverified), tc.wantUnverfied) {
				t.Errorf("own %q, unverified %q; want %q, %q", candidateIDs(own), candidateIDs(unverified), tc.wantOwn, tc.wantUnverfied)
			}
			orderForRevocation(sel.order, own, unverified)
			if got := candidateIDs(sel.order); !slices.Equal(got, tc.wantOrder) {
				t.Errorf("order %q, want %q", got, tc.wantOrder)
			}
		})
	}
}

func TestSelectionNextRound(t *testing.T) {
	t.Parallel()
	late := listedKey("id-e", "e", "PrefEEEE", "org-token:PrefBBBB", 8)
	lateOwn := listedKey("id-f", "f", "PrefFFFF", "org-token:PrefCCCC", 9)
	for _, tc := range []struct {
		name        string
		fresh       keyList
		allowOwn    bool
		wantAdded   int
		wantPending []string
		wantRefused []string
	}{
		{name: "nothing new", fresh: testKeyList("", keyD, keyX)},
		{
			name:        "keys minted meanwhile join the selection",
			fresh:       testKeyList("", keyX, late),
			wantAdded:   1,
			wantPending: []string{"id-e"},
		},
		{
			name:        "the credential found late is refused, and goes last",
			fresh:       testKeyList("", lateOwn, late),
			wantAdded:   2,
			wantPending: []string{"id-e", "id-f"},
			wantRefused: []string{"id-f"},
		},
		{
			name:        "allowed, the credential found late is revoked last",
			fresh:       testKeyList("", lateOwn, late),
			allowOwn:    true,
			wantAdded:   2,
			wantPending: []string{"id-e", "id-f"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			// a, c, b and d were selected and revoked from the first list.
			sel, _, _ := selectKeys(testKeyList("", keyA, keyB, keyC, keyD), revokeConfig{ids: []string{"id-a"}, cascade: true},
				testNamer(false), func(string) bool { return false })
			done := len(sel.order)
			added, refused := sel.nextRound(tc.fresh, done, "PrefFFFF", tc.allowOwn)
			if added != tc.wantAdded || !slices.Equal(candidateIDs(sel.order[done:]), tc.wantPending) || !slices.Equal(candidateIDs(refused), tc.wantRefused) {
				t.Errorf("added %d, pending %q, refused %q; want %d, %q, %q",
					added, candidateIDs(sel.order[done:]), candidateIDs(refused), tc.wantAdded, tc.wantPending, tc.wantRefused)
			}
		})
	}
}

func TestCredentialPrefix(t *testing.T) {
	t.Parallel()
	for credential, want := range map[string]string{"": "", "short": "", "12345678": "12345678", "PrefAAAA-and-more": "PrefAAAA"} {
		if got := credentialPrefix(credential); got != want {
			t.Errorf("credentialPrefix(%q) = %q, want %q", credential, got, want)
		}
	}
	revoked := []*revokeCandidate{{token: keyA}, {token: keyB}}
	if !credentialRevoked(revoked, "PrefBBBB") || credentialRevoked(revoked, "PrefCCCC") || credentialRevoked(revoked, "") {
		t.Error("credentialRevoked does not match the credential's prefix exactly")
	}
}

func TestKeyNamer(t *testing.T) {
	t.Parallel()
	past, future := planNow.Add(-time.Hour), planNow.Add(time.Hour)
	const longID = "0123456789abcdefghij"
	redact := func(s string) string { return strings.ReplaceAll(s, "hunter2", "[redacted]") }
	for _, tc := range []struct {
		name       string
		token      client.Token
		incomplete bool
		want       string
	}{
		{name: "id only", token: client.Token{ID: "id-1", CreatedAt: planNow}, want: "key id-1"},
		{name: "name and prefix", token: keyA, want: `key id-a ("a", prefix PrefAAAA)`},
		{
			name:  "expired",
			token: client.Token{ID: "id-1", Name: "old", ExpiresAt: &past},
			want:  `key id-1 ("old", expired 2026-06-01T11:00:00Z)`,
		},
		{
			name:  "expires",
			token: client.Token{ID: "id-1", Prefix: "PrefAAAA", ExpiresAt: &future},
			want:  "key id-1 (prefix PrefAAAA, expires 2026-06-01T13:00:00Z)",
		},
		{name: "a name is sanitized", token: client.Token{ID: "id-1", Name: "my hunter2 key"}, want: `key id-1 ("my [redacted] key")`},
		{name: "unlisted, complete list: shown", token: client.Token{ID: longID}, want: "key " + longID},
		{
			name:       "unlisted, incomplete list: may be a pasted secret",
			token:      client.Token{ID: longID},
			incomplete: true,
			want:       `key "01234567"… (20 characters; the rest is not shown, in case it is a secret)`,
		},
		{name: "a listed key is shown in full even so", token: keyA, incomplete: true, want: `key id-a ("a", prefix PrefAAAA)`},
	} {
		n := testNamer(tc.incomplete)
		n.sanitize = redact
		if got := n.name(tc.token); got != tc.want {
			t.Errorf("%s: name = %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRevokeErrorText(t *testing.T) {
	t.Parallel()
	const longID = "0123456789abcdef/ghij"
	err := fmt.Errorf("DELETE https://org.example/org/tokens/0123456789abcdef%%2Fghij: refused %s: %w", longID,
		&client.APIError{StatusCode: 401, Method: "DELETE"})
	masked := `"01234567"… (21 characters; the rest is not shown, in case it is a secret)`
	for _, tc := range []struct {
		name       string
		token      client.Token
		incomplete bool
		want       string
	}{
		{name: "unlisted, incomplete list", token: client.Token{ID: longID}, incomplete: true,
			want: "DELETE https://org.example/org/tokens/" + masked + ": refused " + masked},
		{name: "unlisted, complete list", token: client.Token{ID: longID},
			want: "DELETE https://org.example/org/tokens/0123456789abcdef%2Fghij: refused " + longID},
		{name: "listed", token: client.Token{ID: longID, Name: "n"}, incomplete: true,
			want: "DELETE https://org.example/org/tokens/0123456789abcdef%2Fghij: refused " + longID},
	} {
		got := revokeErrorText(err, tc.token, tc.incomplete)
		if !strings.HasPrefix(got, tc.want+": ") || !strings.HasSuffix(got, ". "+nextStep(err)) {
			t.Errorf("%s:\n got %s\nwant %s: …. %s", tc.name, got, tc.want, nextStep(err))
		}
	}
	if got := revokeErrorText(errors.New("boom"), client.Token{ID: "x"}, false); got != "boom" {
		t.Errorf("an error without advice: %q", got)
	}
}

func TestRevokeReportTexts(t *testing.T) {
	t.Parallel()
	n := testNamer(false)
	one := []*revokeCandidate{{token: keyA, reason: "selected by explicit id"}}
	two := append(slices.Clone(one), &revokeCandidate{token: keyC, reason: "minted by key id-a"})

	if got, want := n.dryRunReport(one), []string{
		`Dry run: would revoke key id-a ("a", prefix PrefAAAA): selected by explicit id.`,
		"Dry run: 1 key would be revoked; nothing was revoked.",
	}; !slices.Equal(got, want) {
		t.Errorf("dry run of one key:\n  %s", strings.Join(got, "\n  "))
	}
	if got := n.dryRunReport(two); got[2] != "Dry run: 2 keys would be revoked; nothing was revoked." {
		t.Errorf("dry run of two keys ends with %q", got[2])
	}

	for _, tc := range []struct {
		name, got string
		want      []string
		notWant   []string
	}{
		{
			name:    "empty selection, filtered",
			got:     emptySelectionDetail(testKeyList("", keyA, keyB), true),
			want:    []string{"among the 2 live keys the service lists, so nothing was revoked", "Filters match exactly"},
			notWant: []string{`"ids" is empty`, "may be incomplete"},
		},
		{
			name: "empty selection, empty ids, incomplete list",
			got:  emptySelectionDetail(testKeyList("cut at 500"), false),
			want: []string{`"ids" is empty.`, "may be incomplete (cut at 500)"},
		},
		{
			name: "own credential",
			got:  n.ownCredentialDetail(two),
			want: []string{`key id-a ("a", prefix PrefAAAA) (selected by explicit id); key id-c ("c", prefix PrefCCCC) (minted by key id-a)`,
				"first 8 characters", "Nothing was revoked"},
		},
		{
			name:    "unverified",
			got:     n.unverifiedDetail(two, "", false),
			want:    []string{"the service does not report the prefix of key id-a", ", key id-c", "They are revoked after"},
			notWant: []string{"may be incomplete"},
		},
		{
			name: "unverified, dry run, incomplete list",
			got:  n.unverifiedDetail(one, "cut", true),
			want: []string{"which may be incomplete, does not show or does not report the prefix of key id-a", "They would be revoked"},
		},
		{
			name: "cascade followed everywhere",
			got:  n.unfollowedDetail(&selection{ambiguous: map[string]bool{}}),
		},
		{
			name: "cascade could not follow",
			got:  n.unfollowedDetail(&selection{unfollowed: two, ambiguous: map[string]bool{"PrefZZZZ": true, "PrefAAAA": true}}),
			want: []string{`The keys minted by key id-a ("a", prefix PrefAAAA), key id-c`, "the prefix PrefAAAA, PrefZZZZ, so"},
		},
	} {
		if tc.want == nil && tc.got != "" {
			t.Errorf("%s: want no text, got %s", tc.name, tc.got)
		}
		for _, w := range tc.want {
			if !strings.Contains(tc.got, w) {
				t.Errorf("%s: the text lacks %q:\n%s", tc.name, w, tc.got)
			}
		}
		for _, w := range tc.notWant {
			if strings.Contains(tc.got, w) {
				t.Errorf("%s: the text has %q:\n%s", tc.name, w, tc.got)
			}
		}
	}
}

// fakeKeys is an organization for the revoke step: revoke and list act on its keys, and mintOn
// mints a key when a given key is revoked, as a script holding a key mints while the action runs.
type fakeKeys struct {
	live    []client.Token
	mintOn  map[string]client.Token // revoked id → key minted meanwhile
	fail    map[string]error        // id → the error revoking it returns
	revoked []string
	lists   int
	listErr error
}

func (f *fakeKeys) revoke(_ context.Context, id string) error {
	if err := f.fail[id]; err != nil {
		return err
	}
	f.revoked = append(f.revoked, id)
	f.live = slices.DeleteFunc(f.live, func(t client.Token) bool { return t.ID == id })
	if k, ok := f.mintOn[id]; ok {
		f.live = append(f.live, k)
	}
	return nil
}

func (f *fakeKeys) list(context.Context) (keyList, error) {
	f.lists++
	if f.listErr != nil {
		return keyList{}, f.listErr
	}
	return testKeyList("", slices.Clone(f.live)...), nil
}

// run selects cfg from the fake's keys, orders them and revokes them, with a credential of
// prefix ownPrefix, as Invoke does after its checks.
func (f *fakeKeys) run(t *testing.T, cfg revokeConfig, ownPrefix string) (r *keyRevocation, events []string) {
	t.Helper()
	first, _ := f.list(context.Background())
	sel, invalid, _ := selectKeys(first, cfg, testNamer(false), func(string) bool { return false })
	if len(invalid) > 0 {
		t.Fatalf("refused: %q", invalid)
	}
	own, unverified := classify(sel.order, first, ownPrefix)
	orderForRevocation(sel.order, own, unverified)
	r = &keyRevocation{sel: sel, names: testNamer(false), ownPrefix: ownPrefix, refused: map[string]bool{},
		revoke: f.revoke, list: f.list, diags: &diag.Diagnostics{},
		progress: func(msgs ...string) { events = append(events, msgs...) }}
	r.revokeAll(context.Background())
	if cfg.cascade {
		r.cascade(context.Background(), cfg.allowOwn)
	}
	r.summarize()
	return r, events
}

func TestKeyRevocation(t *testing.T) {
	t.Parallel()
	late := listedKey("id-e", "e", "PrefEEEE", "org-token:PrefDDDD", 8)
	lateOwn := listedKey("id-f", "f", "PrefFFFF", "org-token:PrefDDDD", 8)
	unauthorized := &client.APIError{StatusCode: 401, Method: "DELETE", Path: "/org/tokens/id-d", Message: "invalid token"}

	t.Run("a key minted while the action runs is caught by the next list", func(t *testing.T) {
		t.Parallel()
		f := &fakeKeys{live: []client.Token{keyA, keyB, keyC, keyD, keyX, keyY}, mintOn: map[string]client.Token{"id-a": late}}
		r, events := f.run(t, revokeConfig{ids: []string{"id-a"}, cascade: true}, "")
		if want := []string{"id-a", "id-c", "id-b", "id-d", "id-e"}; !slices.Equal(f.revoked, want) {
			t.Errorf("revoked %q, want %q", f.revoked, want)
		}
		// One list to select, one that finds e, one that finds nothing more.
		if f.lists != 3 {
			t.Errorf("%d lists, want 3", f.lists)
		}
		if !slices.Contains(events, `Revoked key id-e ("e", prefix PrefEEEE): minted by key id-d ("d", prefix PrefDDDD).`) ||
			events[len(events)-1] != "Summary: 5 keys selected; 5 revoked, 0 already not live, 0 failed." || r.diags.HasError() {
			t.Errorf("unexpected report:\n  %s\n%v", strings.Join(events, "\n  "), *r.diags)
		}
	})

	t.Run("the credential minted while the action runs is refused", func(t *testing.T) {
		t.Parallel()
		f := &fakeKeys{live: []client.Token{keyA, keyB, keyC, keyD}, mintOn: map[string]client.Token{"id-d": lateOwn}}
		r, events := f.run(t, revokeConfig{ids: []string{"id-a"}, cascade: true}, "PrefFFFF")
		if slices.Contains(f.revoked, "id-f") || len(f.revoked) != 4 {
			t.Errorf("revoked %q", f.revoked)
		}
		if !slices.ContainsFunc(events, func(ev string) bool {
			return strings.HasPrefix(ev, "Failed to revoke key id-f") && strings.Contains(ev, "set allow_revoking_own_credential = true")
		}) || !r.diags.HasError() {
			t.Errorf("the refusal is not reported as a failure:\n  %s", strings.Join(events, "\n  "))
		}
	})

	t.Run("allowed, the credential is revoked last and the cascade stops listing", func(t *testing.T) {
		t.Parallel()
		own := listedKey("id-o", "o", "PrefOOOO", "admin-token", 0)
		f := &fakeKeys{live: []client.Token{own, keyC}}
		r, _ := f.run(t, revokeConfig{ids: []string{"id-o", "id-c"}, cascade: true, allowOwn: true}, "PrefOOOO")
		if !slices.Equal(f.revoked, []string{"id-c", "id-o"}) || f.lists != 1 {
			t.Errorf("revoked %q with %d lists; want the credential last and no list after it", f.revoked, f.lists)
		}
		if len(*r.diags) != 1 || r.diags.Warnings()[0].Summary() != "Provider Credential Revoked" {
			t.Errorf("want only the warning that the credential was revoked: %v", *r.diags)
		}
	})

	t.Run("a 401 after revocations names the key revoked last, once", func(t *testing.T) {
		t.Parallel()
		f := &fakeKeys{live: []client.Token{keyA, keyB, keyD}, fail: map[string]error{"id-b": unauthorized, "id-d": unauthorized}}
		r, events := f.run(t, revokeConfig{ids: []string{"id-a", "id-b", "id-d"}}, "")
		hint := `The credential was accepted until key id-a ("a", prefix PrefAAAA) was revoked`
		if n := len(slices.DeleteFunc(slices.Clone(events), func(ev string) bool { return !strings.Contains(ev, hint) })); n != 1 {
			t.Errorf("the hint appears %d times, want once:\n  %s", n, strings.Join(events, "\n  "))
		}
		if e := r.diags.Errors(); len(e) != 1 || !strings.Contains(e[0].Detail(), "2 of 3 selected keys may still be live") {
			t.Errorf("unexpected errors: %v", e)
		}
	})

	t.Run("the cascade's list fails", func(t *testing.T) {
		t.Parallel()
		f := &fakeKeys{live: []client.Token{keyA}}
		first, _ := f.list(context.Background())
		sel, _, _ := selectKeys(first, revokeConfig{ids: []string{"id-a"}, cascade: true}, testNamer(false), func(string) bool { return false })
		f.listErr = errors.New("connection refused")
		r := &keyRevocation{sel: sel, names: testNamer(false), refused: map[string]bool{}, revoke: f.revoke, list: f.list,
			diags: &diag.Diagnostics{}, progress: func(...string) {}}
		r.revokeAll(context.Background())
		r.cascade(context.Background(), false)
		if w := r.diags.Warnings(); len(w) != 1 || w[0].Summary() != "Unable to Check for Keys Minted During the Cascade" ||
			!strings.Contains(w[0].Detail(), "that list failed: connection refused. Run the action again") {
			t.Errorf("unexpected diagnostics: %v", *r.diags)
		}
	})

	t.Run("a cascade that keeps finding keys stops after its rounds", func(t *testing.T) {
		t.Parallel()
		// Each revocation mints the next key of a chain, as a script would that mints with every new key.
		chain := []client.Token{listedKey("id-0", "k0", "Pref0000", "admin-token", 0)}
		mintOn := map[string]client.Token{}
		for i := 1; i <= maxCascadeRounds+3; i++ {
			k := listedKey(fmt.Sprintf("id-%d", i), fmt.Sprintf("k%d", i), fmt.Sprintf("Pref%04d", i), "org-token:"+chain[i-1].Prefix, i)
			mintOn[chain[i-1].ID], chain = k, append(chain, k)
		}
		f := &fakeKeys{live: chain[:1], mintOn: mintOn}
		f.run(t, revokeConfig{ids: []string{"id-0"}, cascade: true}, "")
		if f.lists != 1+maxCascadeRounds || len(f.revoked) != 1+maxCascadeRounds {
			t.Errorf("%d lists and %d revocations, want %d each", f.lists, len(f.revoked), 1+maxCascadeRounds)
		}
	})

	t.Run("a cancelled invocation sends nothing more", func(t *testing.T) {
		t.Parallel()
		f := &fakeKeys{live: []client.Token{keyA, keyB}}
		first, _ := f.list(context.Background())
		sel, _, _ := selectKeys(first, revokeConfig{ids: []string{"id-a", "id-b"}}, testNamer(false), func(string) bool { return false })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		r := &keyRevocation{sel: sel, names: testNamer(false), refused: map[string]bool{}, revoke: f.revoke, list: f.list,
			diags: &diag.Diagnostics{}, progress: func(...string) {}}
		r.revokeAll(ctx)
		if len(f.revoked) != 0 || len(r.failed) != 2 || !strings.Contains(r.failures[0], "context canceled") {
			t.Errorf("revoked %q, failures %q", f.revoked, r.failures)
		}
	})
}
