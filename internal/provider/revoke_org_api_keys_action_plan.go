package provider

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/molecule-ai/terraform-provider-molecule/internal/client"
)

// The revoke action as data: which keys a configuration selects from a list of live keys, the
// order they go in, and how the report words them. Nothing here sends a request or reports to
// Terraform; revoke_org_api_keys_action.go lists, revokes and reports.

// revokeConfig is the action's configuration in plain values.
type revokeConfig struct {
	ids []string
	// filter is nil when no filter is set; filterDesc names the filters that are, for the report.
	filter                    *keyFilter
	filterDesc                string
	cascade, dryRun, allowOwn bool
}

// keyList is one list of live keys, with why it may lack some ("" when it cannot).
type keyList struct {
	tokens     []client.Token
	incomplete string
	lookup     func(id string) (client.Token, bool)
}

func keyListOf(snap *client.Snapshot) keyList {
	return keyList{tokens: snap.Tokens, incomplete: snap.Incomplete, lookup: snap.Lookup}
}

// prefixOwner returns the listed key whose prefix s starts with, when s is longer than a prefix:
// an unlisted s is then almost certainly that key's plaintext (see secretLookalike).
func (l keyList) prefixOwner(s string) (client.Token, bool) {
	if len(s) > client.PrefixLength {
		for _, t := range l.tokens {
			if t.Prefix != "" && strings.HasPrefix(s, t.Prefix) {
				return t, true
			}
		}
	}
	return client.Token{}, false
}

// revokeCandidate is one selected key. A key named only by an explicit id the list lacks has
// nothing but its id.
type revokeCandidate struct {
	token  client.Token
	listed bool
	// reason says why the key was selected, as a phrase: "selected by explicit id",
	// "selected by filter …" or "minted by key …".
	reason string
}

// selection is what an invocation selected, in the order the keys are handled, and where the
// cascade could not follow.
type selection struct {
	names keyNamer // for the reason of a key minted by another
	order []*revokeCandidate
	byID  map[string]*revokeCandidate
	// unfollowed lists, once each, the selected keys whose minted keys cannot be found.
	unfollowed []*revokeCandidate
	ambiguous  map[string]bool // prefixes that more than one live key has
}

func (s *selection) add(t client.Token, listed bool, reason string) bool {
	if _, ok := s.byID[t.ID]; ok {
		return false
	}
	c := &revokeCandidate{token: t, listed: listed, reason: reason}
	s.byID[t.ID] = c
	s.order = append(s.order, c)
	return true
}

// selectKeys selects what cfg asks for from list: the explicit ids (sorted), the filters'
// matches, then with cascade what those minted. A value in ids that is a secret rather than an
// id stops the selection: invalid says why, without the value, and lookalikes are the values
// that start with a listed key's prefix, which the client must hide from now on.
func selectKeys(list keyList, cfg revokeConfig, names keyNamer, isSecret func(string) bool) (sel *selection, invalid, lookalikes []string) {
	sel = &selection{names: names, byID: map[string]*revokeCandidate{}, ambiguous: map[string]bool{}}
	for _, id := range slices.Sorted(slices.Values(cfg.ids)) {
		t, listed := list.lookup(id)
		owner, lookalike := list.prefixOwner(id)
		switch {
		case listed:
			sel.add(t, true, "selected by explicit id")
		case isSecret(id):
			invalid = append(invalid, "one value is a secret this provider knows (its own credential, or a key's plaintext), not an id")
		case lookalike:
			lookalikes = append(lookalikes, id)
			invalid = append(invalid, fmt.Sprintf("one value is not an id but starts with the prefix of key %s, so it is probably that "+
				"key's plaintext; to revoke that key, put its id in \"ids\" and treat the plaintext as leaked", describeKey(owner)))
		default:
			sel.add(client.Token{ID: id}, false, "selected by explicit id")
		}
	}
	if len(invalid) > 0 {
		return sel, invalid, lookalikes
	}
	if cfg.filter != nil {
		reason := "selected by filter " + cfg.filterDesc
		for _, t := range cfg.filter.apply(list.tokens) {
			sel.add(t, true, reason)
		}
	}
	if cfg.cascade {
		sel.expand(list)
	}
	return sel, nil, nil
}

// expand adds, breadth first, every live key of list minted by a selected key, and returns how
// many it added. Every selected key is looked at again on each call: a fresh list may show keys
// that an already revoked key minted after the previous list.
func (s *selection) expand(list keyList) int {
	minted := map[string][]client.Token{}
	holders := map[string]int{}
	for _, t := range list.tokens {
		if strings.HasPrefix(t.CreatedBy, "org-token:") {
			minted[t.CreatedBy] = append(minted[t.CreatedBy], t)
		}
		if t.Prefix != "" {
			holders[t.Prefix]++
		}
	}
	added := 0
	for i := 0; i < len(s.order); i++ {
		parent := s.order[i]
		if parent.token.Prefix == "" {
			if !slices.Contains(s.unfollowed, parent) {
				s.unfollowed = append(s.unfollowed, parent)
			}
			continue
		}
		if holders[parent.token.Prefix] > 1 {
			s.ambiguous[parent.token.Prefix] = true
		}
		children := slices.Clone(minted["org-token:"+parent.token.Prefix])
		sortTokens(children)
		for _, child := range children {
			if s.add(child, true, "minted by "+s.names.name(parent.token)) {
				added++
			}
		}
	}
	return added
}

// credentialPrefix is what an org key used as the provider's credential is listed by: the service
// shows the first PrefixLength characters of a key's plaintext as its prefix. Keys are opaque,
// so nothing else about the credential tells an org key from the ADMIN_TOKEN.
func credentialPrefix(credential string) string {
	if len(credential) < client.PrefixLength {
		return ""
	}
	return credential[:client.PrefixLength]
}

// classify picks out of cands the keys that are the provider's credential, listed by ownPrefix,
// and those that cannot be ruled out.
//
// A listed key is taken for the credential when its prefix equals ownPrefix: exactly,
// case-sensitively, and every key that matches counts, since a shared prefix would otherwise let
// the credential pass as another key. When no listed key matches, the credential is the
// ADMIN_TOKEN or an org key the list does not show with a prefix: then a selected key without a
// known prefix may be it (in the guide's shape no key has one, and an id the list lacks may be an
// older key when the list is cut at 500).
func classify(cands []*revokeCandidate, list keyList, ownPrefix string) (own, unverified []*revokeCandidate) {
	if ownPrefix == "" {
		return nil, nil
	}
	identified := slices.ContainsFunc(list.tokens, func(t client.Token) bool { return t.Prefix == ownPrefix })
	for _, c := range cands {
		switch {
		case c.listed && c.token.Prefix == ownPrefix:
			own = append(own, c)
		case identified:
			// The credential is a listed key, and this is not it.
		case c.listed && c.token.Prefix == "", !c.listed && list.incomplete != "":
			unverified = append(unverified, c)
		}
	}
	return own, unverified
}

// orderForRevocation orders pending, the keys not handled yet, in place. It keeps the selection
// order (explicit ids, filter matches, then what they minted, parents first, so that a leaked key
// cannot mint more while its descendants go) but moves the keys that may be the provider's
// credential after the others, and the credential itself to the very end: once it is revoked,
// no later request would be accepted.
func orderForRevocation(pending, own, unverified []*revokeCandidate) {
	rank := func(c *revokeCandidate) int {
		switch {
		case slices.Contains(own, c):
			return 2
		case slices.Contains(unverified, c):
			return 1
		}
		return 0
	}
	slices.SortStableFunc(pending, func(a, b *revokeCandidate) int { return rank(a) - rank(b) })
}

// nextRound takes a list made after revoking: it adds the keys that selected keys minted
// meanwhile, orders the keys from index from on (those not handled yet), and returns how many it
// added and which of them must not be revoked: the provider's credential, when allowOwn is not
// set. The refusal cannot undo what earlier rounds revoked, so those keys are reported as failures.
func (s *selection) nextRound(fresh keyList, from int, ownPrefix string, allowOwn bool) (added int, refused []*revokeCandidate) {
	if added = s.expand(fresh); added == 0 {
		return 0, nil
	}
	own, unverified := classify(s.order[from:], fresh, ownPrefix)
	orderForRevocation(s.order[from:], own, unverified)
	if allowOwn {
		return added, nil
	}
	return added, own
}

// credentialRevoked reports whether one of the revoked keys is the provider's credential.
func credentialRevoked(revoked []*revokeCandidate, ownPrefix string) bool {
	return ownPrefix != "" && slices.ContainsFunc(revoked, func(c *revokeCandidate) bool { return c.token.Prefix == ownPrefix })
}

// keyNamer names keys in progress messages and diagnostics.
type keyNamer struct {
	// incomplete says the first list may lack keys, so an id it does not show may be a pasted secret.
	incomplete bool
	now        func() time.Time
	// sanitize keeps text short and free of known secrets; echoID shows an unlisted id that may
	// be a secret (providerData's sanitizeForMessage and echoInput).
	sanitize, echoID func(string) string
}

// name describes a key: its id, and its name, prefix and expiry when known. A key's name is
// whatever someone typed, so it is sanitized.
func (n keyNamer) name(t client.Token) string {
	if unlisted(t) && n.incomplete {
		return "key " + n.echoID(t.ID)
	}
	var extra []string
	if t.Name != "" {
		extra = append(extra, fmt.Sprintf("%q", n.sanitize(t.Name)))
	}
	if t.Prefix != "" {
		extra = append(extra, "prefix "+t.Prefix)
	}
	if t.ExpiresAt != nil {
		verb := "expires"
		if t.Expired(n.now()) {
			verb = "expired"
		}
		extra = append(extra, verb+" "+t.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(extra) == 0 {
		return "key " + n.sanitize(t.ID)
	}
	return fmt.Sprintf("key %s (%s)", n.sanitize(t.ID), strings.Join(extra, ", "))
}

// unlisted reports whether t is an id the list did not show, as given, with nothing else known.
func unlisted(t client.Token) bool {
	return t.CreatedAt.IsZero() && t.Name == "" && t.Prefix == "" && t.CreatedBy == ""
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func (n keyNamer) names(cands []*revokeCandidate) string {
	names := make([]string, len(cands))
	for i, c := range cands {
		names[i] = n.name(c.token)
	}
	return strings.Join(names, ", ")
}

// revokeErrorText explains why key t was not revoked. An id an incomplete list does not show may
// be a pasted secret, and the service's answer names the path with it: it is shown as echo shows it.
func revokeErrorText(err error, t client.Token, incomplete bool) string {
	msg := err.Error()
	if unlisted(t) && incomplete {
		shown := echo(t.ID)
		msg = strings.ReplaceAll(strings.ReplaceAll(msg, url.PathEscape(t.ID), shown), t.ID, shown)
	}
	if next := nextStep(err); next != "" {
		msg += ". " + next
	}
	return msg
}

func (n keyNamer) dryRunReport(order []*revokeCandidate) []string {
	events := make([]string, 0, len(order)+1)
	for _, c := range order {
		events = append(events, fmt.Sprintf("Dry run: would revoke %s: %s.", n.name(c.token), c.reason))
	}
	return append(events, fmt.Sprintf("Dry run: %d %s would be revoked; nothing was revoked.", len(order), plural(len(order), "key")))
}

func emptySelectionDetail(list keyList, filtered bool) string {
	msg := fmt.Sprintf("No key matches the selection among the %d live keys the service lists, so nothing was revoked. ", len(list.tokens))
	if filtered {
		msg += "Filters match exactly and are case-sensitive, combine with AND, and never match a key without a name by " +
			"name; the molecule_org_api_keys data source with the same filters shows what they select."
	} else {
		msg += "\"ids\" is empty."
	}
	if list.incomplete != "" {
		msg += " " + incompleteListAdvice(list.incomplete)
	}
	return msg
}

func (n keyNamer) ownCredentialDetail(own []*revokeCandidate) string {
	names := make([]string, len(own))
	for i, c := range own {
		names[i] = fmt.Sprintf("%s (%s)", n.name(c.token), c.reason)
	}
	return fmt.Sprintf("Nothing was revoked. The selection includes %s, whose prefix equals the first %d characters of the "+
		"credential this provider authenticates with: an org API key's prefix is the start of its plaintext, so this is "+
		"almost certainly that credential (the comparison is exact, and every key with that prefix counts). Revoking it "+
		"would reject every later request of this run and every run after it. Narrow the selection, or run with another "+
		"credential (the ADMIN_TOKEN, or a key outside the selection); if this credential is the leaked key, set "+
		"allow_revoking_own_credential = true, which revokes it after every other key.",
		strings.Join(names, "; "), client.PrefixLength)
}

func (n keyNamer) unverifiedDetail(unverified []*revokeCandidate, incomplete string, dryRun bool) string {
	why := "the service does not report the prefix of"
	if incomplete != "" {
		why = "the service's list, which may be incomplete, does not show or does not report the prefix of"
	}
	verb := "are revoked"
	if dryRun {
		verb = "would be revoked"
	}
	return fmt.Sprintf("The provider recognizes its own credential by the prefix of a live key, and %s %s, so it cannot "+
		"tell whether one of them is the credential it authenticates with. They %s after every other selected key, so "+
		"that a revoked credential cannot stop the rest.", why, n.names(unverified), verb)
}

// unfollowedDetail explains where the cascade could not follow; "" when it followed everywhere.
func (n keyNamer) unfollowedDetail(sel *selection) string {
	var parts []string
	if len(sel.unfollowed) > 0 {
		parts = append(parts, fmt.Sprintf("The keys minted by %s cannot be found: keys name the key that minted them by its "+
			"prefix (created_by = \"org-token:<prefix>\"), and the service's list does not report a prefix for them (the "+
			"published guide's shape, or an id the list does not show). Where a key's prefix is known (Canvas shows it), "+
			"select what it minted with created_by = \"org-token:<prefix>\".", n.names(sel.unfollowed)))
	}
	if len(sel.ambiguous) > 0 {
		prefixes := slices.Sorted(maps.Keys(sel.ambiguous))
		parts = append(parts, fmt.Sprintf("More than one live key has the prefix %s, so the keys created_by names with it may "+
			"have been minted by a key that was not selected; they were selected anyway.", strings.Join(prefixes, ", ")))
	}
	return strings.Join(parts, " ")
}
